"""SeatMap.check_selection: only distinct, sellable seats of the map; errors point at the index."""

from __future__ import annotations

import pytest

from prichal.domain.errors import InvalidInput
from prichal.domain.seating import Seat, SeatMap


def _seat(seat_id: str, blocked: bool = False) -> Seat:
    section, row, number = seat_id.split("-")
    return Seat(id=seat_id, section=section, row=row, number=int(number), x=0.0, y=0.0,
                category="standard", blocked=blocked)


MAP = SeatMap(id="m", vessel_id="v", version=1, name="test", seats={
    s.id: s for s in [_seat("main-A-1", blocked=True), _seat("main-A-2"), _seat("main-B-1"), _seat("main-B-2")]})


def _errors(seat_ids: list[str]) -> list[dict]:
    with pytest.raises(InvalidInput) as caught:
        MAP.check_selection(seat_ids)
    return caught.value.errors


def test_sellable_distinct_seats_pass():
    MAP.check_selection(["main-A-2", "main-B-1", "main-B-2"])


def test_sellable_ids_exclude_blocked():
    assert MAP.sellable_ids() == {"main-A-2", "main-B-1", "main-B-2"}


def test_unknown_seat():
    assert _errors(["main-B-1", "main-Z-9"]) == [
        {"loc": ["seat_ids", 1], "type": "unknown_seat", "msg": "seat main-Z-9 is not in the seat map"}]


def test_blocked_seat():
    errors = _errors(["main-A-1"])
    assert [(e["loc"], e["type"]) for e in errors] == [(["seat_ids", 0], "blocked_seat")]


def test_duplicate_seat_points_at_the_repeat():
    errors = _errors(["main-B-1", "main-B-2", "main-B-1"])
    assert [(e["loc"], e["type"]) for e in errors] == [(["seat_ids", 2], "duplicate")]


def test_every_problem_is_reported_in_order():
    errors = _errors(["nope", "main-A-1", "main-B-1", "main-B-1", "nope"])
    assert [(e["loc"], e["type"]) for e in errors] == [
        (["seat_ids", 0], "unknown_seat"),
        (["seat_ids", 1], "blocked_seat"),
        (["seat_ids", 3], "duplicate"),
        (["seat_ids", 4], "duplicate"),
    ]


def test_seat_ids_are_case_sensitive():
    assert _errors(["MAIN-B-1"])[0]["type"] == "unknown_seat"


def test_error_message_and_class():
    with pytest.raises(InvalidInput, match="some seats cannot be held") as caught:
        MAP.check_selection(["x"])
    assert caught.value.code == "invalid-input"
