"""Boarding: what a scan at the gangway may do to a ticket (pure).

A ticket boards once: only a sold ticket that has not boarded yet, of the sailing the
scanner boards (when it says which). Everything else is refused with what the crew must
know at once — when it boarded already, that it was refunded, which sailing it is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .catalog import SailingStatus
from .errors import Conflict
from .orders import TicketStatus


@dataclass(frozen=True, slots=True)
class BoardingTicket:
    """A ticket as the gangway sees it."""

    id: str
    order_id: str
    order_number: int
    sailing_id: str
    departs_at: datetime
    sailing_status: SailingStatus
    seat_id: str | None
    ticket_type: str
    description: str
    customer_name: str
    status: TicketStatus
    boarded_at: datetime | None


class AlreadyBoarded(Conflict):
    code = "ticket-already-boarded"
    title = "This ticket has boarded already"


class TicketNotValid(Conflict):
    code = "ticket-not-valid"
    title = "This ticket is not valid for boarding"


class WrongSailing(Conflict):
    code = "ticket-wrong-sailing"
    title = "This ticket is for another sailing"


def check_boarding(ticket: BoardingTicket, sailing_id: str | None) -> None:
    """Raise why ``ticket`` may not board (at the gangway of ``sailing_id``, if given)."""
    if sailing_id is not None and ticket.sailing_id != sailing_id:
        raise WrongSailing("the ticket is for another sailing", ticket_id=ticket.id,
                           ticket_sailing_id=ticket.sailing_id, departs_at=ticket.departs_at.isoformat())
    if ticket.boarded_at is not None:
        raise AlreadyBoarded(f"boarded at {ticket.boarded_at.isoformat()}", ticket_id=ticket.id,
                             boarded_at=ticket.boarded_at.isoformat())
    if ticket.sailing_status is SailingStatus.CANCELLED:  # its refunds may still be running
        raise TicketNotValid("the sailing is canceled", ticket_id=ticket.id, ticket_status=ticket.status.value,
                             sailing_status=ticket.sailing_status.value)
    if ticket.status is not TicketStatus.SOLD:
        raise TicketNotValid(f"the ticket is {ticket.status.value}", ticket_id=ticket.id,
                             ticket_status=ticket.status.value)
