"""Publishing envelopes to Kafka: key = stream id (one aggregate's events stay in one
partition, in order), value = the JSON envelope, headers for routing without parsing.

``acks="all"`` and one request in flight per partition (aiokafka's sender mutes a partition
while a batch to it is in flight) keep a stream's events in order even across retries, so the
idempotent producer is not needed for ordering; duplicates after a crash are absorbed by the
idempotent consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from urllib.parse import urlsplit

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from crm.events import EventEnvelope
from crm.events.envelope import envelope_headers, envelope_to_json
from crm.kernel.observability.tracing import kafka_headers


def bootstrap_servers(url: str) -> str:
    """``kafka://host:port[,host:port]`` -> ``host:port[,host:port]``."""
    parts = urlsplit(url)
    if parts.scheme != "kafka" or not parts.netloc:
        raise ValueError(f"not a kafka URL: {url!r} (expected kafka://host:port)")
    return parts.netloc


async def ensure_topics(
    servers: str, topics: Sequence[str], partitions: int, replication: int
) -> None:
    """Create the topics that do not exist yet (a broker that restarted empty gets them back)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, replication) for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another relay was quicker
                await admin.create_topics(missing)
    finally:
        await admin.close()


class KafkaPublisher:
    def __init__(
        self,
        url: str,
        *,
        partitions: int = 6,
        replication: int = 1,
        request_timeout_ms: int = 10_000,
    ) -> None:
        self.servers = bootstrap_servers(url)
        self.partitions = partitions
        self.replication = replication
        self._request_timeout_ms = request_timeout_ms
        self._producer: AIOKafkaProducer | None = None
        self._topics_ready: set[str] = set()

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.servers,
            acks="all",
            linger_ms=2,
            request_timeout_ms=self._request_timeout_ms,
            max_batch_size=1 << 20,
        )
        await producer.start()
        self._producer = producer

    async def publish(self, topic: str, events: Sequence[EventEnvelope]) -> None:
        if self._producer is None:
            await self.start()
        assert self._producer is not None
        try:
            if topic not in self._topics_ready:
                await ensure_topics(self.servers, [topic], self.partitions, self.replication)
                self._topics_ready.add(topic)
            sent = [
                await self._producer.send(
                    topic,
                    value=envelope_to_json(e),
                    key=e.stream_id.encode(),
                    headers=envelope_headers(e) + kafka_headers(e),
                )
                for e in events
            ]
            await asyncio.gather(*sent)
        except Exception:
            # a broker that went away may come back empty: recreate topics, reconnect
            self._topics_ready.discard(topic)
            await self.stop()
            raise

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):  # the broker may be gone; nothing is lost
                await producer.stop()
