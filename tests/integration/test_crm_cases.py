"""Support cases through the crm function: open (with or without an order), the status
machine, messages and notes, SLA deadlines and flags moving with the clock, the queue by
deadline with keyset pages, the tenant's policy, roles, audit rows, tenant isolation."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.documents_support import paid_order
from tests.staff_support import PROBLEM, ROLES, crm, staff_token, staff_user
from tests.staff_support import problem as _problem


def _audit(tenant_id: str, action: str | None = None) -> list[dict]:
    from prichal.bootstrap import container

    with container().uow(tenant_id) as uow:
        return uow.audit.entries(limit=500, action=action)


def _open(tenant, token, **body):
    answer = crm("POST", "/cases", tenant, token, body={"subject": "Refund?", "channel": "phone", **body})
    assert answer.status == 201, answer.json
    return answer.json


def test_a_case_for_an_order_takes_the_buyers_contact_and_runs_its_clocks(container, demo, clock):
    order = paid_order(container, demo)
    agent = staff_token(demo.tenant_id, "agent", scopes=["cases.read", "cases.manage"])  # outlives a session
    case = _open(demo.slug, agent, order_id=order.id, priority="urgent", message="Можно вернуть билет?")
    assert case["number"] >= 1 and case["status"] == "new" and case["buyer_name"] == "Анна Петрова"
    assert case["buyer_email"] == "anna@example.test" and case["messages"][0]["kind"] == "buyer"
    assert case["sla"] == {"first_response": "ok", "resolution": "ok", "breached": False, "at_risk": False,
                           "next_due": case["first_response_due"]}
    path = f"/cases/{case['id']}"

    clock.advance(minutes=23)  # 75 % of 30 min: at risk
    assert crm("GET", path, demo.slug, agent).json["sla"]["at_risk"] is True
    clock.advance(minutes=8)
    seen = crm("GET", path, demo.slug, agent).json["sla"]
    assert seen["first_response"] == "breached" and seen["breached"] is True

    replied = crm("POST", f"{path}/messages", demo.slug, agent, body={"kind": "reply", "body": "Да, оформим."})
    assert replied.status == 201 and replied.json["sla"]["first_response"] == "missed"
    assert replied.json["sla"]["next_due"] == replied.json["resolution_due"]
    note = crm("POST", f"{path}/messages", demo.slug, agent, body={"kind": "note", "body": "VIP"}).json
    assert [m["kind"] for m in note["messages"]] == ["buyer", "reply", "note"]

    waiting = crm("PATCH", path, demo.slug, agent, body={"status": "waiting_for_buyer"}).json
    assert waiting["sla"]["resolution"] == "paused" and waiting["sla"]["next_due"] is None
    clock.advance(hours=10)  # far past the 4 h resolution, but the clock stood still
    back = crm("POST", f"{path}/messages", demo.slug, agent, body={"kind": "buyer", "body": "Вот реквизиты"}).json
    assert back["status"] == "in_progress" and back["paused_seconds"] == 10 * 3600
    assert back["sla"]["resolution"] == "ok"
    resolved = crm("PATCH", path, demo.slug, agent, body={"status": "resolved"}).json
    assert resolved["sla"]["resolution"] == "met" and resolved["resolved_at"]
    closed = crm("PATCH", path, demo.slug, agent, body={"status": "closed"}).json
    assert closed["closed_at"] and closed["sla"]["next_due"] is None
    _problem(crm("PATCH", path, demo.slug, agent, body={"status": "in_progress"}), 409)  # closed for good
    _problem(crm("POST", f"{path}/messages", demo.slug, agent, body={"kind": "note", "body": "x"}), 422)

    actions = [a["action"] for a in _audit(demo.tenant_id) if a["target_type"] == "case"]
    assert actions == ["case.changed", "case.changed", "case.message_added", "case.changed", "case.message_added",
                       "case.message_added", "case.opened"]


def test_priority_and_assignee_changes(container, demo, clock):
    agent_user = staff_user(demo.tenant_id, "agent")
    token = staff_token(demo.tenant_id, "supervisor")
    case = _open(demo.slug, token, priority="low")
    path = f"/cases/{case['id']}"
    urgent = crm("PATCH", path, demo.slug, token, body={"priority": "urgent", "assignee_id": agent_user["id"]}).json
    assert urgent["priority"] == "urgent" and urgent["assignee_id"] == agent_user["id"]
    assert urgent["first_response_due"] < case["first_response_due"]
    unassigned = crm("PATCH", path, demo.slug, token, body={"assignee_id": None}).json
    assert unassigned["assignee_id"] is None
    _problem(crm("PATCH", path, demo.slug, token, body={}), 422)
    _problem(crm("PATCH", path, demo.slug, token, body={"status": "flying"}), 422)
    _problem(crm("PATCH", path, demo.slug, token, body={"assignee_id": "00000000-0000-0000-0000-000000000000"}), 404)
    entry = _audit(demo.tenant_id, "case.changed")[-1]
    assert entry["data"]["priority"] == ["low", "urgent"] and entry["data"]["assignee_id"][1] == agent_user["id"]


def test_the_queue_is_sorted_by_deadline_with_flags_and_pages(container, demo, other_demo, clock):
    token = staff_token(demo.tenant_id, "agent", scopes=["cases.read", "cases.manage"])
    low = _open(demo.slug, token, priority="low", subject="low")
    urgent = _open(demo.slug, token, priority="urgent", subject="urgent")
    normal = _open(demo.slug, token, priority="normal", subject="normal")
    high = _open(demo.slug, token, priority="high", subject="high")
    _open(other_demo.slug, staff_token(other_demo.tenant_id, "agent"), priority="urgent", subject="theirs")
    listed = crm("GET", "/cases", demo.slug, token).json
    assert [c["subject"] for c in listed["items"]] == ["urgent", "high", "normal", "low"]
    assert listed["next_cursor"] is None

    pages, cursor = [], None
    while True:
        query = {"limit": "1", **({"after": cursor} if cursor else {})}
        page = crm("GET", "/cases", demo.slug, token, query=query).json
        pages += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == [urgent["id"], high["id"], normal["id"], low["id"]]

    clock.advance(minutes=50)  # urgent breached (30 min), high at risk (45 of 60 min)
    assert [c["id"] for c in crm("GET", "/cases", demo.slug, token, query={"flag": "breached"}).json["items"]] == [
        urgent["id"]]
    assert [c["id"] for c in crm("GET", "/cases", demo.slug, token, query={"flag": "at_risk"}).json["items"]] == [
        high["id"]]
    assert [c["id"] for c in crm("GET", "/cases", demo.slug, token, query={"priority": "low"}).json["items"]] == [
        low["id"]]
    crm("PATCH", f"/cases/{low['id']}", demo.slug, token, body={"status": "resolved"})
    assert low["id"] not in [c["id"] for c in crm("GET", "/cases", demo.slug, token).json["items"]]
    resolved = crm("GET", "/cases", demo.slug, token, query={"status": "resolved,closed"}).json["items"]
    assert [c["id"] for c in resolved] == [low["id"]]
    mine = crm("GET", "/cases", demo.slug, token, query={"assignee": "me"}).json["items"]
    assert mine == []
    assert len(crm("GET", "/cases", demo.slug, token, query={"assignee": "none"}).json["items"]) == 3
    _problem(crm("GET", "/cases", demo.slug, token, query={"status": "nope"}), 422)
    _problem(crm("GET", "/cases", demo.slug, token, query={"after": "garbage"}), 422)
    _problem(crm("GET", "/cases", demo.slug, token, query={"limit": "1000"}), 422)


def test_the_sla_policy_with_business_hours(container, demo, clock):
    clock.now = datetime(2026, 12, 4, 17, 30, tzinfo=ZoneInfo("Europe/Moscow"))  # a Friday, 17:30
    admin = staff_token(demo.tenant_id, "admin")
    agent = staff_token(demo.tenant_id, "agent")
    policy = {"targets": {"normal": {"first_response_minutes": 60, "resolution_minutes": 480}},
              "business_hours": {"days": {d: ["09:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}}
    _problem(crm("PUT", "/cases/sla-policy", demo.slug, agent, body=policy), 403, "forbidden")
    saved = crm("PUT", "/cases/sla-policy", demo.slug, admin, body=policy)
    assert saved.status == 200, saved.json
    assert saved.json["business_hours"]["timezone"] == "Europe/Moscow"  # the tenant's zone
    assert saved.json["targets"]["normal"] == {"first_response_minutes": 60, "resolution_minutes": 480}
    assert saved.json["targets"]["urgent"] == {"first_response_minutes": 30, "resolution_minutes": 240}
    assert crm("GET", "/cases/sla-policy", demo.slug, agent).json == saved.json
    assert _audit(demo.tenant_id, "case.sla_policy_changed")

    case = _open(demo.slug, agent, priority="normal")
    due = datetime.fromisoformat(case["first_response_due"]).astimezone(ZoneInfo("Europe/Moscow"))
    assert due == datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("Europe/Moscow"))  # Monday 09:30

    for bad in ({"at_risk_ratio": 2}, {"targets": {"vip": {"first_response_minutes": 1, "resolution_minutes": 2}}},
                {"business_hours": {"days": {"mon": ["18:00", "09:00"]}}},
                {"business_hours": {"timezone": "Mars/Base", "days": {"mon": ["09:00", "18:00"]}}},
                {"targets": {"low": {"first_response_minutes": 100, "resolution_minutes": 10}}}):
        _problem(crm("PUT", "/cases/sla-policy", demo.slug, admin, body=bad), 422)
    assert crm("GET", "/cases/sla-policy", demo.slug, agent).json == saved.json  # nothing changed


def _case_routes(case_id: str) -> list[tuple[str, str, dict | None, str, int]]:
    return [
        ("GET", "/cases", None, "cases.read", 200),
        ("GET", f"/cases/{case_id}", None, "cases.read", 200),
        ("GET", "/cases/sla-policy", None, "cases.read", 200),
        ("POST", "/cases", {"subject": "x", "channel": "email"}, "cases.manage", 201),
        ("PATCH", f"/cases/{case_id}", {"priority": "high"}, "cases.manage", 200),
        ("POST", f"/cases/{case_id}/messages", {"kind": "note", "body": "n"}, "cases.manage", 201),
        ("PUT", "/cases/sla-policy", {}, "tenant.settings", 200),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_case_route(container, demo, role):
    from prichal.domain.staff import ROLE_PERMISSIONS, Role

    case = _open(demo.slug, staff_token(demo.tenant_id, "agent"))
    token = staff_token(demo.tenant_id, role)
    for method, path, body, permission, ok in _case_routes(case["id"]):
        answer = crm(method, path, demo.slug, token, body=body)
        if permission in ROLE_PERMISSIONS[Role(role)]:
            assert answer.status == ok, (role, method, path, answer.json)
        else:
            assert _problem(answer, 403, "forbidden")["permission"] == permission, (role, method, path)
        _problem(crm(method, path, demo.slug, None, body=body), 401, "unauthenticated")


def test_another_tenants_cases_orders_and_staff_are_404(container, demo, other_demo):
    mine = staff_token(demo.tenant_id, "admin")
    theirs_token = staff_token(other_demo.tenant_id, "admin")
    their_case = _open(other_demo.slug, theirs_token, subject="secret")
    their_order = paid_order(container, other_demo)
    their_agent = staff_user(other_demo.tenant_id, "agent")
    path = f"/cases/{their_case['id']}"
    _problem(crm("GET", path, demo.slug, mine), 404)
    _problem(crm("PATCH", path, demo.slug, mine, body={"status": "closed"}), 404)
    _problem(crm("POST", f"{path}/messages", demo.slug, mine, body={"kind": "note", "body": "x"}), 404)
    _problem(crm("POST", "/cases", demo.slug, mine, body={"subject": "x", "channel": "web",
                                                          "order_id": their_order.id}), 404)
    _problem(crm("POST", "/cases", demo.slug, mine, body={"subject": "x", "channel": "web",
                                                          "assignee_id": their_agent["id"]}), 404)
    _problem(crm("GET", "/cases/not-a-uuid", demo.slug, mine), 404)
    assert crm("GET", "/cases", demo.slug, mine, query={"order_id": their_order.id}).json["items"] == []
    _problem(crm("GET", path, demo.slug, theirs_token.replace("prs.", "prs.x")), 401)
    assert crm("GET", path, other_demo.slug, theirs_token).json["subject"] == "secret"  # untouched


def test_bad_cases_are_4xx_and_write_nothing(container, demo):
    token = staff_token(demo.tenant_id, "agent")
    for body in ({"subject": "x"}, {"subject": "", "channel": "phone"}, {"subject": "x", "channel": "pigeon"},
                 {"subject": "x", "channel": "phone", "priority": "asap"},
                 {"subject": "x", "channel": "phone", "order_id": "nope"},
                 {"subject": "   ", "channel": "phone"}, {"subject": "x", "channel": "phone", "extra": 1}):
        answer = crm("POST", "/cases", demo.slug, token, body=body)
        assert answer.status in (404, 422) and answer.headers["Content-Type"] == PROBLEM, (body, answer.json)
    assert crm("GET", "/cases", demo.slug, token).json["items"] == []
    assert _audit(demo.tenant_id, "case.opened") == []


def test_get_sla_reports_latency_cases_and_the_attention_queue(container, demo, owner_engine, clock):
    from prichal.adapters.db import tables as t

    token = staff_token(demo.tenant_id, "agent", scopes=["cases.read", "cases.manage"])
    _open(demo.slug, token, priority="urgent")
    _open(demo.slug, token, priority="low")
    order = paid_order(container, demo)
    with owner_engine.begin() as conn:
        conn.execute(t.orders.update().where(t.orders.c.id == order.id).values(needs_attention="late_payment"))
    clock.advance(minutes=40)  # the urgent case's first response is overdue
    answer = crm("GET", "/sla", demo.slug, token)
    assert answer.status == 200, answer.json
    report = answer.json
    assert report["slo"] == {"p95_ms": 800.0, "p99_ms": 1500.0}
    assert report["latency"]["requests"] > 0 and report["latency"]["p95_ms"] is not None
    assert report["latency"]["p95_ok"] in (True, False)
    assert "/sla" not in [r["route"] for r in report["latency"]["routes"]]
    assert "/cases" in [r["route"] for r in report["latency"]["routes"]]
    assert report["cases"]["by_priority"]["urgent"] == {"open": 1, "at_risk": 0, "breached": 1}
    assert report["cases"]["by_priority"]["low"] == {"open": 1, "at_risk": 0, "breached": 0}
    assert report["cases"]["total"] == {"open": 2, "at_risk": 0, "breached": 1}
    assert report["attention_queue"] == {"size": 1}
    _problem(crm("GET", "/sla", demo.slug, staff_token(demo.tenant_id, "finance")), 403)  # no cases.read
    _problem(crm("GET", "/sla", demo.slug), 401)
