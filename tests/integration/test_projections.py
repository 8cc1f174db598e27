"""The projection runner: rebuilds equal incremental projection, redelivery changes nothing,
a poison event is dead-lettered and the runner moves on, and a rebuild never loses an event
written while it ran."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from crm.customer.application.customer_commands import (
    AssignOwner,
    ClaimFromPool,
    LogInteraction,
    RegisterCustomer,
    ReleaseToPool,
    TagCustomer,
    UpdateProfile,
)
from crm.customer.domain.customer import Profile
from crm.customer.projections.customers import COLLECTION, CustomersProjection
from crm.events import EventMetadata
from crm.events.customer import Channel, CustomerKind, CustomerTagged, Direction
from crm.kernel.errors import NotFound, RuleViolated
from crm.kernel.event_store import NO_STREAM
from crm.kernel.projection import ProjectionRunner, rebuild
from crm.kernel.read_store import Checkpoint, Query
from crm.kernel.repository import CommandContext
from crm.platform.bootstrap import Platform
from tests.conftest import T0, new_event

pytestmark = pytest.mark.integration


def ctx(actor: str = "boss", role: str = "manager", minutes: int = 0) -> CommandContext:
    return CommandContext(
        actor=actor, role=role, tenant="default", now=T0 + timedelta(minutes=minutes)
    )


async def history(platform: Platform, customers: int, seed: int = 7) -> list[str]:
    """A varied history through the real command path."""
    rnd = random.Random(seed)
    bus = platform.runtime.commands
    ids = []
    for i in range(customers):
        result = await bus.execute(
            RegisterCustomer(
                Profile(
                    kind=CustomerKind.PERSON,
                    name=f"Person {seed}-{i}",
                    email=f"p{seed}-{i}@example.com",
                ),
                owner_id=None if i % 3 else f"rep-{i % 4}",
                # distinct people: no duplicate check, which would wait (read_wait_seconds)
                # for a customers read model that no runner follows in these tests
                confirm_distinct=True,
            ),
            ctx(minutes=i),
        )
        ids.append(result.stream_id.partition("-")[2])
    for step in range(customers * 4):
        cid = rnd.choice(ids)
        action = rnd.randrange(6)
        try:
            if action == 0:
                tag = rnd.choice(["vip", "newsletter", "churn-risk"])
                await bus.execute(TagCustomer(cid, tag), ctx(minutes=step))
            elif action == 1:
                region = rnd.choice(["EU", "US"])
                await bus.execute(UpdateProfile(cid, {"region": region}), ctx(minutes=step))
            elif action == 2:
                await bus.execute(
                    LogInteraction(
                        cid,
                        channel=rnd.choice(list(Channel)),
                        direction=Direction.INBOUND,
                        summary=f"note {step}",
                    ),
                    ctx(minutes=step),
                )
            elif action == 3:
                await bus.execute(ClaimFromPool(cid), ctx(f"rep-{step % 4}", "sales_rep", step))
            elif action == 4:
                await bus.execute(ReleaseToPool(cid, "rotation"), ctx(minutes=step))
            else:
                await bus.execute(AssignOwner(cid, f"rep-{step % 5}"), ctx(minutes=step))
        except (RuleViolated, NotFound):  # a rule refusing a random command is realistic too
            pass
    return ids


async def snapshot(platform: Platform) -> dict[str, Any]:
    page = await platform.read_store.find(COLLECTION, Query(limit=100_000))
    return {d["id"]: d for d in page.items}


async def test_a_rebuild_gives_the_same_read_model_as_incremental_projection(
    platform: Platform,
) -> None:
    await history(platform, 40)
    runner = ProjectionRunner(
        CustomersProjection(),
        platform.store,
        platform.read_store,
        platform.runtime.codec,
        batch_size=7,
    )
    await runner.catch_up()
    incremental = await snapshot(platform)
    assert len(incremental) == 40
    seen: list[tuple[int, int]] = []
    position = await rebuild(
        CustomersProjection(),
        platform.store,
        platform.read_store,
        platform.runtime.codec,
        progress=lambda p, h: seen.append((p, h)),
    )
    assert position == await platform.store.head_position()
    assert await snapshot(platform) == incremental
    assert seen
    assert seen[-1][0] == seen[-1][1] == position


async def test_a_rebuild_ends_when_the_newest_events_are_other_streams(
    platform: Platform,
) -> None:
    """The projection reads only customer streams; the log ends with others. Its rebuild is
    caught up at its own last event, not at the head it will never reach."""
    await history(platform, 5)
    last_own = await platform.store.head_position()
    for _ in range(3):
        await platform.store.append(f"other-{uuid4()}", [new_event()], NO_STREAM)
    assert await platform.store.head_position() == last_own + 3
    seen: list[tuple[int, int]] = []
    position = await asyncio.wait_for(
        rebuild(
            CustomersProjection(),
            platform.store,
            platform.read_store,
            platform.runtime.codec,
            progress=lambda p, h: seen.append((p, h)),
        ),
        timeout=20,
    )
    assert position == last_own
    assert seen[-1][0] == seen[-1][1]  # the progress bar ends full
    assert len(await snapshot(platform)) == 5


async def test_redelivered_events_change_nothing(platform: Platform) -> None:
    await history(platform, 10)
    projection = CustomersProjection()
    runner = ProjectionRunner(
        projection, platform.store, platform.read_store, platform.runtime.codec
    )
    await runner.catch_up()
    before = await snapshot(platform)
    # rewind the checkpoint but keep the documents: every event is delivered a second time
    cp = await platform.read_store.checkpoint(projection.name)
    await platform.read_store.commit(projection.name, [], checkpoint=0, expected=cp)
    again = ProjectionRunner(
        projection, platform.store, platform.read_store, platform.runtime.codec, batch_size=3
    )
    await again.catch_up()
    assert await snapshot(platform) == before


async def test_a_poison_event_goes_to_dead_letters_and_the_runner_moves_on(
    platform: Platform,
) -> None:
    ids = await history(platform, 3)
    meta = EventMetadata(tenant="default", actor="bug", correlation_id=uuid4())
    ghost = f"customer-{uuid4()}"
    [poison] = await platform.runtime.codec.encode(ghost, [CustomerTagged(tag="x")], meta, T0)
    await platform.store.append(ghost, [poison], NO_STREAM)
    [undecodable] = await platform.runtime.codec.encode(
        f"customer-{ids[0]}", [CustomerTagged(tag="y")], meta, T0
    )
    broken = type(undecodable)(
        undecodable.event_id,
        "customer.tagged",
        1,
        {"tag": 42, "colour": "red"},
        undecodable.occurred_at,
        undecodable.metadata,
    )
    await platform.store.append(f"customer-{ids[0]}", [broken], -2)
    after = await platform.runtime.commands.execute(TagCustomer(ids[1], "after-the-poison"), ctx())
    runner = ProjectionRunner(
        CustomersProjection(), platform.store, platform.read_store, platform.runtime.codec
    )
    await runner.catch_up()
    assert runner.position == after.position
    letters = await platform.read_store.dead_letters("customers")
    assert [letter.event_id for letter in letters] == [str(poison.event_id), str(broken.event_id)]
    assert "never registered" in letters[0].error
    assert "validation error" in letters[1].error.lower()
    doc = await platform.read_store.get(COLLECTION, ids[1])
    assert doc is not None
    assert "after-the-poison" in doc["tags"]


async def test_a_rebuild_while_the_live_runner_follows_loses_nothing(platform: Platform) -> None:
    ids = await history(platform, 30)
    projection = CustomersProjection()
    live = ProjectionRunner(
        projection, platform.store, platform.read_store, platform.runtime.codec, batch_size=5
    )
    await live.catch_up()
    task = asyncio.create_task(live.run())
    bus = platform.runtime.commands
    stop = asyncio.Event()

    async def keep_writing() -> int:
        n = 0
        while not stop.is_set():
            await bus.execute(TagCustomer(ids[n % len(ids)], f"t{n}"), ctx(minutes=n))
            n += 1
            await asyncio.sleep(0)
        return n

    writer = asyncio.create_task(keep_writing())
    await asyncio.sleep(0.05)
    await rebuild(
        projection, platform.store, platform.read_store, platform.runtime.codec, batch_size=50
    )
    await asyncio.sleep(0.05)
    stop.set()
    written = await writer
    assert written > 0
    head = await platform.store.head_position()
    reached = await platform.read_store.wait_for_checkpoint(projection.name, head, timeout=10)
    assert reached == head
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    followed = await snapshot(platform)
    assert (await platform.read_store.checkpoint(projection.name)).epoch == 1
    await rebuild(projection, platform.store, platform.read_store, platform.runtime.codec)
    assert await snapshot(platform) == followed
    tags = {t for d in followed.values() for t in d["tags"]}
    assert {f"t{n}" for n in range(written)} <= tags


async def test_runner_resumes_from_its_checkpoint(platform: Platform) -> None:
    await history(platform, 5)
    projection = CustomersProjection()
    first = ProjectionRunner(
        projection, platform.store, platform.read_store, platform.runtime.codec
    )
    await first.catch_up()
    head = await platform.store.head_position()
    assert (await platform.read_store.checkpoint(projection.name)) == Checkpoint(head, 0)
    await history(platform, 2, seed=8)
    second = ProjectionRunner(
        projection, platform.store, platform.read_store, platform.runtime.codec
    )
    await second.prepare()
    assert second.position == head
    await second.catch_up()
    assert second.position == await platform.store.head_position()
    assert len(await snapshot(platform)) == 7
