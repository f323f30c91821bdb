"""A seat's (or a free-seating place's) lifecycle, as one explicit state machine.

States a seat of a sailing passes through (held lives in Redis only; the others are the
status of its ticket row in PostgreSQL, whose unique index on live tickets is the final
guarantee that a seat is never sold twice):

    free -> held -> reserved -> sold -> refunded (free again)
                     |  ^
                     v  | revived (a late payment, if the seat is still free)
                  released (free again)

``blocked`` is a seat taken out of sale by the seller: in a seat-map version
(``seats.blocked``, every sailing on it) or on one sailing only (``sailing_seat_blocks``);
it cannot be held.
Every move goes through ``SeatState.moved_to``; ``services/inventory.py`` is the one code
that performs the moves (PostgreSQL and the Redis mirror).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from .errors import Conflict
from .orders import TicketStatus


class IllegalSeatMove(Conflict):
    code = "illegal-seat-move"
    title = "That seat change is not possible in the current state"


class SeatState(enum.StrEnum):
    FREE = "free"
    HELD = "held"  # a live hold (Redis; free seating also counts places_held in PostgreSQL)
    RESERVED = "reserved"  # a ticket of an order awaiting payment
    SOLD = "sold"
    RELEASED = "released"  # the unpaid order lapsed or was cancelled: free again
    REFUNDED = "refunded"  # the paid ticket was refunded: free again
    BLOCKED = "blocked"  # out of sale by the seller's decision

    @property
    def live(self) -> bool:
        """Whether the seat has a live ticket (counted by the unique index / places_sold)."""
        return self in (SeatState.RESERVED, SeatState.SOLD)

    @property
    def on_sale(self) -> bool:
        return self in (SeatState.FREE, SeatState.RELEASED, SeatState.REFUNDED)

    def can_move_to(self, target: SeatState) -> bool:
        return target in _MOVES[self]

    def moved_to(self, target: SeatState) -> SeatState:
        if not self.can_move_to(target):
            raise IllegalSeatMove(f"a {self.value} seat cannot become {target.value}",
                                  from_state=self.value, to_state=target.value)
        return target


class SeatChange(enum.StrEnum):
    """A committed move the Redis mirror must follow (after the transaction)."""

    PAID = "paid"  # the order's tickets are sold
    RELEASED = "released"  # the order lapsed or was cancelled: its seats are free again
    REVIVED = "revived"  # a lapsed order was paid after all and got its seats back
    REFUNDED = "refunded"  # paid tickets were refunded: their seats are free again


_ON_SALE = {SeatState.HELD, SeatState.BLOCKED}
_MOVES: dict[SeatState, set[SeatState]] = {
    SeatState.FREE: _ON_SALE,
    SeatState.HELD: {SeatState.RESERVED, SeatState.FREE},
    SeatState.RESERVED: {SeatState.SOLD, SeatState.RELEASED},
    SeatState.SOLD: {SeatState.REFUNDED},
    SeatState.RELEASED: _ON_SALE | {SeatState.SOLD},  # SOLD: revived by a late payment
    SeatState.REFUNDED: _ON_SALE,
    SeatState.BLOCKED: {SeatState.FREE},
}

# The ticket row's status in each state that has one.
TICKET_STATUS = {
    SeatState.RESERVED: TicketStatus.RESERVED,
    SeatState.SOLD: TicketStatus.SOLD,
    SeatState.RELEASED: TicketStatus.CANCELLED,
    SeatState.REFUNDED: TicketStatus.REFUNDED,
}


def state_of_ticket(status: TicketStatus) -> SeatState:
    return next(state for state, ticket in TICKET_STATUS.items() if ticket is status)


def ticket_status_for(current: TicketStatus, target: SeatState) -> TicketStatus:
    """The ticket status after moving a ticket's seat to ``target`` (``IllegalSeatMove`` if it cannot)."""
    return TICKET_STATUS[state_of_ticket(current).moved_to(target)]


@dataclass(frozen=True, slots=True)
class TicketRow:
    """A ticket as the seat lifecycle sees it."""

    id: str
    order_id: str | None
    seat_id: str | None
    status: TicketStatus
    boarded_at: datetime | None
