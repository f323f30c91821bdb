"""``require_staff``: the one staff check of every back-office route.

    actor = require_staff(request, Permission.ORDERS_READ)

reads ``Authorization: Bearer <staff token>`` and answers 401 ``unauthenticated`` (missing,
unknown, expired or revoked: a token of another tenant is unknown here) or 403 ``forbidden``
(the role, or an API token's scopes, lack the permission). On a route without tenant
(``tenant=False``) only platform tokens count. Declare it in OpenAPI with
``@describe(security=("staffToken",))`` and ``errors=(401, 403, ...)``.
"""

from __future__ import annotations

from prichal.bootstrap import container
from prichal.domain.errors import Forbidden, Unauthenticated
from prichal.domain.staff import ROLE_PERMISSIONS, Permission, StaffActor

from .app import Request


def bearer_token(request: Request) -> str | None:
    auth = (request.header("Authorization") or "").strip()
    scheme, _, credential = auth.partition(" ")
    return credential.strip() or None if scheme.lower() == "bearer" else None


def current_staff(request: Request) -> StaffActor:
    """Whoever a valid staff token speaks for, whatever it may do (``/me``, ``/logout``)."""
    token = bearer_token(request)
    if not token:
        raise Unauthenticated("send Authorization: Bearer <staff token> (POST /function/crm/login gives one)")
    tenant_id = request.tenant.id if request.tenant is not None else None
    return StaffActor(container().staff_auth.authenticate(tenant_id, token), request.client_ip)


def require_staff(request: Request, permission: Permission | str) -> StaffActor:
    actor = current_staff(request)
    principal = actor.principal
    wanted = Permission(permission)
    if not principal.can(wanted):
        scoped_out = principal.kind == "api" and wanted in ROLE_PERMISSIONS[principal.role]
        why = "this token's scopes do not include it" if scoped_out else f"the role {principal.role} does not have it"
        raise Forbidden(f"{wanted} is needed: {why}", permission=wanted.value)
    return actor

