"""Staff of the back offices: roles, what each role may do, and who is acting.

One table (``ROLE_PERMISSIONS``) says which role may do what; every back-office route asks
``require_staff(request, Permission.X)`` (``prichal.entrypoints.staff``) and gets a
``StaffActor``, which services write to the audit log. A tenant's staff act on their own
tenant only; ``platform_admin`` is staff of the platform, bound to no tenant, and may do
anything in any tenant it acts on. API tokens are scoped: they carry a subset of their
owner's permissions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from .errors import InvalidInput


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    FINANCE = "finance"
    ADMIN = "admin"
    PLATFORM_ADMIN = "platform_admin"  # staff of the platform, not of one tenant


class Permission(StrEnum):
    ORDERS_READ = "orders.read"
    ORDERS_EDIT = "orders.edit"  # contact, notes, flags, resend
    ORDERS_REFUND = "orders.refund"
    ORDERS_REFUND_OVERRIDE = "orders.refund_override"
    CASES_READ = "cases.read"
    CASES_MANAGE = "cases.manage"
    REPORTS_EXPORT = "reports.export"
    CATALOG_READ = "catalog.read"
    CATALOG_MANAGE = "catalog.manage"
    SEATMAPS_MANAGE = "seatmaps.manage"
    SAILINGS_CANCEL = "sailings.cancel"
    STAFF_MANAGE = "staff.manage"
    TENANT_SETTINGS = "tenant.settings"
    SUPPLIERS_MANAGE = "suppliers.manage"
    AUDIT_READ = "audit.read"
    TICKETS_BOARD = "tickets.board"  # scan tickets at the gangway, download the revocation list
    TENANTS_MANAGE = "tenants.manage"  # platform only


P = Permission
TENANT_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.FINANCE, Role.ADMIN})
PLATFORM_PERMISSIONS = frozenset({P.TENANTS_MANAGE})
TENANT_PERMISSIONS = frozenset(Permission) - PLATFORM_PERMISSIONS

_AGENT = frozenset({P.ORDERS_READ, P.ORDERS_EDIT, P.ORDERS_REFUND, P.CASES_READ, P.CASES_MANAGE, P.CATALOG_READ,
                    P.TICKETS_BOARD})
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.AGENT: _AGENT,
    Role.SUPERVISOR: _AGENT | {P.ORDERS_REFUND_OVERRIDE, P.SAILINGS_CANCEL, P.AUDIT_READ},
    Role.FINANCE: frozenset({P.ORDERS_READ, P.REPORTS_EXPORT, P.CATALOG_READ, P.AUDIT_READ}),
    Role.ADMIN: TENANT_PERMISSIONS,
    Role.PLATFORM_ADMIN: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    """Who a valid token speaks for. ``tenant_id`` is None for platform staff."""

    user_id: str
    tenant_id: str | None
    role: Role
    name: str
    token_id: str
    kind: Literal["session", "api"]
    scopes: frozenset[Permission]

    @property
    def platform(self) -> bool:
        return self.role is Role.PLATFORM_ADMIN

    def can(self, permission: Permission | str) -> bool:
        """Role and token both allow it (a session carries its role's permissions)."""
        wanted = Permission(permission)
        return wanted in ROLE_PERMISSIONS[self.role] and wanted in self.scopes


@dataclass(frozen=True, slots=True)
class StaffActor:
    """A principal acting from an address: what services receive and audit."""

    principal: StaffPrincipal
    address: str | None = None

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def role(self) -> Role:
        return self.principal.role

    def can(self, permission: Permission | str) -> bool:
        return self.principal.can(permission)


# --- rules for what staff users and tokens may be --------------------------------------
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
MAX_NAME = 200


def normal_email(email: str) -> str:
    """The login: trimmed and lower-cased, so ``Anna@X.ru`` and ``anna@x.ru`` are one user."""
    found = (email or "").strip().lower()
    if not _EMAIL.fullmatch(found) or len(found) > 254:
        raise InvalidInput("not an e-mail address", errors=[{"loc": ["email"], "type": "value_error",
                                                             "msg": "not an e-mail address"}])
    return found


def check_password(password: str, min_length: int) -> None:
    """Long enough, and not only one repeated character; nothing cleverer (NIST 800-63B)."""
    problems = []
    if len(password) < min_length:
        problems.append(f"at least {min_length} characters")
    elif len(set(password)) < 4:
        problems.append("more than a few distinct characters")
    if len(password) > 1024:
        problems.append("at most 1024 characters")
    if problems:
        raise InvalidInput(f"the password needs {' and '.join(problems)}",
                           errors=[{"loc": ["password"], "type": "value_error", "msg": p} for p in problems])


def check_name(name: str, field: str = "name") -> str:
    found = (name or "").strip()
    if not found or len(found) > MAX_NAME or any(ord(ch) < 32 or ord(ch) == 127 for ch in found):
        raise InvalidInput(f"{field} must be 1-{MAX_NAME} printable characters",
                           errors=[{"loc": [field], "type": "value_error", "msg": "1-200 printable characters"}])
    return found


def tenant_role(role: str) -> Role:
    """A role a tenant's staff user may have (not ``platform_admin``)."""
    try:
        found = Role(role)
    except ValueError:
        found = None
    if found not in TENANT_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(sorted(TENANT_ROLES))}",
                           errors=[{"loc": ["role"], "type": "enum", "msg": "unknown role"}])
    return found  # type: ignore[return-value]


def token_scopes(requested: Iterable[str] | None, role: Role) -> frozenset[Permission]:
    """An API token's scopes: named permissions, each one its owner's role has (None: all of them)."""
    allowed = ROLE_PERMISSIONS[role]
    if requested is None:
        return allowed
    scopes = set()
    for index, name in enumerate(requested):
        try:
            permission = Permission(name)
        except ValueError:
            raise InvalidInput(f"unknown permission {name!r}", errors=[
                {"loc": ["scopes", index], "type": "enum", "msg": "unknown permission"}]) from None
        if permission not in allowed:
            raise InvalidInput(f"a {role} cannot grant {permission}", errors=[
                {"loc": ["scopes", index], "type": "value_error", "msg": "not a permission of the owner's role"}])
        scopes.add(permission)
    if not scopes:
        raise InvalidInput("a token needs at least one scope",
                           errors=[{"loc": ["scopes"], "type": "too_short", "msg": "at least one scope"}])
    return frozenset(scopes)
