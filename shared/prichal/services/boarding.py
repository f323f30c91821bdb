"""Boarding at the gangway: a ticket's code scanned marks the ticket used, once.

The scanner (a crew phone or a gate with a staff API token scoped to ``tickets.board``)
sends what it read from the QR code. The code is verified with the tickets' public key
(the signature, and that it is this seller's), then the ticket is marked boarded by
``Inventory.board``: one statement that only takes a sold ticket not boarded yet, under the
ticket's row lock — a refund racing with the scan, or a second scanner, finds it changed
and loses. Every scan, let in or refused, is in the staff audit; a boarding also in the
order log. Refusals change nothing else and say what the crew must know at once
(``domain/boarding.py``): boarded already (when), refunded, for another sailing.

Scanners that work offline download the revocation list (``GET /function/refund/revocations``,
the same permission) and reconcile later; this is the online check.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from prichal.domain.boarding import BoardingTicket, TicketNotValid, check_boarding
from prichal.domain.errors import DomainError, InvalidInput, NotFound
from prichal.domain.ids import canonical_uuid
from prichal.domain.staff import StaffActor
from prichal.domain.tenants import Tenant
from prichal.domain.ticket_codes import InvalidTicketCode, TicketClaims
from prichal.observability.metrics import BOARDING_SCANS

from .inventory import Inventory
from .refunds import actor_label


class InvalidCode(InvalidInput):
    code = "invalid-ticket-code"
    title = "This is not a ticket code of ours"


@dataclass(frozen=True, slots=True)
class BoardingProgress:
    sailing_id: str
    departs_at: datetime
    sold: int
    boarded: int

    @property
    def waiting(self) -> int:
        return self.sold - self.boarded


class Boarding:
    def __init__(self, *, uow: Callable[[str], AbstractContextManager[Any]], verify: Callable[[str], TicketClaims],
                 clock: Callable[[], datetime]) -> None:
        """``verify(code)``: the claims of a ticket code signed with our key, else ``InvalidTicketCode``."""
        self._uow = uow
        self._verify = verify
        self._now = clock

    def scan(self, tenant: Tenant, code: str, actor: StaffActor, sailing_id: str | None = None) -> BoardingTicket:
        """Board the ticket of ``code`` (at the gangway of ``sailing_id``, when given)."""
        try:
            ticket = self._scan(tenant, code, actor, sailing_id)
        except DomainError as refused:
            BOARDING_SCANS.labels(refused.code).inc()
            raise
        BOARDING_SCANS.labels("boarded").inc()
        return ticket

    def _scan(self, tenant: Tenant, code: str, actor: StaffActor, sailing_id: str | None) -> BoardingTicket:
        at_sailing = None if sailing_id is None else canonical_uuid(sailing_id)
        if sailing_id is not None and at_sailing is None:
            raise InvalidInput("sailing_id is not a sailing id", errors=[
                {"loc": ["body", "sailing_id"], "type": "uuid_parsing", "msg": "a sailing id (UUID)"}])
        try:
            claims = self._verify(code.strip())
        except InvalidTicketCode as exc:
            raise InvalidCode(f"the code cannot be read as one of our tickets: {exc}", errors=[
                {"loc": ["body", "code"], "type": "invalid_ticket_code", "msg": str(exc)}]) from exc
        if claims.tenant != tenant.slug:
            raise NotFound("not a ticket of this seller")
        now = self._now()
        with self._uow(tenant.id) as uow:
            ticket = uow.orders.boarding_ticket(claims.ticket, for_update=True)
            if ticket is None:
                raise NotFound("ticket not found")
            try:
                check_boarding(ticket, at_sailing)
            except DomainError as refused:
                uow.audit.record(actor, "ticket.board_refused", "ticket", ticket.id, order_id=ticket.order_id,
                                 sailing_id=at_sailing, reason=refused.code)
                uow.commit()
                raise
            if not Inventory.board(uow, ticket.id, now):  # checked under the row lock: cannot happen
                raise TicketNotValid("the ticket changed while it was scanned; scan it again", ticket_id=ticket.id)
            uow.log.record("ticket.boarded", "ticket", ticket.id, actor_label(actor), ticket.order_id,
                           sailing_id=ticket.sailing_id, seat_id=ticket.seat_id)
            uow.audit.record(actor, "ticket.board", "ticket", ticket.id, order_id=ticket.order_id,
                             sailing_id=ticket.sailing_id)
            uow.commit()
        return replace(ticket, boarded_at=now)

    def progress(self, tenant: Tenant, sailing_id: str) -> BoardingProgress:
        """How many of a sailing's sold tickets have boarded."""
        sailing_id = _sailing_id(sailing_id)
        with self._uow(tenant.id) as uow:
            sailing = uow.catalog.sailing(sailing_id)
            if sailing is None:
                raise NotFound("sailing not found")
            counts = uow.orders.boarding_counts(sailing_id)
        return BoardingProgress(sailing_id, sailing.departs_at, counts["sold"], counts["boarded"])


def _sailing_id(value: str) -> str:
    canonical = canonical_uuid(value)
    if canonical is None:
        raise NotFound("sailing not found")
    return canonical
