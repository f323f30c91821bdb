"""Staff users and tokens for tests: ``staff_token(tenant_id, "agent")`` is a logged-in agent."""

from __future__ import annotations

import uuid

PASSWORD = "correct horse battery staple"  # the tests own


def staff_user(tenant_id: str | None, role: str = "agent", *, email: str | None = None,
               password: str | None = PASSWORD) -> dict:
    """A new staff user of the tenant (None: a platform admin), created as the CLI does."""
    from prichal.bootstrap import container

    return container().staff_auth.create_user(
        tenant_id, "tests", email=email or f"{role}-{uuid.uuid4().hex[:8]}@staff.example.test",
        name=f"Test {role}", role=role, password=password)


def staff_token(tenant_id: str | None, role: str = "agent", *, scopes: list[str] | None = None) -> str:
    """The bearer token of a new staff user: a login session, or an API token with ``scopes``."""
    from prichal.bootstrap import container

    auth = container().staff_auth
    user = staff_user(tenant_id, role)
    if scopes is not None:
        return auth.issue_api_token(tenant_id, "tests", user_id=str(user["id"]), name="test token",
                                    scopes=scopes).token
    return auth.login(tenant_id, user["email"], PASSWORD).token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


PROBLEM = "application/problem+json"
ROLES = ("agent", "supervisor", "finance", "admin")


def crm(method: str, path: str, tenant, token: str | None = None, **kwargs):
    """The crm function in process, as ``tenant``, with a staff token when one is given."""
    from tests.support import call

    headers = {**kwargs.pop("headers", {}), **(bearer(token) if token else {})}
    return call("crm", method, path, tenant=tenant, headers=headers, **kwargs)


def problem(answer, status: int, code: str | None = None) -> dict:
    """The problem+json body of an answer that must be ``status`` (and ``code``)."""
    assert answer.status == status, answer.json
    assert answer.headers["Content-Type"] == PROBLEM
    if code:
        assert answer.json["code"] == code, answer.json
    return answer.json
