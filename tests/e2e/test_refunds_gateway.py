"""Refunds through the local gateway, with both providers: buy two tickets, quote and refund
one as the buyer, refund the other as an agent with an override; the seats are on sale
again, the order is ``refunded``, ``order.refunded`` goes out, each provider refund is made
once, and ``refund.succeeded`` (duplicated) through payment-webhook changes nothing twice."""

from __future__ import annotations

import json
import os
import uuid
from base64 import b64encode

import pytest
import requests
from sqlalchemy import select

from prichal.adapters.db import tables as t
from prichal.admin import main as admin
from tests.conftest import assigned_sailing, bound_queue
from tests.e2e import test_checkout as sandbox_e2e
from tests.e2e import test_checkout_yookassa as yookassa_e2e
from tests.e2e.gateway_harness import tenant_host, wait_for
from tests.staff_support import bearer, staff_token

sandbox_gateway = sandbox_e2e.gateway
ports = yookassa_e2e.ports
fake_yookassa = yookassa_e2e.fake_yookassa
yookassa_gateway = yookassa_e2e.gateway


@pytest.fixture(scope="module")
def no_supplier_stubs():
    """This module starts two runtimes; the supplier stubs (fixed ports) are not needed here."""
    before = os.environ.get("SUPPLIER_STUBS")
    os.environ["SUPPLIER_STUBS"] = "off"
    yield
    if before is None:
        os.environ.pop("SUPPLIER_STUBS", None)
    else:
        os.environ["SUPPLIER_STUBS"] = before


def _buy(gateway, demo, seats, provider):
    headers = {**tenant_host(demo.slug), "X-Client-Id": f"refund-buyer-{uuid.uuid4().hex[:6]}"}

    def order():
        hold = requests.post(f"{gateway}/function/lock-seat/holds", headers=headers, timeout=10,
                             json={"sailing_id": assigned_sailing(demo), "seat_ids": list(seats)})
        assert hold.status_code == 201, hold.text
        created = requests.post(f"{gateway}/function/create-order/orders", headers=headers, timeout=30, json={
            "hold_token": hold.json()["token"], "customer": {"name": "Ольга", "email": "olga@example.test"},
            "items": [{"seat_id": seat, "ticket_type": "adult"} for seat in seats]}).json()
        if created["payment"]["provider"] == provider:
            return created
        requests.delete(f"{gateway}/function/lock-seat/holds/{hold.json()['token']}", headers=headers, timeout=10)
        return None  # the functions still cache the tenant's former provider

    created = wait_for(order, timeout=60, interval=1, message=f"an order paid by {provider}")
    paid = requests.post(created["payment"]["confirmation_url"], data={"decision": "pay"}, allow_redirects=False,
                         timeout=60)
    assert paid.status_code == 303, paid.text
    auth = {**tenant_host(demo.slug), "Authorization": f"Bearer {created['access_token']}"}

    def read():
        got = requests.get(f"{gateway}/function/create-order/orders/{created['id']}", headers=auth, timeout=10)
        return got.json() if got.json()["status"] == "paid" else None

    wait_for(read, timeout=60, message="order paid")
    return created


