"""Staff users, their tokens and the audit log in PostgreSQL.

``StaffRepository`` is one class for both realms: a tenant's staff (``staff_users`` /
``staff_tokens``, under row-level security) and the platform's (``platform_staff`` /
``platform_tokens``, no tenant). Rows come back as plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, case, or_, select, update

from prichal.domain.staff import Role, StaffActor

from .tables import platform_audit, platform_staff, platform_tokens, staff_audit, staff_tokens, staff_users


class StaffRepository:
    def __init__(self, conn: Connection, tenant_id: str | None) -> None:
        """``tenant_id`` None: the platform's staff."""
        self.conn = conn
        self.tenant_id = tenant_id
        self.platform = tenant_id is None
        self.users: Table = platform_staff if self.platform else staff_users
        self.tokens: Table = platform_tokens if self.platform else staff_tokens

    def _user(self, row: Any) -> dict[str, Any] | None:
        if row is None:
            return None
        found = dict(row._mapping)
        found.setdefault("role", Role.PLATFORM_ADMIN.value)
        found.setdefault("tenant_id", None)
        return found

    # --- users ---------------------------------------------------------------------------
    def add_user(self, email: str, name: str, role: Role, password_hash: str | None) -> str:
        values: dict[str, Any] = {"email": email, "name": name, "password_hash": password_hash}
        if not self.platform:
            values.update(tenant_id=self.tenant_id, role=role.value)
        return self.conn.execute(self.users.insert().values(**values).returning(self.users.c.id)).scalar_one()

    def user_by_email(self, email: str, lock: bool = False) -> dict[str, Any] | None:
        query = select(self.users).where(self.users.c.email == email)
        return self._user(self.conn.execute(query.with_for_update() if lock else query).first())

    def user(self, user_id: str) -> dict[str, Any] | None:
        return self._user(self.conn.execute(select(self.users).where(self.users.c.id == user_id)).first())

    def list_users(self, lock: bool = False) -> list[dict[str, Any]]:
        """Every user by e-mail; ``lock``: until the transaction ends (who stays admin is decided
        over all of them, so two admins cannot demote each other at once)."""
        query = select(self.users).order_by(self.users.c.email)
        rows = self.conn.execute(query.with_for_update() if lock else query)
        return [u for row in rows if (u := self._user(row)) is not None]

    def update_user(self, user_id: str, now: datetime, **values: Any) -> bool:
        done = self.conn.execute(update(self.users).where(self.users.c.id == user_id)
                                 .values(updated_at=now, **values))
        return done.rowcount > 0

    def login_failed(self, user_id: str, max_failures: int, lock_until: datetime) -> bool:
        """One more failure; the ``max_failures``-th in a row locks the user until ``lock_until``
        and starts the count again. True when this failure locked it. (One statement: two
        concurrent failures both count.)"""
        users = self.users
        failures = users.c.failed_logins + 1
        locks = failures >= max_failures
        row = self.conn.execute(
            update(users).where(users.c.id == user_id)
            .values(failed_logins=case((locks, 0), else_=failures),
                    locked_until=case((locks, lock_until), else_=users.c.locked_until))
            .returning(users.c.failed_logins, users.c.locked_until)).first()
        return row is not None and row.failed_logins == 0 and row.locked_until == lock_until

    def login_succeeded(self, user_id: str, now: datetime) -> None:
        self.conn.execute(update(self.users).where(self.users.c.id == user_id)
                          .values(failed_logins=0, locked_until=None, last_login_at=now))

    # --- tokens --------------------------------------------------------------------------
    def add_token(self, user_id: str, kind: str, token_hash: str, name: str | None, scopes: Iterable[str],
                  now: datetime, expires_at: datetime | None, created_by: str | None,
                  address: str | None) -> str:
        values: dict[str, Any] = {
            "user_id": user_id, "kind": kind, "token_hash": token_hash, "name": name,
            "scopes": sorted(scopes), "created_at": now, "expires_at": expires_at, "last_used_at": now,
            "created_by": created_by, "address": address}
        if not self.platform:
            values["tenant_id"] = self.tenant_id
        return self.conn.execute(self.tokens.insert().values(**values).returning(self.tokens.c.id)).scalar_one()

    def token_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        """The token with its owner's role, name and state."""
        tokens, users = self.tokens, self.users
        columns = [tokens, users.c.name.label("user_name"), users.c.active.label("user_active")]
        if not self.platform:
            columns.append(users.c.role)
        row = self.conn.execute(select(*columns).join(users, users.c.id == tokens.c.user_id)
                                .where(tokens.c.token_hash == token_hash)).first()
        if row is None:
            return None
        found = dict(row._mapping)
        found.setdefault("role", Role.PLATFORM_ADMIN.value)
        found.setdefault("tenant_id", None)
        return found

    def token(self, token_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(self.tokens).where(self.tokens.c.id == token_id)).first()
        return dict(row._mapping) if row else None

    def list_tokens(self, kind: str | None = None, user_id: str | None = None) -> list[dict[str, Any]]:
        query = select(self.tokens).order_by(self.tokens.c.created_at.desc(), self.tokens.c.id)
        if kind:
            query = query.where(self.tokens.c.kind == kind)
        if user_id:
            query = query.where(self.tokens.c.user_id == user_id)
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def touch(self, token_id: str, now: datetime) -> None:
        self.conn.execute(update(self.tokens).where(self.tokens.c.id == token_id).values(last_used_at=now))

    def revoke(self, token_id: str, now: datetime) -> bool:
        done = self.conn.execute(update(self.tokens).where(
            self.tokens.c.id == token_id, self.tokens.c.revoked_at.is_(None)).values(revoked_at=now))
        return done.rowcount > 0

    def revoke_user_tokens(self, user_id: str, now: datetime, kind: str | None = None) -> int:
        query = update(self.tokens).where(self.tokens.c.user_id == user_id, self.tokens.c.revoked_at.is_(None))
        if kind:
            query = query.where(self.tokens.c.kind == kind)
        return self.conn.execute(query.values(revoked_at=now)).rowcount

    def forget_dead_sessions(self, user_id: str, before: datetime) -> None:
        """Sessions that ended (expired or revoked) before ``before``: nobody can use them again."""
        tokens = self.tokens
        self.conn.execute(tokens.delete().where(and_(
            tokens.c.user_id == user_id, tokens.c.kind == "session",
            or_(tokens.c.expires_at < before, tokens.c.revoked_at < before))))


