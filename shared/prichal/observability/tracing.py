"""OpenTelemetry tracing: one provider per process, W3C trace context in and out.

Spans are always recorded so that logs carry a trace id; they are exported only when
``OTEL_EXPORTER`` says where (``console`` here; an OTLP exporter can be added in
production by installing it and extending ``_exporter``).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
_configured = False


def configure_tracing(service: str, exporter: str = "none") -> None:
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    global _tracer
    _tracer = None  # look it up again from the new provider
    _configured = True


_tracer: trace.Tracer | None = None


def tracer() -> trace.Tracer:
    """The process's tracer (looked up once: ``get_tracer`` is costly on a hot path)."""
    global _tracer
    if _tracer is None:
        _tracer = trace.get_tracer("prichal")
    return _tracer


def extract_context(headers: Mapping[str, str]) -> otel_context.Context:
    """The caller's trace context from ``traceparent`` / ``tracestate`` headers."""
    carrier = {}
    for name in ("traceparent", "tracestate"):
        value = headers.get(name)
        if value:
            carrier[name] = value
    return _propagator.extract(carrier)


def inject_context(carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add the current trace context to outgoing headers (HTTP or RabbitMQ)."""
    _propagator.inject(carrier)
    return carrier
