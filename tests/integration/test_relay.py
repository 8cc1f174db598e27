"""The relay against a real Kafka-protocol broker (Tansu)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from crm.events.envelope import envelope_from_json
from crm.kernel.adapters.kafka.publisher import KafkaPublisher
from crm.kernel.event_store import NO_STREAM
from crm.kernel.relay import Relay
from crm.platform.bootstrap import Platform
from tests.conftest import new_event
from tests.support.tansu import Broker

pytestmark = pytest.mark.integration


async def consume_all(
    broker: Broker, topic: str, expected: int, timeout: float = 20
) -> list[tuple[int, bytes, bytes, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.servers, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    got: list[tuple[int, bytes, bytes, dict[str, bytes]]] = []
    try:
        await consumer.topics()  # loads metadata
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        async with asyncio.timeout(timeout):
            while len(got) < expected:
                batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    got.extend((tp.partition, r.key, r.value, dict(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return got


async def append_history(
    platform: Platform, streams: int, per_stream: int, category: str = "customer"
) -> dict[str, list[int]]:
    order: dict[str, list[int]] = {}
    for _ in range(streams):
        sid = f"{category}-{uuid4()}"
        await platform.store.append(sid, [new_event(n=i) for i in range(per_stream)], NO_STREAM)
        order[sid] = list(range(per_stream))
    return order


def relay_for(platform: Platform, broker: Broker, **kwargs: object) -> Relay:
    return Relay(
        "customer",
        "crm.customer.events",
        platform.store,
        KafkaPublisher(broker.url, partitions=3),
        platform.read_store,
        categories={"customer"},
        batch_size=7,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_relay_publishes_every_event_in_stream_order_with_key_and_headers(
    platform: Platform, broker: Broker
) -> None:
    order = await append_history(platform, streams=12, per_stream=5)
    await append_history(platform, streams=3, per_stream=2, category="lead")  # not this context's
    relay = relay_for(platform, broker)
    task = asyncio.create_task(relay.run())
    await asyncio.wait_for(relay.caught_up.wait(), 20)
    got = await consume_all(broker, "crm.customer.events", 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(got) == 60
    seen: dict[str, list[int]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    for partition, key, value, headers in got:
        envelope = envelope_from_json(value)
        assert key == envelope.stream_id.encode()
        assert headers["event_type"] == b"test.happened"
        assert headers["event_id"] == str(envelope.event_id).encode()
        seen[envelope.stream_id].append(envelope.payload["n"])
        partitions[envelope.stream_id].add(partition)
    assert dict(seen) == order
    assert all(len(p) == 1 for p in partitions.values())
    assert (await platform.read_store.checkpoint("relay:customer")).position == relay.position


async def test_relay_resumes_from_its_checkpoint(platform: Platform, broker: Broker) -> None:
    await append_history(platform, streams=4, per_stream=3)
    first = relay_for(platform, broker)
    task = asyncio.create_task(first.run())
    await asyncio.wait_for(first.caught_up.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await append_history(platform, streams=2, per_stream=3)
    second = relay_for(platform, broker)
    task = asyncio.create_task(second.run())
    await asyncio.wait_for(second.caught_up.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert second.published == 6
    assert len(await consume_all(broker, "crm.customer.events", 18)) == 18


async def test_commands_keep_landing_while_the_broker_is_down_and_nothing_is_lost(
    platform: Platform, broker: Broker
) -> None:
    """The broker process is stopped (SIGSTOP: unreachable, like a partition or a hung
    node) while events keep being appended; when it resumes, the relay delivers all of
    them. (Killing Tansu would lose its memory storage, and with it events the broker had
    already acknowledged, which no relay can bring back from a broker.)"""
    before = await append_history(platform, streams=3, per_stream=2)
    relay = relay_for(platform, broker, retry_max_seconds=0.5)
    task = asyncio.create_task(relay.run())
    await asyncio.wait_for(relay.caught_up.wait(), 20)
    broker.freeze()
    during = await append_history(
        platform, streams=5, per_stream=2
    )  # the store does not need the bus
    await asyncio.sleep(1.5)
    assert relay.position < await platform.store.head_position()
    broker.thaw()
    head = await platform.store.head_position()
    assert await platform.read_store.wait_for_checkpoint("relay:customer", head, timeout=60) == head
    got = await consume_all(broker, "crm.customer.events", 16)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    delivered: dict[str, list[int]] = defaultdict(list)
    for _, _, value, _ in got:
        envelope = envelope_from_json(value)
        if envelope.payload["n"] not in delivered[envelope.stream_id]:  # at-least-once
            delivered[envelope.stream_id].append(envelope.payload["n"])
    assert dict(delivered) == {**before, **during}
