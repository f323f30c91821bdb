"""A function's latency percentiles from its own request histogram, against an SLO.

``histogram_quantile`` is Prometheus's estimate (linear inside the bucket that holds the
rank); ``latency_of(function)`` reads ``prichal_request_seconds`` of one function from this
process's registry (or every worker's, under ``PROMETHEUS_MULTIPROC_DIR``). The buckets have
bounds at the CRM SLO's 0.8 and 1.5 s, so "is p95 within 800 ms" is exact, not estimated.
This is one process's view since it started; ``latency_from`` computes the same figures
from any cumulative bucket counts, such as the fleet's over a window that
``adapters/prometheus_api.py`` reads from the Prometheus server.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry

# Routes every function has, which say nothing of the service's own latency.
BUILT_IN = frozenset({"/metrics", "/healthz", "/openapi.json", "unmatched"})


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """``buckets``: (upper bound, cumulative count), ascending, the last one +Inf."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return previous_bound  # beyond the highest bound: the highest bound, as Prometheus says
            if count == previous_count:
                return bound
            return previous_bound + (bound - previous_bound) * (rank - previous_count) / (count - previous_count)
        previous_bound, previous_count = bound, count
    return previous_bound


def _registry() -> Any:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _buckets(samples: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    summed: dict[float, float] = defaultdict(float)
    for bound, count in samples:
        summed[bound] += count
    return sorted(summed.items())


def latency_of(function: str, exclude: Iterable[str] = (), registry: Any = None) -> dict[str, Any]:
    """Requests and p50/p95/p99 (ms) of ``function`` in this process, over all its routes and per route."""
    skip = BUILT_IN | set(exclude)
    points: list[BucketPoint] = []
    for metric in (registry or _registry()).collect():
        if metric.name != "prichal_request_seconds":
            continue
        for sample in metric.samples:
            labels = sample.labels
            if not sample.name.endswith("_bucket") or labels.get("function") != function:
                continue
            if labels.get("route") in skip:
                continue
            points.append((labels["route"], labels["method"], float(labels["le"]), float(sample.value)))
    return latency_from(points)


BucketPoint = tuple[str, str, float, float]  # route, method, upper bound, cumulative count


def latency_from(points: Iterable[BucketPoint]) -> dict[str, Any]:
    """Requests and p50/p95/p99 (ms), overall and per (route, method), from the cumulative
    bucket counts of a request histogram: this process's (``latency_of``) or a window's
    increase over every instance (``adapters/prometheus_api.py``)."""
    every: list[tuple[float, float]] = []
    per_route: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for route, method, bound, count in points:
        every.append((bound, count))
        per_route[(route, method)].append((bound, count))
    return {**_figures(_buckets(every)),
            "routes": [{"route": route, "method": method, **_figures(_buckets(bucket_points))}
                       for (route, method), bucket_points in sorted(per_route.items())]}


def _figures(buckets: list[tuple[float, float]]) -> dict[str, Any]:
    def ms(q: float) -> float | None:
        found = histogram_quantile(q, buckets)
        return None if found is None else round(found * 1000, 1)

    return {"requests": round(buckets[-1][1]) if buckets else 0, "p50_ms": ms(0.5), "p95_ms": ms(0.95),
            "p99_ms": ms(0.99)}
