"""The SQLite event store: one file, WAL, group commit.

Every append goes through one writer thread per process. It takes whatever appends are
waiting, runs each inside its own savepoint of one ``BEGIN IMMEDIATE`` transaction and
commits them with a single fsync: a hundred concurrent single-event commands cost about what
one costs, with the full durability of ``synchronous=FULL``. An append that fails its expected
version rolls back to its savepoint alone. ``BEGIN IMMEDIATE`` takes SQLite's write lock, so
writers in other processes queue on the busy timeout, and positions, assigned inside that lock,
are gap-free and in commit order: a checkpoint is one integer.

After each commit the writer hands the rows it committed to the process's :class:`CommitFeed`
(:mod:`crm.kernel.adapters.sqlite.feed`): subscribers in this process take their pages from
it instead of each re-querying the file, and only those whose categories the commit touched
wake up.

A commit by a writer in another process (``crm serve`` appends, ``crm relay`` follows) is seen
through SQLite's ``PRAGMA data_version``, which changes when another connection committed: one
watcher per store and event loop, running while anyone subscribes, asks it every
``WAL_POLL_SECONDS`` (on one connection of its own; in WAL mode a read of the shared-memory
index, no file I/O) and, when it moved without a commit of this process's writer, wakes every
subscriber to read the log; each also reads it every ``IDLE_RECHECK_SECONDS`` whatever it
says. (The WAL file's size and time are no such signal: its frames are written before the
commit becomes visible.) One watcher, not one poll per subscriber: with a dozen runners, the
polls of each cost a sixth of the event loop's time in a run of one command at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic_core import to_json

from crm.events import EventEnvelope, NewEvent
from crm.kernel.adapters.sqlite.connection import Readers, connect
from crm.kernel.adapters.sqlite.envelope import COLUMNS, Row, stored_envelope
from crm.kernel.adapters.sqlite.feed import CommitFeed
from crm.kernel.errors import DuplicateEventId, IdempotencyKeyReused, WrongExpectedVersion
from crm.kernel.event_store import ANY_VERSION, NO_STREAM, AppendResult, Idempotency
from crm.kernel.observability.metrics import GROUP_COMMIT_SIZE

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position        INTEGER PRIMARY KEY,
    event_id        TEXT    NOT NULL UNIQUE,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    category        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    occurred_at     INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL,
    tenant          TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    correlation_id  TEXT    NOT NULL,
    causation_id    TEXT,
    payload         TEXT    NOT NULL,
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX IF NOT EXISTS events_by_category ON events (category, position);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key             TEXT PRIMARY KEY,
    request_hash    TEXT    NOT NULL,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    position        INTEGER NOT NULL,
    recorded_at     INTEGER NOT NULL
) WITHOUT ROWID;
"""

MAX_GROUP = 512
IDLE_RECHECK_SECONDS = 0.5
WAL_POLL_SECONDS = 0.01
STREAM_HEAD = 100
"""Events of a stream read on the caller's thread (:meth:`Readers.point`); the rest of a
longer stream is read on a reader thread, so a long stream never holds the event loop."""


def _micros(ts: datetime) -> int:
    return int(ts.timestamp() * 1_000_000)


def _payload_json(payload: Any) -> str:
    """A payload as stored: compact JSON (pydantic-core's encoder, about four times
    ``json.dumps``; payloads are JSON-ready, ``fallback=str`` is for anything that is not)."""
    return to_json(payload, fallback=str).decode()


_QUEUED, _CLAIMED, _DROPPED = 0, 1, 2
_CLAIMS = threading.Lock()
"""Guards every request's ``state`` (held for a comparison and an assignment: uncontended)."""


@dataclass(eq=False, slots=True)
class _Append:
    stream_id: str
    events: Sequence[NewEvent]
    expected_version: int
    idempotency: Idempotency | None
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[AppendResult]
    state: int = _QUEUED


def _claim(request: _Append) -> bool:
    """Take a request off the queue: False if its caller was cancelled before the writer got to
    it (it is dropped, nothing is written); True otherwise, and from then on its caller's
    cancellation no longer drops it: it is written, its outcome recorded (if nobody waits for
    it any more, nobody hears of it)."""
    with _CLAIMS:
        if request.state == _QUEUED:
            request.state = _CLAIMED
            return True
        return False


