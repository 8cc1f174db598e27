"""The SQLite event store's in-process commit feed (:mod:`crm.kernel.adapters.sqlite.feed`):
subscribers take the pages of this process's commits from memory, only the subscribers of the
categories a commit touched wake up, and whatever the feed does not hold (a writer in another
process, a subscriber far behind) is still read from the file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from crm.events import EventEnvelope
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.adapters.sqlite.feed import CommitFeed
from crm.kernel.event_store import ANY_VERSION, NO_STREAM
from tests.conftest import new_event

pytestmark = pytest.mark.contract


def envelope(position: int, category: str = "customer") -> EventEnvelope:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    return EventEnvelope(
        event_id=uuid4(),
        event_type="test.happened",
        schema_version=1,
        stream_id=f"{category}-{position}",
        stream_version=0,
        position=position,
        occurred_at=now,
        recorded_at=now,
        tenant="t1",
        actor="tester",
        correlation_id=uuid4(),
        causation_id=None,
        payload={"n": position},
    )


def positions(page: list[EventEnvelope]) -> list[int]:
    return [e.position for e in page]


def test_the_feed_holds_nothing_before_its_first_commit() -> None:
    assert CommitFeed().take(0, None, 10) is None


def test_a_subscriber_takes_what_follows_its_position_filtered_by_category() -> None:
    feed = CommitFeed()
    feed.publish(10, [envelope(11), envelope(12, "lead"), envelope(13)])
    taken = feed.take(10, None, 10)
    assert taken is not None
    assert positions(taken[0]) == [11, 12, 13]
    assert taken[1] == 13
    leads = feed.take(10, frozenset({"lead"}), 10)
    assert leads is not None
    assert positions(leads[0]) == [12]
    assert leads[1] == 13
    tickets = feed.take(11, frozenset({"ticket"}), 10)
    assert tickets == ([], 13)  # looked at up to 13, none of its own
    first = feed.take(10, frozenset({"customer"}), 1)
    assert first is not None
    assert positions(first[0]) == [11]
    assert first[1] == 11


def test_a_position_before_the_feed_or_across_a_gap_must_read_the_file() -> None:
    feed = CommitFeed()
    feed.publish(10, [envelope(11)])
    assert feed.take(9, None, 10) is None  # position 10 was never in the feed
    # another process appended 12 and 13: this process's next commit is 14
    feed.publish(13, [envelope(14)])
    assert feed.take(11, None, 10) is None  # 12 and 13 are only in the file
    taken = feed.take(13, None, 10)
    assert taken is not None
    assert positions(taken[0]) == [14]


def test_the_feed_keeps_a_bounded_tail() -> None:
    feed = CommitFeed(capacity=4)
    for p in range(1, 21):
        feed.publish(p - 1, [envelope(p)])
    assert feed.take(0, None, 100) is None
    taken = feed.take(16, None, 100)
    assert taken is not None
    assert positions(taken[0]) == [17, 18, 19, 20]


async def test_only_the_subscribers_of_a_commits_categories_wake() -> None:
    feed = CommitFeed()
    seen = feed.generation
    lead_waiter = asyncio.create_task(feed.wait(seen, frozenset({"lead"}), 30))
    all_waiter = asyncio.create_task(feed.wait(seen, None, 30))
    await asyncio.sleep(0)
    assert feed.waiting() == 2
    feed.publish(0, [envelope(1, "customer")])
    assert await asyncio.wait_for(all_waiter, 5) is True
    await asyncio.sleep(0.01)
    assert not lead_waiter.done()
    assert feed.waiting() == 1
    feed.publish(1, [envelope(2, "lead")])
    assert await asyncio.wait_for(lead_waiter, 5) is True
    assert feed.waiting() == 0


async def test_a_commit_between_looking_and_waiting_is_not_missed() -> None:
    feed = CommitFeed()
    seen = feed.generation
    feed.publish(0, [envelope(1, "ticket")])
    assert await feed.wait(seen, frozenset({"lead"}), 30) is True  # returns at once: look again


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SqliteEventStore, SqliteEventStore]]:
    here, there = SqliteEventStore(tmp_path / "e.db"), SqliteEventStore(tmp_path / "e.db")
    yield here, there
    await there.close()
    await here.close()


async def follow(
    store: SqliteEventStore,
    categories: set[str] | None,
    into: list[EventEnvelope],
    until: int,
    progress: asyncio.Event | None = None,
) -> None:
    async for page in store.subscribe(0, batch_size=7, categories=categories):
        into.extend(page)
        if progress is not None:
            progress.set()
        if page[-1].position >= until:
            return


async def test_pages_from_the_feed_equal_pages_from_the_file(
    stores: tuple[SqliteEventStore, SqliteEventStore],
) -> None:
    store, _ = stores
    await store.append("customer-0", [new_event(n=0)], NO_STREAM)  # the feed starts here
    seen: list[EventEnvelope] = []
    task = asyncio.create_task(follow(store, None, seen, 41))
    for i in range(1, 21):
        events = [new_event(n=i, at=datetime.now(UTC).isoformat()) for _ in range(2)]
        await store.append(f"customer-{i}", events, NO_STREAM)
    await asyncio.wait_for(task, 10)
    from_file = [e async for page in store.read_all(0) for e in page]
    assert seen == from_file
    assert positions(seen) == list(range(1, 42))


async def test_commits_of_another_process_in_between_are_read_from_the_file(
    stores: tuple[SqliteEventStore, SqliteEventStore],
) -> None:
    """Two writers on one file (two processes, as far as the feed knows) append in turns; a
    subscriber of one category on the first must see every event of it, in order, once."""
    here, there = stores
    leads: list[EventEnvelope] = []
    everything: list[EventEnvelope] = []
    await here.append("customer-x", [new_event()], NO_STREAM)
    progress = asyncio.Event()
    tasks = [
        asyncio.create_task(follow(here, {"lead"}, leads, 10**9, progress)),
        asyncio.create_task(follow(here, None, everything, 10**9, progress)),
    ]
    for i in range(60):
        writer = here if i % 3 else there
        category = "lead" if i % 2 else "customer"
        await writer.append(f"{category}-{i % 5}", [new_event(n=i)], ANY_VERSION)
        if i % 7 == 0:
            await asyncio.sleep(0.01)  # a subscriber waits now and then, wakes on the next
    head = await here.head_position()
    all_leads = [e async for p in here.read_all(0, categories={"lead"}) for e in p]
    async with asyncio.timeout(10):
        while True:
            progress.clear()
            if positions(everything)[-1:] == [head] and positions(leads) == positions(all_leads):
                break
            await progress.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert positions(everything) == list(range(1, head + 1))
    assert [e.payload for e in leads] == [e.payload for e in all_leads]


async def test_a_commit_of_another_process_wakes_the_subscribers_through_one_watcher(
    stores: tuple[SqliteEventStore, SqliteEventStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the idle re-check out of the way, only the watcher of ``data_version`` can wake
    the subscribers of one store when the other store (another process) appends."""
    import crm.kernel.adapters.sqlite.event_store as module

    monkeypatch.setattr(module, "IDLE_RECHECK_SECONDS", 3600.0)
    here, there = stores
    await here.append("customer-0", [new_event()], NO_STREAM)
    got: list[list[EventEnvelope]] = [[], [], []]
    tasks = [
        asyncio.create_task(follow(there, categories, into, until))
        for categories, into, until in zip(
            ({"lead"}, None, {"customer"}), got, (2, 3, 3), strict=True
        )
    ]
    for _ in range(1000):  # each reads its first page from the file, then waits
        if there._feed.waiting() == 3:
            break
        await asyncio.sleep(0.01)
    assert there._feed.waiting() == 3
    assert len(there._watchers) == 1  # one watcher for the three subscribers
    await here.append("lead-1", [new_event()], NO_STREAM)
    await here.append("customer-1", [new_event()], NO_STREAM)
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert [positions(g) for g in got] == [[2], [1, 2, 3], [1, 3]]


