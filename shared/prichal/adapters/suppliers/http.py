"""HTTP to a boat operator: short timeouts, retries with backoff, a circuit breaker.

A dead operator must not stall our sales of other sailings: every call ends within its
timeout times the attempts (plus the waits), and after ``failure_threshold`` failed calls
in a row the circuit opens: calls fail at once (``SupplierUnavailable``) for
``open_seconds``, then one trial call is let through (half-open); its success closes it.
Breakers are per process and per (operator, base URL), shared by every client of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from prichal.domain.suppliers import SupplierRejected, SupplierUnavailable
from prichal.observability.metrics import SUPPLIER_CALLS, SUPPLIER_CIRCUIT

log = logging.getLogger("prichal.suppliers.http")


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    timeout: float = 5.0  # seconds per attempt (connect and read)
    attempts: int = 3
    backoff: float = 0.2  # seconds before the 2nd attempt, doubling after
    failure_threshold: int = 5
    open_seconds: float = 30.0


class CircuitBreaker:
    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

    def __init__(self, name: str, threshold: int, open_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.threshold = threshold
        self.open_seconds = open_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return self.CLOSED
        if self._clock() - self._opened_at >= self.open_seconds:
            return self.HALF_OPEN
        return self.OPEN

    def before(self) -> None:
        """Raise ``SupplierUnavailable`` when the circuit lets no call through now."""
        with self._lock:
            state = self._state()
            if state == self.OPEN or (state == self.HALF_OPEN and self._trial):
                raise SupplierUnavailable(f"{self.name} is failing; the circuit is open", circuit="open")
            if state == self.HALF_OPEN:
                self._trial = True

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial = 0, None, False
        SUPPLIER_CIRCUIT.labels(self.name).set(0)

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial or self._failures >= self.threshold:
                if self._opened_at is None or self._trial:
                    log.warning("circuit to %s opens after %d failures", self.name, self._failures)
                self._opened_at, self._trial = self._clock(), False
                SUPPLIER_CIRCUIT.labels(self.name).set(1)


_breakers: dict[tuple[str, str], CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(supplier: str, base_url: str, policy: HttpPolicy) -> CircuitBreaker:
    with _breakers_lock:
        key = (supplier, base_url)
        if key not in _breakers:
            _breakers[key] = CircuitBreaker(supplier, policy.failure_threshold, policy.open_seconds)
        return _breakers[key]


def reset_breakers() -> None:
    """Forget every breaker (tests)."""
    with _breakers_lock:
        _breakers.clear()


class SupplierHttp:
    """One operator's endpoint. ``call`` returns the parsed JSON of a 2xx answer."""

    def __init__(self, supplier: str, base_url: str, policy: HttpPolicy, *, auth: Any = None,
                 headers: dict[str, str] | None = None, breaker: CircuitBreaker | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.supplier = supplier
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.session = requests.Session()
        self.session.auth = auth
        self.session.headers.update(headers or {})
        self.breaker = breaker or breaker_for(supplier, self.base_url, policy)
        self._sleep = sleep

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
             json: Any = None) -> Any:
        self.breaker.before()
        last: Exception | None = None
        for attempt in range(self.policy.attempts):
            if attempt:
                self._sleep(self.policy.backoff * 2 ** (attempt - 1))
            try:
                response = self.session.request(method, f"{self.base_url}/{path}", params=params, json=json,
                                                timeout=self.policy.timeout)
            except requests.RequestException as exc:
                last = exc
                SUPPLIER_CALLS.labels(self.supplier, path, "error").inc()
                continue
            if response.status_code >= 500 or response.status_code in (408, 429):
                last = RuntimeError(f"HTTP {response.status_code}")
                SUPPLIER_CALLS.labels(self.supplier, path, str(response.status_code)).inc()
                continue
            SUPPLIER_CALLS.labels(self.supplier, path, str(response.status_code)).inc()
            self.breaker.success()
            if response.status_code >= 400:
                raise SupplierRejected(f"{self.supplier} {path}: HTTP {response.status_code} {response.text[:300]}",
                                       status=response.status_code)
            try:
                return response.json()
            except ValueError as exc:
                raise SupplierUnavailable(f"{self.supplier} {path}: the answer is not JSON") from exc
        self.breaker.failure()
        raise SupplierUnavailable(f"{self.supplier} {path}: no answer after {self.policy.attempts} attempts: {last}",
                                  supplier=self.supplier)
