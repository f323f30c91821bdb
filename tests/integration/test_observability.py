"""Metrics, trace propagation and JSON logs of a function."""

import io
import json
import logging

from prichal.observability.logging import JsonFormatter
from tests.conftest import assigned_sailing
from tests.support import call, internal, load_function

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_metrics_count_requests_by_route_and_status(container, demo):
    sailing = assigned_sailing(demo)
    call("lock-seat", "POST", "/holds", tenant=demo.slug, body={"sailing_id": sailing, "seat_ids": ["main-B-1"]})
    call("lock-seat", "POST", "/holds", tenant=demo.slug, body={"sailing_id": sailing, "seat_ids": ["main-B-1"]})
    assert call("lock-seat", "GET", "/metrics").status == 401  # internal: Prometheus sends the credential
    answer = call("lock-seat", "GET", "/metrics", headers=internal())
    assert answer.status == 200
    text = answer.raw.decode()
    assert 'prichal_requests_total{function="lock-seat",method="POST",route="/holds",status="201"}' in text
    assert 'prichal_requests_total{function="lock-seat",method="POST",route="/holds",status="409"}' in text
    assert 'prichal_holds_total{operation="create",outcome="conflict"}' in text
    assert "prichal_request_seconds_bucket" in text


def test_logs_are_json_and_carry_the_callers_trace_id(container):
    """An error inside a request is logged as JSON with the trace id the caller sent."""
    app = load_function("hello").app

    @app.route("GET", "/boom", tenant=False)
    def boom(request):
        raise RuntimeError("kaboom")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("hello"))  # formats inside the request's span
    logger = logging.getLogger("prichal.entrypoints")
    logger.addHandler(handler)
    try:
        answer = call("hello", "GET", "/boom", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
    finally:
        logger.removeHandler(handler)
        app.routes.remove(next(r for r in app.routes if r.template == "/boom"))
    assert answer.status == 500 and "kaboom" not in answer.raw.decode()
    entry = json.loads(stream.getvalue().splitlines()[0])
    assert entry["level"] == "ERROR" and entry["service"] == "hello" and "kaboom" in entry["exc"]
    assert entry["trace_id"] == TRACE_ID
    assert len(entry["span_id"]) == 16
