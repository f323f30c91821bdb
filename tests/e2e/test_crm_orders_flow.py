"""Orders in the CRM as the issue checks them, through the local gateway: a buyer orders with
a phone, the agent finds the order by a fragment of it typed in another format, opens the
card, refunds with a reason; another tenant's staff gets 404 for the ids."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.conftest import assigned_sailing
from tests.e2e.gateway_harness import NO_BUYER_LIMITS, free_port, run_gateway, sandbox_env, tenant_host
from tests.e2e.test_checkout import _hold, _order, _pay
from tests.staff_support import staff_token


@pytest.fixture(scope="module")
def gateway(test_env):
    port = free_port()
    env = {**test_env.as_environ(), **sandbox_env(port), **NO_BUYER_LIMITS}
    with run_gateway(env=env, port=port, workers=2, threads=8) as url:
        yield url


def _crm(gateway, method, path, demo, token, **kwargs):
    headers = {**tenant_host(demo.slug), "Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return requests.request(method, f"{gateway}/function/crm{path}", headers=headers, timeout=30, **kwargs)


def test_find_by_a_phone_fragment_then_refund_with_a_reason(gateway, container, demo, other_demo):
    hold = _hold(gateway, demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-E-1"]})
    body = {"hold_token": hold["token"], "customer": {"name": "Ёлкина Вера", "phone": "+7 (911) 765-43-21"},
            "items": [{"seat_id": "main-E-1", "ticket_type": "adult"}]}
    order = _order(gateway, demo, body, key=str(uuid.uuid4())).json()
    assert order["customer"]["phone"] == "+79117654321"  # stored as E.164, however typed
    assert _pay(order["payment"]["confirmation_url"]).status_code == 303
    agent = staff_token(demo.tenant_id, "agent")

    found = _crm(gateway, "GET", "/orders", demo, agent, params={"q": "8 (911) 765-43"})
    assert found.status_code == 200, found.text
    assert [o["id"] for o in found.json()["orders"]] == [order["id"]]
    assert [o["id"] for o in _crm(gateway, "GET", "/orders", demo, agent, params={"name": "елкина"}).json()[
        "orders"]] == [order["id"]]
    card = _crm(gateway, "GET", f"/orders/{order['id']}", demo, agent).json()
    assert card["order"]["status"] == "paid" and card["items"][0]["seat"]["id"] == "main-E-1"

    refund = _crm(gateway, "POST", f"/orders/{order['id']}/refunds", demo, agent,
                  headers={"Idempotency-Key": str(uuid.uuid4())}, json={"reason": "покупатель заболел"})
    assert refund.status_code == 201, refund.text
    assert refund.json()["order_status"] == "refunded" and refund.json()["reason"] == "покупатель заболел"

    theirs = staff_token(other_demo.tenant_id, "admin")
    assert _crm(gateway, "GET", f"/orders/{order['id']}", other_demo, theirs).status_code == 404
    assert _crm(gateway, "GET", "/orders", other_demo, theirs, params={"q": "8 (911) 765-43"}).json()["orders"] == []
    assert _crm(gateway, "GET", "/orders", demo, theirs).status_code == 401
