"""Every recorded step as an OpenTelemetry span and in the Prometheus metrics.

The span belongs to the run's trace (the caller's W3C trace id), is named ``<run kind>/<step>`` and
carries what the audit row carries except the output (digests, status, versions, model, prompt): no
patient data leaves through the spans. Spans go to an OTLP exporter when one is configured
(``MEDQC_OTEL_EXPORTER_OTLP_ENDPOINT``); without one, only the metrics are kept.
"""

from __future__ import annotations

import secrets

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from prometheus_client import Counter, Gauge, Histogram

from agents.orchestration.audit import StepRecord

STEPS = Counter("medqc_run_steps_total", "Run steps executed", ["run", "step", "status", "where"])
STEP_SECONDS = Histogram(
    "medqc_run_step_seconds",
    "Duration of a run step",
    ["run", "step"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)
DISPATCH = Counter(
    "medqc_run_dispatch_total",
    "Durable work handed over: started (a Temporal workflow), local (run in-process), deferred (kept in "
    "the database outbox for a retry: Temporal or the database unreachable)",
    ["outcome"],
)
HANDOVER = Histogram(
    "medqc_run_handover_seconds",
    "Time a hook spends handing its durable work over (recording the run, starting its workflow)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
TEMPORAL_UP = Gauge("medqc_temporal_connected", "1 while the Temporal client and worker are connected")
OUTBOX = Gauge("medqc_run_outbox_pending", "Runs whose durable work waits in the outbox")


def tracer_provider(endpoint: str | None, *, exporter: SpanExporter | None = None) -> TracerProvider | None:
    """A provider exporting to the OTLP/HTTP ``endpoint`` (or to ``exporter``); None when neither."""
    if exporter is None and endpoint is None:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": "medqc"}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint, timeout=5)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class StepTelemetry:
    """Emits the metrics and (with a provider) the span of each recorded step."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("medqc.orchestration") if provider is not None else None

    def emit(self, kind: str, step: StepRecord) -> None:
        STEPS.labels(kind, step.step, step.status, step.where).inc()
        STEP_SECONDS.labels(kind, step.step).observe(step.duration_ms / 1000)
        if self.tracer is None:
            return
        try:
            trace_id = int(step.trace_id, 16)
        except ValueError:
            return
        parent = SpanContext(
            trace_id=trace_id,
            span_id=int(secrets.token_hex(8), 16),
            is_remote=True,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        start_ns = int(step.started_at.timestamp() * 1e9)
        span = self.tracer.start_span(
            f"{kind}/{step.step}",
            context=trace.set_span_in_context(NonRecordingSpan(parent)),
            kind=SpanKind.INTERNAL,
            start_time=start_ns,
            attributes={
                "medqc.run.id": step.run_id,
                "medqc.run.kind": kind,
                "medqc.step": step.step,
                "medqc.step.status": step.status,
                "medqc.step.where": step.where,
                "medqc.step.input_digest": step.input_digest,
                "medqc.step.output_digest": step.output_digest or "",
                "medqc.version.kb": step.kb_version,
                "medqc.version.code": step.code_version,
                "medqc.model": step.model or "",
                "medqc.prompt_version": step.prompt_version or "",
            },
        )
        if step.status != "ok":
            span.set_status(Status(StatusCode.ERROR, step.error or "failed"))
        span.end(end_time=start_ns + int(step.duration_ms * 1e6))

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()
