"""OpenTelemetry tracing: one provider per process, W3C trace context in and out.

Every request gets a span context, so logs always carry a trace id; spans are recorded
(sampled) only when a caller's ``traceparent`` says so or for ``OTEL_SAMPLE_RATIO`` of new
traces, and exported where ``OTEL_EXPORTER`` says: ``console``, or ``otlp`` (OTLP over
HTTP/protobuf to the collector at ``OTEL_EXPORTER_OTLP_ENDPOINT``, which the exporter reads
itself, e.g. ``http://otel-collector.monitoring.svc.cluster.local:4318``). Without an
exporter nothing is recorded for new traces: recording costs time on every request.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
_configured = False


def configure_tracing(service: str, exporter: str = "none", sample_ratio: float | None = None) -> None:
    global _configured
    if _configured:
        return
    ratio = sample_ratio if sample_ratio is not None else (0.0 if exporter == "none" else 1.0)
    provider = TracerProvider(resource=Resource.create({"service.name": service}),
                              sampler=ParentBased(TraceIdRatioBased(ratio)))
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
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
