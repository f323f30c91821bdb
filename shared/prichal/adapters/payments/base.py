"""The port every payment provider implements, and what it answers.

Both providers speak YooKassa's API v3: ``yookassa`` talks to YooKassa itself and
``mock`` to the project's sandbox (the ``mock-payments`` function), so one HTTP client
serves both and the sandbox exercises exactly the production code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol


class PaymentError(Exception):
    """Base of provider failures."""


class PaymentUnavailable(PaymentError):
    """No definite answer (timeout, 5xx, 202 past the retry budget): the outcome is
    unknown, so retry later with the same idempotence key or read the object back."""


class PaymentRejected(PaymentError):
    """A definite 4xx: the request itself was refused; a new attempt needs a new key."""

    def __init__(self, message: str, status: int, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {}


@dataclass(frozen=True, slots=True)
class ProviderPayment:
    id: str
    status: str  # pending | waiting_for_capture | succeeded | canceled
    amount: Decimal
    currency: str
    paid: bool
    confirmation_url: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    cancellation_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    id: str
    payment_id: str
    status: str  # pending | succeeded | canceled
    amount: Decimal
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def cancellation_reason(self) -> str | None:
        details = self.raw.get("cancellation_details") if isinstance(self.raw, dict) else None
        if isinstance(details, dict) and details.get("reason"):
            return f"{details.get('party', 'provider')}: {details['reason']}"
        return None


class PaymentProvider(Protocol):
    def create_payment(self, *, amount: Decimal, description: str, return_url: str, metadata: dict[str, str],
                       receipt: dict[str, Any] | None, idempotence_key: str,
                       capture: bool = True) -> ProviderPayment: ...

    def get_payment(self, payment_id: str) -> ProviderPayment: ...

    def capture_payment(self, payment_id: str, idempotence_key: str,
                        amount: Decimal | None = None) -> ProviderPayment: ...

    def cancel_payment(self, payment_id: str, idempotence_key: str) -> ProviderPayment: ...

    def create_refund(self, *, payment_id: str, amount: Decimal, idempotence_key: str,
                      receipt: dict[str, Any] | None = None, description: str = "") -> ProviderRefund: ...

    def get_refund(self, refund_id: str) -> ProviderRefund: ...
