"""A seat's lifecycle as one state machine (domain/inventory.py)."""

from __future__ import annotations

import pytest

from prichal.domain.inventory import IllegalSeatMove, SeatState, state_of_ticket, ticket_status_for
from prichal.domain.orders import TicketStatus


@pytest.mark.parametrize(("start", "end"), [
    (SeatState.FREE, SeatState.HELD), (SeatState.HELD, SeatState.RESERVED), (SeatState.RESERVED, SeatState.SOLD),
    (SeatState.RESERVED, SeatState.RELEASED), (SeatState.RELEASED, SeatState.SOLD),  # revived
    (SeatState.SOLD, SeatState.REFUNDED), (SeatState.REFUNDED, SeatState.HELD),  # on sale again
    (SeatState.FREE, SeatState.BLOCKED), (SeatState.BLOCKED, SeatState.FREE),
])
def test_the_moves_the_business_knows(start, end):
    assert start.moved_to(end) is end


@pytest.mark.parametrize(("start", "end"), [
    (SeatState.SOLD, SeatState.RELEASED), (SeatState.SOLD, SeatState.HELD), (SeatState.REFUNDED, SeatState.SOLD),
    (SeatState.BLOCKED, SeatState.HELD), (SeatState.HELD, SeatState.SOLD), (SeatState.RESERVED, SeatState.REFUNDED),
])
def test_a_seat_is_never_sold_twice_or_refunded_unpaid(start, end):
    with pytest.raises(IllegalSeatMove):
        start.moved_to(end)


def test_ticket_statuses_follow_the_seat():
    assert ticket_status_for(TicketStatus.SOLD, SeatState.REFUNDED) is TicketStatus.REFUNDED
    assert ticket_status_for(TicketStatus.CANCELLED, SeatState.SOLD) is TicketStatus.SOLD
    with pytest.raises(IllegalSeatMove):
        ticket_status_for(TicketStatus.REFUNDED, SeatState.REFUNDED)  # a second refund of one ticket
    assert state_of_ticket(TicketStatus.RESERVED).live and not state_of_ticket(TicketStatus.REFUNDED).live
    assert SeatState.REFUNDED.on_sale and not SeatState.SOLD.on_sale