def _refund_flow(gateway, demo, container, owner_engine, test_env, provider):
    created = _buy(gateway, demo, ("upper-C-1", "upper-C-2"), provider)
    host = tenant_host(demo.slug)
    buyer = {**host, "Authorization": f"Bearer {created['access_token']}"}
    base = f"{gateway}/function/refund/orders/{created['id']}"
    with owner_engine.connect() as conn:
        first, second = list(conn.execute(select(t.tickets.c.id).where(t.tickets.c.order_id == created["id"])
                                          .order_by(t.tickets.c.id)).scalars())
    quote = requests.post(f"{base}/quote", json={"ticket_ids": [first]}, headers=buyer, timeout=10)
    assert quote.status_code == 200, quote.text
    assert quote.json()["refundable"] and quote.json()["amount"] == quote.json()["lines"][0]["decision"]["amount"]

    with bound_queue(test_env.events_exchange, "order.refunded") as (channel, queue):
        mine = requests.post(f"{base}/refunds", json={"ticket_ids": [first]}, timeout=30,
                             headers={**buyer, "Idempotency-Key": str(uuid.uuid4())})
        assert mine.status_code == 201, mine.text
        assert mine.json()["order_status"] == "partially_refunded"

        supervisor = staff_token(demo.tenant_id, "supervisor")
        agent = requests.post(f"{gateway}/function/refund/agent/orders/{created['id']}/refunds", timeout=30,
                              json={"ticket_ids": [second], "amount": "500.00", "reason": "goodwill, phone call"},
                              headers={**host, **bearer(supervisor), "Idempotency-Key": str(uuid.uuid4())})
        assert agent.status_code == 201, agent.text
        assert agent.json()["amount"] == "500.00" and agent.json()["order_status"] == "refunded"

        def two_events():
            found = []
            while (got := channel.basic_get(queue, auto_ack=True))[0] is not None:
                found.append(json.loads(got[2]))
            return found or None

        seen: list[dict] = []
        wait_for(lambda: (seen.extend(two_events() or []) or len(seen) >= 2) and seen, timeout=30,
                 message="two order.refunded events")
    assert {e["data"]["refund_id"] for e in seen} == {mine.json()["id"], agent.json()["id"]}

    seatmap = requests.get(f"{gateway}/function/catalog/sailings/{assigned_sailing(demo)}/seatmap", headers=host,
                           timeout=10).json()
    statuses = {s["id"]: s["status"] for s in seatmap["seats"]}
    assert statuses["upper-C-1"] == "free" and statuses["upper-C-2"] == "free"
    listed = requests.get(f"{base}/refunds", headers=buyer, timeout=10).json()["refunds"]
    wait_for(lambda: all(r["status"] == "succeeded" for r in
                         requests.get(f"{base}/refunds", headers=buyer, timeout=10).json()["refunds"]),
             timeout=30, message="refunds succeeded")
    assert len(listed) == 2
    return created


def test_refunds_through_the_gateway_with_the_sandbox_provider(no_supplier_stubs, sandbox_gateway, demo, container,
                                                               owner_engine, test_env):
    _refund_flow(sandbox_gateway, demo, container, owner_engine, test_env, "mock")


def test_refunds_through_the_gateway_with_the_yookassa_provider(no_supplier_stubs, yookassa_gateway, fake_yookassa,
                                                                demo, container, owner_engine, test_env):
    assert admin(["payments", demo.slug, "--provider", "yookassa", "--shop-id", demo.slug,
                  "--secret-name", "yookassa-e2e", "--api-url", f"{fake_yookassa.url}/v3"]) == 0
    created = _refund_flow(yookassa_gateway, demo, container, owner_engine, test_env, "yookassa")
    payment_id = created["payment"]["confirmation_url"].rsplit("/", 1)[1]
    auth = {"Authorization": "Basic " + b64encode(f"{demo.slug}:{yookassa_e2e.SECRET}".encode()).decode()}
    stored = requests.get(f"{fake_yookassa.url}/sandbox/payments/{payment_id}", headers=auth, timeout=10).json()
    assert sorted(r["object"]["amount"]["value"] for r in stored["sandbox_refunds"]) == sorted(
        ["500.00", stored["sandbox_refunds"][0]["object"]["amount"]["value"]])
    assert len(stored["sandbox_refunds"]) == 2
    # the provider delivers refund.succeeded again (a duplicate): nothing changes twice
    again = requests.post(f"{fake_yookassa.url}/sandbox/payments/{payment_id}/notify", headers=auth, timeout=30,
                          json={"event": "refund.succeeded"})
    assert again.status_code == 200 and again.json()["delivered"], again.text
    with owner_engine.connect() as conn:
        logged = list(conn.execute(select(t.order_log.c.action).where(
            t.order_log.c.order_id == created["id"], t.order_log.c.action == "refund.succeeded")).scalars())
    assert len(logged) == 2  # one per refund, whatever was delivered


@pytest.fixture(autouse=True)
def _sandbox_secret(monkeypatch):
    monkeypatch.setenv("YOOKASSA_E2E", yookassa_e2e.SECRET)
