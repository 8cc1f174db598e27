"""Reactions (process steps) are exactly-once in effect under redelivery: fed from the event
store with a checkpoint, and from Kafka (Tansu) by a consumer group that commits offsets only
after the reactions returned."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from uuid import uuid4

import pytest

from crm.customer.application.customer_commands import RegisterCustomer
from crm.customer.domain.customer import Profile
from crm.events import DomainEvent, EventEnvelope
from crm.events.customer import CustomerKind
from crm.kernel.adapters.kafka.consumer import KafkaReactionConsumer
from crm.kernel.adapters.kafka.publisher import KafkaPublisher
from crm.kernel.errors import RuleViolated
from crm.kernel.event_store import ANY_VERSION, EventStore
from crm.kernel.reactor import ReactionRunner, reaction_context
from crm.kernel.repository import CommandContext
from crm.platform.bootstrap import Platform
from tests.conftest import T0, new_event
from tests.support.tansu import Broker

pytestmark = pytest.mark.integration


class Echo:
    """For each registered customer, appends one ``echo.noted`` event to ``echo-<customer>``
    under the reaction's idempotency key; refuses customers named "poison" (a domain refusal:
    dead letter); fails transiently ``flaky`` times before it works."""

    name = "echo"
    categories = frozenset({"customer"})
    event_types = frozenset({"customer.registered"})

    def __init__(self, store: EventStore, *, flaky: int = 0) -> None:
        self.store = store
        self.flaky = flaky
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.seen = 0

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        self.calls += 1
        if self.flaky > 0:
            self.flaky -= 1
            raise ConnectionError("store unavailable")
        if getattr(event, "name", "") == "poison":
            raise RuleViolated("poison customers are refused")
        ctx = reaction_context(self.name, envelope, T0)
        target = f"echo-{envelope.stream_id.removeprefix('customer-')}"
        await self.store.append(
            target,
            [new_event("echo.noted", source=str(envelope.event_id))],
            ANY_VERSION,
            idempotency=ctx.idempotency,
        )
        self.seen += 1
        if self.gate is not None and self.seen >= 3:
            await self.gate.wait()  # hold here: the batch never finishes (a crash mid-batch)


async def until(condition: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (the counters are plain attributes)
            await asyncio.sleep(0.02)


async def register(platform: Platform, names: list[str]) -> list[str]:
    ids = []
    for name in names:
        ctx = CommandContext(actor="m1", role="manager", tenant="default", now=T0)
        command = RegisterCustomer(
            Profile(kind=CustomerKind.PERSON, name=name), confirm_distinct=True
        )
        result = await platform.runtime.commands.execute(command, ctx)
        ids.append(result.stream_id.removeprefix("customer-"))
    return ids


async def echoes(store: EventStore) -> Counter[str]:
    counts: Counter[str] = Counter()
    async for page in store.read_all(categories={"echo"}):
        for e in page:
            counts[e.stream_id] += 1
    return counts


async def test_store_fed_reaction_is_once_in_effect_when_redelivered(platform: Platform) -> None:
    ids = await register(platform, ["Ada", "Grace", "poison", "Linus"])
    echo = Echo(platform.store, flaky=2)
    runner = ReactionRunner(echo, platform.store, platform.read_store, platform.runtime.codec)
    await runner.catch_up()
    assert echo.calls == 4 + 2  # two transient failures were retried, not skipped
    letters = await platform.read_store.dead_letters("reaction:echo")
    assert [letter.event_type for letter in letters] == ["customer.registered"]
    assert "poison" in letters[0].error
    # a crash before the checkpoint: everything is delivered again
    await platform.read_store.drop([], "reaction:echo")
    again = ReactionRunner(echo, platform.store, platform.read_store, platform.runtime.codec)
    await again.catch_up()
    counts = await echoes(platform.store)
    assert sorted(counts) == sorted(f"echo-{i}" for i in ids if i != ids[2])
    assert set(counts.values()) == {1}


async def test_store_fed_reaction_follows_live_appends_and_stops_after_its_batch(
    platform: Platform,
) -> None:
    echo = Echo(platform.store)
    runner = ReactionRunner(echo, platform.store, platform.read_store, platform.runtime.codec)
    task = asyncio.create_task(runner.run())
    await register(platform, ["Ada", "Grace"])
    await until(lambda: echo.seen >= 2, 10)
    await runner.stop(task)
    # both registrations were handled before it stopped; the checkpoint may also have moved
    # over echoes already committed (of a category it does not read), never past the head
    checkpoint = (await platform.read_store.checkpoint("reaction:echo")).position
    assert 2 <= checkpoint <= await platform.store.head_position()
    assert echo.seen == 2


async def publish_store(platform: Platform, broker: Broker) -> None:
    publisher = KafkaPublisher(broker.url, partitions=2)
    await publisher.start()
    try:
        async for page in platform.store.read_all(categories={"customer"}):
            await publisher.publish("crm.customer.events", page)
    finally:
        await publisher.stop()


def kafka_echo(platform: Platform, broker: Broker, echo: Echo, group: str) -> KafkaReactionConsumer:
    return KafkaReactionConsumer(
        broker.url,
        echo,
        ["crm.customer.events"],
        platform.runtime.codec,
        platform.read_store,
        group_id=group,
        batch_size=50,
        session_timeout_seconds=6,
        rebalance_timeout_seconds=3,
    )


async def poisoned(platform: Platform) -> bool:
    return any(
        letter.projection == "reaction:echo" for letter in await platform.read_store.dead_letters()
    )


async def test_kafka_fed_reaction_commits_only_after_reacting(
    platform: Platform, broker: Broker
) -> None:
    names = [f"c{i}" for i in range(8)] + ["poison"]
    ids = await register(platform, names)
    await publish_store(platform, broker)
    group = f"crm-test.echo.{uuid4().hex[:6]}"

    # first member: reacts to three events, then hangs mid-batch and is killed
    stuck = Echo(platform.store)
    stuck.gate = asyncio.Event()
    first = kafka_echo(platform, broker, stuck, group)
    task = asyncio.create_task(first.run())
    await until(lambda: stuck.seen >= 3, 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # the batch in hand was never committed: the next member gets it again (a partition the
    # first member had finished and committed before it hung is not re-delivered)
    echo = Echo(platform.store)
    second = kafka_echo(platform, broker, echo, group)
    task = asyncio.create_task(second.run())
    async with asyncio.timeout(60):
        while len(await echoes(platform.store)) < len(names) - 1 or not await poisoned(platform):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert echo.calls >= 1  # the re-delivered events reached the second member
    await second.stop(task)
    counts = await echoes(platform.store)
    assert len(counts) == len(names) - 1
    assert set(counts.values()) == {1}  # the three re-delivered reactions appended nothing
    assert sorted(counts) == sorted(f"echo-{i}" for i in ids[:-1])
    letters = [
        letter
        for letter in await platform.read_store.dead_letters()
        if letter.projection == "reaction:echo"
    ]
    assert len(letters) == 1
    assert "poison" in letters[0].error

    # and the group's offsets now stand after everything: a third member gets nothing
    idle = Echo(platform.store)
    third = kafka_echo(platform, broker, idle, group)
    task = asyncio.create_task(third.run())
    await asyncio.wait_for(third.assigned.wait(), 30)
    await asyncio.sleep(1.0)
    await third.stop(task)
    assert idle.calls == 0
