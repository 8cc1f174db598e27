"""Trace context through a real Kafka-protocol broker (Tansu): the relay's publish span per
request's trace, its ``traceparent`` in the headers of each record as a consumer reads it,
and the relay's metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from uuid import uuid4

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from crm.events import EventMetadata
from crm.events.envelope import envelope_from_json
from crm.kernel.adapters.kafka.publisher import KafkaPublisher
from crm.kernel.event_store import NO_STREAM
from crm.kernel.observability import tracing
from crm.kernel.observability.relay import ObservedPublisher
from crm.kernel.relay import Relay
from crm.platform.bootstrap import Platform
from tests.conftest import new_event
from tests.integration.test_relay import consume_all
from tests.support.spans import captured_spans
from tests.support.tansu import Broker

pytestmark = pytest.mark.integration


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with captured_spans() as exporter:
        yield exporter


async def test_the_relay_carries_each_requests_trace_in_the_kafka_headers(
    platform: Platform, broker: Broker, spans: InMemorySpanExporter
) -> None:
    requests = [uuid4() for _ in range(3)]
    for correlation in requests:  # each request recorded two events on its own stream
        meta = EventMetadata(tenant="t1", actor="tester", correlation_id=correlation)
        events = [replace(new_event(n=i), metadata=meta) for i in range(2)]
        await platform.store.append(f"customer-{uuid4()}", events, NO_STREAM)
    published = ("crm_relay_published_events_total", {"context": "customer"})
    before = REGISTRY.get_sample_value(*published) or 0
    relay = Relay(
        "customer",
        "crm.customer.events",
        platform.store,
        ObservedPublisher(KafkaPublisher(broker.url, partitions=3), "customer"),
        platform.read_store,
        categories={"customer"},
    )
    task = asyncio.create_task(relay.run())
    await asyncio.wait_for(relay.caught_up.wait(), 20)
    got = await consume_all(broker, "crm.customer.events", 6)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (REGISTRY.get_sample_value(*published) or 0) == before + 6
    publishes = {
        s.context.trace_id: s for s in spans.get_finished_spans() if s.name.startswith("publish")
    }
    assert set(publishes) == {c.int for c in requests}
    for _, _, value, headers in got:
        envelope = envelope_from_json(value)
        context = tracing.context_from_headers(headers)
        assert context is not None
        _, trace_id, span_id, _ = headers["traceparent"].decode().split("-")
        assert int(trace_id, 16) == envelope.correlation_id.int
        assert int(span_id, 16) == publishes[envelope.correlation_id.int].context.span_id
