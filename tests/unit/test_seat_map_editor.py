"""The seat-map editor's rules: edits are pure, every validation rule has its own code and
path, a document with any problem is not publishable, a re-map names the seats it would lose."""

from __future__ import annotations

import pytest

from prichal.domain import seat_map_editor as e
from prichal.domain.errors import Conflict, InvalidInput

PRICED = e.Pricing(frozenset({"standard", "vip"}))


def _base() -> e.SeatMapDocument:
    doc = e.SeatMapDocument(name="Нева-1")
    doc = e.with_section(doc, e.SectionSpec("main", "Главная палуба", e.Bounds(0, 0, 500, 100)))
    doc = e.with_category(doc, e.CategorySpec("standard", "Стандарт", "#2e8b57"))
    doc = e.with_category(doc, e.CategorySpec("vip", "VIP", "#b8860b"))
    return e.generate_row(doc, e.RowSpec("main", "A", 10, x=10, y=10, spacing=40, category="standard"))


def _rules(doc: e.SeatMapDocument, pricing: e.Pricing = PRICED) -> list[tuple[str, tuple]]:
    return [(issue.rule.value, issue.loc) for issue in e.validate(doc, pricing)]


def test_a_generated_row_is_valid_and_publishable():
    doc = _base()
    assert [s.id for s in doc.seats] == [f"main-A-{n}" for n in range(1, 11)]
    assert [s.x for s in doc.seats] == [10 + 40 * i for i in range(10)]
    assert _rules(doc) == []
    e.ensure_publishable(doc, PRICED)


def test_edits_return_new_documents():
    doc = _base()
    changed = e.update_seats(doc, ["main-A-1"], accessible=True)
    assert not doc.seats[0].accessible and changed.seats[0].accessible


def test_rule_no_seats():
    doc = e.SeatMapDocument(name="empty")
    assert _rules(doc) == [("no_seats", ("seats",))]


def test_rule_duplicate_label_points_at_the_second_seat():
    doc = e.generate_row(_base(), e.RowSpec("main", "A", 2, x=10, y=50, spacing=40, category="standard"))
    assert _rules(doc) == [("duplicate_label", ("seats", 10)), ("duplicate_label", ("seats", 11))]


def test_rule_seat_outside_its_section():
    doc = e.add_seats(_base(), [e.SeatSpec("main", "B", 1, x=600, y=10, category="standard")])
    assert _rules(doc) == [("seat_outside_section", ("seats", 10, "x"))]


def test_a_section_without_bounds_takes_any_point():
    doc = e.with_section(_base(), e.SectionSpec("main", "Главная палуба", None))
    doc = e.add_seats(doc, [e.SeatSpec("main", "B", 1, x=600, y=10, category="standard")])
    assert _rules(doc) == []


def test_bounds_include_their_edges():
    assert e.Bounds(0, 0, 10, 10).contains(10, 0) and not e.Bounds(0, 0, 10, 10).contains(10.01, 0)


def test_rule_unknown_section():
    doc = e.add_seats(_base(), [e.SeatSpec("upper", "A", 1, x=1, y=1, category="standard")])
    assert _rules(doc) == [("unknown_section", ("seats", 10, "section"))]


def test_rule_unknown_category():
    doc = e.add_seats(_base(), [e.SeatSpec("main", "B", 1, x=1, y=50, category="balcony")])
    assert _rules(doc) == [("unknown_category", ("seats", 10, "category"))]


def test_rule_category_without_tariff():
    doc = e.update_seats(_base(), ["main-A-3"], category="vip")
    assert _rules(doc, e.Pricing(frozenset({"standard"}))) == [("category_without_tariff", ("seats", 2, "category"))]


def test_a_tariff_without_category_prices_every_category():
    assert _rules(_base(), e.Pricing(any_category=True)) == []


def test_rules_duplicate_section_and_category():
    doc = _base()
    doc = e.SeatMapDocument(name=doc.name, sections=doc.sections * 2, categories=doc.categories + doc.categories[:1],
                            seats=doc.seats)
    assert _rules(doc) == [("duplicate_section", ("sections", 1, "code")),
                           ("duplicate_category", ("categories", 2, "code"))]


