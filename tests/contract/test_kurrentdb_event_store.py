"""The KurrentDB/EventStoreDB event store against the contract, through the real
``kurrentdbclient`` over real gRPC.

Two targets, one parametrized fixture:

- ``test-server``, always: the in-process server of :mod:`tests.support.kurrent_server`. It
  proves our use of the client (requests, expected versions, error mapping, filters,
  catch-up subscriptions, idempotency protocol) over real gRPC, NOT the real server's
  behaviour.
- ``real-server``, when ``CRM_TEST_ESDB_URL`` is set (``esdb://``, ``kurrentdb://`` or their
  ``+discover`` forms, e.g. ``esdb://127.0.0.1:2113?Tls=false``): the same contract against
  KurrentDB itself. Skipped otherwise, with the reason.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from uuid import uuid4

import pytest
from kurrentdbclient import StreamState

from crm.events import EventMetadata, NewEvent
from crm.kernel.adapters.kurrentdb import KurrentDBEventStore, client_url
from crm.kernel.adapters.kurrentdb.event_store import key_stream
from crm.kernel.errors import WrongExpectedVersion
from crm.kernel.event_store import ANY_VERSION, NO_STREAM, AppendResult, EventStore, Idempotency
from tests.conftest import T0, new_event
from tests.contract.event_store_contract import EventStoreContract, sid
from tests.support.kurrent_server import KurrentTestServer

pytestmark = pytest.mark.contract

REAL_URL = os.environ.get("CRM_TEST_ESDB_URL", "")


@pytest.fixture(
    params=[
        "test-server",
        pytest.param(
            "real-server",
            marks=pytest.mark.skipif(
                not REAL_URL, reason="CRM_TEST_ESDB_URL is not set: no KurrentDB server here"
            ),
        ),
    ]
)
async def esdb_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if request.param == "real-server":
        yield REAL_URL
        return
    async with KurrentTestServer() as server:
        yield server.url


@pytest.fixture
async def event_store(esdb_url: str) -> AsyncIterator[EventStore]:
    store = KurrentDBEventStore(esdb_url)
    yield store
    await store.close()


@pytest.fixture
def reopen(esdb_url: str) -> Callable[[], EventStore]:
    return lambda: KurrentDBEventStore(esdb_url)


class TestKurrentDBEventStore(EventStoreContract):
    gap_free_positions = False
    unique_event_ids_across_streams = False


# -- what only this adapter has to show ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("esdb://h:2113?Tls=false", "kurrentdb://h:2113?Tls=false"),
        ("esdb+discover://a:2113,b:2113", "kurrentdb+discover://a:2113,b:2113"),
        ("kurrentdb://h:2113?Tls=false", "kurrentdb://h:2113?Tls=false"),
        ("KurrentDB+Discover://h", "kurrentdb+discover://h"),
    ],
)
def test_esdb_urls_become_client_urls(url: str, expected: str) -> None:
    assert client_url(url) == expected


def test_other_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="not a KurrentDB URL"):
        client_url("postgresql://h/db")


async def test_esdb_and_discover_urls_reach_the_server() -> None:
    async with KurrentTestServer() as server:
        port = server.port
        for url in (
            f"esdb://127.0.0.1:{port}?Tls=false",
            f"esdb+discover://127.0.0.1:{port}?Tls=false",  # through gossip
        ):
            store = KurrentDBEventStore(url)
            try:
                result = await store.append(sid(), [new_event()], NO_STREAM)
                assert await store.head_position() == result.position
            finally:
                await store.close()


async def test_positions_are_commit_positions_and_skip_system_records() -> None:
    """The log opens with a system record and positions are sparse: the store exposes the
    server's commit positions and hides the system stream."""
    async with KurrentTestServer() as server:
        store = KurrentDBEventStore(server.url)
        try:
            assert await store.head_position() == 0
            a = await store.append(sid(), [new_event(), new_event()], NO_STREAM)
            everything = [e async for p in store.read_all() for e in p]
            assert [e.position for e in everything][-1] == a.position
            assert everything[0].position > 1
            assert everything[1].position - everything[0].position > 1
            assert all(not e.stream_id.startswith("$") for e in everything)
            recorded = [r for r in server.log.records if not r.stream.startswith("$")]
            assert [r.position for r in recorded] == [e.position for e in everything]
        finally:
            await store.close()


async def test_idempotency_records_stay_out_of_the_global_log(event_store: EventStore) -> None:
    start = await event_store.head_position()
    key = Idempotency(f"k-{uuid4()}", "h")
    result = await event_store.append(sid(), [new_event(n=5)], NO_STREAM, idempotency=key)
    seen = [e async for p in event_store.read_all(start) for e in p]
    assert [e.payload for e in seen] == [{"n": 5}]
    assert await event_store.head_position() == result.position


async def test_a_failed_append_under_a_key_frees_the_key(event_store: EventStore) -> None:
    s = sid()
    await event_store.append(s, [new_event()], NO_STREAM)
    key = Idempotency(f"k-{uuid4()}", "h")
    with pytest.raises(WrongExpectedVersion):
        await event_store.append(s, [new_event()], NO_STREAM, idempotency=key)
    assert await event_store.idempotent_result(key) is None
    # the same key, now with the right expectation (or even another request), goes through
    other = Idempotency(key.key, "h2")
    result = await event_store.append(s, [new_event()], 0, idempotency=other)
    assert (result.stream_version, result.replayed) == (1, False)
    assert await event_store.idempotent_result(other) == AppendResult(
        result.stream_id, 1, result.position, replayed=True
    )


