"""An agent refunds through the crm function: the refund service does it, once per key,
audited; the order is then found by its refund state and its card shows the refund."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from prichal.adapters.db import tables as t
from tests.integration import test_payment_settlement as settlement
from tests.integration.test_refunds import paid
from tests.staff_support import bearer, staff_token
from tests.support import call

fake_yookassa = settlement.fake_yookassa
shop = settlement.shop


def test_an_agent_refunds_with_a_reason_once_per_key(container, demo, fake_yookassa, shop, owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-G-1", "main-G-2"))
    agent = bearer(staff_token(demo.tenant_id, "agent"))
    phone_search = call("crm", "GET", "/orders", tenant=demo.slug, headers=agent, query={"q": "Анна"})
    assert order["id"] in [o["id"] for o in phone_search.json["orders"]]
    key = {"Idempotency-Key": f"crm-refund-{uuid.uuid4()}"}
    body = {"reason": "рейс перенесён, покупатель отказался"}
    first = call("crm", "POST", f"/orders/{order['id']}/refunds", tenant=demo.slug, headers={**agent, **key},
                 body=body)
    assert first.status == 201, first.json
    assert first.json["order_status"] == "refunded" and first.json["reason"] == body["reason"]
    again = call("crm", "POST", f"/orders/{order['id']}/refunds", tenant=demo.slug, headers={**agent, **key},
                 body=body)
    assert again.status == 201 and again.json["id"] == first.json["id"] and again.json["replayed"] is True
    with owner_engine.connect() as conn:
        refunds = conn.execute(select(t.refunds).where(t.refunds.c.order_id == order["id"])).all()
        audit = conn.execute(select(t.staff_audit).where(t.staff_audit.c.action == "order.refund",
                                                         t.staff_audit.c.target_id == order["id"])).all()
    assert len(refunds) == 1 and len(audit) == 1
    card = call("crm", "GET", f"/orders/{order['id']}", tenant=demo.slug, headers=agent).json
    assert [r["id"] for r in card["refunds"]] == [first.json["id"]] and card["order"]["status"] == "refunded"
    found = call("crm", "GET", "/orders", tenant=demo.slug, headers=agent, query={"status": "refunded"}).json
    assert order["id"] in [o["id"] for o in found["orders"]]


def test_an_override_needs_a_supervisor(container, demo, fake_yookassa, shop):
    order = paid(container, demo, fake_yookassa, seats=("main-G-3",))
    body = {"reason": "жалоба", "amount_override": "1.00"}
    agent = call("crm", "POST", f"/orders/{order['id']}/refunds", tenant=demo.slug,
                 headers={**bearer(staff_token(demo.tenant_id, "agent")), "Idempotency-Key": "o-1"}, body=body)
    assert agent.status == 403, agent.json
    supervisor = call("crm", "POST", f"/orders/{order['id']}/refunds", tenant=demo.slug,
                      headers={**bearer(staff_token(demo.tenant_id, "supervisor")), "Idempotency-Key": "o-2"},
                      body=body)
    assert supervisor.status == 201, supervisor.json
    assert supervisor.json["amount"] == "1.00"