async def parked(store: SqliteEventStore) -> None:
    """Until a subscriber waits on the store's feed for the next commit (one still reading
    what it was woken for would see a commit on its own, in no set order to its appender)."""
    for _ in range(5000):
        if store._feed._waiters:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("no subscriber came to wait for the next commit")


async def test_the_appender_hears_of_its_commit_before_the_subscribers_it_wakes(
    tmp_path: Path,
) -> None:
    """The writer hands each outcome to its caller before it wakes the feed's subscribers: in
    one event loop the command's answer runs first, the projections' batches after it."""
    store = SqliteEventStore(tmp_path / "e.db")
    order: list[str] = []
    pages: asyncio.Queue[None] = asyncio.Queue()
    try:
        await store.append("customer-0", [new_event()], NO_STREAM)

        async def follow() -> None:
            async for page in store.subscribe(0):
                order.extend("subscriber" for _ in page)
                pages.put_nowait(None)  # and on to wait for the next commit, in this step

        follower = asyncio.create_task(follow())
        await asyncio.wait_for(pages.get(), 5)  # the first page, from the file
        order.clear()
        for i in range(1, 4):
            await parked(store)
            await store.append(f"customer-{i}", [new_event()], NO_STREAM)
            order.append("appender")
            await asyncio.wait_for(pages.get(), 5)
        follower.cancel()
        assert order == ["appender", "subscriber"] * 3
    finally:
        await store.close()
