"""The in-memory event store against the contract. ``reopen`` opens a second store over the
same log, as another process opens the same SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from crm.kernel.adapters.memory.event_store import EventLog, InMemoryEventStore
from crm.kernel.adapters.urls import open_event_store
from crm.kernel.event_store import NO_STREAM, EventStore
from tests.conftest import new_event
from tests.contract.event_store_contract import EventStoreContract, sid

pytestmark = pytest.mark.contract


@pytest.fixture
def log() -> EventLog:
    return EventLog()


@pytest.fixture
async def event_store(log: EventLog) -> AsyncIterator[EventStore]:
    store = InMemoryEventStore(log)
    yield store
    await store.close()


@pytest.fixture
def reopen(log: EventLog) -> Callable[[], EventStore]:
    return lambda: InMemoryEventStore(log)


class TestInMemoryEventStore(EventStoreContract):
    pass


async def test_a_closed_store_refuses_appends_and_leaves_the_log_to_the_others(
    log: EventLog,
) -> None:
    store, other = InMemoryEventStore(log), InMemoryEventStore(log)
    s = sid()
    await store.append(s, [new_event()], NO_STREAM)
    await store.close()
    with pytest.raises(RuntimeError):
        await store.append(sid(), [new_event()], NO_STREAM)
    assert len(await other.read_stream(s)) == 1


async def test_memory_urls_open_private_or_named_stores() -> None:
    private, another = open_event_store("memory://"), open_event_store("memory://")
    named, same = open_event_store("memory://url-test"), open_event_store("memory:///url-test")
    s = sid()
    await private.append(s, [new_event()], NO_STREAM)
    await named.append(s, [new_event()], NO_STREAM)
    assert await another.read_stream(s) == []
    assert len(await same.read_stream(s)) == 1
    for store in (private, another, named, same):
        await store.close()
