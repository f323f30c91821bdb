"""Errors as ``application/problem+json`` (RFC 9457): the one place statuses are chosen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prichal.domain import errors

PROBLEM_CONTENT_TYPE = "application/problem+json"

_STATUS: list[tuple[type[errors.DomainError], int]] = [
    (errors.TenantMissing, 400),
    (errors.TenantUnknown, 404),
    (errors.NotFound, 404),
    (errors.RateLimited, 429),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.Unavailable, 503),
    (errors.HoldGone, 410),
    (errors.Conflict, 409),
    (errors.InvalidInput, 422),
]


def status_for(error: errors.DomainError) -> int:
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 400


def problem(status: int, code: str, title: str, detail: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body = {"type": f"/problems/{code}", "title": title, "status": status, "detail": detail, "code": code}
    # extras never replace the standard members, whatever a domain error carries
    body.update({k: v for k, v in (extra or {}).items() if v is not None and k not in body})
    return body


def from_domain(error: errors.DomainError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and extra headers for a domain error."""
    status = status_for(error)
    extra = dict(error.extra)
    if isinstance(error, errors.InvalidInput) and error.errors:
        extra["errors"] = error.errors
    headers = {}
    if isinstance(error, errors.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="staff"'

    return status, problem(status, error.code, error.title, error.detail, extra), headers


def from_validation(errors_list: list[dict[str, Any]]) -> dict[str, Any]:
    """422 body from pydantic's ``ValidationError.errors()``."""
    fields = [
        {"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")}
        for e in errors_list
    ]
    return problem(422, "validation-failed", "Request validation failed",
                   "; ".join(f"{'.'.join(map(str, f['loc'])) or 'body'}: {f['msg']}" for f in fields),
                   {"errors": fields})
