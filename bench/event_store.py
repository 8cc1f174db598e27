"""Group ``event_store``: the SQLite event store (WAL, ``synchronous=FULL``) appending one
event at a time, with 64 concurrent appenders, and in batches of 10, next to the
``eventsourcing`` library's SQLite recorder and raw ``sqlite3`` inserts of the same rows, on
files of the same disk; then reading the global log next to a raw ``SELECT`` of the same rows.

Each repetition writes to fresh files (every contender starts from an empty table) after a
short untimed warm-up on the same connection; contenders alternate within a repetition so a
noisy neighbour hurts all of them alike.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from bench.measure import Plan, Results, Step, TracedPeak, scratch_dir, timed, timed_async
from crm.events import EventEnvelope, EventMetadata, NewEvent
from crm.events.envelope import new_event_id
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.event_store import NO_STREAM

GROUP = "event_store"
CONCURRENCY = 64
BATCH = 10
WARM_UP = 20
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Shaped like a customer.registered payload after encryption of its personal fields.
PAYLOAD = {
    "kind": "person",
    "name": "enc:v1:customer-0000:" + "Q" * 64,
    "email": "enc:v1:customer-0000:" + "R" * 72,
    "phone": None,
    "company": "Analytical Engines Ltd",
    "title": None,
    "region": "EMEA",
    "source": "web",
    "tags": ["vip", "newsletter"],
    "owner_id": None,
}
PAYLOAD_BYTES = json.dumps(PAYLOAD, separators=(",", ":")).encode()


def new_event(n: int = 0) -> NewEvent:
    return NewEvent(
        event_id=new_event_id(),  # as the platform's codec makes them (time-ordered)
        event_type="customer.registered",
        schema_version=2,
        payload={**PAYLOAD, "n": n},
        occurred_at=T0,
        metadata=EventMetadata(tenant="default", actor="bench", correlation_id=uuid4()),
    )


def stream() -> str:
    return f"customer-{uuid4()}"


# -- our store ------------------------------------------------------------------------------


async def crm_single(path: Path, n: int) -> float:
    store = SqliteEventStore(path)
    try:
        for i in range(WARM_UP):
            await store.append(stream(), [new_event(i)], NO_STREAM)
        events = [(stream(), new_event(i)) for i in range(n)]

        async def run() -> None:
            for sid, e in events:
                await store.append(sid, [e], NO_STREAM)

        return n / await timed_async(run)
    finally:
        await store.close()


async def crm_concurrent(path: Path, n: int, concurrency: int = CONCURRENCY) -> float:
    """``concurrency`` appenders at once, each on its own streams, one event per append."""
    store = SqliteEventStore(path)
    try:
        await asyncio.gather(
            *(store.append(stream(), [new_event(i)], NO_STREAM) for i in range(WARM_UP))
        )
        per = max(1, n // concurrency)
        work = [[(stream(), new_event(i)) for i in range(per)] for _ in range(concurrency)]

        async def appender(items: list[tuple[str, NewEvent]]) -> None:
            for sid, e in items:
                await store.append(sid, [e], NO_STREAM)

        async def run() -> None:
            await asyncio.gather(*(appender(items) for items in work))

        return per * concurrency / await timed_async(run)
    finally:
        await store.close()


async def crm_batches(path: Path, batches: int) -> float:
    store = SqliteEventStore(path)
    try:
        for _ in range(WARM_UP // BATCH + 1):
            await store.append(stream(), [new_event(i) for i in range(BATCH)], NO_STREAM)
        work = [(stream(), [new_event(i) for i in range(BATCH)]) for _ in range(batches)]

        async def run() -> None:
            for sid, events in work:
                await store.append(sid, events, NO_STREAM)

        return batches * BATCH / await timed_async(run)
    finally:
        await store.close()


# -- the eventsourcing library --------------------------------------------------------------


def stored(originator: UUID, version: int) -> StoredEvent:
    return StoredEvent(
        originator_id=originator,
        originator_version=version,
        topic="bench:CustomerRegistered",
        state=PAYLOAD_BYTES,
    )


def es_recorder(path: Path) -> tuple[SQLiteDatastore, SQLiteApplicationRecorder]:
    """The library's recorder on a file. It leaves ``synchronous`` at SQLite's default, FULL
    on this build (asserted), in WAL mode like ours."""
    datastore = SQLiteDatastore(str(path))
    recorder = SQLiteApplicationRecorder(datastore)
    recorder.create_table()
    with datastore.transaction(commit=False) as c:
        c.execute("PRAGMA synchronous")
        (sync,) = c.fetchone()
        c.execute("PRAGMA journal_mode")
        (mode,) = c.fetchone()
    assert (sync, mode.lower()) == (2, "wal"), (sync, mode)
    return datastore, recorder


def es_appends(path: Path, appends: int, per_append: int) -> float:
    datastore, recorder = es_recorder(path)
    try:
        for _ in range(WARM_UP):
            recorder.insert_events([stored(uuid4(), v) for v in range(per_append)])
        originators = [uuid4() for _ in range(appends)]
        work = [[stored(o, v) for v in range(per_append)] for o in originators]

        def run() -> None:
            for events in work:
                recorder.insert_events(events)

        return appends * per_append / timed(run)
    finally:
        datastore.close()


# -- raw sqlite3 ----------------------------------------------------------------------------

RAW_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, stream_id TEXT NOT NULL,
    stream_version INTEGER NOT NULL, event_type TEXT NOT NULL, payload TEXT NOT NULL,
    UNIQUE (stream_id, stream_version))
"""
RAW_INSERT = (
    "INSERT INTO events (event_id, stream_id, stream_version, event_type, payload)"
    " VALUES (?,?,?,?,?)"
)