class Audit:
    """``record(actor, action, target_type, target_id, **data)``: one row per staff action,
    in the transaction of the change (``staff_audit``; ``platform_audit`` without tenant)."""

    def __init__(self, conn: Connection, tenant_id: str | None) -> None:
        self.conn = conn
        self.tenant_id = tenant_id or None
        self.table = staff_audit if self.tenant_id else platform_audit

    def record(self, actor: StaffActor | Any, action: str, target_type: str, target_id: str | None,
               **data: Any) -> None:
        """``actor``: a ``StaffActor``, or anything else with a ``name`` (a system actor, the CLI)
        or a plain string naming it."""
        if isinstance(actor, StaffActor):
            who = {"actor_type": "platform" if actor.principal.platform else "staff",
                   "actor_id": actor.user_id, "actor_name": actor.name, "token_id": actor.principal.token_id or None,
                   "address": actor.address}
        else:
            name = actor if isinstance(actor, str) else str(getattr(actor, "name", actor))
            who = {"actor_type": "system", "actor_id": None, "actor_name": name, "token_id": None,
                   "address": getattr(actor, "address", None)}
        values = {**who, "action": action, "target_type": target_type,
                  "target_id": None if target_id is None else str(target_id), "data": _jsonable(data)}
        if self.tenant_id:
            values["tenant_id"] = self.tenant_id
        self.conn.execute(self.table.insert().values(**values))

    def entries(self, *, limit: int = 100, before_id: int | None = None, action: str | None = None,
                target_type: str | None = None, target_id: str | None = None,
                actor_id: str | None = None) -> list[dict[str, Any]]:
        """Newest first; keyset pages by ``before_id``."""
        table = self.table
        query = select(table).order_by(table.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(table.c.id < before_id)
        if action:
            query = query.where(table.c.action == action)
        if target_type:
            query = query.where(table.c.target_type == target_type)
        if target_id:
            query = query.where(table.c.target_id == target_id)
        if actor_id:
            query = query.where(table.c.actor_id == actor_id)
        return [dict(row._mapping) for row in self.conn.execute(query)]


def _jsonable(value: Any) -> Any:
    """Decimals, dates and enums as strings, so ``data`` is plain JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
