"""Reads of the catalog: sailings, seat maps, tariffs and what is sold."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Connection, func, or_, select, update

from prichal.domain.catalog import Sailing, SailingStatus, Tariff
from prichal.domain.seating import Seat, SeatCategory, Seating, SeatMap
from prichal.domain.vat import VatRate

from .tables import (
    piers,
    programs,
    sailing_seat_blocks,
    sailings,
    seat_categories,
    seat_holds,
    seat_map_sections,
    seat_maps,
    seats,
    tariffs,
    tickets,
    vessels,
)

LIVE_TICKET = ("reserved", "sold")

_sailing_columns = [
    sailings,
    programs.c.name.label("program_name"),
    piers.c.name.label("pier_name"),
    vessels.c.name.label("vessel_name"),
]
_sailing_join = (sailings.join(programs, programs.c.id == sailings.c.program_id)
                 .join(piers, piers.c.id == sailings.c.pier_id)
                 .join(vessels, vessels.c.id == sailings.c.vessel_id))


def _sailing(row) -> Sailing:
    return Sailing(
        id=row.id, tenant_id=row.tenant_id, program_id=row.program_id, program_name=row.program_name,
        pier_id=row.pier_id, pier_name=row.pier_name, vessel_id=row.vessel_id, vessel_name=row.vessel_name,
        seat_map_id=row.seat_map_id, departs_at=row.departs_at, duration_minutes=row.duration_minutes,
        seating=Seating(row.seating), capacity=row.capacity, status=SailingStatus(row.status),
        places_sold=row.places_sold, places_held=row.places_held,
        sales_open_at=row.sales_open_at, sales_closed_at=row.sales_close_at,
    )


class CatalogRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def sailing(self, sailing_id: str) -> Sailing | None:
        row = self.conn.execute(
            select(*_sailing_columns).select_from(_sailing_join).where(sailings.c.id == sailing_id)).first()
        return _sailing(row) if row else None

    def sailings_near(self, sailing_id: str, window: timedelta) -> list[Sailing]:
        """A sailing and every other one departing within ``window`` of it, in one query:
        buyers of one sailing are usually looking at its neighbours too."""
        departs = select(sailings.c.departs_at).where(sailings.c.id == sailing_id).scalar_subquery()
        rows = self.conn.execute(select(*_sailing_columns).select_from(_sailing_join).where(
            sailings.c.departs_at.between(departs - window, departs + window)))
        return [_sailing(row) for row in rows]

    def sailings_between(self, start: datetime, end: datetime, pier_id: str | None = None,
                         program_id: str | None = None) -> list[Sailing]:
        query = (select(*_sailing_columns).select_from(_sailing_join)
                 .where(sailings.c.departs_at >= start, sailings.c.departs_at < end)
                 .order_by(sailings.c.departs_at))
        if pier_id:
            query = query.where(sailings.c.pier_id == pier_id)
        if program_id:
            query = query.where(sailings.c.program_id == program_id)
        return [_sailing(row) for row in self.conn.execute(query)]

    def seat_map(self, seat_map_id: str) -> SeatMap | None:
        head = self.conn.execute(select(seat_maps).where(seat_maps.c.id == seat_map_id)).first()
        if head is None:
            return None
        categories = {
            row.code: SeatCategory(row.code, row.name, row.color)
            for row in self.conn.execute(select(seat_categories).where(seat_categories.c.seat_map_id == seat_map_id))
        }
        sections = dict(self.conn.execute(select(seat_map_sections.c.code, seat_map_sections.c.name)
                                          .where(seat_map_sections.c.seat_map_id == seat_map_id)).all())
        seat_rows = self.conn.execute(
            select(seats).where(seats.c.seat_map_id == seat_map_id)
            .order_by(seats.c.section, seats.c.row_label, seats.c.number))
        return SeatMap(
            id=head.id, vessel_id=head.vessel_id, version=head.version, name=head.name, categories=categories,
            sections=sections,
            seats={
                row.code: Seat(id=row.code, section=row.section, row=row.row_label, number=row.number,
                               x=float(row.x), y=float(row.y), category=row.category, blocked=row.blocked,
                               accessible=row.accessible)
                for row in seat_rows
            },
        )

    def tariffs(self, program_ids: list[str], on: date | None = None) -> list[Tariff]:
        """Active tariffs of the programs; with ``on`` (a day of departure in the tenant's
        time zone) only those valid that day."""
        if not program_ids:
            return []
        query = (select(tariffs).where(tariffs.c.program_id.in_(program_ids), tariffs.c.active)
                 .order_by(tariffs.c.program_id, tariffs.c.seat_category, tariffs.c.ticket_type))
        if on is not None:
            query = query.where(or_(tariffs.c.valid_from.is_(None), tariffs.c.valid_from <= on),
                                or_(tariffs.c.valid_until.is_(None), tariffs.c.valid_until >= on))
        return [
            Tariff(id=row.id, program_id=row.program_id, ticket_type=row.ticket_type,
                   seat_category=row.seat_category, name=row.name, price=row.price,
                   vat_rate=VatRate(row.vat_rate) if row.vat_rate else None,
                   valid_from=row.valid_from, valid_until=row.valid_until)
            for row in self.conn.execute(query)
        ]

    def sold_seats(self, sailing_id: str, among: list[str] | None = None) -> set[str]:
        """Seats that cannot be held or ordered on the sailing: with a live ticket, or
        blocked on this sailing only (``sailing_seat_blocks``)."""
        query = select(tickets.c.seat_id).where(
            tickets.c.sailing_id == sailing_id, tickets.c.seat_id.is_not(None), tickets.c.status.in_(LIVE_TICKET))
        blocked = select(sailing_seat_blocks.c.seat_id).where(sailing_seat_blocks.c.sailing_id == sailing_id)
        if among is not None:
            query = query.where(tickets.c.seat_id.in_(among))
            blocked = blocked.where(sailing_seat_blocks.c.seat_id.in_(among))
        return set(self.conn.execute(query.union(blocked)).scalars())

    def blocked_seats_of(self, sailing_ids: list[str]) -> dict[str, set[str]]:
        """Seats blocked on one sailing only, per sailing (the map's own blocks are in the map)."""
        found: dict[str, set[str]] = {sailing_id: set() for sailing_id in sailing_ids}
        if sailing_ids:
            rows = self.conn.execute(select(sailing_seat_blocks.c.sailing_id, sailing_seat_blocks.c.seat_id)
                                     .where(sailing_seat_blocks.c.sailing_id.in_(sailing_ids)))
            for row in rows:
                found[row.sailing_id].add(row.seat_id)
        return found

    def ticketed_seats(self, sailing_id: str) -> dict[str, str]:
        """Seats with a live ticket: seat id -> ``reserved`` (awaiting payment) or ``sold``."""
        rows = self.conn.execute(select(tickets.c.seat_id, tickets.c.status).where(
            tickets.c.sailing_id == sailing_id, tickets.c.seat_id.is_not(None), tickets.c.status.in_(LIVE_TICKET)))
        return {row.seat_id: row.status for row in rows}

    def ticketed_seats_of(self, sailing_ids: list[str]) -> dict[str, set[str]]:
        """Seats with a live ticket, per assigned-seating sailing."""
        found: dict[str, set[str]] = {sailing_id: set() for sailing_id in sailing_ids}
        if sailing_ids:
            rows = self.conn.execute(select(tickets.c.sailing_id, tickets.c.seat_id).where(
                tickets.c.sailing_id.in_(sailing_ids), tickets.c.seat_id.is_not(None),
                tickets.c.status.in_(LIVE_TICKET)))
            for row in rows:
                found[row.sailing_id].add(row.seat_id)
        return found

    def places_taken(self, sailing_ids: list[str], now: datetime) -> dict[str, int]:
        """Places sold or held per free-seating sailing, from the durable counters (not from
        Redis, which cannot tell "nothing held" from "lost"): a hold past its expiry that the
        reconciler has not settled yet no longer counts."""
        if not sailing_ids:
            return {}
        due = (select(seat_holds.c.sailing_id, func.sum(seat_holds.c.quantity).label("quantity"))
               .where(seat_holds.c.sailing_id.in_(sailing_ids), seat_holds.c.status == "active",
                      seat_holds.c.expires_at <= now)
               .group_by(seat_holds.c.sailing_id).subquery())
        rows = self.conn.execute(
            select(sailings.c.id,
                   (sailings.c.places_sold + sailings.c.places_held - func.coalesce(due.c.quantity, 0)).label("taken"))
            .select_from(sailings.outerjoin(due, due.c.sailing_id == sailings.c.id))
            .where(sailings.c.id.in_(sailing_ids)))
        return {row.id: int(row.taken) for row in rows}

    def set_seats_blocked(self, seat_map_id: str, seat_ids: list[str], blocked: bool) -> None:
        self.conn.execute(update(seats).where(seats.c.seat_map_id == seat_map_id, seats.c.code.in_(seat_ids))
                          .values(blocked=blocked))
