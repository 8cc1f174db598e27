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


async def test_a_long_stream_is_read_whole_past_the_callers_thread_share(tmp_path: Path) -> None:
    """The first ``STREAM_HEAD`` events are read on the caller's thread, the rest on a reader
    thread: the two halves join in order, from any version on."""
    from crm.kernel.adapters.sqlite.event_store import STREAM_HEAD

    store = SqliteEventStore(tmp_path / "events.db")
    try:
        stream = f"customer-{uuid4()}"
        count = 2 * STREAM_HEAD + 37
        for start in range(0, count, 50):
            await store.append(
                stream, [new_event() for _ in range(min(50, count - start))], start - 1
            )
        whole = await store.read_stream(stream)
        assert [e.stream_version for e in whole] == list(range(count))
        tail = await store.read_stream(stream, after_version=STREAM_HEAD - 3)
        assert [e.stream_version for e in tail] == list(range(STREAM_HEAD - 2, count))
        assert tail == whole[STREAM_HEAD - 2 :]
    finally:
        await store.close()


async def test_a_point_read_that_finds_the_file_busy_is_read_on_a_reader_thread(
    tmp_path: Path,
) -> None:
    """A read by key runs on the caller's thread, never waiting there (busy timeout 0); when
    SQLite answers busy or locked (a checkpoint truncating the WAL, a recovery) the same read
    runs on a reader thread, which may wait; any other error is the caller's."""
    import sqlite3
    import threading

    from crm.kernel.adapters.sqlite.connection import Readers

    readers = Readers(tmp_path / "r.db")
    caller = threading.get_ident()
    threads: list[int] = []

    def read(conn: sqlite3.Connection, answer: int) -> int:
        threads.append(threading.get_ident())
        if threading.get_ident() == caller:
            assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 0
            raise sqlite3.OperationalError("database is locked")
        return answer

    def broken(conn: sqlite3.Connection) -> int:
        raise sqlite3.OperationalError("no such table: nowhere")

    try:
        assert await readers.point(read, 7) == 7
        assert threads[0] == caller
        assert threads[1] != caller
        assert await readers.point(lambda conn: threading.get_ident()) == caller
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await readers.point(broken)
    finally:
        await readers.close()


async def test_an_append_cancelled_before_the_writer_takes_it_writes_nothing(
    tmp_path: Path,
) -> None:
    """Another connection holds the write lock: the writer waits in its first group's ``BEGIN
    IMMEDIATE`` (that append is taken, so it is written even though its caller stops waiting),
    and the next append waits in the queue; its caller is cancelled there, so it is dropped."""
    import sqlite3

    store = SqliteEventStore(tmp_path / "events.db")
    blocker = sqlite3.connect(tmp_path / "events.db", isolation_level=None)
    try:
        await store.append("customer-0", [new_event()], NO_STREAM)  # the writer is running
        blocker.execute("BEGIN IMMEDIATE")
        taken = asyncio.create_task(store.append("customer-1", [new_event()], NO_STREAM))
        await asyncio.sleep(0.2)  # the writer took it and waits for the lock
        queued = asyncio.create_task(store.append("customer-2", [new_event()], NO_STREAM))
        await asyncio.sleep(0.05)
        taken.cancel()
        queued.cancel()
        for task in (taken, queued):
            with pytest.raises(asyncio.CancelledError):
                await task
        blocker.execute("COMMIT")
        after = await store.append("customer-3", [new_event()], NO_STREAM)
        streams = [e.stream_id for p in [p async for p in store.read_all(0)] for e in p]
        assert streams == ["customer-0", "customer-1", "customer-3"]
        assert after.position == 3
    finally:
        blocker.close()
        await store.close()


async def test_a_lone_append_that_fails_its_version_leaves_nothing_behind(tmp_path: Path) -> None:
    """A group of one append has no savepoint: its failure rolls the transaction back whole."""
    store = SqliteEventStore(tmp_path / "events.db")
    try:
        await store.append("customer-1", [new_event(n=1)], NO_STREAM)
        with pytest.raises(WrongExpectedVersion):
            await store.append("customer-1", [new_event(n=2), new_event(n=3)], NO_STREAM)
        with pytest.raises(WrongExpectedVersion):
            await store.append("customer-2", [new_event(n=4)], 0)
        done = await store.append("customer-1", [new_event(n=5)], 0)
        assert (done.stream_version, done.position) == (1, 2)
        read = await store.read_stream("customer-1")
        assert [e.payload["n"] for e in read] == [1, 5]
        assert await store.head_position() == 2
    finally:
        await store.close()
