"""``GET /function/crm/sla``: is the CRM within its SLO, and are the cases within theirs?

The CRM's own latency percentiles (p50/p95/p99 from its request histogram, this process
since it started; see ``prichal.observability.slo``) against the SLO, the open support cases
per priority with how many are at risk or breached, and the size of the attention queue.

The attention queue's size is ``services/attention_queue.AttentionQueue.size`` (orders
with an open flag, every reason), wired by ``Container.attention_queue``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from prichal.domain.tenants import Tenant
from prichal.observability.slo import latency_of


class AttentionQueue(Protocol):
    def size(self, tenant: Tenant) -> int | None:
        """Orders waiting for a person; None when it cannot be told."""
        ...


class CaseCounts(Protocol):
    def sla_counts(self, tenant: Tenant) -> dict[str, dict[str, int]]: ...


class CrmSla:
    def __init__(self, *, cases: CaseCounts, attention: AttentionQueue, p95_ms: float, p99_ms: float,
                 now: Callable[[], datetime], function: str = "crm",
                 latency: Callable[[str], dict[str, Any]] | None = None) -> None:
        self._cases = cases
        self._attention = attention
        self._slo = {"p95_ms": p95_ms, "p99_ms": p99_ms}
        self._now = now
        self._function = function
        self._latency = latency or (lambda name: latency_of(name, exclude=("/sla",)))

    def report(self, tenant: Tenant) -> dict[str, Any]:
        latency = self._latency(self._function)
        p95, p99 = latency["p95_ms"], latency["p99_ms"]
        cases = self._cases.sla_counts(tenant)
        total = {key: sum(c[key] for c in cases.values()) for key in ("open", "at_risk", "breached")}
        return {
            "at": self._now(),
            "slo": dict(self._slo),
            "latency": {**latency, "source": "this instance's request histogram since it started",
                        "p95_ok": None if p95 is None else p95 <= self._slo["p95_ms"],
                        "p99_ok": None if p99 is None else p99 <= self._slo["p99_ms"]},
            "cases": {"by_priority": cases, "total": total},
            "attention_queue": {"size": self._attention.size(tenant)},
        }
