"""What a scan at the gangway may do to a ticket (pure): once, sold, this sailing, not canceled."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from prichal.domain.boarding import AlreadyBoarded, BoardingTicket, TicketNotValid, WrongSailing, check_boarding
from prichal.domain.catalog import SailingStatus
from prichal.domain.orders import TicketStatus

AT = datetime(2026, 6, 1, 19, 0, tzinfo=UTC)
TICKET = BoardingTicket("t1", "o1", 7, "s1", AT, SailingStatus.SCHEDULED, "main-C-5", "adult", "Взрослый",
                        "Анна", TicketStatus.SOLD, None)


def test_a_sold_ticket_not_boarded_yet_boards_at_its_gangway_or_any():
    check_boarding(TICKET, "s1")
    check_boarding(TICKET, None)


@pytest.mark.parametrize("ticket, at_sailing, refused, says", [
    (replace(TICKET, boarded_at=AT), "s1", AlreadyBoarded, {"boarded_at": AT.isoformat()}),
    (replace(TICKET, status=TicketStatus.REFUNDED), None, TicketNotValid, {"ticket_status": "refunded"}),
    (replace(TICKET, status=TicketStatus.RESERVED), None, TicketNotValid, {"ticket_status": "reserved"}),
    (replace(TICKET, sailing_status=SailingStatus.CANCELLED), None, TicketNotValid, {"sailing_status": "cancelled"}),
    (TICKET, "s2", WrongSailing, {"ticket_sailing_id": "s1"}),
    # another sailing's gangway says so first, even for a ticket that boarded there
    (replace(TICKET, boarded_at=AT), "s2", WrongSailing, {"ticket_sailing_id": "s1"}),
])
def test_refusals_say_what_the_crew_must_know(ticket, at_sailing, refused, says):
    with pytest.raises(refused) as raised:
        check_boarding(ticket, at_sailing)
    assert says.items() <= raised.value.extra.items()
