"""Seat maps as the editor sees them: versions of a vessel's map, its one draft, the sailings
on a version, and seats blocked on one sailing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from prichal.domain.seat_map_editor import (
    Bounds,
    CategorySpec,
    Pricing,
    SeatMapDocument,
    SeatSpec,
    SectionSpec,
)

from .tables import (
    sailing_seat_blocks,
    sailings,
    seat_categories,
    seat_map_drafts,
    seat_map_sections,
    seat_maps,
    seats,
    tariffs,
    tickets,
    vessels,
)

LIVE_TICKET = ("reserved", "sold")


@dataclass(frozen=True, slots=True)
class DraftRow:
    id: str
    vessel_id: str
    base_version: int | None
    document: dict[str, Any]  # the seat-map file format
    revision: int
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class VersionRow:
    id: str
    vessel_id: str
    version: int
    name: str
    created_at: datetime
    published_at: datetime | None
    published_by: str | None
    seats: int
    sailings: int


@dataclass(frozen=True, slots=True)
class SailingRow:
    id: str
    vessel_id: str
    seat_map_id: str | None
    seating: str
    capacity: int


@dataclass(frozen=True, slots=True)
class BlockRow:
    seat_id: str
    reason: str
    blocked_by: str
    created_at: datetime


def _draft(row: Any) -> DraftRow:
    return DraftRow(id=row.id, vessel_id=row.vessel_id, base_version=row.base_version, document=row.document,
                    revision=row.revision, updated_at=row.updated_at, updated_by=row.updated_by)


class SeatMapRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    # --- vessels and versions ----------------------------------------------------------
    def lock_vessel(self, vessel_id: str) -> bool:
        """Serialise the edits of one vessel's map (row-level security hides other tenants')."""
        return self.conn.execute(select(vessels.c.id).where(vessels.c.id == vessel_id).with_for_update()).first() \
            is not None

    def vessel_exists(self, vessel_id: str) -> bool:
        return self.conn.execute(select(vessels.c.id).where(vessels.c.id == vessel_id)).first() is not None

    def versions(self, vessel_id: str) -> list[VersionRow]:
        seat_count = (select(func.count()).select_from(seats).where(seats.c.seat_map_id == seat_maps.c.id)
                      .scalar_subquery())
        sailing_count = (select(func.count()).select_from(sailings).where(sailings.c.seat_map_id == seat_maps.c.id)
                         .scalar_subquery())
        rows = self.conn.execute(select(seat_maps, seat_count.label("seat_count"),
                                        sailing_count.label("sailing_count"))
                                 .where(seat_maps.c.vessel_id == vessel_id).order_by(seat_maps.c.version))
        return [VersionRow(id=r.id, vessel_id=r.vessel_id, version=r.version, name=r.name, created_at=r.created_at,
                           published_at=r.published_at, published_by=r.published_by, seats=r.seat_count,
                           sailings=r.sailing_count) for r in rows]

    def version(self, seat_map_id: str) -> VersionRow | None:
        head = self.conn.execute(select(seat_maps.c.vessel_id).where(seat_maps.c.id == seat_map_id)).first()
        if head is None:
            return None
        return next(v for v in self.versions(head.vessel_id) if v.id == seat_map_id)

    def document(self, seat_map_id: str) -> SeatMapDocument | None:
        """A published version in the editor's form."""
        head = self.conn.execute(select(seat_maps).where(seat_maps.c.id == seat_map_id)).first()
        if head is None:
            return None
        sections = tuple(
            SectionSpec(r.code, r.name, Bounds(float(r.x), float(r.y), float(r.width), float(r.height))
                        if r.width is not None else None)
            for r in self.conn.execute(select(seat_map_sections).where(seat_map_sections.c.seat_map_id == seat_map_id)
                                       .order_by(seat_map_sections.c.code)))
        categories = tuple(
            CategorySpec(r.code, r.name, r.color)
            for r in self.conn.execute(select(seat_categories).where(seat_categories.c.seat_map_id == seat_map_id)
                                       .order_by(seat_categories.c.code)))
        seat_rows = self.conn.execute(select(seats).where(seats.c.seat_map_id == seat_map_id)
                                      .order_by(seats.c.section, seats.c.row_label, seats.c.number))
        return SeatMapDocument(name=head.name, sections=sections, categories=categories, seats=tuple(
            SeatSpec(section=r.section, row=r.row_label, number=r.number, x=float(r.x), y=float(r.y),
                     category=r.category, accessible=r.accessible, blocked=r.blocked) for r in seat_rows))

    def publish(self, vessel_id: str, document: SeatMapDocument, by: str, at: datetime) -> tuple[str, int]:
        """Write the document as the vessel's next version (call with the vessel locked)."""
        latest = self.conn.execute(select(func.max(seat_maps.c.version)).where(seat_maps.c.vessel_id == vessel_id)
                                   ).scalar()
        version = (latest or 0) + 1
        seat_map_id = self.conn.execute(insert(seat_maps).values(
            tenant_id=self.tenant_id, vessel_id=vessel_id, version=version, name=document.name, published_at=at,
            published_by=by).returning(seat_maps.c.id)).scalar_one()
        base = {"seat_map_id": seat_map_id, "tenant_id": self.tenant_id}
        if document.sections:
            self.conn.execute(insert(seat_map_sections), [
                {**base, "code": s.code, "name": s.name,
                 **({"x": s.bounds.x, "y": s.bounds.y, "width": s.bounds.width, "height": s.bounds.height}
                    if s.bounds else dict.fromkeys(("x", "y", "width", "height")))} for s in document.sections])
        self.conn.execute(insert(seat_categories), [
            {**base, "code": c.code, "name": c.name, "color": c.color} for c in document.categories])
        self.conn.execute(insert(seats), [
            {**base, "code": s.id, "section": s.section, "row_label": s.row, "number": s.number,
             "x": Decimal(str(s.x)), "y": Decimal(str(s.y)), "category": s.category, "blocked": s.blocked,
             "accessible": s.accessible} for s in document.seats])
        # the vessel's new sailings take the newest version; existing sailings keep theirs
        self.conn.execute(update(vessels).where(vessels.c.id == vessel_id).values(seat_map_id=seat_map_id))
        return seat_map_id, version

    def pricing(self) -> Pricing:
        """The seat categories active tariffs price: the ones they name, and every category
        when a tariff without one belongs to a program with assigned-seating sailings (that
        tariff then applies to any seat)."""
        named = set(self.conn.execute(select(tariffs.c.seat_category).distinct()
                                      .where(tariffs.c.active, tariffs.c.seat_category.is_not(None))).scalars())
        seated = select(sailings.c.program_id).where(sailings.c.seating == "assigned")
        any_category = self.conn.execute(select(tariffs.c.id).where(
            tariffs.c.active, tariffs.c.seat_category.is_(None), tariffs.c.program_id.in_(seated)).limit(1)
        ).first() is not None
        return Pricing(frozenset(named), any_category)

    # --- the draft -----------------------------------------------------------------------
    def draft(self, vessel_id: str, for_update: bool = False) -> DraftRow | None:
        query = select(seat_map_drafts).where(seat_map_drafts.c.vessel_id == vessel_id)
        row = self.conn.execute(query.with_for_update() if for_update else query).first()
        return _draft(row) if row else None

    def create_draft(self, vessel_id: str, base_version: int | None, document: dict[str, Any], by: str
                     ) -> DraftRow | None:
        """The new draft, or ``None`` when the vessel has one already."""
        row = self.conn.execute(pg_insert(seat_map_drafts).values(
            tenant_id=self.tenant_id, vessel_id=vessel_id, base_version=base_version, document=document,
            updated_by=by).on_conflict_do_nothing(index_elements=["vessel_id"]).returning(*seat_map_drafts.c)).first()
        return _draft(row) if row else None

    def save_draft(self, draft_id: str, document: dict[str, Any], by: str, at: datetime) -> int:
        return self.conn.execute(update(seat_map_drafts).where(seat_map_drafts.c.id == draft_id).values(
            document=document, updated_by=by, updated_at=at, revision=seat_map_drafts.c.revision + 1)
            .returning(seat_map_drafts.c.revision)).scalar_one()

    def delete_draft(self, draft_id: str) -> None:
        self.conn.execute(delete(seat_map_drafts).where(seat_map_drafts.c.id == draft_id))

    # --- sailings --------------------------------------------------------------------------
    def sailing(self, sailing_id: str, for_update: bool = False) -> SailingRow | None:
        query = select(sailings.c.id, sailings.c.vessel_id, sailings.c.seat_map_id, sailings.c.seating,
                       sailings.c.capacity).where(sailings.c.id == sailing_id)
        row = self.conn.execute(query.with_for_update() if for_update else query).first()
        return SailingRow(row.id, row.vessel_id, row.seat_map_id, row.seating, row.capacity) if row else None

    def move_sailing(self, sailing_id: str, seat_map_id: str, capacity: int) -> None:
        self.conn.execute(update(sailings).where(sailings.c.id == sailing_id).values(
            seat_map_id=seat_map_id, capacity=capacity))

    def live_tickets(self, sailing_id: str) -> dict[str, str]:
        """Seat id -> id of its live (reserved or sold) ticket."""
        rows = self.conn.execute(select(tickets.c.seat_id, tickets.c.id).where(
            tickets.c.sailing_id == sailing_id, tickets.c.seat_id.is_not(None), tickets.c.status.in_(LIVE_TICKET)))
        return {row.seat_id: row.id for row in rows}

    # --- seats blocked on one sailing ------------------------------------------------------
    def blocks(self, sailing_id: str) -> dict[str, BlockRow]:
        rows = self.conn.execute(select(sailing_seat_blocks).where(sailing_seat_blocks.c.sailing_id == sailing_id)
                                 .order_by(sailing_seat_blocks.c.seat_id))
        return {r.seat_id: BlockRow(r.seat_id, r.reason, r.blocked_by, r.created_at) for r in rows}

    def add_blocks(self, sailing_id: str, seat_ids: list[str], reason: str, by: str) -> list[str]:
        """Block the seats; answers the ones that were not blocked yet."""
        if not seat_ids:
            return []
        rows = self.conn.execute(pg_insert(sailing_seat_blocks).values([
            {"sailing_id": sailing_id, "seat_id": s, "tenant_id": self.tenant_id, "reason": reason, "blocked_by": by}
            for s in seat_ids]).on_conflict_do_nothing().returning(sailing_seat_blocks.c.seat_id))
        return sorted(rows.scalars())

    def remove_blocks(self, sailing_id: str, seat_ids: list[str]) -> list[str]:
        rows = self.conn.execute(delete(sailing_seat_blocks).where(
            sailing_seat_blocks.c.sailing_id == sailing_id, sailing_seat_blocks.c.seat_id.in_(seat_ids))
            .returning(sailing_seat_blocks.c.seat_id))
        return sorted(rows.scalars())

    def drop_blocks_outside(self, sailing_id: str, seat_ids: set[str]) -> list[str]:
        """After a re-map: blocks of seats the new version does not have go."""
        rows = self.conn.execute(delete(sailing_seat_blocks).where(
            sailing_seat_blocks.c.sailing_id == sailing_id, sailing_seat_blocks.c.seat_id.not_in(sorted(seat_ids)))
            .returning(sailing_seat_blocks.c.seat_id))
        return sorted(rows.scalars())