def _drop(request: _Append) -> None:
    """The caller was cancelled: drop the request if the writer has not claimed it yet."""
    with _CLAIMS:
        if request.state == _QUEUED:
            request.state = _DROPPED


def _settle(done: asyncio.Future[AppendResult], outcome: AppendResult | BaseException) -> None:
    if done.done():  # its caller stopped waiting
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


def _deliver(request: _Append, outcome: AppendResult | BaseException) -> None:
    """Hand the outcome to the caller's event loop (from the writer thread): one wake-up of
    that loop, no future of the writer's own to chain to it."""
    with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits
        request.loop.call_soon_threadsafe(_settle, request.done, outcome)


class SqliteEventStore:
    """See the module docstring. ``synchronous`` is SQLite's: FULL (the default) fsyncs the
    WAL at each commit; NORMAL survives a crash of the process but not of the machine."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self._synchronous = synchronous
        self._readers = Readers(path, synchronous=synchronous)
        self._version_conn: sqlite3.Connection | None = None
        self._version_lock = threading.Lock()
        self._feed = CommitFeed()
        self._subscribers = 0
        self._local_commits = 0
        """Bumped by the writer before each commit (the watcher tells its commits apart)."""
        self._watchers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        self._queue: queue.SimpleQueue[_Append | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        self._closed = False
        conn = connect(path, synchronous=synchronous)
        try:
            conn.executescript(SCHEMA)
        finally:
            conn.close()

    # -- writing ---------------------------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int,
        *,
        idempotency: Idempotency | None = None,
    ) -> AppendResult:
        if self._closed:
            raise RuntimeError("event store is closed")
        loop = asyncio.get_running_loop()
        request = _Append(
            stream_id, events, expected_version, idempotency, loop, loop.create_future()
        )
        self._ensure_writer()
        self._queue.put(request)
        try:
            return await request.done
        except asyncio.CancelledError:
            _drop(request)
            raise

    def _ensure_writer(self) -> None:
        if self._writer is None:
            with self._writer_lock:
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._write_loop, name=f"sqlite-writer:{self.path.name}", daemon=True
                    )
                    self._writer.start()

    def _write_loop(self) -> None:
        conn = connect(self.path, synchronous=self._synchronous)
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                group = [first] if _claim(first) else []
                stop = False
                while len(group) < MAX_GROUP:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stop = True
                        break
                    if _claim(nxt):
                        group.append(nxt)
                if group:
                    self._commit_group(conn, group)
                if stop:
                    return
        finally:
            conn.close()

    def _commit_group(self, conn: sqlite3.Connection, group: list[_Append]) -> None:
        """Commit the group's appends in one transaction (group commit). Every request in it
        was claimed (:func:`_claim`): its caller may stop waiting, but the outcome is always
        recorded. A group of one append needs no savepoint: if it fails, the transaction is
        rolled back whole."""
        GROUP_COMMIT_SIZE.observe(len(group))
        outcomes: list[AppendResult | BaseException] = []
        committed: list[Row] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                start = head = conn.execute(
                    "SELECT COALESCE(MAX(position), 0) FROM events"
                ).fetchone()[0]
                recorded_at = time.time_ns() // 1000
                alone = len(group) == 1
                for request in group:
                    if not alone:
                        conn.execute("SAVEPOINT append")
                    try:
                        result, rows = self._append_one(conn, request, head, recorded_at)
                    except (WrongExpectedVersion, IdempotencyKeyReused, DuplicateEventId) as e:
                        conn.execute("ROLLBACK" if alone else "ROLLBACK TO append")
                        outcomes.append(e)
                    else:
                        if not result.replayed and request.events:
                            head = result.position
                            committed.extend(rows)
                        outcomes.append(result)
                    if not alone:
                        conn.execute("RELEASE append")
                if conn.in_transaction:
                    self._local_commits += 1
                    conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except Exception as e:  # the whole group failed to commit: nothing of it was written
            for request in group:
                _deliver(request, e)
            return
        # the callers first: their loops then run each command's answer before the
        # subscribers woken by the feed (a dozen runners' batches in one process), instead
        # of after them
        for request, outcome in zip(group, outcomes, strict=True):
            _deliver(request, outcome)
        if committed:
            self._feed.publish(start, [stored_envelope(r) for r in committed])

    def _append_one(
        self, conn: sqlite3.Connection, request: _Append, head: int, recorded_at: int
    ) -> tuple[AppendResult, list[Row]]:
        sid = request.stream_id
        if request.idempotency is not None:
            found = self._lookup_key(conn, request.idempotency)
            if found is not None:
                return found, []
        row = conn.execute(
            "SELECT stream_version, position FROM events WHERE stream_id = ?"
            " ORDER BY stream_version DESC LIMIT 1",
            (sid,),
        ).fetchone()
        current, last_position = (row[0], row[1]) if row else (NO_STREAM, 0)
        expected = request.expected_version
        if expected != ANY_VERSION and expected != current:
            raise WrongExpectedVersion(sid, expected, current)
        category = sid.split("-", 1)[0]
        rows: list[Row] = []
        # the events of one append mostly share their metadata and time (one command's):
        # their text is made once
        meta: object = None
        at: object = None
        for i, e in enumerate(request.events, start=1):
            m = e.metadata
            if m is not meta:
                meta = m
                correlation = str(m.correlation_id)
                causation = str(m.causation_id) if m.causation_id else None
            if e.occurred_at is not at:
                at = e.occurred_at
                occurred = _micros(e.occurred_at)
            rows.append(
                (
                    head + i,
                    str(e.event_id),
                    sid,
                    current + i,
                    category,
                    e.event_type,
                    e.schema_version,
                    occurred,
                    recorded_at,
                    m.tenant,
                    m.actor,
                    correlation,
                    causation,
                    _payload_json(e.payload),
                )
            )
        if rows:
            try:
                conn.executemany(
                    "INSERT INTO events (position, event_id, stream_id, stream_version, category,"
                    " event_type, schema_version, occurred_at, recorded_at, tenant, actor,"
                    " correlation_id, causation_id, payload)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
            except sqlite3.IntegrityError as e:
                if "event_id" in str(e):
                    raise DuplicateEventId(str(e)) from e
                raise
            result = AppendResult(sid, current + len(rows), head + len(rows))
        else:
            result = AppendResult(sid, current, last_position)
        if request.idempotency is not None:
            conn.execute(
                "INSERT INTO idempotency_keys VALUES (?,?,?,?,?,?)",
                (
                    request.idempotency.key,
                    request.idempotency.request_hash,
                    sid,
                    result.stream_version,
                    result.position,
                    recorded_at,
                ),
            )
        return result, rows

    @staticmethod
    def _lookup_key(conn: sqlite3.Connection, idempotency: Idempotency) -> AppendResult | None:
        row = conn.execute(
            "SELECT request_hash, stream_id, stream_version, position FROM idempotency_keys"
            " WHERE key = ?",
            (idempotency.key,),
        ).fetchone()
        if row is None:
            return None
        if row[0] != idempotency.request_hash:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different request"
            )
        return AppendResult(row[1], row[2], row[3], replayed=True)

    async def idempotent_result(self, idempotency: Idempotency) -> AppendResult | None:
        return await self._readers.point(self._lookup_key, idempotency)

    # -- reading ---------------------------------------------------------------------------

    async def read_stream(
        self, stream_id: str, after_version: int = NO_STREAM
    ) -> list[EventEnvelope]:
        def read(conn: sqlite3.Connection, after: int, limit: int) -> list[EventEnvelope]:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM events WHERE stream_id = ? AND stream_version > ?"
                " ORDER BY stream_version LIMIT ?",
                (stream_id, after, limit),
            ).fetchall()
            return [stored_envelope(r) for r in rows]

        # most streams are short: read on the caller's thread; a long one's rest on a reader
        first = await self._readers.point(read, after_version, STREAM_HEAD)
        if len(first) < STREAM_HEAD:
            return first
        return first + await self._readers.run(read, first[-1].stream_version, -1)

    def _page(
        self, conn: sqlite3.Connection, after: int, limit: int, categories: Collection[str] | None
    ) -> list[EventEnvelope]:
        if categories is None:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?",
                (after, limit),
            ).fetchall()
        else:
            marks = ",".join("?" * len(categories))
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM events WHERE category IN ({marks}) AND position > ?"
                " ORDER BY position LIMIT ?",
                (*categories, after, limit),
            ).fetchall()
        return [stored_envelope(r) for r in rows]

    async def read_all(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        categories: Collection[str] | None = None,
    ) -> AsyncIterator[list[EventEnvelope]]:
        head = await self.head_position()
        while after < head:
            page = await self._readers.run(self._page, after, batch_size, categories)
            if page and page[-1].position > head:
                page = [e for e in page if e.position <= head]
            if not page:
                return
            yield page
            after = page[-1].position

    async def subscribe(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        categories: Collection[str] | None = None,
    ) -> AsyncIterator[list[EventEnvelope]]:
        """The first page, and the next one after every idle :data:`IDLE_RECHECK_SECONDS`
        (appends of other processes), come from the file; the pages of this process's own
        commits come from its feed when it holds them (:mod:`crm.kernel.adapters.sqlite.feed`)."""
        wanted = frozenset(categories) if categories is not None else None
        feed = self._feed
        scanned = after
        """Every event up to here was looked at (those of ``categories`` yielded)."""
        from_file = True
        self._subscribers += 1
        try:
            self._ensure_watcher()
            while True:
                seen, foreign = feed.generation, feed.foreign
                taken = None if from_file else feed.take(scanned, wanted, batch_size)
                if taken is None:
                    published = feed.end  # committed before the query starts, so it sees them
                    page = await self._readers.run(self._page, scanned, batch_size, categories)
                    if len(page) == batch_size:
                        scanned = page[-1].position
                    else:
                        scanned = max(scanned, published, page[-1].position if page else 0)
                    from_file = False
                else:
                    page, scanned = taken
                if page:
                    yield page
                elif (
                    not await feed.wait(seen, wanted, IDLE_RECHECK_SECONDS, foreign)
                    or feed.foreign != foreign
                ):
                    from_file = True
        finally:
            self._subscribers -= 1

    def _ensure_watcher(self) -> None:
        loop = asyncio.get_running_loop()
        for other in [other for other in self._watchers if other.is_closed()]:
            del self._watchers[other]
        task = self._watchers.get(loop)
        if task is None or task.done():
            self._watchers[loop] = loop.create_task(
                self._watch_other_processes(), name=f"sqlite-watch:{self.path.name}"
            )

    async def _watch_other_processes(self) -> None:
        """While anyone subscribes: wake every subscriber when another connection than this
        process's writer committed (its events are not in the feed). A commit of this
        process's writer moves ``data_version`` too, but also the feed's generation; if both
        come within one poll, another process's commit at that moment is read at the next
        commit of this process (the feed sees the gap) or the idle re-check."""
        feed = self._feed
        mark, generation, commits = self._data_version(), feed.generation, self._local_commits
        while self._subscribers > 0 and not self._closed:
            await asyncio.sleep(WAL_POLL_SECONDS)
            version = self._data_version()
            if version is None or version != mark:
                if feed.generation == generation and self._local_commits == commits:
                    feed.wake_all()
                mark = version
            generation, commits = feed.generation, self._local_commits

    def _data_version(self) -> int | None:
        """SQLite's count of commits by other connections as this store's own connection
        sees it (None if it cannot tell now: the caller then reads the log)."""
        with self._version_lock:
            try:
                if self._version_conn is None:
                    self._version_conn = connect(self.path, synchronous=self._synchronous)
                    self._version_conn.execute("PRAGMA busy_timeout=0")  # never block the loop
                return int(self._version_conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                return None

    async def head_position(self) -> int:
        def head(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT MAX(position) FROM events").fetchone()
            return int(row[0] or 0)

        return await self._readers.point(head)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        watcher = self._watchers.pop(asyncio.get_running_loop(), None)
        if watcher is not None:
            watcher.cancel()
        if self._writer is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._writer.join)
        await self._readers.close()
        with self._version_lock:
            if self._version_conn is not None:
                self._version_conn.close()
                self._version_conn = None
