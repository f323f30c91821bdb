"""A function's latency over every instance, from the Prometheus server's HTTP API.

Under Knative a function runs as replicas that come and go (scaling to zero resets a
process's histogram), so one instance's histogram says little about an SLO. With
``CRM_SLA_PROMETHEUS_URL`` set, ``GET /function/crm/sla`` asks the Prometheus server that
scrapes the functions for one instant query: the increase of every bucket of
``prichal_request_seconds`` over the last ``CRM_SLA_WINDOW_MINUTES``, per route and method,
summed over the instances; the quantiles are then computed the way ``histogram_quantile``
does (``prichal.observability.slo.latency_from``), overall and per route. That is the
alert rules' and the crm-slo dashboard's figure, over the window asked for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import requests

from prichal.observability.slo import BUILT_IN, BucketPoint, latency_from
from prichal.services.crm_sla import LatencyUnavailable


def _label(value: str) -> str:
    """A PromQL string literal's content (double-quoted, Go escapes)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class PrometheusLatency:
    def __init__(self, base_url: str, window_minutes: int, timeout_seconds: float = 2.0,
                 session: requests.Session | None = None) -> None:
        self._query_url = base_url.rstrip("/") + "/api/v1/query"
        self._window = window_minutes
        self._timeout = timeout_seconds
        self._session = session or requests.Session()

    def query(self, function: str, exclude: Iterable[str] = ()) -> str:
        matchers = [f'function="{_label(function)}"',
                    *(f'route!="{_label(route)}"' for route in sorted(BUILT_IN | set(exclude)))]
        return (f"sum by (le, route, method) (increase(prichal_request_seconds_bucket{{{', '.join(matchers)}}}"
                f"[{self._window}m]))")

    def latency(self, function: str, exclude: Iterable[str] = ()) -> dict[str, Any]:
        """Requests and p50/p95/p99 (ms) of ``function`` over the window, every instance;
        ``LatencyUnavailable`` when the server does not answer in time or answers nonsense."""
        try:
            response = self._session.get(self._query_url, params={"query": self.query(function, exclude)},
                                         timeout=self._timeout)
            response.raise_for_status()
            body = response.json()
        except requests.Timeout as exc:
            raise LatencyUnavailable(f"Prometheus did not answer within {self._timeout:g} s") from exc
        except requests.RequestException as exc:
            raise LatencyUnavailable(f"Prometheus could not be asked ({type(exc).__name__})") from exc
        except ValueError as exc:
            raise LatencyUnavailable("Prometheus's answer was not JSON") from exc
        if isinstance(body, dict) and body.get("status") == "error":
            raise LatencyUnavailable(f"Prometheus answered {body.get('errorType')!r}: {body.get('error')}")
        try:
            vector = body["status"] == "success" and body["data"]["resultType"] == "vector"
            points = list(_points(body["data"]["result"])) if vector else None
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise LatencyUnavailable("Prometheus's answer was not an instant vector") from exc
        if points is None:
            raise LatencyUnavailable("Prometheus's answer was not an instant vector")
        return {**latency_from(points),
                "source": f"Prometheus: every instance, the last {self._window} minutes"}


def _points(result: list[dict[str, Any]]) -> Iterable[BucketPoint]:
    for series in result:
        labels, (_, value) = series["metric"], series["value"]
        count = float(value)
        if math.isnan(count):  # a series with no samples in the window
            continue
        yield labels.get("route", ""), labels.get("method", ""), float(labels["le"]), count
