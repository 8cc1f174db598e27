"""The event store contract: every EventStore adapter runs these tests unchanged.

An adapter's test module defines an async ``event_store`` fixture and a ``reopen`` fixture
(opening the same store again, as another process would), then subclasses
:class:`EventStoreContract`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import uuid4

import pytest

from crm.kernel.errors import DuplicateEventId, IdempotencyKeyReused, WrongExpectedVersion
from crm.kernel.event_store import ANY_VERSION, NO_STREAM, EventStore, Idempotency
from tests.conftest import new_event


def sid(category: str = "thing") -> str:
    return f"{category}-{uuid4()}"


class EventStoreContract:
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
        assert read[0].position + 1 == read[1].position
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
        assert positions == list(range(start + 1, start + 61))
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
        assert await event_store.head_position() == start + 7

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
