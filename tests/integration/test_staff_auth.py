"""Staff auth against the real PostgreSQL: login, lockout, sessions, API tokens, revocation,
the audit log, tenant isolation, ``require_staff`` and the admin CLI."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from prichal.admin import main as admin
from prichal.bootstrap import container as the_container
from prichal.domain.errors import Conflict, InvalidInput, NotFound, RateLimited, Unauthenticated
from prichal.domain.staff import ROLE_PERMISSIONS, Permission, Role
from prichal.entrypoints.app import CaseInsensitiveDict, FunctionApp, Request
from prichal.entrypoints.staff import require_staff
from tests.staff_support import PASSWORD, bearer, staff_token, staff_user
from tests.support import call


def _audit(container, tenant_id: str | None, action: str | None = None) -> list[dict]:
    with container.uow(tenant_id or "") as uow:
        return uow.audit.entries(action=action)


# --- a tiny app whose routes need one permission each: the matrix of roles x permissions ----
def _checker() -> FunctionApp:
    app = FunctionApp("staff-check", "check", tenant_resolver=lambda r: the_container().tenant_resolver(r),
                      edge=lambda: the_container().edge_policy)

    @app.route("GET", "/need/{permission}")
    def need(request: Request, permission: str):
        actor = require_staff(request, permission)
        return {"user": actor.user_id, "role": actor.role, "address": actor.address}

    @app.route("GET", "/platform/{permission}", tenant=False)
    def platform(request: Request, permission: str):
        return {"role": require_staff(request, permission).role}

    return app


CHECKER = _checker()


def _need(permission: str, token: str | None, tenant_slug: str | None, platform: bool = False):
    headers = {"X-Forwarded-For": "203.0.113.7"}
    if tenant_slug:
        headers["X-Tenant"] = tenant_slug
    if token:
        headers.update(bearer(token))
    response = CHECKER.dispatch(Request("GET", f"/{'platform' if platform else 'need'}/{permission}",
                                        CaseInsensitiveDict(headers), {}, b""))
    return response


@pytest.mark.parametrize("role", ["agent", "supervisor", "finance", "admin"])
def test_every_role_against_every_permission(container, demo, role):
    token = staff_token(demo.tenant_id, role)
    for permission in Permission:
        answer = _need(permission.value, token, demo.slug)
        allowed = permission in ROLE_PERMISSIONS[Role(role)]
        assert answer.status == (200 if allowed else 403), (role, permission)
        if not allowed:
            assert answer.body["code"] == "forbidden" and answer.body["permission"] == permission.value
            assert answer.content_type == "application/problem+json"
        else:
            assert answer.body["role"] == role and answer.body["address"] == "203.0.113.7"


def test_no_token_a_garbled_one_or_an_order_token_is_401(container, demo):
    for token in (None, "prs.nope", "pra.nope", "not-a-staff-token"):
        answer = _need("orders.read", token, demo.slug)
        assert answer.status == 401 and answer.body["code"] == "unauthenticated"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_of_another_tenant_is_unknown_here(container, demo, other_demo):
    token = staff_token(demo.tenant_id, "admin")
    assert _need("orders.read", token, demo.slug).status == 200
    assert _need("orders.read", token, other_demo.slug).status == 401
    assert _need("tenants.manage", token, None, platform=True).status == 401  # nor on the platform's routes


def test_a_platform_admin_acts_on_any_tenant_and_on_the_platform(container, demo, other_demo):
    ops = f"ops-{uuid.uuid4().hex[:8]}@prichal.test"  # platform admins are one list for every test
    staff_user(None, "platform_admin", email=ops)
    login = container.staff_auth.login(None, ops.upper(), PASSWORD, "198.51.100.1")
    assert login.token.startswith("pps.") and login.principal.tenant_id is None
    for slug in (demo.slug, other_demo.slug):
        for permission in Permission:
            assert _need(permission.value, login.token, slug).status == 200
    assert _need("tenants.manage", login.token, None, platform=True).status == 200
    assert _audit(container, None, "staff.login")[0]["actor_type"] == "platform"


def test_login_writes_the_audit_and_a_wrong_password_counts(container, demo, clock):
    user = staff_user(demo.tenant_id, "agent", email="anna@seller.test")
    auth = container.staff_auth
    with pytest.raises(Unauthenticated):
        auth.login(demo.tenant_id, "anna@seller.test", "wrong password!!", "192.0.2.1")
    with pytest.raises(Unauthenticated):
        auth.login(demo.tenant_id, "nobody@seller.test", PASSWORD)  # same answer, nothing recorded
    failed = _audit(container, demo.tenant_id, "staff.login_failed")
    assert [(a["target_id"], a["actor_type"], a["address"]) for a in failed] == [(user["id"], "system", "192.0.2.1")]
    login = auth.login(demo.tenant_id, " Anna@Seller.test ", PASSWORD, "192.0.2.2")
    assert login.token.startswith("prs.") and login.principal.role is Role.AGENT
    entry = _audit(container, demo.tenant_id, "staff.login")[0]
    assert (entry["actor_id"], entry["token_id"], entry["address"]) == (user["id"], login.principal.token_id,
                                                                        "192.0.2.2")
    with container.uow(demo.tenant_id) as uow:
        assert uow.staff.user(user["id"])["failed_logins"] == 0  # a success starts the count again


def test_lockout_after_repeated_failures_then_it_passes(container, demo, clock):
    staff_user(demo.tenant_id, "agent", email="boris@seller.test")
    auth = container.staff_auth
    for _ in range(container.settings.staff_login_max_failures):
        with pytest.raises(Unauthenticated):
            auth.login(demo.tenant_id, "boris@seller.test", "guess guess guess")
    with pytest.raises(RateLimited) as locked:
        auth.login(demo.tenant_id, "boris@seller.test", PASSWORD)  # even the right password
    assert 0 < locked.value.retry_after <= container.settings.staff_login_lockout_seconds
    assert _audit(container, demo.tenant_id, "staff.login_failed")[0]["data"]["locked"] is True
    clock.advance(seconds=container.settings.staff_login_lockout_seconds + 1)
    assert auth.login(demo.tenant_id, "boris@seller.test", PASSWORD).token


def test_login_is_429_problem_json_through_http_too(container, demo):
    # the crm function's /login arrives in part 2; the error mapping is the one place for it
    from prichal.entrypoints.problems import from_domain

    status, body, headers = from_domain(RateLimited("too many failed logins", retry_after=60))
    assert status == 429 and headers["Retry-After"] == "60"
    status, body, headers = from_domain(Unauthenticated("no"))
    assert status == 401 and body["code"] == "unauthenticated" and "WWW-Authenticate" in headers


def test_sessions_end_when_idle_or_at_their_lifetime(container, demo, clock):
    token = staff_token(demo.tenant_id, "agent")
    idle = container.settings.staff_session_idle_seconds
    for _ in range(3):  # used within the idle time: it lives on
        clock.advance(seconds=idle - 120)
        assert _need("orders.read", token, demo.slug).status == 200
    clock.advance(seconds=idle + 1)
    assert _need("orders.read", token, demo.slug).status == 401

    token = staff_token(demo.tenant_id, "agent")
    ttl = container.settings.staff_session_ttl_seconds
    used = 0
    while used + idle - 60 < ttl:
        clock.advance(seconds=idle - 60)
        used += idle - 60
        assert _need("orders.read", token, demo.slug).status == 200
    clock.advance(seconds=ttl - used + 1)
    assert _need("orders.read", token, demo.slug).status == 401


def test_logout_ends_the_session(container, demo):
    token = staff_token(demo.tenant_id, "agent")
    actor = require_staff(Request("GET", "/", CaseInsensitiveDict(bearer(token)), {}, b"", tenant=demo_tenant(demo)),
                          Permission.ORDERS_READ)
    container.staff_auth.logout(actor, demo.tenant_id)
    assert _need("orders.read", token, demo.slug).status == 401
    assert _audit(container, demo.tenant_id, "staff.logout")[0]["token_id"] == actor.principal.token_id


def demo_tenant(demo):
    return the_container().tenants.by_slug(demo.slug)


def test_api_tokens_are_scoped_expire_and_are_revoked(container, demo, clock):
    auth = container.staff_auth
    finance = staff_user(demo.tenant_id, "finance", password=None)  # a machine: no password
    with pytest.raises(Unauthenticated):
        auth.login(demo.tenant_id, finance["email"], "")
    issued = auth.issue_api_token(demo.tenant_id, "tests", user_id=finance["id"], name="1C export",
                                  scopes=["reports.export"], days=30)
    assert issued.token.startswith("pra.")
    assert _need("reports.export", issued.token, demo.slug).status == 200
    refused = _need("orders.read", issued.token, demo.slug)  # the role has it, the token does not
    assert refused.status == 403 and "scopes" in refused.body["detail"]
    listed = auth.list_tokens(demo.tenant_id)
    assert [t["id"] for t in listed] == [issued.token_id] and "token_hash" not in listed[0]
    with pytest.raises(InvalidInput):
        auth.issue_api_token(demo.tenant_id, "tests", user_id=finance["id"], name="x", scopes=["orders.refund"])
    with pytest.raises(InvalidInput):
        auth.issue_api_token(demo.tenant_id, "tests", user_id=finance["id"], name="x", days=10_000)
    with pytest.raises(NotFound):
        auth.issue_api_token(demo.tenant_id, "tests", user_id="not-an-id", name="x")

    clock.advance(days=30, seconds=1)
    assert _need("reports.export", issued.token, demo.slug).status == 401  # expired

    second = auth.issue_api_token(demo.tenant_id, "tests", user_id=finance["id"], name="again")
    assert _need("orders.read", second.token, demo.slug).status == 200  # no scopes named: the role's
    auth.revoke_token(demo.tenant_id, "tests", second.token_id)
    assert _need("orders.read", second.token, demo.slug).status == 401
    actions = [a["action"] for a in _audit(container, demo.tenant_id)]
    assert actions[:3] == ["staff.token_revoked", "staff.token_issued", "staff.token_issued"]


def test_tokens_and_users_of_another_tenant_are_not_found(container, demo, other_demo):
    auth = container.staff_auth
    theirs = staff_user(other_demo.tenant_id, "admin")
    issued = auth.issue_api_token(other_demo.tenant_id, "tests", user_id=theirs["id"], name="theirs")
    with pytest.raises(NotFound):
        auth.revoke_token(demo.tenant_id, "tests", issued.token_id)
    with pytest.raises(NotFound):
        auth.issue_api_token(demo.tenant_id, "tests", user_id=theirs["id"], name="mine now")
    assert auth.list_tokens(demo.tenant_id) == []
    with container.uow(demo.tenant_id) as uow:
        assert uow.staff.user(theirs["id"]) is None and uow.audit.entries() == []


def test_a_deactivated_user_loses_its_tokens(container, demo, clock):
    user = staff_user(demo.tenant_id, "agent")
    token = container.staff_auth.login(demo.tenant_id, user["email"], PASSWORD).token
    with container.uow(demo.tenant_id) as uow:
        uow.staff.update_user(user["id"], clock.now, active=False)
        uow.commit()
    assert _need("orders.read", token, demo.slug).status == 401
    with pytest.raises(Unauthenticated):
        container.staff_auth.login(demo.tenant_id, user["email"], PASSWORD)


def test_bad_users_are_refused_and_nothing_is_written(container, demo):
    auth = container.staff_auth
    for kwargs in ({"email": "not-an-email"}, {"role": "platform_admin"}, {"password": "short"},
                   {"name": "  "}):
        given = {"email": "x@seller.test", "name": "X", "role": "agent", "password": PASSWORD, **kwargs}
        with pytest.raises(InvalidInput):
            auth.create_user(demo.tenant_id, "tests", **given)
    staff_user(demo.tenant_id, "agent", email="dup@seller.test")
    with pytest.raises(Conflict):
        staff_user(demo.tenant_id, "admin", email="DUP@seller.test")
    with container.uow(demo.tenant_id) as uow:
        assert [u["email"] for u in uow.staff.list_users()] == ["dup@seller.test"]


def test_the_audit_log_is_append_only_for_the_application(container, demo):
    staff_user(demo.tenant_id, "agent")
    with container.uow(demo.tenant_id) as uow:
        assert uow.audit.entries()[0]["action"] == "staff.user_created"
        with pytest.raises(ProgrammingError):
            uow.conn.execute(text("UPDATE staff_audit SET action = 'nothing.happened'"))
    with container.uow(demo.tenant_id) as uow, pytest.raises(ProgrammingError):
        uow.conn.execute(text("DELETE FROM staff_audit"))


def test_the_cli_creates_the_first_admin_and_issues_and_revokes_tokens(container, demo, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert admin(["staff-user", demo.slug, "--email", "Boss@Seller.test", "--name", "Анна", "--password-stdin"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["role"] == "admin" and created["email"] == "boss@seller.test"
    login = container.staff_auth.login(demo.tenant_id, "boss@seller.test", PASSWORD)
    assert _need("staff.manage", login.token, demo.slug).status == 200
    assert _audit(container, demo.tenant_id, "staff.user_created")[0]["actor_name"].startswith("cli:")

    assert admin(["staff-user", demo.slug, "--email", "robot@seller.test", "--name", "Robot", "--role", "finance",
                  "--no-password"]) == 0
    capsys.readouterr()
    assert admin(["staff-token", demo.slug, "--email", "robot@seller.test", "--name", "export",
                  "--scope", "reports.export"]) == 0
    out, err = capsys.readouterr()
    secret = out.strip()
    assert secret.startswith("pra.") and "shown once" in err
    assert _need("reports.export", secret, demo.slug).status == 200
    assert admin(["staff-tokens", demo.slug]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(listed) == 1 and secret not in json.dumps(listed)
    assert admin(["staff-token-revoke", demo.slug, listed[0]["id"]]) == 0
    assert _need("reports.export", secret, demo.slug).status == 401
    assert admin(["staff-token", demo.slug, "--email", "robot@seller.test", "--name", "x",
                  "--scope", "orders.refund"]) == 2  # not a permission of a finance user
    assert admin(["staff-user", demo.slug, "--email", "bad", "--name", "X", "--no-password"]) == 2

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    root = f"root-{uuid.uuid4().hex[:8]}@prichal.test"
    assert admin(["platform-admin", "--email", root, "--name", "Root", "--password-stdin"]) == 0
    assert container.staff_auth.login(None, root, PASSWORD).principal.role is Role.PLATFORM_ADMIN
    with pytest.raises(SystemExit):
        admin(["staff-user", "no-such-tenant", "--email", "a@b.test", "--name", "A", "--no-password"])


def test_documents_take_staff_tokens_with_orders_read(container, demo, other_demo):
    path = "/orders/00000000-0000-0000-0000-000000000000/documents"
    assert call("documents", "GET", path, tenant=demo.slug,
                headers=bearer(staff_token(demo.tenant_id, "finance"))).status == 404  # allowed: no such order
    assert call("documents", "GET", path, tenant=demo.slug,
                headers=bearer(staff_token(demo.tenant_id, "finance", scopes=["reports.export"]))).status == 403
    assert call("documents", "GET", path, tenant=other_demo.slug,
                headers=bearer(staff_token(demo.tenant_id, "admin"))).status == 401
