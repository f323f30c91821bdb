"""The crm function's staff routes through the OpenFaaS contract: login, logout, me, staff
users, API tokens, the audit log; every role against every route; tenant isolation."""

from __future__ import annotations

import uuid

import pytest

from tests.staff_support import PASSWORD, ROLES, crm, staff_token, staff_user
from tests.staff_support import problem as _problem
from tests.support import call


def _audit_actions(tenant_id: str) -> list[str]:
    from prichal.bootstrap import container

    with container().uow(tenant_id) as uow:
        return [a["action"] for a in uow.audit.entries(limit=500)]


def test_login_me_logout(container, demo):
    user = staff_user(demo.tenant_id, "supervisor", email="sveta@seller.test")
    answer = crm("POST", "/login", demo.slug, body={"email": "Sveta@Seller.test", "password": PASSWORD},
                 headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.status == 200, answer.json
    login = answer.json
    assert login["token_type"] == "Bearer" and login["idle_timeout_seconds"] == 1800
    assert login["me"]["user_id"] == user["id"] and login["me"]["role"] == "supervisor"
    assert "orders.refund_override" in login["me"]["permissions"] and "staff.manage" not in login["me"]["permissions"]
    me = crm("GET", "/me", demo.slug, login["token"])
    assert me.status == 200 and me.json["kind"] == "session" and me.json["tenant_id"] == demo.tenant_id
    assert crm("POST", "/logout", demo.slug, login["token"]).status == 204
    _problem(crm("GET", "/me", demo.slug, login["token"]), 401, "unauthenticated")
    assert _audit_actions(demo.tenant_id)[:2] == ["staff.logout", "staff.login"]


def test_login_failures_lockout_and_bad_input(container, demo):
    staff_user(demo.tenant_id, "agent", email="ivan@seller.test")
    for _ in range(container.settings.staff_login_max_failures):
        _problem(crm("POST", "/login", demo.slug, body={"email": "ivan@seller.test", "password": "nope nope nope"}),
                 401, "unauthenticated")
    locked = crm("POST", "/login", demo.slug, body={"email": "ivan@seller.test", "password": PASSWORD})
    _problem(locked, 429, "rate-limited")
    assert int(locked.headers["Retry-After"]) > 0
    _problem(crm("POST", "/login", demo.slug, body={"email": "ivan@seller.test"}), 422, "validation-failed")
    _problem(crm("POST", "/login", demo.slug, body={"email": "x", "password": "y", "extra": 1}), 422)
    _problem(crm("POST", "/login", demo.slug, body={"email": "not an email", "password": "y"}), 422, "invalid-input")
    _problem(crm("POST", "/login", demo.slug, raw=b"{oops"), 400, "malformed-json")
    assert _audit_actions(demo.tenant_id).count("staff.login_failed") == container.settings.staff_login_max_failures


def test_a_platform_admin_logs_in_at_the_platform_and_works_in_any_tenant(container, demo):
    root = f"root-{uuid.uuid4().hex[:8]}@prichal.test"  # platform admins are one list for every test
    staff_user(None, "platform_admin", email=root)
    answer = call("crm", "POST", "/platform/login", body={"email": root, "password": PASSWORD})
    assert answer.status == 200, answer.json
    token = answer.json["token"]
    assert answer.json["me"]["tenant_id"] is None and "tenants.manage" in answer.json["me"]["permissions"]
    assert crm("GET", "/staff", demo.slug, token).status == 200
    created = crm("POST", "/staff", demo.slug, token, body={"email": "first@seller.test", "name": "First",
                                                            "role": "admin", "password": PASSWORD})
    assert created.status == 201
    entry = next(a for a in _entries(demo.tenant_id) if a["action"] == "staff.user_created")
    assert entry["actor_type"] == "platform"
    _problem(call("crm", "POST", "/platform/login", body={"email": "first@seller.test", "password": PASSWORD}), 401)


def _entries(tenant_id: str) -> list[dict]:
    from prichal.bootstrap import container

    with container().uow(tenant_id) as uow:
        return uow.audit.entries(limit=500)


# --- every role against every staff route --------------------------------------------------
def _routes(target_user: str, target_token: str) -> list[tuple[str, str, dict | None, str, int]]:
    """(method, path, body, permission, status when allowed)"""
    return [
        ("GET", "/staff", None, "staff.manage", 200),
        ("POST", "/staff", {"email": f"n-{uuid.uuid4().hex[:6]}@seller.test", "name": "New", "role": "agent"},
         "staff.manage", 201),
        ("GET", f"/staff/{target_user}", None, "staff.manage", 200),
        ("PATCH", f"/staff/{target_user}", {"name": "Renamed"}, "staff.manage", 200),
        ("GET", "/tokens", None, "staff.manage", 200),
        ("POST", "/tokens", {"name": "robot", "user_id": target_user, "scopes": ["orders.read"]}, "staff.manage", 201),
        ("DELETE", f"/tokens/{target_token}", None, "staff.manage", 204),
        ("DELETE", f"/staff/{target_user}", None, "staff.manage", 204),
        ("GET", "/audit", None, "audit.read", 200),
        ("GET", "/me", None, None, 200),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_staff_route(container, demo, role):
    from prichal.domain.staff import ROLE_PERMISSIONS, Role

    token = staff_token(demo.tenant_id, role)
    target = staff_user(demo.tenant_id, "agent")
    issued = container.staff_auth.issue_api_token(demo.tenant_id, "tests", user_id=target["id"], name="t")
    for method, path, body, permission, ok in _routes(target["id"], issued.token_id):
        answer = crm(method, path, demo.slug, token, body=body)
        allowed = permission is None or permission in ROLE_PERMISSIONS[Role(role)]
        if allowed:
            assert answer.status == ok, (role, method, path, answer.json)
        else:
            assert _problem(answer, 403, "forbidden")["permission"] == permission, (role, method, path)
        _problem(crm(method, path, demo.slug, None, body=body), 401, "unauthenticated")


def test_staff_users_crud_with_audit_and_rules(container, demo):
    admin = staff_token(demo.tenant_id, "admin")
    created = crm("POST", "/staff", demo.slug, admin, body={"email": "Olga@Seller.test", "name": "Ольга",
                                                            "role": "agent", "password": PASSWORD})
    assert created.status == 201 and created.json["email"] == "olga@seller.test" and created.json["can_log_in"]
    olga = created.json["id"]
    _problem(crm("POST", "/staff", demo.slug, admin, body={"email": "olga@seller.test", "name": "Again",
                                                           "role": "agent"}), 409)
    _problem(crm("POST", "/staff", demo.slug, admin, body={"email": "x@seller.test", "name": "X", "role": "root"}), 422)
    _problem(crm("POST", "/staff", demo.slug, admin, body={"email": "x@seller.test", "name": "X", "role": "agent",
                                                           "password": "short"}), 422, "invalid-input")
    _problem(crm("PATCH", f"/staff/{olga}", demo.slug, admin, body={}), 422)
    olga_token = container.staff_auth.login(demo.tenant_id, "olga@seller.test", PASSWORD).token

    promoted = crm("PATCH", f"/staff/{olga}", demo.slug, admin, body={"role": "supervisor"})
    assert promoted.status == 200 and promoted.json["role"] == "supervisor"
    assert crm("GET", "/audit", demo.slug, olga_token).status == 200  # the new role applies at once
    listed = crm("GET", "/staff", demo.slug, admin).json["items"]
    assert "olga@seller.test" in [u["email"] for u in listed]

    assert crm("DELETE", f"/staff/{olga}", demo.slug, admin).status == 204
    _problem(crm("GET", "/me", demo.slug, olga_token), 401)
    assert crm("GET", f"/staff/{olga}", demo.slug, admin).json["active"] is False
    back = crm("PATCH", f"/staff/{olga}", demo.slug, admin, body={"active": True, "password": PASSWORD + "!"})
    assert back.status == 200 and back.json["active"] is True

    me = crm("GET", "/me", demo.slug, admin).json["user_id"]
    _problem(crm("DELETE", f"/staff/{me}", demo.slug, admin), 409)  # not itself
    _problem(crm("PATCH", f"/staff/{me}", demo.slug, admin, body={"role": "agent"}), 409)
    actions = _audit_actions(demo.tenant_id)
    assert actions.count("staff.user_changed") == 3 and actions.count("staff.user_created") >= 2


def test_api_tokens_over_http(container, demo):
    admin = staff_token(demo.tenant_id, "admin")
    robot = staff_user(demo.tenant_id, "finance", password=None)
    issued = crm("POST", "/tokens", demo.slug, admin, body={"name": "1C", "user_id": robot["id"],
                                                            "scopes": ["reports.export"], "days": 7})
    assert issued.status == 201 and issued.json["token"].startswith("pra.") and issued.json["scopes"] == [
        "reports.export"]
    secret = issued.json["token"]
    me = crm("GET", "/me", demo.slug, secret).json
    assert me["kind"] == "api" and me["permissions"] == ["reports.export"]
    _problem(crm("GET", "/audit", demo.slug, secret), 403)  # finance may, this token may not
    listed = crm("GET", "/tokens", demo.slug, admin, query={"user_id": robot["id"]})
    assert [t["id"] for t in listed.json["items"]] == [issued.json["id"]] and secret not in str(listed.json)
    assert crm("GET", "/tokens", demo.slug, admin, query={"user_id": "garbage"}).json["items"] == []
    _problem(crm("POST", "/tokens", demo.slug, admin, body={"name": "x", "user_id": robot["id"],
                                                            "scopes": ["orders.refund"]}), 422)
    _problem(crm("POST", "/tokens", demo.slug, admin, body={"name": "x", "user_id": robot["id"],
                                                            "scopes": ["no.such"]}), 422)
    assert crm("DELETE", f"/tokens/{issued.json['id']}", demo.slug, admin).status == 204
    assert crm("DELETE", f"/tokens/{issued.json['id']}", demo.slug, admin).status == 204  # again: nothing
    _problem(crm("GET", "/me", demo.slug, secret), 401)
    assert _audit_actions(demo.tenant_id)[:2] == ["staff.token_revoked", "staff.token_issued"]


def test_the_audit_log_pages_and_filters(container, demo):
    admin = staff_token(demo.tenant_id, "admin")
    for n in range(5):
        crm("POST", "/staff", demo.slug, admin, body={"email": f"p{n}@seller.test", "name": f"P{n}", "role": "agent"})
    first = crm("GET", "/audit", demo.slug, admin, query={"limit": "3", "action": "staff.user_created"}).json
    assert len(first["items"]) == 3 and first["next_before"] == first["items"][-1]["id"]
    rest = crm("GET", "/audit", demo.slug, admin, query={"limit": "3", "action": "staff.user_created",
                                                         "before": str(first["next_before"])}).json
    ids = [e["id"] for e in first["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == 6 and ids == sorted(ids, reverse=True)  # 5 + the admin itself
    entry = first["items"][0]
    assert entry["actor_type"] == "staff" and entry["target_type"] == "staff_user" and entry["data"]["role"] == "agent"
    _problem(crm("GET", "/audit", demo.slug, admin, query={"limit": "0"}), 422)
    _problem(crm("GET", "/audit", demo.slug, admin, query={"nope": "1"}), 422)


def test_another_tenants_ids_are_404_and_its_tokens_401(container, demo, other_demo):
    admin = staff_token(demo.tenant_id, "admin")
    theirs = staff_user(other_demo.tenant_id, "agent")
    their_token = container.staff_auth.issue_api_token(other_demo.tenant_id, "tests", user_id=theirs["id"], name="t")
    for method, path, body in (("GET", f"/staff/{theirs['id']}", None),
                               ("PATCH", f"/staff/{theirs['id']}", {"name": "Mine"}),
                               ("DELETE", f"/staff/{theirs['id']}", None),
                               ("DELETE", f"/tokens/{their_token.token_id}", None),
                               ("POST", "/tokens", {"name": "x", "user_id": theirs["id"]}),
                               ("GET", "/staff/not-a-uuid", None)):
        _problem(crm(method, path, demo.slug, admin, body=body), 404)
    _problem(crm("GET", "/me", demo.slug, their_token.token), 401)
    assert theirs["email"] not in str(crm("GET", "/staff", demo.slug, admin).json)
    assert _entries(demo.tenant_id)[0]["target_id"] != theirs["id"]
    assert container.staff_auth.authenticate(other_demo.tenant_id, their_token.token)  # still valid at home


def test_logins_from_one_address_are_limited_whatever_the_email(container, demo):
    from prichal.services.request_limits import RequestLimit

    container.staff_login_limit = RequestLimit(container.hold_store, "staff-login", 3, 3)
    sprayer = {"X-Forwarded-For": "198.51.100.77"}
    for n in range(3):
        _problem(crm("POST", "/login", demo.slug, headers=sprayer,
                     body={"email": f"user{n}@seller.test", "password": "Summer2026!!"}), 401)
    limited = crm("POST", "/login", demo.slug, headers=sprayer, body={"email": "u9@seller.test", "password": "x"})
    assert _problem(limited, 429, "rate-limited") and int(limited.headers["Retry-After"]) > 0
    other = crm("POST", "/login", demo.slug, headers={"X-Forwarded-For": "198.51.100.78"},
                body={"email": "u9@seller.test", "password": "x"})
    _problem(other, 401)  # another address is not held back
