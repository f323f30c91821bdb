"""Staff authentication: password login, bearer tokens (sessions and API tokens), lockout.

- **Login** (e-mail + password, argon2id) returns a short-lived session token: valid for
  ``session_ttl`` at most, and only while used within ``session_idle``.
- **API tokens** for machines: named, scoped (a subset of the owner's permissions), with an
  expiry, revocable; the secret is returned once and stored only as its SHA-256.
- **Lockout**: ``max_failures`` wrong passwords in a row lock the user for ``lockout``
  (``RateLimited``, 429 with Retry-After), whatever is sent meanwhile.
- A token names its realm and kind in its prefix (``prs.`` / ``pra.``: a tenant's session /
  API token; ``pps.`` / ``ppa.``: the platform's), never valid in another realm; a tenant's
  tokens are looked up under that tenant's row-level security, so another tenant's token is
  simply unknown (401).

Every success, failure, issue and revocation writes an audit row in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from prichal.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated
from prichal.domain.staff import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
    StaffActor,
    StaffPrincipal,
    check_name,
    check_password,
    normal_email,
    tenant_role,
    token_scopes,
)

Realm = Literal["tenant", "platform"]
Kind = Literal["session", "api"]
PREFIXES: dict[tuple[Realm, Kind], str] = {
    ("tenant", "session"): "prs.", ("tenant", "api"): "pra.",
    ("platform", "session"): "pps.", ("platform", "api"): "ppa.",
}
# last use is written at most this often (it drives the idle timeout of sessions)
TOUCH_EVERY = timedelta(seconds=60)
REFUSED_DETAIL = "the staff token is unknown, expired or revoked; log in again"


class Passwords(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, hashed: str | None, password: str) -> bool: ...
    def needs_rehash(self, hashed: str) -> bool: ...


@dataclass(frozen=True)
class StaffAuthPolicy:
    session_ttl: timedelta = timedelta(hours=8)
    session_idle: timedelta = timedelta(minutes=30)
    api_token_days: int = 90
    api_token_max_days: int = 366
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    password_min_length: int = 12


@dataclass(frozen=True)
class Login:
    token: str
    expires_at: datetime
    idle_timeout: timedelta
    principal: StaffPrincipal


@dataclass(frozen=True)
class IssuedToken:
    """An API token: ``token`` is the secret, shown this once."""

    token: str
    token_id: str
    name: str
    user_id: str
    scopes: frozenset[Permission]
    expires_at: datetime | None


def token_realm(token: str) -> tuple[Realm, Kind] | None:
    for key, prefix in PREFIXES.items():
        if token.startswith(prefix):
            return key
    return None


def is_staff_token(token: str | None) -> bool:
    """Does this bearer credential claim to be a staff token (rather than, say, an order's)?"""
    return bool(token) and token_realm(token) is not None  # type: ignore[arg-type]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(realm: Realm, kind: Kind) -> str:
    return PREFIXES[(realm, kind)] + secrets.token_urlsafe(32)


class StaffAuth:
    """The use cases of staff access. ``uow(tenant_id)`` opens a unit of work (``""``: the
    platform's scope); ``tenant_id=None`` below means the platform's staff."""

    def __init__(self, *, uow: Callable[[str], Any], passwords: Passwords, policy: StaffAuthPolicy,
                 now: Callable[[], datetime]) -> None:
        self._uow = uow
        self._passwords = passwords
        self.policy = policy
        self._now = now

    @staticmethod
    def _repo(uow: Any, tenant_id: str | None) -> Any:
        return uow.platform_staff if tenant_id is None else uow.staff

    # --- login, logout ---------------------------------------------------------------------
    def login(self, tenant_id: str | None, email: str, password: str, address: str | None = None) -> Login:
        login = normal_email(email)
        with self._uow(tenant_id or "") as uow:
            repo = self._repo(uow, tenant_id)
            user = repo.user_by_email(login)
            now = self._now()
            if user is not None and user["locked_until"] is not None and user["locked_until"] > now:
                retry = max(1, int((user["locked_until"] - now).total_seconds() + 0.999))
                raise RateLimited(f"too many failed logins; try again in {retry} s", retry_after=retry)
            verified = self._passwords.verify(user["password_hash"] if user else None, password)
            if user is None or not verified or not user["active"]:
                if user is not None:
                    locked = repo.login_failed(user["id"], self.policy.max_failures, now + self.policy.lockout)
                    uow.audit.record(_Anonymous(login, address), "staff.login_failed", "staff_user", user["id"],
                                     locked=locked, inactive=not user["active"])
                    uow.commit()
                raise Unauthenticated("wrong e-mail or password")
            repo.login_succeeded(user["id"], now)
            if self._passwords.needs_rehash(user["password_hash"]):
                repo.update_user(user["id"], now, password_hash=self._passwords.hash(password))
            repo.forget_dead_sessions(user["id"], now - timedelta(days=1))
            token = _new_token("platform" if tenant_id is None else "tenant", "session")
            expires_at = now + self.policy.session_ttl
            token_id = repo.add_token(user["id"], "session", token_hash(token), None, [], now, expires_at,
                                      None, address)
            principal = _principal(user["id"], tenant_id, Role(user["role"]), user["name"], token_id, "session", None)
            uow.audit.record(StaffActor(principal, address), "staff.login", "staff_user", user["id"])
            uow.commit()
        return Login(token, expires_at, self.policy.session_idle, principal)

    def logout(self, actor: StaffActor, tenant_id: str | None) -> None:
        """Ends the token the actor came with (a session; an API token is revoked instead)."""
        principal = actor.principal
        with self._uow(tenant_id or "") as uow:
            repo = self._repo(uow, None if principal.platform else tenant_id)
            repo.revoke(principal.token_id, self._now())
            uow.audit.record(actor, "staff.logout", "staff_token", principal.token_id, kind=principal.kind)
            uow.commit()

    # --- every request ---------------------------------------------------------------------
    def authenticate(self, tenant_id: str | None, token: str) -> StaffPrincipal:
        """The principal of a bearer token, for a request to ``tenant_id`` (None: a platform route).

        A tenant's token is valid only for its own tenant; a platform admin's for any tenant."""
        realm = token_realm(token or "")
        if realm is None or (realm[0] == "tenant" and tenant_id is None):
            raise Unauthenticated(REFUSED_DETAIL)
        owner_tenant = tenant_id if realm[0] == "tenant" else None
        with self._uow(tenant_id or "") as uow:
            repo = self._repo(uow, owner_tenant)
            row = repo.token_by_hash(token_hash(token))
            now = self._now()
            if row is None or row["kind"] != realm[1] or not self._alive(row, now):
                raise Unauthenticated(REFUSED_DETAIL)
            if now - row["last_used_at"] >= TOUCH_EVERY:
                repo.touch(row["id"], now)
                uow.commit()
        return _principal(row["user_id"], owner_tenant, Role(row["role"]), row["user_name"], row["id"], row["kind"],
                          row["scopes"] if row["kind"] == "api" else None)

    def _alive(self, row: dict[str, Any], now: datetime) -> bool:
        if row["revoked_at"] is not None or not row["user_active"]:
            return False
        if row["expires_at"] is not None and row["expires_at"] <= now:
            return False
        return not (row["kind"] == "session" and row["last_used_at"] + self.policy.session_idle <= now)

    # --- users -----------------------------------------------------------------------------
    def create_user(self, tenant_id: str | None, actor: StaffActor | str, *, email: str, name: str,
                    role: str, password: str | None) -> dict[str, Any]:
        """A tenant's staff user (``tenant_id`` None: a platform admin, role ignored).
        Without a password the user cannot log in (API tokens only)."""
        login = normal_email(email)
        name = check_name(name)
        given_role = Role.PLATFORM_ADMIN if tenant_id is None else tenant_role(role)
        if password is not None:
            check_password(password, self.policy.password_min_length)
        hashed = None if password is None else self._passwords.hash(password)
        with self._uow(tenant_id or "") as uow:
            repo = self._repo(uow, tenant_id)
            if repo.user_by_email(login) is not None:
                raise Conflict(f"a staff user {login} exists already", field="email")
            user_id = repo.add_user(login, name, given_role, hashed)
            uow.audit.record(actor, "staff.user_created", "staff_user", user_id, email=login, role=given_role,
                             can_log_in=hashed is not None)
            created = repo.user(user_id)
            uow.commit()
        return created

    # --- API tokens ------------------------------------------------------------------------
    def issue_api_token(self, tenant_id: str | None, actor: StaffActor | str, *, user_id: str, name: str,
                        scopes: Iterable[str] | None = None, days: int | None = None,
                        address: str | None = None) -> IssuedToken:
        """An API token of ``user_id`` with ``scopes`` (each a permission of the user's role;
        None: all of them), valid ``days`` (default ``api_token_days``)."""
        name = check_name(name)
        lifetime = self.policy.api_token_days if days is None else days
        if not 1 <= lifetime <= self.policy.api_token_max_days:
            raise InvalidInput(f"days must be 1-{self.policy.api_token_max_days}",
                               errors=[{"loc": ["days"], "type": "value_error", "msg": "out of range"}])
        with self._uow(tenant_id or "") as uow:
            repo = self._repo(uow, tenant_id)
            user = repo.user(user_id) if _uuid_like(user_id) else None
            if user is None:
                raise NotFound("no such staff user")
            if not user["active"]:
                raise Conflict("the staff user is deactivated")
            granted = token_scopes(scopes, Role(user["role"]))
            if isinstance(actor, StaffActor) and not granted <= ROLE_PERMISSIONS[actor.role]:
                raise Forbidden("a token cannot carry permissions its issuer does not have")
            now = self._now()
            expires_at = now + timedelta(days=lifetime)
            token = _new_token("platform" if tenant_id is None else "tenant", "api")
            token_id = repo.add_token(user_id, "api", token_hash(token), name, [p.value for p in granted], now,
                                      expires_at, actor.user_id if isinstance(actor, StaffActor) else None,
                                      address if address else getattr(actor, "address", None))
            uow.audit.record(actor, "staff.token_issued", "staff_token", token_id, owner=user_id, name=name,
                             scopes=sorted(granted), expires_at=expires_at.isoformat())
            uow.commit()
        return IssuedToken(token, token_id, name, user_id, granted, expires_at)

    def revoke_token(self, tenant_id: str | None, actor: StaffActor | str, token_id: str) -> None:
        with self._uow(tenant_id or "") as uow:
            repo = self._repo(uow, tenant_id)
            found = repo.token(token_id) if _uuid_like(token_id) else None
            if found is None:
                raise NotFound("no such token")
            if found["revoked_at"] is None:
                repo.revoke(token_id, self._now())
                uow.audit.record(actor, "staff.token_revoked", "staff_token", token_id, owner=found["user_id"],
                                 kind=found["kind"])
                uow.commit()

    def list_tokens(self, tenant_id: str | None, *, kind: str | None = "api",
                    user_id: str | None = None) -> list[dict[str, Any]]:
        """Tokens without their secrets (which are never stored)."""
        if user_id is not None and not _uuid_like(user_id):
            return []
        with self._uow(tenant_id or "") as uow:
            rows = self._repo(uow, tenant_id).list_tokens(kind, user_id)
        return [{k: v for k, v in row.items() if k != "token_hash"} for row in rows]


@dataclass(frozen=True)
class _Anonymous:
    """Who tried to log in: only the e-mail given and the address."""

    name: str
    address: str | None


def _principal(user_id: str, tenant_id: str | None, role: Role, name: str, token_id: str, kind: str,
               scopes: Iterable[str] | None) -> StaffPrincipal:
    allowed = ROLE_PERMISSIONS[role]
    if scopes is None:
        granted = allowed
    else:
        known = {p.value for p in Permission}
        granted = frozenset(Permission(s) for s in scopes if s in known) & allowed
    return StaffPrincipal(user_id=str(user_id), tenant_id=tenant_id, role=role, name=name, token_id=str(token_id),
                          kind="api" if kind == "api" else "session", scopes=granted)


def _uuid_like(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
