"""The order card and the attention queue against the real database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from prichal.adapters.db import tables as t
from prichal.domain.errors import NotFound
from tests.crm_support import place_order


@pytest.fixture
def crm(container, s3):
    container.settings.s3_endpoint_url = s3.endpoint_url
    return container


def _scoped(conn, tenant_id: str) -> None:
    conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})


def test_the_card_shows_everything_of_the_order(crm, owner_engine, demo):
    order = place_order(owner_engine, demo, name="Соколова Анна", tickets=2)
    with owner_engine.begin() as conn:
        _scoped(conn, demo.tenant_id)
        conn.execute(t.documents.insert().values(
            tenant_id=demo.tenant_id, order_id=order.id, kind="invoice", position=1, number=17, year=2026,
            issued_on=date(2026, 6, 1), s3_key="tenants/x/orders/1/invoice-1.pdf", sha256="ab", size=10,
            status="stored"))
        conn.execute(t.documents.insert().values(
            tenant_id=demo.tenant_id, order_id=order.id, kind="ticket", position=1, ticket_id=order.ticket_ids[0],
            number=5, year=2026, issued_on=date(2026, 6, 1), s3_key="tenants/x/orders/1/ticket-1.pdf"))
        conn.execute(t.email_deliveries.insert().values(order_id=order.id, tenant_id=demo.tenant_id,
                                                        recipient="maria@example.test", status="sent", attempts=1))
        conn.execute(t.order_log.insert().values(tenant_id=demo.tenant_id, order_id=order.id, entity="order",
                                                 entity_id=order.id, action="email.sent", actor="system", data={}))
        conn.execute(t.refunds.insert().values(
            tenant_id=demo.tenant_id, order_id=order.id, payment_id=order.payment_id, status="pending",
            amount="1500.00", reason="buyer asked", idempotence_key="k1"))
    with crm.uow(demo.tenant_id) as uow:
        uow.notes.add(order.id, "u1", "Агент Петров", "звонила, просила чек")
        uow.attention.flag(order.id, "manual", "перезвонить", raised_by="agent:u1", follow_up_on=date(2026, 6, 3))
        uow.commit()

    card = crm.order_card.card(demo.tenant_id, order.id)

    assert card["order"]["number"] == order.number and card["order"]["customer"]["name"] == "Соколова Анна"
    assert card["order"]["total"] == "3000.00" and card["order"]["needs_attention"] == "перезвонить"
    assert card["sailing"]["program"] and card["sailing"]["pier"] and card["sailing"]["departs_at"]
    assert [i["position"] for i in card["items"]] == [1, 2]
    assert card["items"][0]["tariff"] and card["items"][0]["ticket_status"] == "sold"
    assert card["items"][0]["vat_rate"] == "22" and card["items"][0]["vat_amount"] == "270.49"
    assert card["vat"] == [{"rate": "22", "amount": "3000.00", "vat": "540.98"}]
    [payment] = card["payments"]
    assert payment["provider_payment_id"] == order.provider_payment_id and payment["status"] == "succeeded"
    [refund] = card["refunds"]
    assert refund["status"] == "pending" and refund["amount"] == "1500.00" and refund["reason"] == "buyer asked"
    invoice = next(d for d in card["documents"] if d["kind"] == "invoice")
    ticket = next(d for d in card["documents"] if d["kind"] == "ticket")
    assert invoice["number"] == "17" and invoice["url"].startswith(crm.settings.s3_endpoint_url)
    assert ticket["number"] == "2026-000005" and ticket["url"] is None  # not stored yet
    assert card["emails"]["tickets"]["status"] == "sent"
    assert [e["action"] for e in card["emails"]["history"]] == ["email.sent"]
    actions = [e["action"] for e in card["timeline"]]
    assert actions[0] == "order.created" and "attention.manual" in actions
    assert card["notes"][0]["text"] == "звонила, просила чек" and card["notes"][0]["author_name"] == "Агент Петров"
    assert card["flags"] == [{"reason": "manual", "detail": "перезвонить", "since": card["flags"][0]["since"],
                              "follow_up_on": "2026-06-03", "raised_by": "agent:u1"}]


def test_the_card_of_assigned_seating_names_the_seat(crm, owner_engine, demo):
    sailing = next(s for s in demo.sailings if s["seating"] == "assigned")
    order = place_order(owner_engine, demo, sailing_id=sailing["id"])
    with owner_engine.begin() as conn:
        _scoped(conn, demo.tenant_id)
        seat = conn.execute(text("SELECT code FROM seats WHERE seat_map_id = :m LIMIT 1"),
                            {"m": demo.seat_map_id}).scalar_one()
        conn.execute(t.order_items.update().where(t.order_items.c.order_id == order.id).values(seat_id=seat))
    [item] = crm.order_card.card(demo.tenant_id, order.id)["items"]
    assert item["seat"]["id"] == seat and item["seat"]["row"] and item["seat"]["number"]


def test_another_tenants_order_is_not_found(crm, owner_engine, demo, other_demo):
    order = place_order(owner_engine, demo)
    with pytest.raises(NotFound):
        crm.order_card.card(other_demo.tenant_id, order.id)
    with pytest.raises(NotFound):
        crm.order_card.card(demo.tenant_id, "not-a-uuid")


def test_legacy_flags_show_with_a_reason(crm, owner_engine, demo):
    order = place_order(owner_engine, demo, needs_attention="paid after expiry; seats resold; refund requested")
    [flag] = crm.order_card.card(demo.tenant_id, order.id)["flags"]
    assert flag["reason"] == "late_payment_seats_gone"


def test_the_queue_gathers_every_source_and_clearing_settles_them(crm, owner_engine, demo, other_demo, clock):
    manual = place_order(owner_engine, demo, name="Ручной Флаг")
    legacy = place_order(owner_engine, demo, needs_attention="payment p1 does not match the order (amount)")
    logged = place_order(owner_engine, demo)
    refund_failed = place_order(owner_engine, demo)
    refund_slow = place_order(owner_engine, demo)
    quiet = place_order(owner_engine, demo)
    place_order(owner_engine, other_demo, needs_attention="payment does not match")  # never seen by demo
    long_ago = clock.now - timedelta(hours=3)
    with owner_engine.begin() as conn:
        _scoped(conn, demo.tenant_id)
        conn.execute(t.order_log.insert().values(tenant_id=demo.tenant_id, order_id=logged.id, entity="order",
                                                 entity_id=logged.id, action="attention.supplier_rejected",
                                                 actor="supplier:astra", data={"detail": "sale refused"}))
        for placed, status, at in ((refund_failed, "failed", clock.now), (refund_slow, "pending", long_ago),
                                   (quiet, "pending", clock.now)):
            conn.execute(t.refunds.insert().values(
                tenant_id=demo.tenant_id, order_id=placed.id, payment_id=placed.payment_id, status=status,
                amount="10.00", reason="r", idempotence_key=f"k-{placed.id}", created_at=at, updated_at=at))
    with crm.uow(demo.tenant_id) as uow:
        uow.attention.flag(manual.id, "manual", "call back", raised_by="agent:1", follow_up_on=date(2026, 7, 1))
        uow.commit()

    queue = {item.order_id: item for item in crm.attention_queue.queue(demo.tenant_id)}
    reasons = {order_id: [r.reason for r in item.reasons] for order_id, item in queue.items()}
    assert reasons == {manual.id: ["manual"], legacy.id: ["payment_amount_mismatch"],
                       logged.id: ["supplier_rejected"], refund_failed.id: ["refund_failed"],
                       refund_slow.id: ["refund_pending_too_long"]}
    assert queue[manual.id].follow_up_on == date(2026, 7, 1)

    clock.advance(seconds=1)
    with crm.uow(demo.tenant_id) as uow:
        for placed in (manual, legacy, logged, refund_failed):
            uow.attention.clear(placed.id, "agent:1", datetime.now(UTC) + timedelta(seconds=1))
        uow.commit()
    assert [item.order_id for item in crm.attention_queue.queue(demo.tenant_id)] == [refund_slow.id]
    with owner_engine.connect() as conn:
        assert conn.execute(text("SELECT needs_attention FROM orders WHERE id = :o"), {"o": legacy.id}).scalar() is None
