"""An operator's seated departure (Astra Marine's ``DateTimeSeat``) as assigned seating here.

- The operator's seats become a seat map of the synced vessel: one section, one category
  (the operator's tariffs carry no seat category, so they price any seat), a seat per
  operator seat, ``<row>``/``<number>`` as the operator numbers them. The map is published
  as a version of the vessel the first time, and again only when the operator's layout
  changes (the same layout finds its version: a second sync publishes nothing).
- Which of our seats is which of theirs (our seat id -> their seat id, exactly as they sent
  it) is kept with the sailing's operator record (``supplier_sailings.booking["seats"]``):
  the order push sends their ids in ``registerOrder``.
- Seats the operator reports taken (sold, reserved, in someone's basket) are blocked on the
  sailing through the inventory module, by ``supplier:<operator>``; one it frees again is
  unblocked. A seat with a live ticket of ours (we sold it, the operator reports it sold) or
  in a live hold of ours is never blocked, and blocks set by staff are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prichal.domain import seat_map_editor as e
from prichal.domain.suppliers import SupplierSeat

from .inventory import Inventory

SECTION = "main"
CATEGORY = "main"
_ROW = re.compile(r"[^A-Za-zА-Яа-яЁё0-9]")
SEAT_STEP_X, SEAT_STEP_Y = 40.0, 50.0
MAP_NAME = "Схема мест оператора"


def blocked_by(supplier: str) -> str:
    return f"supplier:{supplier}"


@dataclass(frozen=True, slots=True)
class SeatPlan:
    document: e.SeatMapDocument
    refs: dict[str, str]  # our seat id -> the operator's seat id
    taken: frozenset[str]  # our seat ids the operator reports taken


def plan_of(seats: list[SupplierSeat]) -> SeatPlan | None:
    """The operator's seats as a seat-map document; ``None`` if it reports none. Rows and
    numbers as the operator gives them (a row label cut to what our ids allow); should two
    seats come out with one id, the seats are numbered in the operator's order in row 1."""
    if not seats:
        return None
    labelled = [(_row(seat.row), max(1, seat.number), seat) for seat in seats]
    if len({(row, number) for row, number, _ in labelled}) != len(labelled):
        labelled = [("1", index, seat) for index, seat in enumerate(seats, start=1)]
    rows = sorted({row for row, _, _ in labelled}, key=lambda r: (len(r), r))
    specs, refs, taken = [], {}, set()
    for row, number, seat in labelled:
        spec = e.SeatSpec(section=SECTION, row=row, number=number, x=(number - 1) * SEAT_STEP_X,
                          y=rows.index(row) * SEAT_STEP_Y, category=CATEGORY)
        specs.append(spec)
        refs[spec.id] = seat.ref
        if seat.status.taken:
            taken.add(spec.id)
    document = e.SeatMapDocument(name=MAP_NAME,
                                 sections=(e.SectionSpec(SECTION, "Салон"),),
                                 categories=(e.CategorySpec(CATEGORY, "Место"),),
                                 seats=tuple(sorted(specs, key=lambda s: (rows.index(s.row), s.number))))
    return SeatPlan(document, refs, frozenset(taken))


def _row(label: str) -> str:
    return _ROW.sub("", label)[:8] or "1"


def problems(plan: SeatPlan | None) -> str:
    """Why the operator's seats cannot be a seat map of ours ("" when they can)."""
    if plan is None:
        return "the operator sent no seats"
    if len(plan.document.seats) > e.MAX_SEATS:
        return f"the operator sent {len(plan.document.seats)} seats (at most {e.MAX_SEATS})"
    issues = e.validate(plan.document, e.Pricing(any_category=True))
    return "; ".join(issue.msg for issue in issues[:3])


def same_layout(a: e.SeatMapDocument, b: e.SeatMapDocument | None) -> bool:
    if b is None:
        return False
    return (a.name, set(a.sections), set(a.categories), set(a.seats)) == \
        (b.name, set(b.sections), set(b.categories), set(b.seats))


def version_for(uow: Any, vessel_id: str, plan: SeatPlan, supplier: str, now: datetime) -> tuple[str, bool]:
    """The vessel's version with the operator's layout, published if none has it yet:
    (seat map id, published now). Call inside the sync's unit of work."""
    uow.seat_maps.lock_vessel(vessel_id)
    for version in reversed(uow.seat_maps.versions(vessel_id)):
        if same_layout(plan.document, uow.seat_maps.document(version.id)):
            return version.id, False
    e.ensure_publishable(plan.document, e.Pricing(any_category=True))
    seat_map_id, number = uow.seat_maps.publish(vessel_id, plan.document, blocked_by(supplier), now)
    uow.audit.record(f"supplier-sync:{supplier}", "seatmap.published", "seat_map", seat_map_id, vessel_id=vessel_id,
                     version=number, seats=len(plan.document.seats), source=supplier)
    return seat_map_id, True


def mark_taken(uow: Any, sailing_id: str, seat_ids: set[str], plan: SeatPlan, supplier: str,
               held: set[str]) -> tuple[list[str], list[str]]:
    """Block on the sailing what the operator reports taken, unblock what it freed (only
    blocks of this operator's sync): (blocked, unblocked). ``seat_ids``: the seats of the
    sailing's version; ``held``: seats in live holds of ours."""
    by = blocked_by(supplier)
    ours = set(uow.seat_maps.live_tickets(sailing_id))
    existing = uow.seat_maps.blocks(sailing_id)
    synced = {seat for seat, block in existing.items() if block.blocked_by == by}
    taken = (set(plan.taken) & seat_ids) - ours
    to_block = sorted(taken - set(existing) - held)
    to_unblock = sorted(synced - taken)
    blocked = Inventory.block_on_sailing(uow, sailing_id, to_block, "taken at the operator", by) if to_block else []
    unblocked = Inventory.unblock_on_sailing(uow, sailing_id, to_unblock) if to_unblock else []
    return blocked, unblocked
