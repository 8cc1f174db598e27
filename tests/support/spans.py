"""The SDK's in-memory span exporter, installed once per test process (OpenTelemetry allows
one tracer provider) and keeping spans only while a test holds it, so that the tests after
it do not pile spans up in memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crm.kernel.observability.tracing import configure_tracing


class HeldExporter(InMemorySpanExporter):
    held = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return super().export(spans) if self.held else SpanExportResult.SUCCESS


EXPORTER = HeldExporter()


@contextmanager
def captured_spans() -> Iterator[InMemorySpanExporter]:
    configure_tracing("crm-test", exporter=EXPORTER)
    EXPORTER.clear()
    EXPORTER.held = True
    try:
        yield EXPORTER
    finally:
        EXPORTER.held = False
        EXPORTER.clear()
