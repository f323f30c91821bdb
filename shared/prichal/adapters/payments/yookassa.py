"""``YooKassaClient``: the ``PaymentProvider`` port over YooKassa's HTTP API v3.

The same client talks to YooKassa and to the project's sandbox (``mock-payments``), so the
sandbox exercises the production code path. The rules it keeps, and why:

- Every POST carries the caller's ``Idempotence-Key`` and every repeat reuses it. The
  client never mints a key (the official SDK does, which turns a retry after a lost answer
  into a second payment): the caller stores one key per order and passes it in.
- A 202 ``{"type": "processing", "retry_after": ms}``, a 5xx, a 429, a timeout or a broken
  connection mean "no definite answer yet": repeat with the same key, waiting
  ``retry_after`` or a bounded exponential backoff, and give up with ``PaymentUnavailable``
  (the outcome is unknown; read the object back or retry later with the same key).
  429 is a 4xx but YooKassa uses it for "slow down", with nothing processed, so it is
  repeated like a 5xx rather than reported as a rejection.
- All attempts of a call, and the waits between them, end within one deadline: the
  enclosing ``provider_deadline`` (one per request or cron run), else ``budget`` seconds
  from the call's start. An attempt never waits longer than what is left, and no attempt
  starts with less than ``MIN_ATTEMPT_SECONDS`` left. (A server trickling bytes can still
  stretch one attempt: ``requests`` times each read, not the whole answer.)
- Any other 4xx is definite: ``PaymentRejected`` with the status and the error body.
- Money is ``Decimal`` both ways: amounts go out as ``"1500.00"`` strings and responses
  are parsed with ``parse_float=Decimal``, so no float ever touches an amount.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests

from .base import PaymentRejected, PaymentUnavailable, ProviderPayment, ProviderRefund
from .deadline import Clock, Deadline, current_deadline

log = logging.getLogger("prichal.payments.yookassa")

CURRENCY = "RUB"
DESCRIPTION_LIMIT = 128  # YooKassa refuses longer descriptions
IDEMPOTENCE_KEY_LIMIT = 64
MAX_BACKOFF_SECONDS = 8.0
MAX_RETRY_AFTER_SECONDS = 30.0  # never trust a server to park us for minutes
KOPECK = Decimal("0.01")
MIN_ATTEMPT_SECONDS = 0.5  # less time than this left: give up rather than start an attempt


def format_amount(amount: Decimal) -> str:
    """``Decimal("1500")`` -> ``"1500.00"``; refuses floats, non-positive and sub-kopeck amounts,
    because silently rounding money sent to a payment provider hides a bug upstream."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TypeError(f"amount must be a finite Decimal, got {amount!r}")
    if amount <= 0 or amount != amount.quantize(KOPECK):
        raise ValueError(f"amount must be positive and in whole kopecks, got {amount}")
    return str(amount.quantize(KOPECK))


def money(amount: Decimal) -> dict[str, str]:
    return {"value": format_amount(amount), "currency": CURRENCY}


