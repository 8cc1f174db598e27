"""Group ``projection``: rebuilding the customer context's real ``customers`` read model
(``crm.kernel.projection.rebuild``: staging collections from position 0, then the swap) over
N realistic customer events, encoded by the real codec (personal fields encrypted with each
customer's key, decrypted again on the way in), next to the ceiling: raw ``sqlite3`` inserting
N JSON documents of the same shape in one transaction on the same disk.

Each customer has five events: registered, profile updated, tagged, an interaction, a consent.
Memory is the traced (tracemalloc) peak of a separate, untimed rebuild and raw insert.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from bench.measure import Plan, Results, Step, TracedPeak, scratch_dir, timed, timed_async
from crm.customer.projections.customers import COLLECTION, CustomersProjection
from crm.events import REGISTRY, DomainEvent, EventMetadata
from crm.events.customer import (
    Channel,
    ConsentPurpose,
    ConsentRecorded,
    CustomerKind,
    CustomerProfileUpdated,
    CustomerRegistered,
    CustomerTagged,
    Direction,
    InteractionLogged,
)
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.adapters.sqlite.key_store import SqliteKeyStore
from crm.kernel.adapters.sqlite.read_store import SqliteReadStore
from crm.kernel.codec import EventCodec
from crm.kernel.event_store import NO_STREAM
from crm.kernel.read_store import Query
from crm.kernel.settings import Settings

GROUP = "projection"
EVENTS_PER_CUSTOMER = 5
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REGIONS = ("EMEA", "AMER", "APAC")


def history(i: int) -> list[DomainEvent]:
    at = T0 + timedelta(minutes=i)
    name = f"Customer {i}"
    return [
        CustomerRegistered(
            kind=CustomerKind.PERSON,
            name=name,
            email=f"c{i}@example.com",
            company="Analytical Engines Ltd",
            region=REGIONS[i % 3],
            source="web",
            tags=("vip",),
        ),
        CustomerProfileUpdated(
            kind=CustomerKind.PERSON,
            name=name,
            email=f"c{i}@example.com",
            phone="+44 20 7946 0000",
            company="Analytical Engines Ltd",
            title="CTO",
            region=REGIONS[i % 3],
            source="web",
            changed=("phone", "title"),
        ),
        CustomerTagged(tag="newsletter"),
        InteractionLogged(
            interaction_id=str(uuid4()),
            channel=Channel.CALL,
            direction=Direction.OUTBOUND,
            summary="Discussed the renewal; follow up next week.",
            occurred_at=at,
            duration_minutes=12,
        ),
        ConsentRecorded(purpose=ConsentPurpose.MARKETING_EMAIL, granted=True, method="web form"),
    ]


async def generate(store: SqliteEventStore, codec: EventCodec, events: int) -> None:
    """``events`` customer events through the real codec, appended 32 customers at a time
    (the store's group commit makes this quick). Keys are created up front in one go."""
    customers = max(1, events // EVENTS_PER_CUSTOMER)
    streams = [f"customer-{uuid4()}" for _ in range(customers)]
    await codec.keys.get_or_create(streams)
    metadata = EventMetadata(tenant="default", actor="bench", correlation_id=uuid4())

    async def one(i: int) -> None:
        encoded = await codec.encode(streams[i], history(i), metadata, T0 + timedelta(minutes=i))
        await store.append(streams[i], encoded, NO_STREAM)

    for start in range(0, customers, 32):
        await asyncio.gather(*(one(i) for i in range(start, min(start + 32, customers))))


async def rebuild_rate(
    store: SqliteEventStore, read_store: SqliteReadStore, codec: EventCodec, events: int
) -> float:
    from crm.kernel.projection import rebuild

    async def run() -> None:
        position = await rebuild(CustomersProjection(), store, read_store, codec)
        assert position == events, (position, events)

    return events / await timed_async(run)


RAW_SCHEMA = "CREATE TABLE docs (id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT)"


def raw_insert(path: Path, docs: list[dict[str, Any]]) -> float:
    """Serialise every document, then insert them all in one transaction (no index but the
    key): the ceiling for writing that many documents to SQLite on this disk. It holds all of
    them in memory at once, where the rebuild holds one batch (2000 events) at a time."""
    if path.exists():
        path.unlink()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(RAW_SCHEMA)

        def run() -> None:
            rows = [(d["id"], i, json.dumps(d)) for i, d in enumerate(docs, start=1)]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO docs VALUES (?,?,?)", rows)
            conn.execute("COMMIT")

        return len(docs) / timed(run)
    finally:
        conn.close()


def declare(results: Results) -> None:
    g = GROUP
    results.figure(
        f"{g}.rebuild_customers",
        "rebuild of the customers read model",
        "events/s",
        peers=(f"{g}.raw_insert_docs",),
    )
    results.figure(
        f"{g}.raw_insert_docs",
        "raw sqlite3: insert as many JSON documents, one transaction (ceiling)",
        "docs/s",
    )
    results.figure(
        f"{g}.rebuild_peak_mib",
        "rebuild: traced peak memory",
        "MiB",
        peers=(f"{g}.raw_insert_peak_mib",),
    )
    results.figure(f"{g}.raw_insert_peak_mib", "raw insert: traced peak memory", "MiB")


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    events = plan.size(50_000, 500)
    f = results.figures
    g = GROUP
    with scratch_dir("projection") as d:
        settings = Settings(data_dir=d)
        keys = SqliteKeyStore(d / "keys.db")
        store = SqliteEventStore(d / "events.db", synchronous=settings.sqlite_synchronous)
        read_store = SqliteReadStore(d / "read.db", synchronous=settings.sqlite_synchronous)
        codec = EventCodec(REGISTRY, keys)
        try:
            step(f"generating {events} customer events")
            await generate(store, codec, events)
            events = await store.head_position()
            step("warm-up rebuild")
            await rebuild_rate(store, read_store, codec, events)
            sample = (await read_store.find(COLLECTION, Query(limit=1))).items[0]
            docs = [{**sample, "id": str(uuid4())} for _ in range(events)]
            raw_insert(d / "raw.db", docs[:100])
            for rep in range(plan.repetitions):
                step(f"rebuild, repetition {rep + 1}/{plan.repetitions} ({events} events)")
                f[f"{g}.rebuild_customers"].samples.append(
                    await rebuild_rate(store, read_store, codec, events)
                )
                f[f"{g}.raw_insert_docs"].samples.append(raw_insert(d / "raw.db", docs))
            step("memory")
            with TracedPeak() as peak:
                await rebuild_rate(store, read_store, codec, events)
            f[f"{g}.rebuild_peak_mib"].samples.append(peak.mib)
            with TracedPeak() as peak:
                raw_insert(d / "raw.db", docs)
            f[f"{g}.raw_insert_peak_mib"].samples.append(peak.mib)
        finally:
            await store.close()
            await read_store.close()
            await keys.close()
