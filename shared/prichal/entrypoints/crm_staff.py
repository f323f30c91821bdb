"""CRM routes of staff access: login, logout, me, staff users, API tokens, the audit log.

``register(app)`` adds them to the crm function (``functions/crm/handler.py``). Login is per
tenant (the tenant comes from the host or header as for every route); platform admins log
in at ``/platform/login``. Each route names its permission through ``require_staff``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from prichal.bootstrap import container
from prichal.domain.staff import ROLE_PERMISSIONS, Permission, StaffActor

from .app import FunctionApp, Request, Response
from .openapi import describe
from .staff import current_staff, require_staff

TenantRole = Literal["agent", "supervisor", "finance", "admin"]
STAFF = ("staffToken",)


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    user_id: str
    tenant_id: str | None = Field(description="null for a platform admin")
    name: str
    role: str
    kind: Literal["session", "api"]
    token_id: str
    permissions: list[str]


class LoginAnswer(BaseModel):
    token: str = Field(description="send it as Authorization: Bearer <token>")
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme, not a secret
    expires_at: dt.datetime = Field(description="the latest the session lives")
    idle_timeout_seconds: int = Field(description="the session ends sooner when unused this long")
    me: Me


class StaffUserView(BaseModel):
    id: str
    email: str
    name: str
    role: str
    active: bool
    can_log_in: bool
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None
    created_at: dt.datetime


class StaffUserList(BaseModel):
    items: list[StaffUserView]


class NewStaffUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=200)
    role: TenantRole
    password: str | None = Field(default=None, max_length=1024,
                                 description="none: the user cannot log in (API tokens only)")


class StaffUserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: TenantRole | None = None
    password: str | None = Field(default=None, max_length=1024, description="ends the user's sessions")
    active: bool | None = Field(default=None, description="false ends every session and API token of the user")


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, description="what the token is for")
    user_id: str | None = Field(default=None, description="the staff user it acts as (default: you)")
    scopes: list[Permission] | None = Field(default=None, min_length=1,
                                            description="permissions of the token; default: all of its user's role")
    days: int | None = Field(default=None, ge=1, le=3660, description="lifetime (default STAFF_API_TOKEN_DAYS)")


class IssuedTokenView(BaseModel):
    id: str
    token: str = Field(description="the secret, shown this once: it is stored only as a hash")
    name: str
    user_id: str
    scopes: list[str]
    expires_at: dt.datetime | None


class TokenView(BaseModel):
    id: str
    user_id: str
    kind: str
    name: str | None
    scopes: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime
    revoked_at: dt.datetime | None
    created_by: str | None


class TokenList(BaseModel):
    items: list[TokenView]


class TokensQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str | None = Field(default=None, max_length=36, description="only this user's tokens")


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=100, ge=1, le=500)
    before: int | None = Field(default=None, ge=1, description="entries older than this id (the next page)")
    action: str | None = Field(default=None, max_length=100)
    target_type: str | None = Field(default=None, max_length=100)
    target_id: str | None = Field(default=None, max_length=100)
    actor_id: str | None = Field(default=None, max_length=100)


class AuditEntry(BaseModel):
    id: int
    at: dt.datetime
    actor_type: str = Field(description="staff, platform or system")
    actor_id: str | None
    actor_name: str
    token_id: str | None
    address: str | None
    action: str
    target_type: str
    target_id: str | None
    data: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_before: int | None = Field(description="pass as ?before= for the next page; null at the end")


def _me(actor: StaffActor) -> Me:
    p = actor.principal
    return Me(user_id=p.user_id, tenant_id=p.tenant_id, name=p.name, role=p.role.value, kind=p.kind,
              token_id=p.token_id, permissions=sorted(x.value for x in p.scopes & ROLE_PERMISSIONS[p.role]))


def _tenant_id(request: Request) -> str:
    assert request.tenant is not None
    return request.tenant.id


def register(app: FunctionApp) -> None:
    @app.route("POST", "/login", body=LoginBody, response=LoginAnswer, errors=(401, 429))
    def login(request: Request, body: LoginBody) -> LoginAnswer:
        """Log in with e-mail and password: a short-lived session token."""
        return _login(_tenant_id(request), body, request.client_ip)

    @app.route("POST", "/platform/login", tenant=False, body=LoginBody, response=LoginAnswer, errors=(401, 429))
    def platform_login(request: Request, body: LoginBody) -> LoginAnswer:
        """A platform admin's login (valid for every tenant and the platform's routes)."""
        return _login(None, body, request.client_ip)

    @app.route("POST", "/logout", status=204, errors=(401,))
    @describe(security=STAFF, responses={204: None})
    def logout(request: Request) -> Response:
        """End the session (or revoke the API token) this request carries."""
        actor = current_staff(request)
        container().staff_auth.logout(actor, request.tenant.id if request.tenant else None)
        return Response(status=204)

    @app.route("GET", "/me", response=Me, errors=(401,))
    @describe(security=STAFF)
    def me(request: Request) -> Me:
        """Who this token speaks for and what it may do."""
        return _me(current_staff(request))

    # --- staff users (staff.manage) --------------------------------------------------------
    @app.route("GET", "/staff", response=StaffUserList, errors=(401, 403))
    @describe(security=STAFF)
    def list_staff(request: Request) -> StaffUserList:
        """The tenant's staff users."""
        require_staff(request, Permission.STAFF_MANAGE)
        return StaffUserList(items=[StaffUserView(**u) for u in container().staff_users.list(_tenant_id(request))])

    @app.route("POST", "/staff", status=201, body=NewStaffUser, response=StaffUserView, errors=(401, 403, 409))
    @describe(security=STAFF)
    def create_staff(request: Request, body: NewStaffUser) -> StaffUserView:
        """Add a staff user with a role."""
        actor = require_staff(request, Permission.STAFF_MANAGE)
        created = container().staff_auth.create_user(_tenant_id(request), actor, email=body.email, name=body.name,
                                                     role=body.role, password=body.password)
        return StaffUserView(**container().staff_users.get(_tenant_id(request), str(created["id"])))

    @app.route("GET", "/staff/{user_id}", response=StaffUserView, errors=(401, 403, 404))
    @describe(security=STAFF)
    def get_staff(request: Request, user_id: str) -> StaffUserView:
        """One staff user."""
        require_staff(request, Permission.STAFF_MANAGE)
        return StaffUserView(**container().staff_users.get(_tenant_id(request), user_id))

    @app.route("PATCH", "/staff/{user_id}", body=StaffUserChange, response=StaffUserView,
               errors=(401, 403, 404, 409))
    @describe(security=STAFF)
    def change_staff(request: Request, user_id: str, body: StaffUserChange) -> StaffUserView:
        """Rename, change the role or password, deactivate or reactivate a staff user."""
        actor = require_staff(request, Permission.STAFF_MANAGE)
        changed = container().staff_users.change(_tenant_id(request), actor, user_id,
                                                 **body.model_dump(exclude_none=True))
        return StaffUserView(**changed)

    @app.route("DELETE", "/staff/{user_id}", status=204, errors=(401, 403, 404, 409))
    @describe(security=STAFF, responses={204: None})
    def deactivate_staff(request: Request, user_id: str) -> Response:
        """Deactivate a staff user (kept for the audit log): its sessions and tokens end."""
        actor = require_staff(request, Permission.STAFF_MANAGE)
        container().staff_users.change(_tenant_id(request), actor, user_id, active=False)
        return Response(status=204)

    # --- API tokens (staff.manage) ---------------------------------------------------------
    @app.route("GET", "/tokens", query=TokensQuery, response=TokenList, errors=(401, 403))
    @describe(security=STAFF)
    def list_tokens(request: Request, query: TokensQuery) -> TokenList:
        """The tenant's API tokens (never their secrets)."""
        require_staff(request, Permission.STAFF_MANAGE)
        rows = container().staff_auth.list_tokens(_tenant_id(request), kind="api", user_id=query.user_id)
        return TokenList(items=[TokenView(**_token_view(r)) for r in rows])

    @app.route("POST", "/tokens", status=201, body=NewToken, response=IssuedTokenView, errors=(401, 403, 404, 409))
    @describe(security=STAFF)
    def issue_token(request: Request, body: NewToken) -> IssuedTokenView:
        """Issue an API token for a machine; its secret is in this answer only."""
        actor = require_staff(request, Permission.STAFF_MANAGE)
        issued = container().staff_auth.issue_api_token(
            _tenant_id(request), actor, user_id=body.user_id or actor.user_id, name=body.name,
            scopes=None if body.scopes is None else [s.value for s in body.scopes], days=body.days)
        return IssuedTokenView(id=issued.token_id, token=issued.token, name=issued.name, user_id=issued.user_id,
                               scopes=sorted(s.value for s in issued.scopes), expires_at=issued.expires_at)

    @app.route("DELETE", "/tokens/{token_id}", status=204, errors=(401, 403, 404))
    @describe(security=STAFF, responses={204: None})
    def revoke_token(request: Request, token_id: str) -> Response:
        """Revoke a token at once (an API token, or a user's session); revoking again changes nothing."""
        actor = require_staff(request, Permission.STAFF_MANAGE)
        container().staff_auth.revoke_token(_tenant_id(request), actor, token_id)
        return Response(status=204)

    # --- audit log (audit.read) ------------------------------------------------------------
    @app.route("GET", "/audit", query=AuditQuery, response=AuditPage, errors=(401, 403))
    @describe(security=STAFF)
    def audit(request: Request, query: AuditQuery) -> AuditPage:
        """The tenant's audit log, newest first: who did what, when, from where."""
        require_staff(request, Permission.AUDIT_READ)
        rows = container().staff_users.audit(_tenant_id(request), limit=query.limit, before_id=query.before,
                                             action=query.action, target_type=query.target_type,
                                             target_id=query.target_id, actor_id=query.actor_id)
        items = [AuditEntry(**{**r, "token_id": None if r["token_id"] is None else str(r["token_id"])})
                 for r in rows]
        return AuditPage(items=items, next_before=items[-1].id if len(items) == query.limit else None)


def _login(tenant_id: str | None, body: LoginBody, address: str | None) -> LoginAnswer:
    c = container()
    c.staff_login_limit.check(tenant_id or "platform", f"ip:{address or 'unknown'}", address)  # 429
    done = c.staff_auth.login(tenant_id, body.email, body.password, address)
    return LoginAnswer(token=done.token, expires_at=done.expires_at,
                       idle_timeout_seconds=int(done.idle_timeout.total_seconds()),
                       me=_me(StaffActor(done.principal, address)))


def _token_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(row["id"]), "user_id": str(row["user_id"]), "kind": row["kind"], "name": row["name"],
            "scopes": list(row["scopes"]), "created_at": row["created_at"], "expires_at": row["expires_at"],
            "last_used_at": row["last_used_at"], "revoked_at": row["revoked_at"],
            "created_by": None if row["created_by"] is None else str(row["created_by"])}