def _json_default(value: Any) -> str:
    # Receipts built by callers may carry Decimals (quantities, prices): send them as strings.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class YooKassaClient:
    """``PaymentProvider`` for YooKassa API v3 (``base_url`` ends with ``/v3``)."""

    def __init__(self, base_url: str, shop_id: str, secret_key: str, *, timeout: float = 10.0,
                 max_attempts: int = 5, backoff_base: float = 0.5, budget: float = 60.0,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Clock = time.monotonic) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._base = base_url.rstrip("/")
        self._auth = (shop_id, secret_key)
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._budget = budget
        self._clock = clock
        self._session = session or requests.Session()
        self._sleep = sleep

    def __repr__(self) -> str:  # the secret key never reaches a log or a traceback
        return f"YooKassaClient({self._base!r}, shop_id={self._auth[0]!r})"

    # --- payments --------------------------------------------------------------------------
    def create_payment(self, *, amount: Decimal, description: str, return_url: str, metadata: dict[str, str],
                       receipt: dict[str, Any] | None, idempotence_key: str,
                       capture: bool = True) -> ProviderPayment:
        body: dict[str, Any] = {
            "amount": money(amount),
            "capture": capture,
            "confirmation": {"type": "redirect", "return_url": return_url},
            "description": description[:DESCRIPTION_LIMIT],
            "metadata": dict(metadata),
        }
        if receipt is not None:
            body["receipt"] = receipt
        return _payment(self._call("POST", "payments", body, idempotence_key))

    def get_payment(self, payment_id: str) -> ProviderPayment:
        return _payment(self._call("GET", f"payments/{_segment(payment_id)}"))

    def capture_payment(self, payment_id: str, idempotence_key: str,
                        amount: Decimal | None = None) -> ProviderPayment:
        body = {"amount": money(amount)} if amount is not None else {}
        return _payment(self._call("POST", f"payments/{_segment(payment_id)}/capture", body, idempotence_key))

    def cancel_payment(self, payment_id: str, idempotence_key: str) -> ProviderPayment:
        return _payment(self._call("POST", f"payments/{_segment(payment_id)}/cancel", {}, idempotence_key))

    # --- refunds ---------------------------------------------------------------------------
    def create_refund(self, *, payment_id: str, amount: Decimal, idempotence_key: str,
                      receipt: dict[str, Any] | None = None, description: str = "") -> ProviderRefund:
        body: dict[str, Any] = {"payment_id": payment_id, "amount": money(amount)}
        if description:
            body["description"] = description[:DESCRIPTION_LIMIT]
        if receipt is not None:
            body["receipt"] = receipt
        return _refund(self._call("POST", "refunds", body, idempotence_key))

    def get_refund(self, refund_id: str) -> ProviderRefund:
        return _refund(self._call("GET", f"refunds/{_segment(refund_id)}"))

    # --- transport -------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None,
              idempotence_key: str | None = None) -> dict[str, Any]:
        """One API call, repeated with the same key until a definite answer or the budget ends."""
        headers = {"Accept": "application/json"}
        payload = None
        if method == "POST":
            headers["Idempotence-Key"] = _checked_key(idempotence_key)
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body or {}, ensure_ascii=False, default=_json_default).encode()
        url = f"{self._base}/{path}"
        deadline = current_deadline() or Deadline.after(self._budget, self._clock)
        last = "no attempt made: the time for provider calls is used up"
        attempts = 0
        for attempt in range(1, self._max_attempts + 1):
            left = deadline.remaining()
            if left < MIN_ATTEMPT_SECONDS:
                break
            attempts = attempt
            try:
                response = self._session.request(method, url, data=payload, headers=headers, auth=self._auth,
                                                 timeout=min(self._timeout, left))
            except requests.RequestException as exc:  # timeouts and connection errors alike
                last = f"{type(exc).__name__}"
                wait = self._backoff(attempt)
            else:
                status = response.status_code
                parsed = _parse(response)
                if 200 <= status < 300 and status != 202:
                    if parsed is None:
                        raise PaymentUnavailable(f"{method} {path}: {status} with a body that is not a JSON object")
                    return parsed
                if 400 <= status < 500 and status != 429:
                    raise PaymentRejected(_describe(method, path, status, parsed), status, parsed)
                last = f"HTTP {status}"
                wait = self._retry_after(parsed) if status == 202 else self._backoff(attempt)
            if attempt == self._max_attempts:
                break
            if deadline.remaining() - wait < MIN_ATTEMPT_SECONDS:
                log.warning("yookassa %s %s: %s, attempt %d; no time left for another", method, path, last, attempt)
                break
            log.warning("yookassa %s %s: %s, attempt %d of %d, repeating with the same key in %.2fs",
                        method, path, last, attempt, self._max_attempts, wait)
            self._sleep(wait)
        raise PaymentUnavailable(f"{method} {path}: no definite answer after {attempts} attempt(s) "
                                 f"(last: {last}); repeat with the same idempotence key or read the object back")

    def _backoff(self, attempt: int) -> float:
        return min(self._backoff_base * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)

    def _retry_after(self, parsed: dict[str, Any] | None) -> float:
        """YooKassa's ``retry_after`` is in milliseconds; without a usable one, back off."""
        value = (parsed or {}).get("retry_after")
        if isinstance(value, int | Decimal) and not isinstance(value, bool) and value >= 0:
            return min(float(value) / 1000, MAX_RETRY_AFTER_SECONDS)
        return self._backoff_base


def _checked_key(key: str | None) -> str:
    if not key or len(key) > IDEMPOTENCE_KEY_LIMIT or not key.isprintable() or not key.isascii():
        raise ValueError(f"an idempotence key of 1..{IDEMPOTENCE_KEY_LIMIT} printable ASCII characters is required")
    return key


def _segment(object_id: str) -> str:
    if not object_id:
        raise ValueError("an object id is required")
    return quote(object_id, safe="")


def _parse(response: requests.Response) -> dict[str, Any] | None:
    try:
        parsed = json.loads(response.content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _describe(method: str, path: str, status: int, body: dict[str, Any] | None) -> str:
    body = body or {}
    detail = " ".join(str(body[k]) for k in ("code", "description", "parameter") if body.get(k))
    return f"{method} {path}: {status} {detail}".rstrip()


def _decimal(amount: Mapping[str, Any]) -> Decimal:
    return Decimal(str(amount["value"]))


def _payment(obj: dict[str, Any]) -> ProviderPayment:
    try:
        return ProviderPayment(
            id=str(obj["id"]), status=str(obj["status"]), amount=_decimal(obj["amount"]),
            currency=str(obj["amount"]["currency"]), paid=bool(obj.get("paid", False)),
            confirmation_url=(obj.get("confirmation") or {}).get("confirmation_url"),
            metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
            cancellation_reason=(obj.get("cancellation_details") or {}).get("reason"),
            raw=obj)
    except (KeyError, TypeError, ArithmeticError, AttributeError) as exc:
        raise PaymentUnavailable(f"unexpected payment object from the provider: {exc!r}") from exc


def _refund(obj: dict[str, Any]) -> ProviderRefund:
    try:
        return ProviderRefund(id=str(obj["id"]), payment_id=str(obj["payment_id"]), status=str(obj["status"]),
                              amount=_decimal(obj["amount"]), raw=obj)
    except (KeyError, TypeError, ArithmeticError, AttributeError) as exc:
        raise PaymentUnavailable(f"unexpected refund object from the provider: {exc!r}") from exc
