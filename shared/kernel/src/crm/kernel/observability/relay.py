"""The relay's publisher, observed: publish latency and failures, events published, and a
PRODUCER span per trace of the page whose context the Kafka headers carry on."""

from __future__ import annotations

import time
from collections.abc import Sequence

from crm.events import EventEnvelope
from crm.kernel.observability import tracing
from crm.kernel.observability.metrics import (
    RELAY_PUBLISH_DURATION,
    RELAY_PUBLISH_FAILURES,
    RELAY_PUBLISHED,
)
from crm.kernel.relay import Publisher


class ObservedPublisher:
    def __init__(self, publisher: Publisher, context: str) -> None:
        self.publisher = publisher
        self.context = context

    async def start(self) -> None:
        await self.publisher.start()

    async def publish(self, topic: str, events: Sequence[EventEnvelope]) -> None:
        started = time.perf_counter()
        attributes = {"crm.context": self.context, "messaging.batch.message_count": len(events)}
        try:
            with tracing.publishing(topic, events, attributes):
                await self.publisher.publish(topic, events)
        except Exception:
            RELAY_PUBLISH_FAILURES.labels(self.context).inc()
            raise
        RELAY_PUBLISH_DURATION.labels(self.context).observe(time.perf_counter() - started)
        RELAY_PUBLISHED.labels(self.context).inc(len(events))

    async def stop(self) -> None:
        await self.publisher.stop()
