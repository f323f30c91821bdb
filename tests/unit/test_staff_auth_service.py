"""StaffAuth on fakes (no database, no argon2): login, lockout, session idle/lifetime,
API tokens and revocation, and what is audited and committed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from prichal.domain.errors import InvalidInput, RateLimited, Unauthenticated
from prichal.domain.staff import Permission, Role
from prichal.services.staff_auth import StaffAuth, StaffAuthPolicy, token_hash


class FakeRepo:
    def __init__(self, platform: bool) -> None:
        self.platform = platform
        self.users: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}

    def add_user(self, email, name, role, password_hash):
        user_id = str(uuid.uuid4())
        self.users[user_id] = {"id": user_id, "email": email, "name": name, "role": role.value,
                               "password_hash": password_hash, "active": True, "failed_logins": 0,
                               "locked_until": None, "last_login_at": None}
        return user_id

    def user_by_email(self, email, lock=False):
        return next((dict(u) for u in self.users.values() if u["email"] == email), None)

    def user(self, user_id):
        return dict(self.users[user_id]) if user_id in self.users else None

    def update_user(self, user_id, now, **values):
        self.users[user_id].update(values)

    def login_failed(self, user_id, max_failures, lock_until):
        user = self.users[user_id]
        user["failed_logins"] += 1
        if user["failed_logins"] >= max_failures:
            user.update(failed_logins=0, locked_until=lock_until)
            return True
        return False

    def login_succeeded(self, user_id, now):
        self.users[user_id].update(failed_logins=0, locked_until=None, last_login_at=now)

    def forget_dead_sessions(self, user_id, before):
        pass

    def add_token(self, user_id, kind, hashed, name, scopes, now, expires_at, created_by, address):
        token_id = str(uuid.uuid4())
        self.tokens[token_id] = {"id": token_id, "user_id": user_id, "kind": kind, "token_hash": hashed,
                                 "name": name, "scopes": list(scopes), "created_at": now, "expires_at": expires_at,
                                 "last_used_at": now, "revoked_at": None, "created_by": created_by}
        return token_id

    def token_by_hash(self, hashed):
        for token in self.tokens.values():
            if token["token_hash"] == hashed:
                user = self.users[token["user_id"]]
                return {**token, "user_name": user["name"], "user_active": user["active"], "role": user["role"]}
        return None

    def token(self, token_id):
        return self.tokens.get(token_id)

    def touch(self, token_id, now):
        self.tokens[token_id]["last_used_at"] = now

    def revoke(self, token_id, now):
        self.tokens[token_id]["revoked_at"] = now

    def list_tokens(self, kind, user_id):
        return [t for t in self.tokens.values() if (not kind or t["kind"] == kind)]


class FakeAudit:
    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.pending: list[tuple] = []

    def record(self, actor, action, target_type, target_id, **data):
        self.pending.append((action, target_id, data))


class FakeUow:
    """Keeps what is committed; audit rows of a transaction that is not committed are lost."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.staff = world.tenant
        self.platform_staff = world.platform
        self.audit = world.audit

    def __enter__(self):
        self.audit.pending = []
        return self

    def commit(self):
        self.audit.rows += self.audit.pending
        self.audit.pending = []

    def __exit__(self, *exc):
        self.audit.pending = []


class World:
    def __init__(self) -> None:
        self.tenant, self.platform, self.audit = FakeRepo(False), FakeRepo(True), FakeAudit()
        self.now = datetime(2026, 12, 1, 10, tzinfo=UTC)

    def actions(self) -> list[str]:
        return [row[0] for row in self.audit.rows]


class PlainPasswords:
    def hash(self, password):
        return f"plain:{password}"

    def verify(self, hashed, password):
        return hashed == f"plain:{password}"

    def needs_rehash(self, hashed):
        return False


PASSWORD = "a long enough password"


@pytest.fixture
def world():
    return World()


@pytest.fixture
def auth(world):
    return StaffAuth(uow=lambda tenant_id: FakeUow(world), passwords=PlainPasswords(),
                     policy=StaffAuthPolicy(max_failures=3, lockout=timedelta(minutes=10)), now=lambda: world.now)


