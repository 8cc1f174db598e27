"""The SQLite event store against the contract, plus what only a file-based store can show:
writers in several processes at once."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import uuid4

import pytest

from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.errors import WrongExpectedVersion
from crm.kernel.event_store import NO_STREAM, EventStore
from tests.conftest import new_event
from tests.contract.event_store_contract import EventStoreContract

pytestmark = pytest.mark.contract


@pytest.fixture
async def event_store(tmp_path: Path) -> AsyncIterator[EventStore]:
    store = SqliteEventStore(tmp_path / "events.db")
    yield store
    await store.close()


@pytest.fixture
def reopen(tmp_path: Path) -> Callable[[], EventStore]:
    return lambda: SqliteEventStore(tmp_path / "events.db")


class TestSqliteEventStore(EventStoreContract):
    pass


def _writer_process(path: str, stream: str, count: int, expected_start: int, out: str) -> None:
    """Append ``count`` events one by one with expected versions; record wins and conflicts."""

    async def run() -> tuple[int, int]:
        store = SqliteEventStore(Path(path))
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
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    SqliteEventStore(path)  # creates the schema
    stream = f"shared-{uuid4()}"
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=_writer_process, args=(str(path), stream, 25, 0, str(tmp_path / f"out{i}"))
        )
        for i in range(3)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    wins = sum(int((tmp_path / f"out{i}").read_text().split()[0]) for i in range(3))
    assert wins == 75
    store = SqliteEventStore(path)
    try:
        events = await store.read_stream(stream)
        assert [e.stream_version for e in events] == list(range(75))
        positions = [e.position async for page in store.read_all() for e in page]
        assert positions == list(range(1, 75 + 9 + 1))
    finally:
        await store.close()
