"""A tenant's staff users managed by its admins (``staff.manage``), and the audit log.

Creating users is ``StaffAuth.create_user`` (shared with the CLI); here: list, read, change
(name, role, password, active) and deactivate. Users are never deleted: the audit log names
them. A change that would leave the tenant without an active admin is refused, and so is
an admin demoting or deactivating itself. Deactivating a user or setting its password ends
its sessions (deactivating also revokes its API tokens); a role change applies at once to
every token (a token's scopes are always cut down to its owner's current role).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from prichal.domain.errors import Conflict, InvalidInput, NotFound
from prichal.domain.ids import canonical_uuid
from prichal.domain.staff import Role, StaffActor, check_name, check_password, tenant_role

from .staff_auth import Passwords, StaffAuthPolicy


class StaffUsers:
    def __init__(self, *, uow: Callable[[str], Any], passwords: Passwords, policy: StaffAuthPolicy,
                 now: Callable[[], datetime]) -> None:
        self._uow = uow
        self._passwords = passwords
        self._policy = policy
        self._now = now

    def list(self, tenant_id: str) -> list[dict[str, Any]]:
        with self._uow(tenant_id) as uow:
            return [_public(u) for u in uow.staff.list_users()]

    def get(self, tenant_id: str, user_id: str) -> dict[str, Any]:
        with self._uow(tenant_id) as uow:
            return _public(self._found(uow, user_id))

    def change(self, tenant_id: str, actor: StaffActor, user_id: str, *, name: str | None = None,
               role: str | None = None, password: str | None = None, active: bool | None = None) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = check_name(name)
        if role is not None:
            values["role"] = tenant_role(role).value
        if password is not None:
            check_password(password, self._policy.password_min_length)
            values["password_hash"] = self._passwords.hash(password)
        if active is not None:
            values["active"] = active
        if not values:
            raise InvalidInput("nothing to change", errors=[{"loc": [], "type": "missing", "msg": "nothing to change"}])
        with self._uow(tenant_id) as uow:
            user = self._found(uow, user_id)
            everyone = uow.staff.list_users(lock=True)
            user = next(u for u in everyone if u["id"] == user["id"])  # as locked
            now = self._now()
            stays_admin = values.get("role", user["role"]) == Role.ADMIN and values.get("active", user["active"])
            if user["role"] == Role.ADMIN and user["active"] and not stays_admin:
                if user["id"] == actor.user_id:
                    raise Conflict("an admin cannot demote or deactivate itself; ask another admin")
                if not any(u["role"] == Role.ADMIN and u["active"] and u["id"] != user["id"] for u in everyone):
                    raise Conflict("the tenant would have no active admin left")
            uow.staff.update_user(user["id"], now, **values)
            if values.get("active") is False:
                uow.staff.revoke_user_tokens(user["id"], now)
            elif "password_hash" in values:
                uow.staff.revoke_user_tokens(user["id"], now, kind="session")
            if values.get("active") is True:
                values["failed_logins"] = 0
                uow.staff.update_user(user["id"], now, failed_logins=0, locked_until=None)
            changed = sorted(k if k != "password_hash" else "password" for k in values if k != "failed_logins")
            uow.audit.record(actor, "staff.user_changed", "staff_user", user["id"], changed=changed,
                             **{k: v for k, v in values.items() if k in ("name", "role", "active")})
            updated = uow.staff.user(user["id"])
            uow.commit()
        return _public(updated)

    def audit(self, tenant_id: str, **filters: Any) -> list[dict[str, Any]]:
        with self._uow(tenant_id) as uow:
            return uow.audit.entries(**filters)

    @staticmethod
    def _found(uow: Any, user_id: str) -> dict[str, Any]:
        canonical = canonical_uuid(user_id)
        user = uow.staff.user(canonical) if canonical else None
        if user is None:
            raise NotFound("no such staff user")
        return user


def _public(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(user["id"]), "email": user["email"], "name": user["name"], "role": user["role"],
            "active": user["active"], "can_log_in": user["password_hash"] is not None,
            "locked_until": user["locked_until"], "last_login_at": user["last_login_at"],
            "created_at": user["created_at"]}
