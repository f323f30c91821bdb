"""The error hierarchy of the domain.

Services raise these; the HTTP layer maps each class to a status code and a
problem+json ``type`` in one place (``prichal.entrypoints.problems``). Nothing here knows HTTP.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every expected, user-facing failure."""

    code = "error"
    title = "Request failed"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    """The request is well-formed but its values break a rule."""

    code = "invalid-input"
    title = "Invalid input"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail, **extra)
        self.errors = errors or []


class NotFound(DomainError):
    code = "not-found"
    title = "Not found"


class TenantUnknown(DomainError):
    code = "tenant-unknown"
    title = "Unknown tenant"


class TenantMissing(DomainError):
    code = "tenant-missing"
    title = "Tenant not specified"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


class SeatsUnavailable(Conflict):
    """Some of the requested seats are held or sold by someone else."""

    code = "seats-unavailable"
    title = "Seats are not available"

    def __init__(self, detail: str, seat_ids: list[str]) -> None:
        super().__init__(detail, seat_ids=seat_ids)
        self.seat_ids = seat_ids


class CapacityExhausted(Conflict):
    code = "capacity-exhausted"
    title = "Not enough places left"

    def __init__(self, detail: str, available: int) -> None:
        super().__init__(detail, available=available)
        self.available = available


class HoldGone(DomainError):
    """The hold expired or was released; it can no longer be used."""

    code = "hold-gone"
    title = "Hold is no longer active"


class SalesClosed(Conflict):
    code = "sales-closed"
    title = "Sales are closed for this sailing"


class Unavailable(DomainError):
    """Something the request needs is down or not configured; retrying later may work."""

    code = "unavailable"
    title = "Temporarily unavailable"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Forbidden"


class Unauthenticated(DomainError):
    """No credential, or one that is unknown, expired or revoked (HTTP 401)."""

    code = "unauthenticated"
    title = "Authentication required"


class RateLimited(DomainError):
    code = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after
