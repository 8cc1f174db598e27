"""The event store contract: every EventStore adapter runs these tests unchanged.

An adapter's test module defines an async ``event_store`` fixture and a ``reopen`` fixture
(opening the same store again, as another process would), then subclasses
:class:`EventStoreContract`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import ClassVar
from uuid import uuid4

import pytest

from crm.kernel.errors import DuplicateEventId, IdempotencyKeyReused, WrongExpectedVersion
from crm.kernel.event_store import ANY_VERSION, NO_STREAM, EventStore, Idempotency
from tests.conftest import new_event


def sid(category: str = "thing") -> str:
    return f"{category}-{uuid4()}"


class EventStoreContract:
    gap_free_positions: ClassVar[bool] = True
    """Capability: positions are 1, 2, 3... (the port's promise). An adapter over a store
    whose global order is sparse (KurrentDB's commit positions) sets False: the tests then
    check that positions grow in commit order instead of adjacency."""
    unique_event_ids_across_streams: ClassVar[bool] = True
    """Capability: an event id is refused in any stream once recorded. KurrentDB only
    deduplicates ids within a stream, so its adapter sets False."""

    async def test_append_to_a_new_stream_and_read_it_back(self, event_store: EventStore) -> None:
        s = sid()
        events = [new_event(n=1), new_event(n=2)]
        result = await event_store.append(s, events, NO_STREAM)
        assert result.stream_version == 1
        read = await event_store.read_stream(s)
        assert [e.event_id for e in read] == [e.event_id for e in events]
        assert [e.stream_version for e in read] == [0, 1]
        assert [e.payload for e in read] == [{"n": 1}, {"n": 2}]
        assert read[-1].position == result.position
        if self.gap_free_positions:
            assert read[0].position + 1 == read[1].position
        else:
            assert read[0].position < read[1].position
        first = read[0]
        assert first.stream_id == s
        assert first.event_type == "test.happened"
        assert first.tenant == "t1"
        assert first.actor == "tester"
        assert first.correlation_id == events[0].metadata.correlation_id
        assert first.occurred_at == events[0].occurred_at
        assert first.recorded_at.tzinfo is not None

    async def test_reading_a_missing_stream_gives_nothing(self, event_store: EventStore) -> None:
        assert await event_store.read_stream(sid()) == []

    async def test_read_stream_after_a_version(self, event_store: EventStore) -> None:
        s = sid()
        await event_store.append(s, [new_event(n=i) for i in range(5)], NO_STREAM)
        tail = await event_store.read_stream(s, after_version=2)
        assert [e.payload["n"] for e in tail] == [3, 4]

    async def test_expected_version_must_match(self, event_store: EventStore) -> None:
        s = sid()
        await event_store.append(s, [new_event()], NO_STREAM)
        with pytest.raises(WrongExpectedVersion) as info:
            await event_store.append(s, [new_event()], NO_STREAM)
        assert info.value.actual == 0
        with pytest.raises(WrongExpectedVersion):
            await event_store.append(s, [new_event()], 5)
        result = await event_store.append(s, [new_event()], 0)
        assert result.stream_version == 1
        assert len(await event_store.read_stream(s)) == 2

    async def test_a_failed_append_writes_nothing(self, event_store: EventStore) -> None:
        s = sid()
        await event_store.append(s, [new_event()], NO_STREAM)
        head = await event_store.head_position()
        with pytest.raises(WrongExpectedVersion):
            await event_store.append(s, [new_event(), new_event()], NO_STREAM)
        assert await event_store.head_position() == head
        assert len(await event_store.read_stream(s)) == 1

    async def test_any_version_appends_whatever_the_version(self, event_store: EventStore) -> None:
        s = sid()
        await event_store.append(s, [new_event()], ANY_VERSION)
        result = await event_store.append(s, [new_event()], ANY_VERSION)
        assert result.stream_version == 1

    async def test_event_ids_are_unique(self, event_store: EventStore) -> None:
        if not self.unique_event_ids_across_streams:
            pytest.skip("this store deduplicates event ids per stream only")
        e = new_event()
        await event_store.append(sid(), [e], NO_STREAM)
        with pytest.raises(DuplicateEventId):
            await event_store.append(sid(), [e], NO_STREAM)

    async def test_twenty_concurrent_appends_with_one_expected_version_one_wins(
        self, event_store: EventStore
    ) -> None:
        s = sid()
        await event_store.append(s, [new_event()], NO_STREAM)
        outcomes = await asyncio.gather(
            *(event_store.append(s, [new_event(n=i)], 0) for i in range(20)),
            return_exceptions=True,
        )
        wins = [o for o in outcomes if not isinstance(o, BaseException)]
        losses = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(wins) == 1
        assert len(losses) == 19
        assert all(isinstance(o, WrongExpectedVersion) for o in losses)
        assert len(await event_store.read_stream(s)) == 2

    async def test_concurrent_appends_to_many_streams_keep_a_gap_free_log(
        self, event_store: EventStore
    ) -> None:
        start = await event_store.head_position()
        streams = [sid() for _ in range(30)]
        await asyncio.gather(
            *(event_store.append(s, [new_event(), new_event()], NO_STREAM) for s in streams)
        )
        positions = [e.position async for page in event_store.read_all(start) for e in page]
        if self.gap_free_positions:
            assert positions == list(range(start + 1, start + 61))
        else:
            assert len(positions) == 60
            assert positions == sorted(set(positions))
            assert positions[0] > start
        for s in streams:
            versions = [e.stream_version for e in await event_store.read_stream(s)]
            assert versions == [0, 1]

    async def test_read_all_pages_through_the_log_in_order(self, event_store: EventStore) -> None:
        start = await event_store.head_position()
        for i in range(7):
            await event_store.append(sid(), [new_event(n=i)], NO_STREAM)
        pages = [page async for page in event_store.read_all(start, batch_size=3)]
        assert [len(p) for p in pages] == [3, 3, 1]
        assert [e.payload["n"] for p in pages for e in p] == list(range(7))
        if self.gap_free_positions:
            assert await event_store.head_position() == start + 7
        else:
            assert await event_store.head_position() == pages[-1][-1].position

    async def test_read_all_filters_by_category(self, event_store: EventStore) -> None:
        start = await event_store.head_position()
        await event_store.append(sid("apple"), [new_event(n=1)], NO_STREAM)
        await event_store.append(sid("pear"), [new_event(n=2)], NO_STREAM)
        await event_store.append(sid("apple"), [new_event(n=3)], NO_STREAM)
        apples = [e async for p in event_store.read_all(start, categories={"apple"}) for e in p]
        assert [e.payload["n"] for e in apples] == [1, 3]
        assert all(e.category == "apple" for e in apples)

    async def test_subscription_catches_up_then_follows_live_appends(
        self, event_store: EventStore
    ) -> None:
        start = await event_store.head_position()
        await event_store.append(sid(), [new_event(n=0)], NO_STREAM)
        seen: list[int] = []
        done = asyncio.Event()

        async def follow() -> None:
            async for page in event_store.subscribe(start):
                seen.extend(e.payload["n"] for e in page)
                if len(seen) >= 3:
                    done.set()
                    return

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.05)
        await event_store.append(sid(), [new_event(n=1)], NO_STREAM)
        await event_store.append(sid(), [new_event(n=2)], NO_STREAM)
        await asyncio.wait_for(done.wait(), timeout=5)
        await task
        assert seen == [0, 1, 2]

    async def test_a_live_subscriber_is_woken_promptly(self, event_store: EventStore) -> None:
        start = await event_store.head_position()
        got = asyncio.Event()

        async def follow() -> None:
            async for _ in event_store.subscribe(start):
                got.set()
                return

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        sent = loop.time()
        await event_store.append(sid(), [new_event()], NO_STREAM)
        await asyncio.wait_for(got.wait(), timeout=5)
        await task
        assert loop.time() - sent < 0.2  # woken by the commit, not by the idle re-check

    async def test_idempotency_key_appends_once_and_replays_the_result(
        self, event_store: EventStore
    ) -> None:
        s = sid()
        key = Idempotency(f"k-{uuid4()}", "hash-1")
        first = await event_store.append(s, [new_event()], NO_STREAM, idempotency=key)
        again = await event_store.append(s, [new_event()], NO_STREAM, idempotency=key)
        assert again.replayed
        assert (again.stream_id, again.stream_version, again.position) == (
            first.stream_id,
            first.stream_version,
            first.position,
        )
        assert len(await event_store.read_stream(s)) == 1
        assert await event_store.idempotent_result(key) == again

    async def test_idempotency_key_with_another_request_is_refused(
        self, event_store: EventStore
    ) -> None:
        key = f"k-{uuid4()}"
        await event_store.append(sid(), [new_event()], NO_STREAM, idempotency=Idempotency(key, "a"))
        with pytest.raises(IdempotencyKeyReused):
            await event_store.append(
                sid(), [new_event()], NO_STREAM, idempotency=Idempotency(key, "b")
            )
        with pytest.raises(IdempotencyKeyReused):
            await event_store.idempotent_result(Idempotency(key, "b"))
        assert await event_store.idempotent_result(Idempotency(f"k-{uuid4()}", "a")) is None

    async def test_concurrent_requests_with_one_key_append_once(
        self, event_store: EventStore
    ) -> None:
        s = sid()
        key = Idempotency(f"k-{uuid4()}", "same")
        results = await asyncio.gather(
            *(event_store.append(s, [new_event()], ANY_VERSION, idempotency=key) for _ in range(10))
        )
        assert len(await event_store.read_stream(s)) == 1
        assert len({r.position for r in results}) == 1
        assert sum(not r.replayed for r in results) == 1

    async def test_a_key_is_recorded_even_for_an_append_of_no_events(
        self, event_store: EventStore
    ) -> None:
        s = sid()
        await event_store.append(s, [new_event()], NO_STREAM)
        key = Idempotency(f"k-{uuid4()}", "h")
        result = await event_store.append(s, [], 0, idempotency=key)
        assert (result.stream_version, result.replayed) == (0, False)
        assert (await event_store.idempotent_result(key)) is not None

    async def test_cancelled_appends_leave_the_store_working(self, event_store: EventStore) -> None:
        """A caller that stops waiting (a client gone, a job cancelled at shutdown) may or may
        not have had its append written, but the store must go on serving everyone else."""
        for i in range(50):
            task = asyncio.create_task(event_store.append(sid(), [new_event(n=i)], NO_STREAM))
            await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        s = sid()
        result = await asyncio.wait_for(event_store.append(s, [new_event()], NO_STREAM), 10)
        assert result.stream_version == 0
        assert len(await event_store.read_stream(s)) == 1

    async def test_everything_survives_reopening(
        self, event_store: EventStore, reopen: Callable[[], EventStore]
    ) -> None:
        s = sid()
        result = await event_store.append(s, [new_event(n=7)], NO_STREAM)
        other = reopen()
        try:
            read = await other.read_stream(s)
            assert [e.payload for e in read] == [{"n": 7}]
            assert await other.head_position() >= result.position
            with pytest.raises(WrongExpectedVersion):
                await other.append(s, [new_event()], NO_STREAM)
        finally:
            await other.close()

    async def test_concurrent_writers_with_tailing_readers_miss_nothing(
        self, event_store: EventStore, reopen: Callable[[], EventStore]
    ) -> None:
        """Writers append to many streams for about a second while two subscribers tail the
        log, one on the writers' store and one on another instance (as another process would):
        each must see every position exactly once, in order, with no gap. A store whose
        positions become visible out of commit order fails here."""
        start = await event_store.head_position()
        other = reopen()
        stop = asyncio.Event()
        final_head: list[int] = []
        seen_here: list[int] = []
        seen_there: list[int] = []
        progress = asyncio.Event()

        async def writer(w: int) -> int:
            streams = [sid(f"w{w}") for _ in range(5)]
            written = 0
            i = 0
            while not stop.is_set():
                s = streams[i % len(streams)]
                n = 1 + i % 3
                await event_store.append(s, [new_event(n=i) for _ in range(n)], ANY_VERSION)
                written += n
                i += 1
            return written

        async def tail(store: EventStore, seen: list[int]) -> None:
            async for page in store.subscribe(start, batch_size=50):
                seen.extend(e.position for e in page)
                progress.set()

        tails = [
            asyncio.create_task(tail(event_store, seen_here)),
            asyncio.create_task(tail(other, seen_there)),
        ]
        try:
            writers = [asyncio.create_task(writer(w)) for w in range(8)]
            await asyncio.sleep(1.2)
            stop.set()
            written = sum(await asyncio.gather(*writers))
            # a last append after the writers stopped: it is the head the tails must reach
            last = await event_store.append(sid(), [new_event()], NO_STREAM)
            final_head.append(last.position)
            # the tails may see that last event before append() returns: watch them from here
            async with asyncio.timeout(10):
                while True:
                    progress.clear()
                    if all(s and s[-1] >= last.position for s in (seen_here, seen_there)):
                        break
                    await progress.wait()
            await asyncio.sleep(0.05)  # anything delivered twice would arrive now
        finally:
            for t in tails:
                t.cancel()
            await asyncio.gather(*tails, return_exceptions=True)
            await other.close()
        if self.gap_free_positions:
            expected = list(range(start + 1, final_head[0] + 1))
        else:  # positions only grow: the log itself says which exist
            expected = [e.position async for page in event_store.read_all(start) for e in page]
            assert expected == sorted(set(expected))
            assert expected[-1] == final_head[0]
        assert written + 1 == len(expected)
        assert written > 50  # the writers really overlapped with the readers
        for seen in (seen_here, seen_there):
            missed = sorted(set(expected) - set(seen))
            assert seen == expected, f"missed {missed[:10]}, saw {len(seen)}/{len(expected)}"
