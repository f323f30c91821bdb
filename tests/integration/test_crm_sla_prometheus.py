"""``GET /function/crm/sla`` with CRM_SLA_PROMETHEUS_URL: every instance's latency from the
Prometheus server's HTTP API (a fake one on loopback), and this instance's when it cannot
be read."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from prichal.adapters.prometheus_api import PrometheusLatency
from prichal.services.crm_sla import LOCAL_SOURCE, LatencyUnavailable
from tests.staff_support import crm, staff_token


def _bucket(route: str, method: str, le: str, count: str) -> dict:
    return {"metric": {"route": route, "method": method, "le": le}, "value": [1764633600.0, count]}


# 900 fast reads of the queue and 100 slow logins over the window, summed over instances by
# Prometheus (increase() gives fractions); a route without samples in the window is NaN.
VECTOR = [
    _bucket("/cases", "GET", "0.05", "898.5"), _bucket("/cases", "GET", "0.8", "900.0"),
    _bucket("/cases", "GET", "1.5", "900.0"), _bucket("/cases", "GET", "+Inf", "900.0"),
    _bucket("/login", "POST", "0.05", "0"), _bucket("/login", "POST", "0.8", "0"),
    _bucket("/login", "POST", "1.5", "100.0"), _bucket("/login", "POST", "+Inf", "100.0"),
    _bucket("/orders", "GET", "+Inf", "NaN"),
]


class FakePrometheus(BaseHTTPRequestHandler):
    queries: list[str] = []
    status = 200
    body: object = {"status": "success", "data": {"resultType": "vector", "result": VECTOR}}
    delay = 0.0

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        assert url.path == "/api/v1/query"
        FakePrometheus.queries.append(parse_qs(url.query)["query"][0])
        time.sleep(FakePrometheus.delay)
        payload = json.dumps(FakePrometheus.body).encode()
        self.send_response(FakePrometheus.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def prometheus() -> Iterator[str]:
    FakePrometheus.queries, FakePrometheus.status, FakePrometheus.delay = [], 200, 0.0
    FakePrometheus.body = {"status": "success", "data": {"resultType": "vector", "result": VECTOR}}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakePrometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_every_instance_s_latency_over_the_window(prometheus):
    found = PrometheusLatency(prometheus, window_minutes=60).latency("crm", exclude=("/sla",))
    assert found["requests"] == 1000 and found["source"] == "Prometheus: every instance, the last 60 minutes"
    assert found["p50_ms"] < 50 and 800 < found["p95_ms"] <= 1500 and 800 < found["p99_ms"] <= 1500
    assert [(r["route"], r["method"], r["requests"]) for r in found["routes"]] == [
        ("/cases", "GET", 900), ("/login", "POST", 100)]
    (query,) = FakePrometheus.queries
    assert query.startswith("sum by (le, route, method) (increase(prichal_request_seconds_bucket{")
    assert 'function="crm"' in query and 'route!="/sla"' in query and 'route!="/metrics"' in query
    assert query.endswith("[60m]))")


def test_label_values_are_quoted_in_the_query():
    query = PrometheusLatency("http://unused", 5).query('crm"} or vector(1) #')
    assert 'function="crm\\"} or vector(1) #"' in query


@pytest.mark.parametrize("fault, why", [
    ({"status": 503}, "could not be asked"),
    ({"body": {"status": "error", "errorType": "bad_data", "error": "parse error"}},
     "answered 'bad_data': parse error"),
    ({"body": {"status": "success", "data": {"resultType": "matrix", "result": []}}}, "not an instant vector"),
    ({"body": ["not", "an", "answer"]}, "not an instant vector"),
    ({"delay": 1.5}, "did not answer within 0.5 s"),
])
def test_a_prometheus_that_cannot_answer_is_said_so(prometheus, fault, why):
    for name, value in fault.items():
        setattr(FakePrometheus, name, value)
    with pytest.raises(LatencyUnavailable, match=why):
        PrometheusLatency(prometheus, window_minutes=60, timeout_seconds=0.5).latency("crm")


def test_nobody_listening_is_unavailable_too():
    with pytest.raises(LatencyUnavailable, match="could not be asked"):
        PrometheusLatency("http://127.0.0.1:9", 60, timeout_seconds=0.5).latency("crm")


@pytest.fixture
def crm_with_prometheus(container, clock, prometheus):
    from prichal.bootstrap import Container, use_container

    settings = container.settings.model_copy(update={"crm_sla_prometheus_url": prometheus,
                                                     "crm_sla_window_minutes": 15,
                                                     "crm_sla_prometheus_timeout_seconds": 0.5})
    wired = Container(settings, clock=clock)
    use_container(wired)
    yield wired
    use_container(container)
    wired.close()


def test_get_sla_reports_the_fleet_when_configured(crm_with_prometheus, demo):
    token = staff_token(demo.tenant_id, "agent", scopes=["cases.read"])
    report = crm("GET", "/sla", demo.slug, token)
    assert report.status == 200, report.json
    latency = report.json["latency"]
    assert latency["source"] == "Prometheus: every instance, the last 15 minutes"
    assert latency["requests"] == 1000 and latency["p95_ok"] is False and latency["p99_ok"] is True
    assert FakePrometheus.queries[-1].endswith("[15m]))")

    FakePrometheus.status = 500  # the server falls over: this instance's figures, and why
    latency = crm("GET", "/sla", demo.slug, token).json["latency"]
    assert latency["source"] == f"{LOCAL_SOURCE} (Prometheus could not be asked (HTTPError))"
    assert "127.0.0.1" not in json.dumps(latency)  # no address of ours in an answer
