"""The durable record of holds and the free-seating capacity counter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Connection, select, update

from prichal.domain.holds import Hold, HoldStatus

from .tables import sailings, seat_holds


def _hold(row) -> Hold:
    return Hold(token=row.token, tenant_id=row.tenant_id, sailing_id=row.sailing_id, client_id=row.client_id,
                seat_ids=tuple(row.seat_ids), quantity=row.quantity, status=HoldStatus(row.status),
                created_at=row.created_at, expires_at=row.expires_at)


class HoldRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def add(self, hold: Hold) -> None:
        self.conn.execute(seat_holds.insert().values(
            token=hold.token, tenant_id=self.tenant_id, sailing_id=hold.sailing_id, client_id=hold.client_id,
            seat_ids=list(hold.seat_ids), quantity=hold.quantity, status=hold.status.value,
            created_at=hold.created_at, expires_at=hold.expires_at))

    def get(self, token: str, for_update: bool = False) -> Hold | None:
        query = select(seat_holds).where(seat_holds.c.token == token)
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _hold(row) if row else None

    def close(self, token: str, status: HoldStatus, at: datetime) -> None:
        self.conn.execute(update(seat_holds).where(seat_holds.c.token == token)
                          .values(status=status.value, closed_at=at))

    def set_expiry(self, token: str, expires_at: datetime) -> None:
        self.conn.execute(update(seat_holds).where(seat_holds.c.token == token).values(expires_at=expires_at))

    def take_due(self, now: datetime, limit: int, sailing_id: str | None = None) -> list[Hold]:
        """Mark active holds past their expiry as expired and return them (skips rows
        another reconciler is working on)."""
        due = (select(seat_holds.c.token)
               .where(seat_holds.c.status == HoldStatus.ACTIVE.value, seat_holds.c.expires_at <= now)
               .order_by(seat_holds.c.expires_at).limit(limit).with_for_update(skip_locked=True))
        if sailing_id:
            due = due.where(seat_holds.c.sailing_id == sailing_id)
        rows = self.conn.execute(
            update(seat_holds).where(seat_holds.c.token.in_(due.scalar_subquery()))
            .values(status=HoldStatus.EXPIRED.value, closed_at=now).returning(*seat_holds.c))
        return [_hold(row) for row in rows]

    def release_active(self, sailing_id: str, at: datetime) -> list[Hold]:
        """Every active hold of a sailing recorded here (free seating) becomes released."""
        rows = self.conn.execute(
            update(seat_holds).where(seat_holds.c.sailing_id == sailing_id,
                                     seat_holds.c.status == HoldStatus.ACTIVE.value)
            .values(status=HoldStatus.RELEASED.value, closed_at=at).returning(*seat_holds.c))
        return [_hold(row) for row in rows]

    # --- free seating: sold + held never exceeds capacity (a CHECK on sailings) -----------
    def reserve_places(self, sailing_id: str, quantity: int) -> bool:
        return self._add_within_capacity(sailing_id, quantity, sailings.c.places_held)

    def sell_places(self, sailing_id: str, quantity: int) -> None:
        """Held places of a paid order become sold (the sum, and so the check, is unchanged)."""
        self.conn.execute(update(sailings).where(sailings.c.id == sailing_id).values(
            places_held=sailings.c.places_held - quantity, places_sold=sailings.c.places_sold + quantity))

    def sell_places_again(self, sailing_id: str, quantity: int) -> bool:
        """Sell places of an order whose hold was already given back, if they are still free."""
        return self._add_within_capacity(sailing_id, quantity, sailings.c.places_sold)

    def _add_within_capacity(self, sailing_id: str, quantity: int, counter: Column[int]) -> bool:
        """Add ``quantity`` to held or sold places unless sold + held would pass the capacity."""
        updated = self.conn.execute(
            update(sailings)
            .where(sailings.c.id == sailing_id,
                   sailings.c.places_sold + sailings.c.places_held + quantity <= sailings.c.capacity)
            .values({counter: counter + quantity}).returning(sailings.c.id)).first()
        return updated is not None

    def unsell_places(self, sailing_id: str, quantity: int) -> None:
        """Sold places of refunded tickets go back on sale."""
        self.conn.execute(update(sailings).where(sailings.c.id == sailing_id)
                          .values(places_sold=sailings.c.places_sold - quantity))

    def return_places(self, sailing_id: str, quantity: int) -> None:
        self.conn.execute(update(sailings).where(sailings.c.id == sailing_id)
                          .values(places_held=sailings.c.places_held - quantity))