def test_login_gives_a_session_with_the_roles_permissions(auth, world):
    auth.create_user("t1", "cli", email="A@x.ru", name="Anna", role="supervisor", password=PASSWORD)
    login = auth.login("t1", "a@x.ru", PASSWORD, "10.0.0.1")
    assert login.token.startswith("prs.") and login.principal.role is Role.SUPERVISOR
    assert login.principal.can(Permission.AUDIT_READ) and not login.principal.can(Permission.STAFF_MANAGE)
    assert world.tenant.tokens[login.principal.token_id]["token_hash"] == token_hash(login.token)  # never the secret
    assert world.actions() == ["staff.user_created", "staff.login"]


def test_failures_are_committed_even_though_the_login_fails_and_then_lock(auth, world):
    auth.create_user("t1", "cli", email="b@x.ru", name="B", role="agent", password=PASSWORD)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            auth.login("t1", "b@x.ru", "wrong wrong wrong")
    assert world.actions().count("staff.login_failed") == 3
    with pytest.raises(RateLimited) as locked:
        auth.login("t1", "b@x.ru", PASSWORD)
    assert locked.value.retry_after == 600
    world.now += timedelta(minutes=10, seconds=1)
    assert auth.login("t1", "b@x.ru", PASSWORD).token


def test_an_unknown_user_is_the_same_401_and_leaves_no_trace(auth, world):
    with pytest.raises(Unauthenticated) as refused:
        auth.login("t1", "ghost@x.ru", PASSWORD)
    assert refused.value.detail == "wrong e-mail or password" and world.audit.rows == []


def test_a_session_ends_when_idle_or_at_its_lifetime(auth, world):
    auth.create_user("t1", "cli", email="c@x.ru", name="C", role="agent", password=PASSWORD)
    token = auth.login("t1", "c@x.ru", PASSWORD).token
    for _ in range(15):  # 15 x 29 min < 8 h, each use keeps it alive
        world.now += timedelta(minutes=29)
        assert auth.authenticate("t1", token).kind == "session"
    world.now += timedelta(minutes=31)
    with pytest.raises(Unauthenticated):
        auth.authenticate("t1", token)
    token = auth.login("t1", "c@x.ru", PASSWORD).token
    for _ in range(16):
        world.now += timedelta(minutes=29)
        auth.authenticate("t1", token)
    world.now += timedelta(minutes=29)  # 17 x 29 min > 8 h
    with pytest.raises(Unauthenticated):
        auth.authenticate("t1", token)


def test_realms_do_not_mix(auth, world):
    auth.create_user("t1", "cli", email="d@x.ru", name="D", role="admin", password=PASSWORD)
    token = auth.login("t1", "d@x.ru", PASSWORD).token
    with pytest.raises(Unauthenticated):
        auth.authenticate(None, token)  # a tenant's token on a platform route
    with pytest.raises(Unauthenticated):
        auth.authenticate("t1", "pps." + token[4:])  # the same secret claimed as the platform's


def test_api_tokens_scoped_expiring_revocable(auth, world):
    user = auth.create_user("t1", "cli", email="e@x.ru", name="E", role="finance", password=None)
    issued = auth.issue_api_token("t1", "cli", user_id=user["id"], name="export", scopes=["reports.export"], days=2)
    principal = auth.authenticate("t1", issued.token)
    assert principal.kind == "api" and principal.scopes == {Permission.REPORTS_EXPORT}
    world.now += timedelta(days=1)
    assert auth.authenticate("t1", issued.token)  # an API token has no idle timeout
    auth.revoke_token("t1", "cli", issued.token_id)
    with pytest.raises(Unauthenticated):
        auth.authenticate("t1", issued.token)
    other = auth.issue_api_token("t1", "cli", user_id=user["id"], name="x", days=2)
    world.now += timedelta(days=2)
    with pytest.raises(Unauthenticated):
        auth.authenticate("t1", other.token)
    with pytest.raises(InvalidInput):
        auth.issue_api_token("t1", "cli", user_id=user["id"], name="x", scopes=["staff.manage"])
    assert world.actions()[-3:] == ["staff.token_issued", "staff.token_revoked", "staff.token_issued"]


def test_a_role_change_applies_to_existing_tokens(auth, world):
    user = auth.create_user("t1", "cli", email="f@x.ru", name="F", role="admin", password=PASSWORD)
    issued = auth.issue_api_token("t1", "cli", user_id=user["id"], name="all")  # every admin permission
    assert auth.authenticate("t1", issued.token).can(Permission.STAFF_MANAGE)
    world.tenant.users[user["id"]]["role"] = "agent"
    demoted = auth.authenticate("t1", issued.token)
    assert not demoted.can(Permission.STAFF_MANAGE) and demoted.can(Permission.ORDERS_READ)
