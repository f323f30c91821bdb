"""The one owner of a seat's lifecycle: held -> reserved -> sold -> released / refunded
-> revived, and blocked (see ``domain/inventory.py`` for the rules).

Two halves, always used in this order (state first, then effects):
- the PostgreSQL half runs inside the caller's unit of work: ticket rows change status
  (the unique index on live seat tickets refuses a seat sold twice) and free-seating
  counters move (the CHECK ``places_sold + places_held <= capacity``);
- ``mirror`` brings Redis's advisory copy in line after the transaction committed.

Checkout, payments, order expiry and refunds call it; nothing else writes a ticket's
status or a sailing's place counters. "A seat is never sold twice" reads here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.redis_holds import RedisHoldStore, epoch_ms
from prichal.domain.holds import Hold, HoldStatus
from prichal.domain.inventory import SeatChange, SeatState, TicketRow, ticket_status_for
from prichal.domain.orders import Order, TicketStatus

__all__ = ["Inventory", "SeatChange", "TicketRow"]


class Inventory:
    def __init__(self, store: RedisHoldStore) -> None:
        self._store = store

    # --- PostgreSQL (inside the caller's unit of work) --------------------------------
    @staticmethod
    def reserve(uow: UnitOfWork, order_id: str, sailing_id: str, seat_id: str | None, tariff_id: str,
                hold_token: str) -> str:
        """held -> reserved: one ticket of an order awaiting payment. The unique index on
        live seat tickets raises ``IntegrityError`` for a seat that has a live ticket."""
        return uow.orders.add_ticket(order_id, sailing_id, seat_id, tariff_id, hold_token, TicketStatus.RESERVED)

    @staticmethod
    def return_held_places(uow: UnitOfWork, sailing_id: str, quantity: int) -> None:
        """held -> free for a free-seating hold released or expired before it became an order."""
        uow.holds.return_places(sailing_id, quantity)

    @staticmethod
    def release_sailing_holds(uow: UnitOfWork, sailing_id: str, now: datetime) -> list[Hold]:
        """held -> free for every free-seating hold of a canceled sailing (its places back);
        seat holds live in Redis only: ``stop_sales`` releases them."""
        released = uow.holds.release_active(sailing_id, now)
        places = sum(hold.quantity for hold in released)
        if places:
            uow.holds.return_places(sailing_id, places)
        return released

    @staticmethod
    def sell(uow: UnitOfWork, order: Order) -> None:
        """reserved -> sold (the order was paid in time); held places become sold places."""
        uow.orders.set_ticket_status(order.id, TicketStatus.SOLD)
        if not _has_seats(order):
            uow.holds.sell_places(order.sailing_id, len(order.items))

    @staticmethod
    def revive(uow: UnitOfWork, order: Order) -> bool:
        """released -> sold for an order paid after it lapsed, if nobody took its seats (or
        places) meanwhile; inside a savepoint, so a refusal changes nothing."""
        savepoint = uow.conn.begin_nested()
        try:
            if _has_seats(order):
                uow.orders.set_ticket_status(order.id, TicketStatus.SOLD)  # the unique index decides
            elif not uow.holds.sell_places_again(order.sailing_id, len(order.items)):
                savepoint.rollback()
                return False
            savepoint.commit()
            return True
        except IntegrityError:  # the unique index refused: a seat was sold to someone else
            savepoint.rollback()
            return False

    @staticmethod
    def release(uow: UnitOfWork, order: Order) -> None:
        """reserved -> released: an unpaid order gives its seats (or held places) back."""
        uow.orders.set_ticket_status(order.id, TicketStatus.CANCELLED)
        if not _has_seats(order):
            uow.holds.return_places(order.sailing_id, len(order.items))

    @staticmethod
    def locked_tickets(uow: UnitOfWork, order_id: str) -> list[TicketRow]:
        """The order's tickets, row-locked (in ticket id order) until the transaction ends:
        a refund, a boarding scan and another refund of the same tickets serialise here."""
        return uow.orders.tickets(order_id, for_update=True)

    @staticmethod
    def refund(uow: UnitOfWork, order: Order, tickets: Iterable[TicketRow]) -> list[TicketRow]:
        """sold -> refunded for the given (locked) tickets; their seats go back on sale at
        once, free-seating places leave ``places_sold``. Returns the tickets moved."""
        moved = list(tickets)
        for ticket in moved:
            ticket_status_for(ticket.status, SeatState.REFUNDED)  # IllegalSeatMove unless sold
        if not moved:
            return []
        uow.orders.set_tickets_status([t.id for t in moved], TicketStatus.REFUNDED)
        places = sum(1 for t in moved if t.seat_id is None)
        if places:
            uow.holds.unsell_places(order.sailing_id, places)
        return moved

    @staticmethod
    def board(uow: UnitOfWork, ticket_id: str, at: datetime) -> bool:
        """A sold ticket is used (scanned at the gangway); ``False`` if it is not sold (e.g.
        refunded a moment earlier). Row-locked like a refund, so one of them wins."""
        return uow.orders.board_ticket(ticket_id, at)

    @staticmethod
    def set_blocked(uow: UnitOfWork, seat_map_id: str, seat_ids: list[str], blocked: bool) -> None:
        """free <-> blocked: seats the seller takes out of sale (or puts back)."""
        uow.catalog.set_seats_blocked(seat_map_id, seat_ids, blocked)

    @staticmethod
    def block_on_sailing(uow: UnitOfWork, sailing_id: str, seat_ids: list[str], reason: str, by: str) -> list[str]:
        """free -> blocked on one sailing only (crew seats, a broken seat), without a new
        seat-map version; answers the seats that were not blocked before. The caller has made
        sure none has a live ticket or hold (``services/seat_maps.py`` decides what a held seat
        means). ``sold_seats`` counts these rows, so neither a hold reload nor an order takes them."""
        return uow.seat_maps.add_blocks(sailing_id, seat_ids, reason, by)

    @staticmethod
    def unblock_on_sailing(uow: UnitOfWork, sailing_id: str, seat_ids: list[str]) -> list[str]:
        """blocked on one sailing -> free; answers the seats that were blocked."""
        return uow.seat_maps.remove_blocks(sailing_id, seat_ids)

    # --- Redis mirror (after commit) ----------------------------------------------------
    def mirror_blocks(self, tenant_id: str, sailing_id: str, blocked: list[str], unblocked: list[str]) -> None:
        """Seats blocked on a sailing join its "taken" set, which every hold script checks
        (unblocked ones leave it); either way the seat map's version moves, so the storefront
        shows the change at once."""
        if blocked:
            self._store.mark_taken(tenant_id, sailing_id, blocked, taken=True)
        if unblocked:
            self._store.mark_taken(tenant_id, sailing_id, unblocked, taken=False)
        if not blocked and not unblocked:
            self._store.invalidate_seatmap(tenant_id, sailing_id)

    def mirror(self, tenant_id: str, order: Order, change: SeatChange, seat_ids: list[str] | None = None) -> None:
        """Bring Redis's advisory copy in line with an order's committed seat change. Seat
        orders live in the "taken" set; free-seating orders keep their places claim until paid
        or released (the database counts sold places). ``seat_ids``: the refunded seats."""
        seats = [item.seat_id for item in order.items if item.seat_id] if seat_ids is None else seat_ids
        if change is SeatChange.REFUNDED:
            if seats:
                self._store.mark_taken(tenant_id, order.sailing_id, seats, taken=False)
            else:
                self._store.invalidate_seatmap(tenant_id, order.sailing_id)
            return
        if seats:
            if change is SeatChange.PAID:  # still taken; only the seat map changes (held -> sold)
                self._store.invalidate_seatmap(tenant_id, order.sailing_id)
            else:
                self._store.mark_taken(tenant_id, order.sailing_id, seats, taken=change is SeatChange.REVIVED)
        elif change is not SeatChange.REVIVED:
            self._store.release(tenant_id, order.sailing_id, order.hold_token, [])

    def mirror_ordered(self, tenant_id: str, order: Order, now: datetime, key_ttl_ms: int) -> None:
        """After an order was placed: a seat order's seats move from the hold's claim to the
        "taken" set; a free-seating order keeps its places claimed for as long as it may wait
        for payment."""
        seats = [item.seat_id for item in order.items if item.seat_id]
        if seats:
            self._store.release(tenant_id, order.sailing_id, order.hold_token, seats, HoldStatus.ORDERED)
            return
        hold = Hold(token=order.hold_token, tenant_id=tenant_id, sailing_id=order.sailing_id,
                    client_id=order.client_id, seat_ids=(), quantity=len(order.items), status=HoldStatus.ORDERED,
                    created_at=order.created_at, expires_at=order.expires_at)
        self._store.extend(hold, epoch_ms(now), epoch_ms(order.expires_at), key_ttl_ms)

    def stop_sales(self, tenant_id: str, sailing_id: str, released: Iterable[Hold], now: datetime) -> None:
        """A canceled sailing, after ``release_sailing_holds`` committed: the claims of its
        free-seating holds and every live seat hold are dropped (their records say released),
        and its seat map changes."""
        for hold in released:
            self._store.release(tenant_id, sailing_id, hold.token, [], HoldStatus.RELEASED)
        by_token: dict[str, list[str]] = {}
        for seat_id, (token, _) in self._store.seat_claims(tenant_id, sailing_id, epoch_ms(now)).items():
            by_token.setdefault(token, []).append(seat_id)
        for token, seat_ids in by_token.items():
            self._store.release(tenant_id, sailing_id, token, seat_ids, HoldStatus.RELEASED)
        self._store.invalidate_seatmap(tenant_id, sailing_id)


def _has_seats(order: Order) -> bool:
    return any(item.seat_id for item in order.items)
