"""Latency percentiles from a request histogram (Prometheus's histogram_quantile) and the
CRM SLA report on fakes."""

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Histogram

from prichal.observability.slo import histogram_quantile, latency_of
from prichal.services.crm_sla import LOCAL_SOURCE, CrmSla, LatencyUnavailable

INF = float("inf")


def test_histogram_quantile_interpolates_inside_the_bucket():
    buckets = [(0.1, 50.0), (0.8, 90.0), (1.5, 99.0), (INF, 100.0)]
    assert histogram_quantile(0.5, buckets) == 0.1
    assert abs(histogram_quantile(0.7, buckets) - (0.1 + 0.7 * 20 / 40)) < 1e-9
    assert histogram_quantile(0.95, buckets) == 0.8 + 0.7 * 5 / 9
    assert histogram_quantile(0.999, buckets) == 1.5  # in +Inf: the highest finite bound
    assert histogram_quantile(0.5, []) is None and histogram_quantile(0.5, [(INF, 0.0)]) is None


def test_latency_of_one_function_leaves_out_built_in_routes():
    registry = CollectorRegistry()
    hist = Histogram("prichal_request_seconds", "t", ["function", "route", "method"],
                     buckets=(0.05, 0.8, 1.5), registry=registry)
    for _ in range(90):
        hist.labels("crm", "/cases", "GET").observe(0.01)
    for _ in range(10):
        hist.labels("crm", "/login", "POST").observe(1.0)
    for _ in range(1000):
        hist.labels("crm", "/metrics", "GET").observe(3.0)  # not the service's latency
        hist.labels("catalog", "/sailings", "GET").observe(3.0)  # another function
    found = latency_of("crm", registry=registry)
    assert found["requests"] == 100
    assert found["p50_ms"] < 50 and 800 < found["p95_ms"] <= 1500 and found["p99_ms"] <= 1500
    assert [(r["route"], r["requests"]) for r in found["routes"]] == [("/cases", 90), ("/login", 10)]


class FakeCases:
    def sla_counts(self, tenant):
        return {"urgent": {"open": 2, "at_risk": 1, "breached": 1}, "high": {"open": 1, "at_risk": 0, "breached": 0},
                "normal": {"open": 0, "at_risk": 0, "breached": 0}, "low": {"open": 3, "at_risk": 0, "breached": 2}}


class FakeAttention:
    def size(self, tenant):
        return 7


def test_the_sla_report_on_fakes():
    at = datetime(2026, 12, 1, tzinfo=UTC)
    report = CrmSla(cases=FakeCases(), attention=FakeAttention(), p95_ms=800, p99_ms=1500, now=lambda: at,
                    latency=lambda name: {"requests": 10, "p50_ms": 5.0, "p95_ms": 900.0, "p99_ms": 1000.0,
                                          "routes": []}).report(tenant=None)
    assert report["latency"]["p95_ok"] is False and report["latency"]["p99_ok"] is True
    assert report["cases"]["total"] == {"open": 6, "at_risk": 1, "breached": 3}
    assert report["attention_queue"] == {"size": 7} and report["slo"] == {"p95_ms": 800, "p99_ms": 1500}
    idle = CrmSla(cases=FakeCases(), attention=FakeAttention(), p95_ms=800, p99_ms=1500, now=lambda: at,
                  latency=lambda name: {"requests": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None,
                                        "routes": []}).report(tenant=None)
    assert idle["latency"]["p95_ok"] is None
    assert report["latency"]["source"] == LOCAL_SOURCE


IDLE = {"requests": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "routes": []}


class FakeFleet:
    def __init__(self, answer=None, failure=None):
        self.answer, self.failure, self.asked = answer, failure, []

    def latency(self, function, exclude):
        self.asked.append((function, tuple(exclude)))
        if self.failure:
            raise LatencyUnavailable(self.failure)
        return self.answer


def test_the_fleet_s_latency_is_reported_when_it_can_be_read():
    fleet = FakeFleet({"requests": 5000, "p50_ms": 20.0, "p95_ms": 700.0, "p99_ms": 1600.0, "routes": [],
                       "source": "Prometheus: every instance, the last 60 minutes"})
    sla = CrmSla(cases=FakeCases(), attention=FakeAttention(), p95_ms=800, p99_ms=1500, now=lambda: None,
                 latency=lambda name: IDLE, fleet=fleet)
    latency = sla.report(tenant=None)["latency"]
    assert latency["requests"] == 5000 and latency["p95_ok"] is True and latency["p99_ok"] is False
    assert latency["source"].startswith("Prometheus") and fleet.asked == [("crm", ("/sla",))]


def test_without_the_fleet_this_instance_answers_and_says_why():
    sla = CrmSla(cases=FakeCases(), attention=FakeAttention(), p95_ms=800, p99_ms=1500, now=lambda: None,
                 latency=lambda name: IDLE, fleet=FakeFleet(failure="Prometheus did not answer within 2 s"))
    latency = sla.report(tenant=None)["latency"]
    assert latency["requests"] == 0 and latency["p95_ok"] is None
    assert latency["source"] == f"{LOCAL_SOURCE} (Prometheus did not answer within 2 s)"
