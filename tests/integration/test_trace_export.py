"""OTEL_EXPORTER=otlp: spans reach an OTLP/HTTP collector (a fake one on loopback)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support import ROOT

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
# A function's process: tracing configured as bootstrap.function_app does, one server span
# under a caller's sampled traceparent, then the batch flushed as at shutdown.
SPAN = f"""
from opentelemetry import trace
from prichal.observability import tracing
tracing.configure_tracing("lock-seat", "otlp", 0.0)
context = tracing.extract_context({{"traceparent": "00-{TRACE_ID}-00f067aa0ba902b7-01"}})
with tracing.tracer().start_as_current_span("lock-seat POST /holds", context=context):
    pass
trace.get_tracer_provider().force_flush()
"""


class Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_spans_are_exported_to_the_collector_over_otlp_http() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}"}
        done = subprocess.run([sys.executable, "-c", SPAN], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
    finally:
        server.shutdown()
    assert [(path, kind) for path, kind, _ in Collector.received] == [("/v1/traces", "application/x-protobuf")]
    exported = ExportTraceServiceRequest.FromString(Collector.received[0][2])
    resource = exported.resource_spans[0]
    assert {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"] == "lock-seat"
    span = resource.scope_spans[0].spans[0]
    assert span.name == "lock-seat POST /holds" and span.trace_id.hex() == TRACE_ID
