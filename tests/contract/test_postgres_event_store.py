"""The PostgreSQL event store against the contract, plus what only a server can show: writers
in several processes at once. Runs when ``CRM_TEST_POSTGRES_URL`` names a database (CI gets
one from ``.ci/postgres``); each test gets a fresh schema, dropped afterwards."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from crm.kernel.adapters.postgres.event_store import PostgresEventStore
from crm.kernel.errors import WrongExpectedVersion
from crm.kernel.event_store import NO_STREAM, EventStore
from tests.conftest import new_event
from tests.contract.event_store_contract import EventStoreContract
from tests.support.postgres import URL, fresh_schema, needs_postgres

pytestmark = [pytest.mark.contract, needs_postgres]


@pytest.fixture
def schema() -> Iterator[str]:
    yield from fresh_schema("test_events")


@pytest.fixture
async def event_store(schema: str) -> AsyncIterator[EventStore]:
    store = PostgresEventStore(URL, schema=schema)
    yield store
    await store.close()


@pytest.fixture
def reopen(schema: str) -> Callable[[], EventStore]:
    return lambda: PostgresEventStore(URL, schema=schema)


class TestPostgresEventStore(EventStoreContract):
    pass


async def test_the_schema_can_be_named_in_the_url(schema: str) -> None:
    sep = "&" if "?" in URL else "?"
    store = PostgresEventStore(f"{URL}{sep}schema={schema}")
    try:
        assert store.schema == schema
        await store.append(f"thing-{uuid4()}", [new_event()], NO_STREAM)
        assert await store.head_position() == 1
    finally:
        await store.close()


def test_a_schema_name_is_never_spliced_into_sql_unchecked() -> None:
    with pytest.raises(ValueError, match="invalid schema name"):
        PostgresEventStore(URL, schema="x; DROP TABLE y")


def _writer_process(url: str, schema: str, stream: str, count: int, out: str) -> None:
    """Append ``count`` events one by one with expected versions; record wins and conflicts."""

    async def run() -> tuple[int, int]:
        store = PostgresEventStore(url, schema=schema, max_pool_size=2)
        wins = conflicts = 0
        try:
            for _ in range(count):
                while True:
                    current = len(await store.read_stream(stream)) - 1
                    try:
                        await store.append(stream, [new_event()], current)
                        wins += 1
                        break
                    except WrongExpectedVersion:
                        conflicts += 1
            await store.append(f"solo-{uuid4()}", [new_event() for _ in range(3)], NO_STREAM)
        finally:
            await store.close()
        return wins, conflicts

    wins, conflicts = asyncio.run(run())
    Path(out).write_text(f"{wins} {conflicts}")


async def test_writers_in_several_processes_keep_versions_and_positions_consistent(
    tmp_path: Path, schema: str
) -> None:
    store = PostgresEventStore(URL, schema=schema)
    try:
        assert await store.head_position() == 0  # creates the schema before the race
        stream = f"shared-{uuid4()}"
        ctx = multiprocessing.get_context("spawn")
        procs = [
            ctx.Process(
                target=_writer_process,
                args=(URL, schema, stream, 25, str(tmp_path / f"out{i}")),
            )
            for i in range(3)
        ]
        for p in procs:
            p.start()
        for p in procs:
            await asyncio.to_thread(p.join, 120)
            assert p.exitcode == 0
        wins = sum(int((tmp_path / f"out{i}").read_text().split()[0]) for i in range(3))
        assert wins == 75
        events = await store.read_stream(stream)
        assert [e.stream_version for e in events] == list(range(75))
        positions = [e.position async for page in store.read_all() for e in page]
        assert positions == list(range(1, 75 + 9 + 1))
    finally:
        await store.close()


async def test_a_subscriber_of_another_store_instance_is_woken_by_notify(schema: str) -> None:
    """Another instance stands for another process: only NOTIFY can wake it before its idle
    re-check (a second), so a prompt wake proves the LISTEN path works."""
    writer = PostgresEventStore(URL, schema=schema)
    reader = PostgresEventStore(URL, schema=schema)
    got = asyncio.Event()

    async def follow() -> None:
        async for _ in reader.subscribe(0):
            got.set()
            return

    try:
        await writer.head_position()
        task = asyncio.create_task(follow())
        await asyncio.sleep(0.2)  # the reader is listening and idle
        loop = asyncio.get_running_loop()
        sent = loop.time()
        await writer.append(f"thing-{uuid4()}", [new_event()], NO_STREAM)
        await asyncio.wait_for(got.wait(), timeout=5)
        await task
        assert loop.time() - sent < 0.3
    finally:
        await reader.close()
        await writer.close()
