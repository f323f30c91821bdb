"""The seat-map editor's rules (after seats.io's chart designer): a vessel's seat map has
published versions and at most one draft; an admin edits the draft, validates it and
publishes it, which makes it the vessel's newest version (it cannot be undone).

A draft is a ``SeatMapDocument``: the same shape as the JSON file a map is imported from
and exported to (``schemas/seat-map.schema.json``). Editing it is pure: every edit returns
a new document. Seats are a list, as on a drawing board: two seats may end up with the
same label (a row generated twice); ``validate`` names every such problem with a
machine-readable code and the JSON path of the seat, and ``publishable`` refuses a
document with any. A seat's public id (what holds and tickets name) is its label
``<section>-<row>-<number>``, e.g. ``main-A-5``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .errors import Conflict, InvalidInput
from .seating import Seat, SeatCategory, SeatMap

FORMAT = "prichal.seat-map/1"
SECTION_CODE = re.compile(r"[a-z0-9_]{1,32}")
CATEGORY_CODE = re.compile(r"[a-z0-9_]{1,32}")
ROW_LABEL = re.compile(r"[A-Za-zА-Яа-яЁё0-9]{1,8}")
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
MAX_SEATS = 5000
MAX_ROW = 500
# Coordinates are stored as NUMERIC(8, 2).
MAX_COORDINATE = 999_999.99


class Rule(enum.StrEnum):
    """Validation failures that block publishing; each is the ``type`` of one error."""

    NO_SEATS = "no_seats"
    DUPLICATE_SECTION = "duplicate_section"
    DUPLICATE_CATEGORY = "duplicate_category"
    DUPLICATE_LABEL = "duplicate_label"
    UNKNOWN_SECTION = "unknown_section"
    SEAT_OUTSIDE_SECTION = "seat_outside_section"
    UNKNOWN_CATEGORY = "unknown_category"
    CATEGORY_WITHOUT_TARIFF = "category_without_tariff"


@dataclass(frozen=True, slots=True)
class Bounds:
    """A section's rectangle on the drawing; a seat's point must lie inside (edges included)."""

    x: float
    y: float
    width: float
    height: float

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x <= self.x + self.width and self.y <= y <= self.y + self.height


@dataclass(frozen=True, slots=True)
class SectionSpec:
    code: str
    name: str
    bounds: Bounds | None = None  # None: no outline drawn, any point belongs


@dataclass(frozen=True, slots=True)
class CategorySpec:
    code: str
    name: str
    color: str = "#888888"


@dataclass(frozen=True, slots=True)
class SeatSpec:
    section: str
    row: str
    number: int
    x: float
    y: float
    category: str
    accessible: bool = False  # a wheelchair place, shown as such to buyers
    blocked: bool = False  # never for sale in this version (crew seats, a pillar)

    @property
    def id(self) -> str:
        return seat_id(self.section, self.row, self.number)


def seat_id(section: str, row: str, number: int) -> str:
    return f"{section}-{row}-{number}"


@dataclass(frozen=True, slots=True)
class SeatMapDocument:
    name: str
    sections: tuple[SectionSpec, ...] = ()
    categories: tuple[CategorySpec, ...] = ()
    seats: tuple[SeatSpec, ...] = ()

    def seat_ids(self) -> set[str]:
        return {seat.id for seat in self.seats}


@dataclass(frozen=True, slots=True)
class Issue:
    rule: Rule
    loc: tuple[str | int, ...]
    msg: str

    def as_error(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "type": self.rule.value, "msg": self.msg}


@dataclass(frozen=True, slots=True)
class Pricing:
    """Which seat categories a tariff covers: named ones, or every one (a tariff without
    a category applies to any seat)."""

    categories: frozenset[str] = frozenset()
    any_category: bool = False

    def covers(self, category: str) -> bool:
        return self.any_category or category in self.categories


class SeatMapInvalid(InvalidInput):
    code = "seat-map-invalid"
    title = "The seat map does not pass validation"


class DraftExists(Conflict):
    code = "draft-exists"
    title = "This seat map already has a draft"


class SeatsWouldDisappear(Conflict):
    """A sailing cannot move to a version that lacks a seat with a live ticket or hold."""

    code = "seats-would-disappear"
    title = "Sold seats are missing from the new seat map version"


# --- validation ----------------------------------------------------------------------------
def validate(document: SeatMapDocument, pricing: Pricing) -> list[Issue]:
    """Every rule the document breaks, in document order (an empty list: publishable)."""
    issues: list[Issue] = []
    if not document.seats:
        issues.append(Issue(Rule.NO_SEATS, ("seats",), "the seat map has no seats"))
    sections = _first_of(document.sections, Rule.DUPLICATE_SECTION, "sections", issues, "section")
    categories = _first_of(document.categories, Rule.DUPLICATE_CATEGORY, "categories", issues, "category")
    labels: dict[str, int] = {}
    for index, seat in enumerate(document.seats):
        loc = ("seats", index)
        if seat.id in labels:
            issues.append(Issue(Rule.DUPLICATE_LABEL, loc,
                                f"seat {seat.id} is already seats[{labels[seat.id]}]"))
        else:
            labels[seat.id] = index
        section = sections.get(seat.section)
        if section is None:
            issues.append(Issue(Rule.UNKNOWN_SECTION, (*loc, "section"), f"section {seat.section} is not defined"))
        elif section.bounds is not None and not section.bounds.contains(seat.x, seat.y):
            issues.append(Issue(Rule.SEAT_OUTSIDE_SECTION, (*loc, "x"),
                                f"seat {seat.id} at ({seat.x:g}, {seat.y:g}) lies outside section {seat.section}"))
        if seat.category not in categories:
            issues.append(Issue(Rule.UNKNOWN_CATEGORY, (*loc, "category"),
                                f"category {seat.category} is not defined"))
        elif not pricing.covers(seat.category):
            issues.append(Issue(Rule.CATEGORY_WITHOUT_TARIFF, (*loc, "category"),
                                f"category {seat.category} of seat {seat.id} has no active tariff"))
    return issues


def _first_of(items: Iterable[SectionSpec | CategorySpec], rule: Rule, where: str, issues: list[Issue],
              what: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for index, item in enumerate(items):
        if item.code in found:
            issues.append(Issue(rule, (where, index, "code"), f"{what} {item.code} is defined twice"))
        else:
            found[item.code] = item
    return found


def ensure_publishable(document: SeatMapDocument, pricing: Pricing) -> None:
    issues = validate(document, pricing)
    if issues:
        raise SeatMapInvalid(f"{len(issues)} problem(s) block publishing", errors=[i.as_error() for i in issues])


def as_seat_map(document: SeatMapDocument, seat_map_id: str, vessel_id: str, version: int) -> SeatMap:
    """The published form the storefront, holds and tickets read."""
    return SeatMap(
        id=seat_map_id, vessel_id=vessel_id, version=version, name=document.name,
        categories={c.code: SeatCategory(c.code, c.name, c.color) for c in document.categories},
        sections={s.code: s.name for s in document.sections},
        seats={s.id: Seat(id=s.id, section=s.section, row=s.row, number=s.number, x=s.x, y=s.y,
                          category=s.category, blocked=s.blocked, accessible=s.accessible)
               for s in document.seats},
    )


# --- edits (each returns a new document) -------------------------------------------------
def with_section(document: SeatMapDocument, section: SectionSpec) -> SeatMapDocument:
    """Add the section, or replace the one with its code."""
    _check_code(section.code, SECTION_CODE, "code")
    return replace(document, sections=_upsert(document.sections, section))


def with_category(document: SeatMapDocument, category: CategorySpec) -> SeatMapDocument:
    _check_code(category.code, CATEGORY_CODE, "code")
    return replace(document, categories=_upsert(document.categories, category))


def without_section(document: SeatMapDocument, code: str) -> SeatMapDocument:
    _unused(document, code, lambda seat: seat.section, "section")
    return replace(document, sections=tuple(s for s in document.sections if s.code != code))


def without_category(document: SeatMapDocument, code: str) -> SeatMapDocument:
    _unused(document, code, lambda seat: seat.category, "category")
    return replace(document, categories=tuple(c for c in document.categories if c.code != code))


def add_seats(document: SeatMapDocument, seats: Iterable[SeatSpec]) -> SeatMapDocument:
    added = tuple(seats)
    for index, seat in enumerate(added):
        _check_seat(seat, ("seats", index))
    return _sized(replace(document, seats=document.seats + added))


@dataclass(frozen=True, slots=True)
class RowSpec:
    """A straight row of ``count`` seats: the first at (x, y), each next ``spacing`` further
    along x (negative: leftwards), numbered from ``first_number`` by ``step``."""

    section: str
    row: str
    count: int
    x: float
    y: float
    spacing: float
    category: str
    first_number: int = 1
    step: int = 1
    accessible: frozenset[int] = frozenset()  # seat numbers
    blocked: frozenset[int] = frozenset()


def generate_row(document: SeatMapDocument, row: RowSpec) -> SeatMapDocument:
    errors = []
    if not 1 <= row.count <= MAX_ROW:
        errors.append({"loc": ["count"], "type": "out_of_range", "msg": f"a row has 1 to {MAX_ROW} seats"})
    if row.spacing == 0 and row.count > 1:
        errors.append({"loc": ["spacing"], "type": "zero_spacing", "msg": "seats of a row cannot share a point"})
    if row.step == 0 and row.count > 1:
        errors.append({"loc": ["step"], "type": "zero_step", "msg": "seats of a row need distinct numbers"})
    if errors:
        raise InvalidInput("the row cannot be generated", errors=errors)
    numbers = [row.first_number + i * row.step for i in range(row.count)]
    if numbers[-1] < 1 or numbers[0] < 1:
        raise InvalidInput("seat numbers start at 1", errors=[
            {"loc": ["first_number"], "type": "out_of_range", "msg": "every seat number must be 1 or more"}])
    seats = [SeatSpec(section=row.section, row=row.row, number=number, x=round(row.x + i * row.spacing, 2),
                      y=row.y, category=row.category, accessible=number in row.accessible,
                      blocked=number in row.blocked)
             for i, number in enumerate(numbers)]
    for seat in seats:
        _check_seat(seat, ())
    return _sized(replace(document, seats=document.seats + tuple(seats)))


def update_seats(document: SeatMapDocument, seat_ids: list[str], *, category: str | None = None,
                 accessible: bool | None = None, blocked: bool | None = None) -> SeatMapDocument:
    """Change the category, accessibility or map-level block of the named seats (every seat
    with that label, should there be two)."""
    _known(document, seat_ids)
    changes = {k: v for k, v in (("category", category), ("accessible", accessible), ("blocked", blocked))
               if v is not None}
    if not changes:
        raise InvalidInput("say what to change", errors=[
            {"loc": [], "type": "nothing_to_change", "msg": "give category, accessible or blocked"}])
    if category is not None:
        _check_code(category, CATEGORY_CODE, "category")
    wanted = set(seat_ids)
    return replace(document, seats=tuple(replace(s, **changes) if s.id in wanted else s for s in document.seats))


def remove_seats(document: SeatMapDocument, seat_ids: list[str]) -> SeatMapDocument:
    _known(document, seat_ids)
    wanted = set(seat_ids)
    return replace(document, seats=tuple(s for s in document.seats if s.id not in wanted))


def renamed(document: SeatMapDocument, name: str) -> SeatMapDocument:
    if not name.strip() or len(name) > 200:
        raise InvalidInput("a seat map needs a name", errors=[
            {"loc": ["name"], "type": "invalid_name", "msg": "1 to 200 characters"}])
    return replace(document, name=name.strip())


def _upsert(items: tuple, item: Any) -> tuple:
    if any(existing.code == item.code for existing in items):
        return tuple(item if existing.code == item.code else existing for existing in items)
    return (*items, item)


def _unused(document: SeatMapDocument, code: str, of: Any, what: str) -> None:
    used = [seat.id for seat in document.seats if of(seat) == code]
    if used:
        raise Conflict(f"{what} {code} still has {len(used)} seat(s); move or remove them first",
                       seat_ids=used[:50])


def _known(document: SeatMapDocument, seat_ids: list[str]) -> None:
    present = document.seat_ids()
    errors = [{"loc": ["seat_ids", i], "type": "unknown_seat", "msg": f"seat {s} is not in the draft"}
              for i, s in enumerate(seat_ids) if s not in present]
    if not seat_ids:
        errors.append({"loc": ["seat_ids"], "type": "missing", "msg": "name at least one seat"})
    if errors:
        raise InvalidInput("some seats are not in the draft", errors=errors)


def _check_code(code: str, pattern: re.Pattern[str], field: str) -> None:
    if not pattern.fullmatch(code):
        raise InvalidInput(f"{code!r} is not a valid code", errors=[
            {"loc": [field], "type": "invalid_code", "msg": "1 to 32 of a-z, 0-9 and _"}])


def _check_seat(seat: SeatSpec, loc: tuple[str | int, ...]) -> None:
    errors = []
    if not SECTION_CODE.fullmatch(seat.section):
        errors.append({"loc": [*loc, "section"], "type": "invalid_code", "msg": "1 to 32 of a-z, 0-9 and _"})
    if not ROW_LABEL.fullmatch(seat.row):
        errors.append({"loc": [*loc, "row"], "type": "invalid_row", "msg": "1 to 8 letters or digits"})
    if not 1 <= seat.number <= 9999:
        errors.append({"loc": [*loc, "number"], "type": "out_of_range", "msg": "a seat number is 1 to 9999"})
    for axis in ("x", "y"):
        if not -MAX_COORDINATE <= getattr(seat, axis) <= MAX_COORDINATE:
            errors.append({"loc": [*loc, axis], "type": "out_of_range", "msg": f"|{axis}| <= {MAX_COORDINATE}"})
    if not CATEGORY_CODE.fullmatch(seat.category):
        errors.append({"loc": [*loc, "category"], "type": "invalid_code", "msg": "1 to 32 of a-z, 0-9 and _"})
    if errors:
        raise InvalidInput("the seat is not valid", errors=errors)


def _sized(document: SeatMapDocument) -> SeatMapDocument:
    if len(document.seats) > MAX_SEATS:
        raise InvalidInput(f"a seat map holds at most {MAX_SEATS} seats", errors=[
            {"loc": ["seats"], "type": "too_many", "msg": f"at most {MAX_SEATS} seats"}])
    return document


# --- sailings on a version ---------------------------------------------------------------
def lost_seats(sellable: set[str], taken: Mapping[str, str]) -> dict[str, str]:
    """Seats with a live ticket (or hold) that the new version would not sell (missing, or
    blocked there): seat -> what holds it."""
    return {seat: holder for seat, holder in sorted(taken.items()) if seat not in sellable}
