"""Writes of the catalog (piers, vessels, programs, tariffs, sailings) for the admin API.

Rows go in and out as plain dicts of column values; the rules (what may change, what may be
deleted) are the service's (``services/catalog_admin.py``). Row-level security confines
every statement to the unit of work's tenant.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, func, or_, select, update

from prichal.domain.schedule import LiveTicket

from .tables import (
    order_items,
    orders,
    piers,
    programs,
    sailings,
    seat_holds,
    seat_maps,
    seats,
    tariffs,
    tickets,
    vessels,
)

KINDS: dict[str, Table] = {"piers": piers, "vessels": vessels, "programs": programs, "tariffs": tariffs,
                           "sailings": sailings}
LIVE = ("reserved", "sold")


class CatalogAdminRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    # --- any kind ----------------------------------------------------------------------
    def list(self, kind: str, **where: Any) -> list[dict[str, Any]]:
        table = KINDS[kind]
        query = select(table).where(*(table.c[k] == v for k, v in where.items() if v is not None))
        order = [table.c.departs_at] if kind == "sailings" else [table.c.name] if "name" in table.c else []
        return [dict(row._mapping) for row in self.conn.execute(query.order_by(*order, table.c.id))]

    def get(self, kind: str, entity_id: str, for_update: bool = False) -> dict[str, Any] | None:
        table = KINDS[kind]
        query = select(table).where(table.c.id == entity_id)
        row = self.conn.execute(query.with_for_update() if for_update else query).first()
        return dict(row._mapping) if row else None

    def insert(self, kind: str, values: dict[str, Any]) -> dict[str, Any]:
        table = KINDS[kind]
        row = self.conn.execute(table.insert().values(tenant_id=self.tenant_id, **values).returning(table)).one()
        return dict(row._mapping)

    def insert_many(self, kind: str, rows: list[dict[str, Any]]) -> list[str]:
        if not rows:
            return []
        table = KINDS[kind]
        found = self.conn.execute(table.insert().returning(table.c.id),
                                  [{"tenant_id": self.tenant_id, **row} for row in rows])
        return list(found.scalars())

    def update(self, kind: str, entity_id: str, values: dict[str, Any]) -> dict[str, Any]:
        table = KINDS[kind]
        row = self.conn.execute(update(table).where(table.c.id == entity_id).values(**values).returning(table)).one()
        return dict(row._mapping)

    def delete(self, kind: str, entity_id: str) -> None:
        table = KINDS[kind]
        self.conn.execute(delete(table).where(table.c.id == entity_id))

    # --- what refers to what -----------------------------------------------------------
    def sailings_using(self, column: str, entity_id: str) -> int:
        return int(self.conn.execute(select(func.count()).select_from(sailings)
                                     .where(sailings.c[column] == entity_id)).scalar_one())

    def seat_maps_of(self, vessel_id: str) -> int:
        return int(self.conn.execute(select(func.count()).select_from(seat_maps)
                                     .where(seat_maps.c.vessel_id == vessel_id)).scalar_one())

    def tariff_sold(self, tariff_id: str) -> int:
        """Tickets and order lines ever made with the tariff (its price is on their documents)."""
        in_tickets = select(func.count()).select_from(tickets).where(tickets.c.tariff_id == tariff_id)
        in_items = select(func.count()).select_from(order_items).where(order_items.c.tariff_id == tariff_id)
        return int(self.conn.execute(select(in_tickets.scalar_subquery() + in_items.scalar_subquery())).scalar_one())

    def overlapping_tariffs(self, program_id: str, ticket_type: str, seat_category: str | None,
                            valid_from: date | None, valid_until: date | None, except_id: str | None) -> list[str]:
        query = select(tariffs.c.id).where(
            tariffs.c.program_id == program_id, tariffs.c.ticket_type == ticket_type,
            tariffs.c.seat_category.is_(None) if seat_category is None else tariffs.c.seat_category == seat_category,
            or_(tariffs.c.valid_until.is_(None), valid_from is None or tariffs.c.valid_until >= valid_from),
            or_(tariffs.c.valid_from.is_(None), valid_until is None or tariffs.c.valid_from <= valid_until))
        if except_id:
            query = query.where(tariffs.c.id != except_id)
        return list(self.conn.execute(query).scalars())

    def lock_program(self, program_id: str) -> None:
        """Serialises changes of one program's tariffs (the overlap check reads, then writes)."""
        self.conn.execute(select(programs.c.id).where(programs.c.id == program_id).with_for_update())

    # --- sailings ------------------------------------------------------------------------
    def live_tickets(self, sailing_id: str) -> list[LiveTicket]:
        rows = self.conn.execute(select(tickets.c.id, tickets.c.seat_id).where(
            tickets.c.sailing_id == sailing_id, tickets.c.status.in_(LIVE))
            .order_by(tickets.c.created_at, tickets.c.id))
        return [LiveTicket(row.id, row.seat_id) for row in rows]

    def ever_sold(self, sailing_id: str) -> dict[str, int]:
        """Tickets, orders and holds a sailing ever had (any status): what keeps it from deletion."""
        count = {}
        for name, table in (("tickets", tickets), ("orders", orders), ("holds", seat_holds)):
            count[name] = int(self.conn.execute(select(func.count()).select_from(table)
                                                .where(table.c.sailing_id == sailing_id)).scalar_one())
        return count

    def departures(self, program_id: str, pier_id: str, start: datetime, end: datetime) -> set[datetime]:
        rows = self.conn.execute(select(sailings.c.departs_at).where(
            sailings.c.program_id == program_id, sailings.c.pier_id == pier_id,
            sailings.c.departs_at >= start, sailings.c.departs_at <= end))
        return set(rows.scalars())

    def sailings_between(self, start: datetime | None, end: datetime | None,
                         program_id: str | None = None) -> list[dict[str, Any]]:
        query = select(sailings).order_by(sailings.c.departs_at, sailings.c.id)
        conditions = []
        if start is not None:
            conditions.append(sailings.c.departs_at >= start)
        if end is not None:
            conditions.append(sailings.c.departs_at < end)
        if program_id:
            conditions.append(sailings.c.program_id == program_id)
        if conditions:
            query = query.where(and_(*conditions))
        return [dict(row._mapping) for row in self.conn.execute(query.limit(2000))]

    # --- seat maps (read only: the seat-map editor owns them) ----------------------------
    def seat_map(self, seat_map_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(seat_maps.c.id, seat_maps.c.vessel_id)
                                .where(seat_maps.c.id == seat_map_id)).first()
        if row is None:
            return None
        found = self.conn.execute(select(seats.c.code, seats.c.blocked).where(seats.c.seat_map_id == seat_map_id)).all()
        return {"id": row.id, "vessel_id": row.vessel_id, "seats": len(found),
                "sellable": {code for code, blocked in found if not blocked}}
