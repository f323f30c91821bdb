"""order.refunded and sailing.canceled travel as typed events and parse back."""

from __future__ import annotations

from decimal import Decimal

from prichal.domain import events


def test_order_refunded_round_trips_with_its_tickets():
    sent = events.OrderRefunded(order_id="o", number=7, refund_id="r", sailing_id="s", amount=Decimal("650.00"),
                                tickets=[events.RefundedTicket("t1", Decimal("650.00"))], reason="buyer",
                                fully_refunded=False)
    data = sent.to_data()
    assert data["amount"] == "650.00" and data["tickets"] == [{"ticket_id": "t1", "amount": "650.00"}]
    back = events.parse({"type": "order.refunded", "version": 1, "data": data})
    assert back == sent
    schema = events.json_schema(events.OrderRefunded)
    assert schema["properties"]["tickets"]["type"] == "array" and "fully_refunded" in schema["required"]


def test_sailing_canceled_round_trips():
    sent = events.SailingCanceled(sailing_id="s", reason="шторм", canceled_by="cli:ops")
    assert events.parse({"type": "sailing.canceled", "version": 1, "data": sent.to_data()}) == sent
