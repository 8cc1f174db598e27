"""Observability without a broker: the relay's publish spans and the ``traceparent`` it puts in
each Kafka record, picked up on the worker's side as the parent of the apply; the relay's
metrics; lag counted per follower's own categories."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from uuid import uuid4

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from crm.events import EventEnvelope
from crm.kernel.adapters.memory import InMemoryEventStore
from crm.kernel.event_store import NO_STREAM
from crm.kernel.observability import tracing
from crm.kernel.observability.commands import observe_command
from crm.kernel.observability.lag import Follower, lag_of
from crm.kernel.observability.relay import ObservedPublisher
from crm.platform.worker import trace_headers
from tests.conftest import new_event
from tests.support.spans import captured_spans


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with captured_spans() as exporter:
        yield exporter


class Capture:
    """A publisher that keeps the records it would send, headers as KafkaPublisher builds."""

    def __init__(self, fail: bool = False) -> None:
        self.records: list[tuple[EventEnvelope, list[tuple[str, bytes]]]] = []
        self.fail = fail

    async def start(self) -> None:
        pass

    async def publish(self, topic: str, events: Sequence[EventEnvelope]) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.records += [(e, tracing.kafka_headers(e)) for e in events]

    async def stop(self) -> None:
        pass


async def recorded(store: InMemoryEventStore, stream: str, count: int) -> list[EventEnvelope]:
    await store.append(stream, [new_event() for _ in range(count)], NO_STREAM)
    return await store.read_stream(stream)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_trace_goes_from_the_publish_through_kafka_headers_to_the_apply(
    spans: InMemorySpanExporter,
) -> None:
    store = InMemoryEventStore()
    first = await recorded(store, "customer-1", 2)
    second = await recorded(store, "customer-2", 1)
    one, other = uuid4(), uuid4()  # two requests' correlation ids
    page = [replace(e, correlation_id=one) for e in first] + [
        replace(e, correlation_id=other) for e in second
    ]
    capture = Capture()
    before = sample("crm_relay_published_events_total", context="customer")
    await ObservedPublisher(capture, "customer").publish("crm.customer.events", page)
    assert sample("crm_relay_published_events_total", context="customer") == before + 3
    publishes = {s.context.trace_id: s for s in spans.get_finished_spans()}
    assert set(publishes) == {one.int, other.int}  # one publish span in each request's trace
    assert all(s.kind is SpanKind.PRODUCER for s in publishes.values())
    for envelope, headers in capture.records:
        (traceparent,) = [v for k, v in headers if k == "traceparent"]
        _, trace_id, span_id, _ = traceparent.decode().split("-")
        assert int(trace_id, 16) == envelope.correlation_id.int
        assert int(span_id, 16) == publishes[envelope.correlation_id.int].context.span_id

    # the worker: Faust hands the headers as a mapping; the apply is the publish's child
    envelope, headers = capture.records[0]
    forwarded = trace_headers({**dict(headers), "event_type": b"x"})
    assert [k for k, _ in forwarded] == ["traceparent"]
    context = tracing.context_from_headers(forwarded)
    assert context is not None
    spans.clear()
    with tracing.parents({one: context}):
        tracing.record_batch("apply sales_360", page, tracing.now_ns(), {})
    applies = {s.context.trace_id: s for s in spans.get_finished_spans()}
    parent = applies[one.int].parent
    assert parent is not None
    assert parent.span_id == publishes[one.int].context.span_id
    assert applies[other.int].parent is None  # no headers for it: a root in its own trace


async def test_a_failed_publish_is_counted_and_its_spans_marked(
    spans: InMemorySpanExporter,
) -> None:
    store = InMemoryEventStore()
    page = await recorded(store, "customer-9", 1)
    before = sample("crm_relay_publish_failures_total", context="customer")
    with pytest.raises(ConnectionError):
        await ObservedPublisher(Capture(fail=True), "customer").publish("t", page)
    assert sample("crm_relay_publish_failures_total", context="customer") == before + 1
    (span,) = spans.get_finished_spans()
    assert not span.status.is_ok


async def test_no_trace_headers_when_tracing_is_off_for_the_page() -> None:
    store = InMemoryEventStore()
    (envelope,) = await recorded(store, "customer-3", 1)
    assert tracing.kafka_headers(envelope) == []  # outside a publish: nothing to carry
    assert tracing.context_from_headers([("event_type", b"x")]) is None


async def test_lag_counts_only_the_followers_own_categories() -> None:
    store = InMemoryEventStore()
    await recorded(store, "customer-1", 3)
    await recorded(store, "order-1", 5)
    follower = Follower("projection", "customers", lambda: 1, {"customer"})
    behind, age = await lag_of(store, follower)
    assert behind == 2
    assert age >= 0
    caught_up = Follower("projection", "customers", lambda: 8, {"customer"})
    assert await lag_of(store, caught_up) == (0, 0.0)


def test_a_command_whose_caller_went_away_is_counted_cancelled_not_failed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Cancelled:
        pass

    ctx = type(
        "Ctx", (), {"correlation_id": uuid4(), "causation_id": None, "tenant": "t", "actor": "a"}
    )()
    before = sample("crm_commands_total", command="Cancelled", outcome="cancelled")
    failed = sample("crm_commands_total", command="Cancelled", outcome="failed")
    with (
        caplog.at_level(logging.INFO),
        pytest.raises(asyncio.CancelledError),
        observe_command(Cancelled(), ctx),
    ):
        raise asyncio.CancelledError
    assert sample("crm_commands_total", command="Cancelled", outcome="cancelled") == before + 1
    assert sample("crm_commands_total", command="Cancelled", outcome="failed") == failed
    assert [r.exc_info for r in caplog.records if "Cancelled" in r.getMessage()] == [None]