def test_every_failing_rule_is_reported_at_once_and_blocks_publishing():
    doc = e.add_seats(_base(), [e.SeatSpec("main", "A", 1, x=9000, y=10, category="balcony"),
                                e.SeatSpec("deck", "A", 1, x=1, y=1, category="vip")])
    with pytest.raises(e.SeatMapInvalid) as caught:
        e.ensure_publishable(doc, e.Pricing(frozenset({"standard"})))
    assert [err["type"] for err in caught.value.errors] == [
        "duplicate_label", "seat_outside_section", "unknown_category", "unknown_section", "category_without_tariff"]
    assert caught.value.code == "seat-map-invalid"


def test_row_generation_numbers_backwards_and_marks_accessible_and_blocked():
    doc = e.generate_row(_base(), e.RowSpec("main", "B", 3, x=400, y=60, spacing=-40, category="vip",
                                            first_number=3, step=-1, accessible=frozenset({1}),
                                            blocked=frozenset({3})))
    row = [s for s in doc.seats if s.row == "B"]
    assert [(s.number, s.x, s.accessible, s.blocked) for s in row] == [
        (3, 400, False, True), (2, 360, False, False), (1, 320, True, False)]


@pytest.mark.parametrize("change, field", [
    ({"count": 0}, "count"), ({"count": 501}, "count"), ({"spacing": 0}, "spacing"), ({"step": 0}, "step"),
    ({"first_number": 0}, "first_number"),
])
def test_row_generation_refuses_impossible_rows(change, field):
    spec = {"section": "main", "row": "C", "count": 3, "x": 1, "y": 1, "spacing": 10, "category": "standard", **change}
    with pytest.raises(InvalidInput) as caught:
        e.generate_row(_base(), e.RowSpec(**spec))
    assert caught.value.errors[0]["loc"] == [field]


@pytest.mark.parametrize("seat, field", [
    (e.SeatSpec("Main", "A", 1, 1, 1, "standard"), "section"),
    (e.SeatSpec("main", "A-1", 1, 1, 1, "standard"), "row"),
    (e.SeatSpec("main", "A", 0, 1, 1, "standard"), "number"),
    (e.SeatSpec("main", "A", 1, 10**7, 1, "standard"), "x"),
    (e.SeatSpec("main", "A", 1, 1, 1, "no such"), "category"),
])
def test_a_seat_with_bad_values_is_refused_with_its_path(seat, field):
    with pytest.raises(InvalidInput) as caught:
        e.add_seats(_base(), [seat])
    assert caught.value.errors[0]["loc"] == ["seats", 0, field]


def test_a_section_or_category_in_use_cannot_be_removed():
    with pytest.raises(Conflict):
        e.without_section(_base(), "main")
    with pytest.raises(Conflict):
        e.without_category(_base(), "standard")
    assert [c.code for c in e.without_category(_base(), "vip").categories] == ["standard"]


def test_upserting_a_section_replaces_it():
    doc = e.with_section(_base(), e.SectionSpec("main", "Нижняя палуба"))
    assert [(s.code, s.name, s.bounds) for s in doc.sections] == [("main", "Нижняя палуба", None)]


def test_unknown_seats_are_named_by_index():
    with pytest.raises(InvalidInput) as caught:
        e.remove_seats(_base(), ["main-A-1", "main-Z-9"])
    assert caught.value.errors == [{"loc": ["seat_ids", 1], "type": "unknown_seat",
                                    "msg": "seat main-Z-9 is not in the draft"}]


def test_removing_seats():
    assert len(e.remove_seats(_base(), ["main-A-1", "main-A-2"]).seats) == 8


def test_published_form_keeps_labels_categories_and_flags():
    doc = e.update_seats(_base(), ["main-A-1"], accessible=True, blocked=True)
    seat_map = e.as_seat_map(doc, "m1", "v1", 3)
    assert seat_map.version == 3 and len(seat_map.seats) == 10
    assert seat_map.seats["main-A-1"].accessible and seat_map.seats["main-A-1"].blocked
    assert seat_map.sellable_ids() == {f"main-A-{n}" for n in range(2, 11)}
    assert seat_map.label("main-A-2") == "Главная палуба, ряд A, место 2"


def test_lost_seats_are_the_taken_ones_missing_from_the_new_version():
    assert e.lost_seats({"main-A-1"}, {"main-A-1": "t1", "main-A-2": "t2"}) == {"main-A-2": "t2"}


def test_changing_seats_needs_a_change():
    with pytest.raises(InvalidInput) as caught:
        e.update_seats(_base(), ["main-A-1"])
    assert caught.value.errors[0]["type"] == "nothing_to_change"
