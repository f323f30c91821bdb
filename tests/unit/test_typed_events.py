"""Typed events: what producers write is what consumers parse, and nothing else parses."""

from decimal import Decimal

import pytest

from prichal.domain import events
from prichal.domain.errors import InvalidInput

PAID = events.OrderPaid(order_id="o-1", number=7, total=Decimal("1500.50"), currency="RUB", sailing_id="s-1")


def message(event: events.Event) -> dict:
    return {"id": "m-1", "type": event.type, "version": event.version, "tenant": "t-1",
            "occurred_at": "2026-12-01T00:00:00+00:00", "data": event.to_data()}


def test_an_event_round_trips_through_its_message_with_money_as_a_string():
    assert message(PAID)["data"]["total"] == "1500.50"
    assert events.parse(message(PAID)) == PAID
    assert events.parse(message(events.OrderExpired(order_id="o-1", number=7))).reason is None


@pytest.mark.parametrize("broken", [
    "not a dict",
    {"type": "order.paid"},
    {"type": "order.paid", "version": [1], "data": {}},
    {"type": ["order.paid"], "data": {}},
    {"type": "order.paid", "version": 2, "data": PAID.to_data()},
    {"type": "order.unknown", "data": PAID.to_data()},
    {"type": "order.paid", "data": {**PAID.to_data(), "number": True}},
    {"type": "order.paid", "data": {**PAID.to_data(), "total": 1500.5}},
    {"type": "order.paid", "data": {**PAID.to_data(), "total": "Infinity"}},
    {"type": "order.paid", "data": {**PAID.to_data(), "order_id": None}},
    {"type": "order.paid", "data": {key: value for key, value in PAID.to_data().items() if key != "sailing_id"}},
])
def test_anything_but_a_known_event_is_invalid_input(broken):
    with pytest.raises(InvalidInput):
        events.parse(broken)


def test_every_registered_event_has_a_schema_naming_its_required_fields():
    assert set(events.REGISTRY) >= {("order.paid", 1), ("order.expired", 1), ("order.cancelled", 1)}
    schema = events.json_schema(events.OrderPaid)
    assert schema["required"] == ["order_id", "number", "total", "currency", "sailing_id"]
    assert schema["properties"]["total"]["type"] == "string"
    assert "reason" not in events.json_schema(events.OrderExpired)["required"]
