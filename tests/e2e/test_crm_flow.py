"""The CRM as a new user meets it, through the local gateway: the first admin from the CLI,
log in, create an agent, buy an order, the agent opens a case for it and watches its SLA
flags, GET /sla; another tenant's ids are 404 and its tokens 401."""

from __future__ import annotations

import io
import uuid

import pytest
import requests

from prichal.admin import main as admin
from tests.conftest import assigned_sailing
from tests.e2e.gateway_harness import NO_BUYER_LIMITS, free_port, run_gateway, sandbox_env, tenant_host
from tests.e2e.test_checkout import _hold, _order, _order_body, _pay

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def gateway(test_env):
    port = free_port()
    env = {**test_env.as_environ(), **sandbox_env(port), **NO_BUYER_LIMITS}
    with run_gateway(env=env, port=port, workers=2, threads=8) as url:
        yield url


def _crm(gateway, method, path, demo, token=None, **kwargs):
    headers = {**tenant_host(demo.slug), **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.request(method, f"{gateway}/function/crm{path}", headers=headers, timeout=30, **kwargs)


def _first_admin(demo, monkeypatch) -> str:
    email = f"boss-{uuid.uuid4().hex[:6]}@seller.test"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert admin(["staff-user", demo.slug, "--email", email, "--name", "Анна", "--password-stdin"]) == 0
    return email


def test_a_new_admin_an_agent_a_case_and_its_sla(gateway, test_env, demo, other_demo, monkeypatch, container):
    boss = _first_admin(demo, monkeypatch)
    login = _crm(gateway, "POST", "/login", demo, json={"email": boss, "password": PASSWORD})
    assert login.status_code == 200, login.text
    admin_token = login.json()["token"]
    created = _crm(gateway, "POST", "/staff", demo, admin_token,
                   json={"email": "agent@seller.test", "name": "Иван", "role": "agent", "password": PASSWORD})
    assert created.status_code == 201, created.text
    agent = _crm(gateway, "POST", "/login", demo, json={"email": "agent@seller.test", "password": PASSWORD}).json()
    agent_token = agent["token"]
    assert agent["me"]["role"] == "agent"
    assert _crm(gateway, "GET", "/staff", demo, agent_token).status_code == 403  # agents do not manage staff

    hold = _hold(gateway, demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-D-1"]})
    order = _order(gateway, demo, _order_body(hold["token"], ("main-D-1",), ("adult",)),
                   key=str(uuid.uuid4())).json()
    assert _pay(order["payment"]["confirmation_url"]).status_code == 303

    case = _crm(gateway, "POST", "/cases", demo, agent_token,
                json={"subject": "Вернуть билет", "channel": "phone", "priority": "high", "order_id": order["id"],
                      "message": "Не смогу прийти"})
    assert case.status_code == 201, case.text
    case = case.json()
    assert case["buyer_name"] == "Анна Петрова" and case["sla"]["first_response"] == "ok"
    queue = _crm(gateway, "GET", "/cases", demo, agent_token, params={"assignee": "none"}).json()
    assert case["id"] in [c["id"] for c in queue["items"]]
    reply = _crm(gateway, "POST", f"/cases/{case['id']}/messages", demo, agent_token,
                 json={"kind": "reply", "body": "Оформляем возврат"})
    assert reply.status_code == 201 and reply.json()["sla"]["first_response"] == "met"

    sla = _crm(gateway, "GET", "/sla", demo, agent_token)
    assert sla.status_code == 200, sla.text
    assert sla.json()["cases"]["by_priority"]["high"]["open"] >= 1
    assert sla.json()["latency"]["requests"] >= 1 and sla.json()["slo"]["p95_ms"] == 800

    # another tenant: its ids are 404 here, our tokens are 401 there
    their_boss = _first_admin(other_demo, monkeypatch)
    theirs = _crm(gateway, "POST", "/login", other_demo, json={"email": their_boss, "password": PASSWORD}).json()
    assert _crm(gateway, "GET", f"/cases/{case['id']}", other_demo, theirs["token"]).status_code == 404
    assert _crm(gateway, "GET", f"/cases/{case['id']}", other_demo, agent_token).status_code == 401
    assert _crm(gateway, "GET", f"/staff/{created.json()['id']}", other_demo, theirs["token"]).status_code == 404

    audit = _crm(gateway, "GET", "/audit", demo, admin_token).json()["items"]
    actions = [a["action"] for a in audit]
    assert {"staff.login", "staff.user_created", "case.opened", "case.message_added"} <= set(actions)
    assert all(a["at"] for a in audit)
    assert _crm(gateway, "POST", "/logout", demo, agent_token).status_code == 204
    assert _crm(gateway, "GET", "/me", demo, agent_token).status_code == 401
