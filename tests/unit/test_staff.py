"""Roles, permissions and the rules for staff users and tokens (pure domain)."""

import pytest

from prichal.domain.errors import InvalidInput
from prichal.domain.staff import (
    ROLE_PERMISSIONS,
    TENANT_PERMISSIONS,
    Permission,
    Role,
    StaffActor,
    StaffPrincipal,
    check_password,
    normal_email,
    tenant_role,
    token_scopes,
)
from prichal.services.staff_auth import PREFIXES, is_staff_token, token_realm

P = Permission


def test_the_permission_strings_are_the_agreed_ones():
    assert {p.value for p in Permission} == {
        "orders.read", "orders.edit", "orders.refund", "orders.refund_override", "cases.read", "cases.manage",
        "reports.export", "catalog.read", "catalog.manage", "seatmaps.manage", "sailings.cancel", "staff.manage",
        "tenant.settings", "suppliers.manage", "audit.read", "tenants.manage", "tickets.board"}
    assert {r.value for r in Role} == {"agent", "supervisor", "finance", "admin", "platform_admin"}


def test_the_role_table():
    agent = {P.ORDERS_READ, P.ORDERS_EDIT, P.ORDERS_REFUND, P.CASES_READ, P.CASES_MANAGE, P.CATALOG_READ,
             P.TICKETS_BOARD}
    assert ROLE_PERMISSIONS[Role.AGENT] == agent
    assert ROLE_PERMISSIONS[Role.SUPERVISOR] == agent | {P.ORDERS_REFUND_OVERRIDE, P.SAILINGS_CANCEL, P.AUDIT_READ}
    assert ROLE_PERMISSIONS[Role.FINANCE] == {P.ORDERS_READ, P.REPORTS_EXPORT, P.CATALOG_READ, P.AUDIT_READ}
    assert ROLE_PERMISSIONS[Role.ADMIN] == TENANT_PERMISSIONS and P.TENANTS_MANAGE not in TENANT_PERMISSIONS
    assert ROLE_PERMISSIONS[Role.PLATFORM_ADMIN] == set(Permission)


def _principal(role: Role, scopes=None, kind="session") -> StaffPrincipal:
    return StaffPrincipal("u", None if role is Role.PLATFORM_ADMIN else "t", role, "N", "tok", kind,
                          frozenset(ROLE_PERMISSIONS[role] if scopes is None else scopes))


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_a_principal_can_what_its_role_can(role, permission):
    assert _principal(role).can(permission) is (permission in ROLE_PERMISSIONS[role])
    assert StaffActor(_principal(role), "10.0.0.1").can(permission.value) is (permission in ROLE_PERMISSIONS[role])


def test_an_api_token_can_only_its_scopes_and_never_more_than_the_role():
    token = _principal(Role.AGENT, {P.ORDERS_READ}, kind="api")
    assert token.can(P.ORDERS_READ) and not token.can(P.ORDERS_EDIT)
    assert not _principal(Role.AGENT, {P.STAFF_MANAGE}, kind="api").can(P.STAFF_MANAGE)


def test_token_scopes():
    assert token_scopes(None, Role.FINANCE) == ROLE_PERMISSIONS[Role.FINANCE]
    assert token_scopes(["reports.export"], Role.FINANCE) == {P.REPORTS_EXPORT}
    with pytest.raises(InvalidInput) as refused:
        token_scopes(["orders.refund"], Role.FINANCE)
    assert refused.value.errors[0]["loc"] == ["scopes", 0]
    with pytest.raises(InvalidInput):
        token_scopes(["orders.fly"], Role.ADMIN)
    with pytest.raises(InvalidInput):
        token_scopes([], Role.ADMIN)


def test_emails_roles_and_passwords():
    assert normal_email("  Anna.Petrova@Seller.RU ") == "anna.petrova@seller.ru"
    for bad in ("", "anna", "a@b", "a b@c.ru", "a@b.ru\x00"):
        with pytest.raises(InvalidInput):
            normal_email(bad)
    assert tenant_role("supervisor") is Role.SUPERVISOR
    for bad in ("platform_admin", "root", ""):
        with pytest.raises(InvalidInput):
            tenant_role(bad)
    check_password("correct horse battery", 12)
    for bad in ("short", "aaaaaaaaaaaaaaaa", "x" * 2000):
        with pytest.raises(InvalidInput):
            check_password(bad, 12)


def test_tokens_say_their_realm_and_never_look_like_an_order_token():
    assert token_realm("prs.abc") == ("tenant", "session") and token_realm("ppa.abc") == ("platform", "api")
    assert not is_staff_token("abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE")  # base64url has no dot
    assert not is_staff_token(None) and not is_staff_token("")
    assert len(set(PREFIXES.values())) == 4
