"""``GET /function/crm/sla``: is the CRM within its SLO, and are the cases within theirs?

The CRM's latency percentiles (p50/p95/p99) against the SLO, the open support cases per
priority with how many are at risk or breached, and the size of the attention queue.

The latency is the fleet's when a ``fleet`` source is wired (``CRM_SLA_PROMETHEUS_URL``:
every instance over a window, ``adapters/prometheus_api.py``), else this process's request
histogram since it started (``prichal.observability.slo``); ``latency.source`` says which,
and when the fleet's could not be read, why (the answer falls back to this instance's).

The attention queue's size is ``services/attention_queue.AttentionQueue.size`` (orders
with an open flag, every reason), wired by ``Container.attention_queue``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from prichal.domain.tenants import Tenant
from prichal.observability.slo import latency_of

log = logging.getLogger("prichal.crm.sla")

LOCAL_SOURCE = "this instance's request histogram since it started"
NOT_THE_SERVICE = ("/sla",)  # asking for the SLA is not what the SLO is about


class LatencyUnavailable(Exception):
    """The fleet's latency could not be read; the message says why (no addresses in it)."""


class FleetLatency(Protocol):
    def latency(self, function: str, exclude: Iterable[str]) -> dict[str, Any]:
        """Requests, p50/p95/p99 (ms), routes and ``source``; ``LatencyUnavailable`` if it cannot tell."""
        ...


class AttentionQueue(Protocol):
    def size(self, tenant: Tenant) -> int | None:
        """Orders waiting for a person; None when it cannot be told."""
        ...


class CaseCounts(Protocol):
    def sla_counts(self, tenant: Tenant) -> dict[str, dict[str, int]]: ...


class CrmSla:
    def __init__(self, *, cases: CaseCounts, attention: AttentionQueue, p95_ms: float, p99_ms: float,
                 now: Callable[[], datetime], function: str = "crm",
                 latency: Callable[[str], dict[str, Any]] | None = None, fleet: FleetLatency | None = None) -> None:
        """``latency``: this instance's figures (default: its registry); ``fleet``: every instance's."""
        self._cases = cases
        self._attention = attention
        self._slo = {"p95_ms": p95_ms, "p99_ms": p99_ms}
        self._now = now
        self._function = function
        self._local = latency or (lambda name: latency_of(name, exclude=NOT_THE_SERVICE))
        self._fleet = fleet

    def latency(self) -> dict[str, Any]:
        if self._fleet is not None:
            try:
                return self._fleet.latency(self._function, NOT_THE_SERVICE)
            except LatencyUnavailable as exc:
                log.warning("the fleet's latency could not be read: %s", exc)
                return {**self._local(self._function), "source": f"{LOCAL_SOURCE} ({exc})"}
        return {**self._local(self._function), "source": LOCAL_SOURCE}

    def report(self, tenant: Tenant) -> dict[str, Any]:
        latency = self.latency()
        p95, p99 = latency["p95_ms"], latency["p99_ms"]
        cases = self._cases.sla_counts(tenant)
        total = {key: sum(c[key] for c in cases.values()) for key in ("open", "at_risk", "breached")}
        return {
            "at": self._now(),
            "slo": dict(self._slo),
            "latency": {**latency,
                        "p95_ok": None if p95 is None else p95 <= self._slo["p95_ms"],
                        "p99_ok": None if p99 is None else p99 <= self._slo["p99_ms"]},
            "cases": {"by_priority": cases, "total": total},
            "attention_queue": {"size": self._attention.size(tenant)},
        }
