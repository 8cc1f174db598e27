"""The SQLite store's lazily decoded envelopes (:mod:`crm.kernel.adapters.sqlite.envelope`)
are envelopes in every way a reader can tell: equal to the plain one either way round, frozen,
the same JSON, repr, copies and pickles; a payload one reader changes is changed for no other
reader (the feed hands one envelope to every subscriber of the process); and a field that
cannot be decoded still fails, naming the event, when it is used."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import pickle
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest

from crm.events import REGISTRY, EventEnvelope, EventMetadata
from crm.events.customer import CustomerTagged
from crm.events.envelope import envelope_from_json, envelope_to_json
from crm.kernel.adapters.sqlite.envelope import CorruptEvent, StoredEnvelope
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.codec import EventCodec
from crm.kernel.event_store import NO_STREAM
from tests.conftest import T0, new_event

pytestmark = pytest.mark.contract

FIELDS = tuple(EventEnvelope.__dataclass_fields__)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteEventStore]:
    s = SqliteEventStore(tmp_path / "events.db")
    yield s
    await s.close()


def plain(e: EventEnvelope) -> EventEnvelope:
    return EventEnvelope(**{f: getattr(e, f) for f in FIELDS})


async def read_one(store: SqliteEventStore, stream: str = "customer-1") -> EventEnvelope:
    [e] = await store.read_stream(stream)
    return e


async def test_an_envelope_read_is_the_envelope_with_the_same_fields(
    store: SqliteEventStore,
) -> None:
    event = dataclasses.replace(
        new_event(name="张伟 😀", tags=["vip"], big=2**70),
        metadata=EventMetadata(
            tenant="t1", actor="tester", correlation_id=uuid4(), causation_id=uuid4()
        ),
    )
    await store.append("customer-1", [event], NO_STREAM)
    e = await read_one(store)
    assert isinstance(e, StoredEnvelope)
    same = plain(e)
    assert type(same) is EventEnvelope
    assert e == same
    assert same == e
    assert not e != same  # noqa: SIM202 (the operator itself is under test)
    assert not same != e  # noqa: SIM202
    assert e.event_id == event.event_id
    assert e.occurred_at == T0
    assert e.correlation_id == event.metadata.correlation_id
    assert e.causation_id == event.metadata.causation_id
    assert e.payload == {"name": "张伟 😀", "tags": ["vip"], "big": 2**70}
    assert repr(e) == repr(same)
    assert dataclasses.asdict(e) == dataclasses.asdict(same)
    assert envelope_to_json(e) == envelope_to_json(same)
    assert envelope_from_json(envelope_to_json(e)) == e
    assert e != dataclasses.replace(same, stream_version=1)
    assert e != object()
    assert e != None  # noqa: E711
    with pytest.raises(TypeError):  # as a plain envelope's: its payload is a dict
        hash(e)


async def test_copies_pickles_and_replace_give_plain_envelopes(store: SqliteEventStore) -> None:
    await store.append("customer-1", [new_event()], NO_STREAM)
    e = await read_one(store)
    for other in (copy.copy(e), copy.deepcopy(e), pickle.loads(pickle.dumps(e))):
        assert type(other) is EventEnvelope
        assert other == e
    moved = dataclasses.replace(e, stream_version=4)
    assert type(moved) is EventEnvelope
    assert moved.stream_version == 4
    assert moved.payload == e.payload
    assert moved.event_id == e.event_id


async def test_every_field_is_frozen(store: SqliteEventStore) -> None:
    await store.append("customer-1", [new_event()], NO_STREAM)
    e = await read_one(store)
    for name in FIELDS:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(e, name, None)
    assert e.event_id is e.event_id  # decoded once, then kept
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        e.nothing  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(e, "_nothing")
    assert e.recorded_at is e.recorded_at


async def test_changing_a_payload_read_changes_it_for_no_one_else(
    store: SqliteEventStore,
) -> None:
    """Two subscribers of one process get the same envelopes (from the feed); what one of them
    does to a payload it got (nested values too) is not seen by the other, nor by itself at
    its next read of the field."""
    got: dict[str, list[EventEnvelope]] = {"a": [], "b": []}
    ready = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def follow(name: str) -> None:
        async for page in store.subscribe(0):
            got[name].extend(page)
            ready[name].set()

    await store.append("customer-0", [new_event(n=0)], NO_STREAM)
    tasks = [asyncio.create_task(follow(n)) for n in ("a", "b")]
    try:
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready.values())), 5)
        for r in ready.values():
            r.clear()
        await store.append("customer-1", [new_event(tags=["vip"], n=1)], NO_STREAM)
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready.values())), 5)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    a, b = got["a"][-1], got["b"][-1]
    assert a is b  # one envelope for both: the feed's
    mine = a.payload
    mine["n"] = 99
    mine["tags"].append("changed")  # type: ignore[attr-defined]
    assert a.payload == {"tags": ["vip"], "n": 1}
    assert b.payload == {"tags": ["vip"], "n": 1}
    assert (await read_one(store)).payload == {"tags": ["vip"], "n": 1}


def damage(path: Path, column: str, value: object) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(f"UPDATE events SET {column} = ? WHERE stream_id = 'customer-1'", (value,))
    conn.close()


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("payload", '{"n": 1', "payload"),
        ("payload", "not json", "payload"),
        ("event_id", "not-a-uuid", "event_id"),
        ("correlation_id", "0123", "correlation_id"),
        ("causation_id", "zz" * 18, "causation_id"),
        ("occurred_at", "yesterday", "occurred_at"),
        ("recorded_at", 2**62, "recorded_at"),
    ],
)
async def test_a_field_that_cannot_be_decoded_fails_when_used(
    store: SqliteEventStore, column: str, value: object, field: str
) -> None:
    await store.append("customer-1", [new_event()], NO_STREAM)
    await store.append("customer-2", [new_event(n=2)], NO_STREAM)
    damage(store.path, column, value)
    [e] = await store.read_stream("customer-1")  # reading the row does not decode it
    with pytest.raises(CorruptEvent, match=rf"event 1 of stream 'customer-1'.* {field}"):
        getattr(e, field)
    with pytest.raises(ValueError, match="cannot be decoded"):  # as the parsers' errors are
        getattr(e, field)
    for other in ("event_id", "correlation_id", "occurred_at", "recorded_at", "payload"):
        if other != field:  # decoded with the damaged one (ids, times), yet readable
            assert getattr(e, other) is not None
    with pytest.raises(CorruptEvent):
        _ = e == plain(await read_one(store, "customer-2"))
    with pytest.raises(ValueError, match=r"event 1 of stream 'customer-1'"):  # the relay's
        envelope_to_json(e)
    pages = [p async for p in store.read_all(0)]
    assert [x.position for p in pages for x in p] == [1, 2]
    assert pages[0][1].payload == {"n": 2}  # the others are read as ever


async def test_the_codec_reports_an_unreadable_payload_for_its_event_alone(
    store: SqliteEventStore, codec: EventCodec
) -> None:
    tagged = [CustomerTagged(tag="vip"), CustomerTagged(tag="b2b")]
    meta = EventMetadata(tenant="t1", actor="tester", correlation_id=uuid4())
    for i, t in enumerate(tagged, start=1):
        [new] = await codec.encode(f"customer-{i}", [t], meta, T0)
        await store.append(f"customer-{i}", [new], NO_STREAM)
    damage(store.path, "payload", "{")
    [page] = [p async for p in store.read_all(0)]
    first, second = await codec.decode_each(page)
    assert isinstance(first, CorruptEvent)
    assert second == tagged[1]
    with pytest.raises(CorruptEvent):
        await codec.decode(page)
    assert await codec.decode(page[1:]) == [tagged[1]]
    assert REGISTRY.decode("customer.tagged", 1, page[1].payload) == tagged[1]
