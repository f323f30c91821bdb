"""Seat maps, seat statuses and what a buyer may select on a sailing."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .errors import InvalidInput


class Seating(enum.StrEnum):
    ASSIGNED = "assigned"  # a seat map; each ticket is for one seat
    FREE = "free"  # no seat map; a capacity counter


class SeatStatus(enum.StrEnum):
    FREE = "free"
    HELD = "held"
    SOLD = "sold"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Seat:
    id: str  # stable public code within a seat map, e.g. "main-A-5"
    section: str
    row: str
    number: int
    x: float  # layout coordinates for drawing, not money
    y: float
    category: str
    blocked: bool = False
    accessible: bool = False  # a wheelchair place


@dataclass(frozen=True, slots=True)
class SeatCategory:
    code: str
    name: str
    color: str


def seat_label(seat: Seat, sections: dict[str, str]) -> str:
    """How a buyer reads a seat: "Главная палуба, ряд C, место 5"."""
    return f"{sections.get(seat.section, seat.section)}, ряд {seat.row}, место {seat.number}"


@dataclass(frozen=True, slots=True)
class SeatMap:
    """One version of a vessel's layout. Versions are immutable once sailings use them."""

    id: str
    vessel_id: str
    version: int
    name: str
    categories: dict[str, SeatCategory] = field(default_factory=dict)
    seats: dict[str, Seat] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)  # code -> name

    def label(self, seat_id: str) -> str:
        seat = self.seats.get(seat_id)
        return seat_label(seat, self.sections) if seat else seat_id

    def sellable_ids(self) -> set[str]:
        return {seat.id for seat in self.seats.values() if not seat.blocked}

    def check_selection(self, seat_ids: list[str]) -> None:
        """Raise ``InvalidInput`` unless every id is a distinct, sellable seat of this map."""
        errors = []
        seen: set[str] = set()
        for index, seat_id in enumerate(seat_ids):
            loc = ["seat_ids", index]
            if seat_id in seen:
                errors.append({"loc": loc, "type": "duplicate", "msg": f"seat {seat_id} is listed twice"})
                continue
            seen.add(seat_id)
            seat = self.seats.get(seat_id)
            if seat is None:
                errors.append({"loc": loc, "type": "unknown_seat", "msg": f"seat {seat_id} is not in the seat map"})
            elif seat.blocked:
                errors.append({"loc": loc, "type": "blocked_seat", "msg": f"seat {seat_id} is not for sale"})
        if errors:
            raise InvalidInput("some seats cannot be held", errors=errors)