async def test_a_claim_left_by_a_crash_is_completed_by_the_retry() -> None:
    """A process died after claiming a key and before appending: the retry of the same
    request finds its own claim, appends once and records the result."""
    async with KurrentTestServer() as server:
        store = KurrentDBEventStore(server.url)
        try:
            s = sid()
            key = Idempotency(f"k-{uuid4()}", "h")
            await store._client.append_to_stream(  # what the crashed process managed to do
                key_stream(key.key),
                events=[store._key_event("crm.idempotency.claimed", key, s)],
                current_version=StreamState.NO_STREAM,
            )
            assert await store.idempotent_result(key) is None
            result = await store.append(s, [new_event()], NO_STREAM, idempotency=key)
            assert not result.replayed
            assert len(await store.read_stream(s)) == 1
            again = await store.append(s, [new_event()], NO_STREAM, idempotency=key)
            assert again.replayed
            assert again.position == result.position
        finally:
            await store.close()


async def test_envelope_fields_round_trip_through_the_server(event_store: EventStore) -> None:
    s = sid("customer")
    cause = uuid4()
    e = NewEvent(
        event_id=uuid4(),
        event_type="customer.registered",
        schema_version=3,
        payload={"name": "Ada", "tags": ["a", "b"], "n": 1},
        occurred_at=T0,
        metadata=EventMetadata(tenant="t9", actor="u7", correlation_id=uuid4(), causation_id=cause),
    )
    await event_store.append(s, [e], NO_STREAM)
    [got] = await event_store.read_stream(s)
    assert (got.event_id, got.event_type, got.schema_version) == (e.event_id, e.event_type, 3)
    assert (got.tenant, got.actor, got.causation_id) == ("t9", "u7", cause)
    assert got.correlation_id == e.metadata.correlation_id
    assert got.payload == e.payload
    assert got.category == "customer"


async def test_any_version_append_reports_its_own_version_among_concurrent_writers(
    event_store: EventStore,
) -> None:
    s = sid()
    results = await asyncio.gather(
        *(event_store.append(s, [new_event(n=i)], ANY_VERSION) for i in range(10))
    )
    read = {e.payload["n"]: e for e in await event_store.read_stream(s)}
    for i, r in enumerate(results):
        assert (r.stream_version, r.position) == (read[i].stream_version, read[i].position)


async def test_subscription_survives_a_server_restart() -> None:
    """The connection drops (the server stops and comes back on the same port): the
    subscription reconnects and resumes after the last position it delivered."""
    server = await KurrentTestServer().start()
    port = server.port
    store = KurrentDBEventStore(server.url)
    seen: list[int] = []
    try:
        await store.append(sid(), [new_event(n=0)], NO_STREAM)
        got_two = asyncio.Event()

        async def follow() -> None:
            async for page in store.subscribe(0, categories={"thing"}):
                seen.extend(e.payload["n"] for e in page)
                if len(seen) >= 2:
                    got_two.set()
                    return

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.1)
        await server.stop()
        restarted = await KurrentTestServer(port=port, log=server.log).start()
        writer = KurrentDBEventStore(restarted.url)
        try:
            await writer.append(sid(), [new_event(n=1)], NO_STREAM)
            await asyncio.wait_for(got_two.wait(), timeout=10)
            await task
        finally:
            await writer.close()
            await restarted.stop()
    finally:
        await store.close()
        await server.stop()
    assert seen == [0, 1]


async def test_a_resubscription_starts_from_the_last_filter_checkpoint() -> None:
    """After a run of events outside its categories, a subscription that loses its connection
    resumes from the server's last filter checkpoint, not from its last delivered event: the
    foreign events are not scanned again."""
    async with KurrentTestServer() as server:
        store = KurrentDBEventStore(server.url)
        seen: list[int] = []
        try:
            await store.append(sid("apple"), [new_event(n=0)], NO_STREAM)
            first = asyncio.Event()
            second = asyncio.Event()

            async def follow() -> None:
                async for page in store.subscribe(0, categories={"apple"}):
                    seen.extend(e.payload["n"] for e in page)
                    (second if len(seen) >= 2 else first).set()
                    if len(seen) >= 2:
                        return

            task = asyncio.create_task(follow())
            await asyncio.wait_for(first.wait(), timeout=5)
            apple_position = server.log.records[-1].position
            for i in range(40):
                await store.append(sid("pear"), [new_event(n=i)], NO_STREAM)
            pear_position = server.log.records[-1].position
            await asyncio.sleep(0.2)  # the server sends its checkpoint as it catches up
            await server.stop()
            restarted = await KurrentTestServer(port=server.port, log=server.log).start()
            try:
                await store.append(sid("apple"), [new_event(n=1)], NO_STREAM)
                await asyncio.wait_for(second.wait(), timeout=10)
                await task
            finally:
                await restarted.stop()
        finally:
            await store.close()
    assert seen == [0, 1]
    assert server.log.subscribed_from[0] is None
    assert server.log.subscribed_from[-1] == pear_position > apple_position
