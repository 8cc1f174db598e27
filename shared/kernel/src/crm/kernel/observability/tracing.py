"""OpenTelemetry traces: off by default, exported over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set.

One trace follows a command from its HTTP request through the append, the relay's publish
and the apply of every read model. The link between them is the **correlation id**, which
every event carries in its envelope: a request without ``X-Correlation-ID`` gets the trace
id of its span as its correlation id, and a request with one gets a trace of that id (unless
it sends a W3C ``traceparent``, which then decides). Whatever later handles the events (an
in-process projection, the relay, a reaction's command) opens its spans in the trace of the
events' correlation id; the relay also puts its publish span's ``traceparent`` in the Kafka
headers, so the worker's apply is a child of the publish that carried it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Link, Span, SpanKind

from crm.events import EventEnvelope

MAX_TRACES_PER_BATCH = 32
"""A batch's apply is recorded in the traces of at most this many of its correlation ids."""

_forced_trace_id: ContextVar[int | None] = ContextVar("crm_forced_trace_id", default=None)
_parents: ContextVar[Mapping[UUID, Context] | None] = ContextVar("crm_trace_parents", default=None)
_provider: TracerProvider | None = None
_exporters: list[SpanExporter] = []

tracer = trace.get_tracer("crm")


class CorrelatedIdGenerator(RandomIdGenerator):
    """Random ids, except the trace id of a root span opened by :func:`root_span`: the
    correlation id's 128 bits."""

    def generate_trace_id(self) -> int:
        forced = _forced_trace_id.get()
        return forced if forced is not None else super().generate_trace_id()


def enabled() -> bool:
    return _provider is not None


def configure_tracing(
    service_name: str = "crm", *, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Install the tracer provider: with ``exporter`` (tests: the SDK's in-memory one) spans
    go there as they end; else over OTLP/HTTP when an OTLP endpoint is configured; else
    nothing is installed and every span is a no-op. Calling it again adds an exporter not
    added yet."""
    global _provider
    if exporter is None:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        if not endpoint:
            return _provider
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor: Any = BatchSpanProcessor(OTLPSpanExporter())
    else:
        if exporter in _exporters:
            return _provider
        _exporters.append(exporter)
        processor = SimpleSpanProcessor(exporter)
    if _provider is None:
        name = os.environ.get("OTEL_SERVICE_NAME") or service_name
        _provider = TracerProvider(
            resource=Resource.create({"service.name": name}), id_generator=CorrelatedIdGenerator()
        )
        trace.set_tracer_provider(_provider)
    _provider.add_span_processor(processor)
    return _provider


def shutdown_tracing() -> None:
    """Flush what the exporters hold (at the end of a process)."""
    if _provider is not None:
        _provider.force_flush()


def trace_id_of(correlation_id: UUID) -> int:
    return correlation_id.int


def correlation_of(span: Span) -> UUID | None:
    ctx = span.get_span_context()
    return UUID(int=ctx.trace_id) if ctx.is_valid else None


def root_context(correlation_id: UUID | None) -> Context:
    """A context from which a new span starts as the root of the correlation id's trace (a
    parent the Kafka headers carried for it, if the caller set one: see :func:`parents`)."""
    if correlation_id is not None:
        parents = _parents.get()
        if parents and correlation_id in parents:
            return parents[correlation_id]
    return Context()


@contextlib.contextmanager
def forced_trace(correlation_id: UUID | None) -> Iterator[None]:
    token = _forced_trace_id.set(correlation_id.int if correlation_id is not None else None)
    try:
        yield
    finally:
        _forced_trace_id.reset(token)


def start_root_span(
    name: str,
    correlation_id: UUID | None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    start_time: int | None = None,
    links: Sequence[Link] = (),
) -> Span:
    """A span (not made current) in the trace of ``correlation_id``."""
    with forced_trace(correlation_id):
        return tracer.start_span(
            name,
            context=root_context(correlation_id),
            kind=kind,
            attributes=dict(attributes or {}),
            start_time=start_time,
            links=links,
        )


@contextlib.contextmanager
def span_in(
    name: str,
    correlation_id: UUID | None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A current span: a child of the current one if there is one, else a root of the
    correlation id's trace."""
    if trace.get_current_span().get_span_context().is_valid:
        with tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
            yield span
        return
    span = start_root_span(name, correlation_id, kind=kind, attributes=attributes)
    with trace.use_span(span, end_on_exit=True):
        yield span


def now_ns() -> int:
    return time.time_ns()


def record_batch(
    name: str,
    envelopes: Sequence[EventEnvelope],
    started_ns: int,
    attributes: Mapping[str, Any],
) -> None:
    """Record an already finished batch (started at ``started_ns``) in the trace of each of
    its correlation ids (at most MAX_TRACES_PER_BATCH): each trace shows when its events
    were applied."""
    if not enabled() or not envelopes:
        return
    seen: dict[UUID, int] = {}
    for e in envelopes:
        seen[e.correlation_id] = seen.get(e.correlation_id, 0) + 1
    end = now_ns()
    for correlation, count in list(seen.items())[:MAX_TRACES_PER_BATCH]:
        span = start_root_span(
            name,
            correlation,
            attributes={
                **attributes,
                "crm.batch.events": len(envelopes),
                "crm.trace.events": count,
            },
            start_time=started_ns,
        )
        span.end(end_time=end)


@contextlib.contextmanager
def parents(contexts: Mapping[UUID, Context]) -> Iterator[None]:
    """Spans opened for these correlation ids inside the block are children of the given
    contexts (extracted from Kafka headers)."""
    token = _parents.set(contexts)
    try:
        yield
    finally:
        _parents.reset(token)


_publishing: ContextVar[Mapping[UUID, Span] | None] = ContextVar("crm_publishing", default=None)


@contextlib.contextmanager
def publishing(
    topic: str, envelopes: Sequence[EventEnvelope], attributes: Mapping[str, Any]
) -> Iterator[None]:
    """A PRODUCER span per correlation id of the page (at most MAX_TRACES_PER_BATCH) while the
    page is published; :func:`kafka_headers` carries each into the records of its events."""
    if not enabled():
        yield
        return
    spans: dict[UUID, Span] = {}
    for e in envelopes:
        if e.correlation_id not in spans and len(spans) < MAX_TRACES_PER_BATCH:
            spans[e.correlation_id] = start_root_span(
                f"publish {topic}",
                e.correlation_id,
                kind=SpanKind.PRODUCER,
                attributes={**attributes, "messaging.destination.name": topic},
            )
    token = _publishing.set(spans)
    try:
        yield
    except BaseException as exc:
        for span in spans.values():
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(exc)))
        raise
    finally:
        _publishing.reset(token)
        for span in spans.values():
            span.end()


def kafka_headers(envelope: EventEnvelope) -> list[tuple[str, bytes]]:
    """The ``traceparent`` (and ``tracestate``) of the publish span of the envelope's trace,
    as Kafka record headers ([] when tracing is off)."""
    spans = _publishing.get()
    if not spans or envelope.correlation_id not in spans:
        return []
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(spans[envelope.correlation_id]))
    return [(k, v.encode()) for k, v in carrier.items()]


def context_from_headers(
    headers: Mapping[str, bytes] | Sequence[tuple[str, bytes]] | None,
) -> Context | None:
    """The trace context a Kafka record's headers carry, if any."""
    if not headers:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    carrier = {k.lower(): v.decode("latin-1") for k, v in items if isinstance(v, bytes)}
    if "traceparent" not in carrier:
        return None
    ctx = propagate.extract(carrier)
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None