def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(RAW_SCHEMA)
    return conn


def raw_rows(n: int) -> list[tuple[str, str, int, str, str]]:
    body = PAYLOAD_BYTES.decode()
    return [(str(uuid4()), stream(), 0, "customer.registered", body) for _ in range(n)]


def raw_row_per_transaction(path: Path, n: int) -> float:
    conn = raw_connection(path)
    try:
        for row in raw_rows(WARM_UP):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(RAW_INSERT, row)
            conn.execute("COMMIT")
        rows = raw_rows(n)

        def run() -> None:
            for row in rows:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(RAW_INSERT, row)
                conn.execute("COMMIT")

        return n / timed(run)
    finally:
        conn.close()


def raw_bulk(path: Path, n: int) -> float:
    """Every row in one ``executemany`` of one transaction: the ceiling of this disk."""
    conn = raw_connection(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(RAW_INSERT, raw_rows(WARM_UP))
        conn.execute("COMMIT")
        rows = raw_rows(n)

        def run() -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(RAW_INSERT, rows)
            conn.execute("COMMIT")

        return n / timed(run)
    finally:
        conn.close()


# -- reading the log ------------------------------------------------------------------------


async def fill(store: SqliteEventStore, n: int, per_append: int = 100) -> None:
    """``n`` events, quickly: appends of ``per_append`` events, 16 at a time."""
    sizes = [per_append] * (n // per_append) + ([n % per_append] if n % per_append else [])
    for start in range(0, len(sizes), 16):
        await asyncio.gather(
            *(
                store.append(stream(), [new_event(i) for i in range(size)], NO_STREAM)
                for size in sizes[start : start + 16]
            )
        )


FIELDS = tuple(EventEnvelope.__dataclass_fields__)


def routed(page: list[EventEnvelope]) -> int:
    """What a subscriber looks at to pick its events: position, stream and type."""
    return sum(1 for e in page if e.position and e.stream_id and e.event_type)


def parsed(page: list[EventEnvelope]) -> int:
    """That, and the payload of each (a projection decoding every event)."""
    return sum(1 for e in page if e.position and e.stream_id and e.event_type and e.payload)


def every_field(page: list[EventEnvelope]) -> int:
    """Every field of each envelope (the relay serialising them)."""
    return sum(
        1 for e in page if all(getattr(e, f) is not None or f == "causation_id" for f in FIELDS)
    )


async def crm_read_all(
    store: SqliteEventStore, n: int, use: Callable[[list[EventEnvelope]], int] = routed
) -> float:
    async def run() -> None:
        count = 0
        async for page in store.read_all(0, batch_size=1000):
            count += use(page)
        assert count == n, (count, n)

    return n / await timed_async(run)


def raw_select(path: Path, n: int) -> float:
    """The same columns of the same rows, in pages of 1000, as tuples (payload not parsed)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("SELECT COUNT(*) FROM events").fetchone()

        def run() -> None:
            after, count = 0, 0
            while True:
                rows = conn.execute(
                    "SELECT position, event_id, stream_id, stream_version, event_type,"
                    " schema_version, occurred_at, recorded_at, tenant, actor, correlation_id,"
                    " causation_id, payload FROM events WHERE position > ? ORDER BY position"
                    " LIMIT 1000",
                    (after,),
                ).fetchall()
                if not rows:
                    break
                count += len(rows)
                after = rows[-1][0]
            assert count == n, (count, n)

        return n / timed(run)
    finally:
        conn.close()


# -- the group ------------------------------------------------------------------------------


def declare(results: Results) -> None:
    g = GROUP
    results.figure(
        f"{g}.crm_single",
        "crm store: 1 event/append, awaited one by one",
        "events/s",
        peers=(f"{g}.eventsourcing_single", f"{g}.raw_row_per_txn"),
    )
    results.figure(
        f"{g}.eventsourcing_single",
        "eventsourcing SQLiteApplicationRecorder: 1 event/insert",
        "events/s",
        peers=(f"{g}.raw_row_per_txn",),
    )
    results.figure(
        f"{g}.raw_row_per_txn",
        "raw sqlite3: 1 row per transaction",
        "events/s",
    )
    results.figure(
        f"{g}.crm_concurrent_64",
        f"crm store: {CONCURRENCY} concurrent appenders, 1 event/append",
        "events/s",
        peers=(f"{g}.crm_single", f"{g}.raw_row_per_txn"),
        note="group commit: one fsync for every append waiting",
    )
    results.figure(
        f"{g}.crm_batch_10",
        "crm store: 10 events/append, one by one",
        "events/s",
        peers=(f"{g}.eventsourcing_batch_10", f"{g}.raw_bulk"),
    )
    results.figure(
        f"{g}.eventsourcing_batch_10",
        "eventsourcing SQLiteApplicationRecorder: 10 events/insert",
        "events/s",
        peers=(f"{g}.raw_bulk",),
    )
    results.figure(
        f"{g}.raw_bulk", "raw sqlite3: executemany, one transaction (ceiling)", "events/s"
    )
    results.figure(
        f"{g}.crm_read_all",
        "crm store: read_all (envelopes; position, stream, type read)",
        "events/s",
        peers=(f"{g}.raw_select",),
        note="fields decoded on first use (ids, times) or at each use (payload)",
    )
    results.figure(
        f"{g}.crm_read_all_payload",
        "crm store: read_all, each payload parsed too",
        "events/s",
        peers=(f"{g}.raw_select",),
    )
    results.figure(
        f"{g}.crm_read_all_fields",
        "crm store: read_all, every field of every envelope",
        "events/s",
        peers=(f"{g}.raw_select",),
    )
    results.figure(f"{g}.raw_select", "raw sqlite3: SELECT the same rows (tuples)", "events/s")
    results.figure(
        f"{g}.crm_read_all_peak_mib",
        "crm store: read_all, traced peak memory",
        "MiB",
        peers=(f"{g}.raw_select_peak_mib",),
    )
    results.figure(f"{g}.raw_select_peak_mib", "raw sqlite3: SELECT, traced peak memory", "MiB")


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    single = plan.size(2000, 40)
    concurrent = plan.size(CONCURRENCY * 100, CONCURRENCY * 2)
    batches = plan.size(800, 8)
    reads = plan.size(50_000, 1000)
    f = results.figures
    g = GROUP
    for rep in range(plan.repetitions):
        with scratch_dir("es") as d:
            step(f"appends, repetition {rep + 1}/{plan.repetitions}")
            f[f"{g}.crm_single"].samples.append(await crm_single(d / "crm1.db", single))
            f[f"{g}.eventsourcing_single"].samples.append(es_appends(d / "es1.db", single, 1))
            f[f"{g}.raw_row_per_txn"].samples.append(raw_row_per_transaction(d / "raw1.db", single))
            f[f"{g}.crm_concurrent_64"].samples.append(
                await crm_concurrent(d / "crm64.db", concurrent)
            )
            f[f"{g}.crm_batch_10"].samples.append(await crm_batches(d / "crm10.db", batches))
            f[f"{g}.eventsourcing_batch_10"].samples.append(
                es_appends(d / "es10.db", batches, BATCH)
            )
            f[f"{g}.raw_bulk"].samples.append(raw_bulk(d / "rawbulk.db", batches * BATCH))
    with scratch_dir("es-read") as d:
        step(f"filling {reads} events to read")
        store = SqliteEventStore(d / "read.db")
        try:
            await fill(store, reads)
            await crm_read_all(store, reads)  # warm-up: page cache, reader threads
            raw_select(d / "read.db", reads)
            for rep in range(plan.repetitions):
                step(f"read_all, repetition {rep + 1}/{plan.repetitions}")
                f[f"{g}.crm_read_all"].samples.append(await crm_read_all(store, reads))
                f[f"{g}.crm_read_all_payload"].samples.append(
                    await crm_read_all(store, reads, parsed)
                )
                f[f"{g}.crm_read_all_fields"].samples.append(
                    await crm_read_all(store, reads, every_field)
                )
                f[f"{g}.raw_select"].samples.append(raw_select(d / "read.db", reads))
            with TracedPeak() as peak:
                await crm_read_all(store, reads)
            f[f"{g}.crm_read_all_peak_mib"].samples.append(peak.mib)
            with TracedPeak() as peak:
                raw_select(d / "read.db", reads)
            f[f"{g}.raw_select_peak_mib"].samples.append(peak.mib)
        finally:
            await store.close()
