"""The SQLite read store: one table per collection, documents as JSON, indexes on expressions.

Writes go through one connection on one thread (SQLite has one writer per file anyway); reads
use a connection per thread. A projection's commit is atomic: the guarded upserts, the dead
letters and the checkpoint move together, so a projection's effect is exactly-once here.

Commits are grouped (group commit): the commits of every runner that are waiting when the
writer thread gets to them go into one transaction, each in a savepoint of its own, with one
fsync for all. A commit that fails (its checkpoint moved, a unique index refused a document)
rolls back to its savepoint alone and raises to its caller; the others commit. Each runner's
documents and checkpoint are still in one savepoint, released only as a whole, so the
checkpoint cannot move without its documents or the documents without it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from crm.kernel.adapters.sqlite.connection import Readers, connect
from crm.kernel.adapters.sqlite.notifier import CommitNotifier
from crm.kernel.read_store import (
    OPERATORS,
    Checkpoint,
    CheckpointMoved,
    CollectionSpec,
    DeadLetter,
    Document,
    Filter,
    InvalidQuery,
    Page,
    Query,
    Versioned,
    Write,
    check_field,
)

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS _checkpoints (
    projection TEXT PRIMARY KEY,
    position   INTEGER NOT NULL,
    epoch      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _dead_letters (
    id          INTEGER PRIMARY KEY,
    projection  TEXT NOT NULL,
    position    INTEGER NOT NULL,
    event_id    TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    error       TEXT NOT NULL,
    failed_at   TEXT NOT NULL,
    UNIQUE (projection, event_id)
);
"""
IDLE_RECHECK_SECONDS = 0.25


def table(collection: str) -> str:
    if not collection.replace("_", "").isalnum():
        raise InvalidQuery(f"not a collection name: {collection!r}")
    return f'"rm_{collection}"'


def _json_path(path: str) -> str:
    return f"json_extract(doc, '$.{check_field(path)}')"


def _sql_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def compile_filter(flt: Filter, params: list[Any]) -> str:
    """The WHERE clause of a filter (see :mod:`crm.kernel.read_store`), parameters appended."""
    clauses: list[str] = []
    for key, value in flt.items():
        if key in ("$or", "$and"):
            if not isinstance(value, list | tuple) or not value:
                raise InvalidQuery(f"{key} takes a non-empty list of filters")
            parts = [compile_filter(sub, params) for sub in value]
            joiner = " OR " if key == "$or" else " AND "
            clauses.append("(" + joiner.join(parts) + ")")
            continue
        expr = _json_path(key)
        ops = value if isinstance(value, Mapping) else {"$eq": value}
        for op, arg in ops.items():
            clauses.append(_compile_op(key, expr, op, arg, params))
    return " AND ".join(clauses) if clauses else "1"


def _compile_op(key: str, expr: str, op: str, arg: Any, params: list[Any]) -> str:
    if op not in OPERATORS:
        raise InvalidQuery(f"unknown operator {op!r} on {key!r}")
    if op in ("$eq", "$ne"):
        if arg is None:
            return f"{expr} IS {'NOT ' if op == '$ne' else ''}NULL"
        params.append(_sql_value(arg))
        return f"{expr} = ?" if op == "$eq" else f"({expr} IS NULL OR {expr} != ?)"
    if op in ("$in", "$nin"):
        if not isinstance(arg, list | tuple | set | frozenset):
            raise InvalidQuery(f"{op} on {key!r} takes a list")
        if not arg:
            return "0" if op == "$in" else "1"
        params.extend(_sql_value(a) for a in arg)
        marks = ",".join("?" * len(arg))
        return (
            f"{expr} IN ({marks})"
            if op == "$in"
            else f"({expr} IS NULL OR {expr} NOT IN ({marks}))"
        )
    if op in ("$gt", "$gte", "$lt", "$lte"):
        params.append(_sql_value(arg))
        sign = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
        return f"({expr} IS NOT NULL AND {expr} {sign} ?)"
    if op == "$exists":
        return f"json_type(doc, '$.{key}') IS {'NOT ' if arg else ''}NULL"
    if op == "$contains":
        params.append(_sql_value(arg))
        return f"EXISTS (SELECT 1 FROM json_each(doc, '$.{key}') WHERE value = ?)"
    # $icontains
    if not isinstance(arg, str):
        raise InvalidQuery(f"$icontains on {key!r} takes a string")
    params.append(_like_pattern(arg))
    return f"lower({expr}) LIKE ? ESCAPE '\\'"


def compile_sort(sort: Sequence[tuple[str, int]]) -> str:
    parts = []
    for path, direction in sort:
        if direction not in (1, -1):
            raise InvalidQuery(f"sort direction of {path!r} must be 1 or -1")
        parts.append(f"{_json_path(path)} {'ASC' if direction == 1 else 'DESC'}")
    parts.append("id ASC")
    return ", ".join(parts)


@dataclass(eq=False, slots=True)
class _Commit:
    projection: str
    writes: Sequence[Write]
    checkpoint: int
    expected: Checkpoint
    dead_letters: Sequence[DeadLetter]
    done: Future[None] = field(default_factory=Future)


def _checkpoint(conn: sqlite3.Connection, projection: str) -> Checkpoint | None:
    row = conn.execute(
        "SELECT position, epoch FROM _checkpoints WHERE projection = ?", (projection,)
    ).fetchone()
    return Checkpoint(int(row[0]), int(row[1])) if row else None


log = logging.getLogger(__name__)

ANALYSIS_LIMIT = 1000
"""Rows sampled per index when the planner's statistics are gathered (``PRAGMA
analysis_limit``): enough to tell a key from a category, in milliseconds at any size."""
ANALYZE_FIRST = 1000
"""Documents written before statistics are gathered again after the first time; then each
time the documents written have doubled (so a growing store pays for it a logarithmic number
of times)."""


class SqliteReadStore:
    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self._readers = Readers(path, synchronous=synchronous)
        self._writer_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-rm")
        self._writer = connect(path, synchronous=synchronous)
        # what a write replaces or deletes (an erased customer's e-mail, a dropped staging
        # table) is overwritten with zeros, not left in free space on disk
        self._writer.execute("PRAGMA secure_delete=ON")
        self._writer.executescript(SCHEMA)
        self._notifier = CommitNotifier()
        self._known: set[str] = set()
        self._pending: list[_Commit] = []
        self._pending_lock = threading.Lock()
        self._flush_queued = False
        self.transactions = 0
        """Commit transactions so far (several projections' commits share one): diagnostics."""
        self._written = 0
        self._analyze_at = 0  # the first commit gathers statistics (a file opened again)
        self.analyses = 0
        """Times the planner's statistics were gathered: diagnostics."""

    async def _write(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._writer_pool, fn, *args)

    # -- schema ------------------------------------------------------------------------------

    async def ensure(self, collections: Sequence[CollectionSpec]) -> None:
        await self._write(self._ensure, collections)

    def _ensure(self, collections: Sequence[CollectionSpec]) -> None:
        conn = self._writer
        for spec in collections:
            name = table(spec.name)
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {name} ("
                " id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT)"
            )
            for index in spec.indexes:
                exprs = ", ".join(_json_path(f) for f in index.fields)
                ix = f'"ix_{spec.name}__{"__".join(f.replace(".", "_") for f in index.fields)}"'
                unique = "UNIQUE " if index.unique else ""
                conn.execute(f"CREATE {unique}INDEX IF NOT EXISTS {ix} ON {name} ({exprs})")
            self._known.add(spec.name)

    def _ensure_table(self, conn: sqlite3.Connection, collection: str) -> bool:
        """Create the collection's table unless known to exist; whether it was not known."""
        if collection in self._known:
            return False
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table(collection)} ("
            " id TEXT PRIMARY KEY, position INTEGER NOT NULL, doc TEXT)"
        )
        self._known.add(collection)
        return True

    # -- reading -----------------------------------------------------------------------------

    async def _read(self, fn: Any, *args: Any, point: bool = False) -> Any:
        """``fn(conn, *args)`` on a reader thread, or with ``point`` (a read by key) on the
        caller's (:meth:`Readers.point`); None if its table does not exist yet."""

        def run(conn: sqlite3.Connection) -> Any:
            try:
                return fn(conn, *args)
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return None
                raise

        return await (self._readers.point(run) if point else self._readers.run(run))

    async def get(self, collection: str, id: str) -> Document | None:
        def get(conn: sqlite3.Connection) -> Document | None:
            row = conn.execute(
                f"SELECT doc FROM {table(collection)} WHERE id = ?", (id,)
            ).fetchone()
            return json.loads(row[0]) if row and row[0] is not None else None

        doc: Document | None = await self._read(get, point=True)
        return doc

    async def get_versioned(self, collection: str, ids: Sequence[str]) -> dict[str, Versioned]:
        def get(conn: sqlite3.Connection) -> dict[str, Versioned]:
            found: dict[str, Versioned] = {}
            unique = list(dict.fromkeys(ids))
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for id_, position, doc in conn.execute(
                    f"SELECT id, position, doc FROM {table(collection)} WHERE id IN ({marks})",
                    chunk,
                ):
                    found[id_] = Versioned(json.loads(doc) if doc is not None else None, position)
            return found

        if not ids:
            return {}
        result: dict[str, Versioned] | None = await self._read(get)
        return result or {}

    async def find(self, collection: str, query: Query) -> Page:
        params: list[Any] = []
        where = compile_filter(query.filter, params)
        order = compile_sort(query.sort)
        if query.limit < 0 or query.offset < 0:
            raise InvalidQuery("limit and offset must not be negative")

        def find(conn: sqlite3.Connection) -> Page:
            name = table(collection)
            total = conn.execute(
                f"SELECT COUNT(*) FROM {name} WHERE doc IS NOT NULL AND {where}", params
            ).fetchone()[0]
            rows = conn.execute(
                f"SELECT doc FROM {name} WHERE doc IS NOT NULL AND {where}"
                f" ORDER BY {order} LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset],
            ).fetchall()
            return Page([json.loads(r[0]) for r in rows], total, query.limit, query.offset)

        page: Page | None = await self._read(find)
        return page or Page([], 0, query.limit, query.offset)

    async def checkpoint(self, projection: str) -> Checkpoint:
        found: Checkpoint | None = await self._read(_checkpoint, projection, point=True)
        return found or Checkpoint()

    async def wait_for_checkpoint(self, projection: str, position: int, timeout: float) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            seen = self._notifier.generation
            reached = (await self.checkpoint(projection)).position
            remaining = deadline - loop.time()
            if reached >= position or remaining <= 0:
                return reached
            await self._notifier.wait(seen, min(remaining, IDLE_RECHECK_SECONDS))

    async def dead_letters(self, projection: str | None = None) -> list[DeadLetter]:
        def get(conn: sqlite3.Connection) -> list[DeadLetter]:
            sql = (
                "SELECT projection, position, event_id, event_type, error, failed_at"
                " FROM _dead_letters"
            )
            rows = (
                conn.execute(sql + " ORDER BY id").fetchall()
                if projection is None
                else conn.execute(
                    sql + " WHERE projection = ? ORDER BY id", (projection,)
                ).fetchall()
            )
            return [
                DeadLetter(r[0], r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5])) for r in rows
            ]

        return await self._read(get) or []

    # -- writing -----------------------------------------------------------------------------

    async def commit(
        self,
        projection: str,
        writes: Sequence[Write],
        *,
        checkpoint: int,
        expected: Checkpoint,
        dead_letters: Sequence[DeadLetter] = (),
    ) -> Checkpoint:
        request = _Commit(projection, writes, checkpoint, expected, dead_letters)
        with self._pending_lock:
            self._pending.append(request)
            queue_flush, self._flush_queued = not self._flush_queued, True
        if queue_flush:
            # queued behind whatever the writer thread has to do first (an ensure, a swap),
            # so commits and schema changes keep the order they were asked in
            self._writer_pool.submit(self._flush)
        await asyncio.wrap_future(request.done)
        return Checkpoint(checkpoint, expected.epoch)

    def _flush(self) -> None:
        """Commit every commit waiting now in one transaction, each in its own savepoint."""
        with self._pending_lock:
            waiting, self._pending, self._flush_queued = self._pending, [], False
        # a commit whose caller was cancelled before this is dropped (nothing is written);
        # from here on the others cannot be cancelled, so each gets its outcome
        group = [c for c in waiting if c.done.set_running_or_notify_cancel()]
        if not group:
            return
        conn = self._writer
        outcomes: list[BaseException | None] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for request in group:
                    created: list[str] = []
                    conn.execute("SAVEPOINT projection_commit")
                    try:
                        self._commit(conn, request, created)
                    except Exception as e:
                        conn.execute("ROLLBACK TO projection_commit")
                        self._known.difference_update(created)
                        outcomes.append(e)
                    else:
                        outcomes.append(None)
                    conn.execute("RELEASE projection_commit")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except Exception as e:  # the transaction failed as a whole: none of it was written
            self._known.clear()  # tables created in it are gone again
            for request in group:
                request.done.set_exception(e)
            return
        self.transactions += 1
        self._written += sum(len(r.writes) for r in group)
        if self._written >= self._analyze_at:
            self._analyze()
        self._notifier.notify()
        for request, outcome in zip(group, outcomes, strict=True):
            if outcome is None:
                request.done.set_result(None)
            else:
                request.done.set_exception(outcome)

    def _analyze(self) -> None:
        """Gather the query planner's statistics of every table and index (a sample of
        :data:`ANALYSIS_LIMIT` rows per index), then again each time the documents written
        since the store opened have doubled. Without them SQLite cannot tell a selective
        index from another: a duplicate check by e-mail, sorted by registration, walked the
        tenant's whole ``created_at`` index (4 ms at 2 200 customers, growing with them)
        instead of the e-mail index's one entry (0.01 ms)."""
        conn = self._writer
        try:
            conn.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            conn.execute("ANALYZE")
        except sqlite3.OperationalError:  # busy: statistics are an optimisation, try later
            log.warning("could not gather the read store's statistics", exc_info=True)
            self._analyze_at = self._written + ANALYZE_FIRST
            return
        self.analyses += 1
        self._analyze_at = max(2 * self._written, ANALYZE_FIRST)
        self._readers.statistics += 1

    def _commit(self, conn: sqlite3.Connection, request: _Commit, created: list[str]) -> None:
        """One projection's commit, inside the group's transaction: its checkpoint is checked
        (compare-and-set) and moved with its documents and dead letters."""
        projection, expected = request.projection, request.expected
        current = _checkpoint(conn, projection) or Checkpoint()
        if current != expected:
            raise CheckpointMoved(
                f"{projection} checkpoint is at {current}, this writer expected {expected}"
            )
        by_collection: dict[str, list[tuple[str, int, str | None]]] = {}
        for w in request.writes:
            doc = None if w.doc is None else json.dumps(w.doc, separators=(",", ":"), default=str)
            by_collection.setdefault(w.collection, []).append((w.id, w.position, doc))
        for collection, rows in by_collection.items():
            if self._ensure_table(conn, collection):
                created.append(collection)
            conn.executemany(
                f"INSERT INTO {table(collection)} (id, position, doc) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET position = excluded.position,"
                " doc = excluded.doc WHERE excluded.position > position",
                rows,
            )
        if request.dead_letters:
            conn.executemany(
                "INSERT OR IGNORE INTO _dead_letters"
                " (projection, position, event_id, event_type, error, failed_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.projection,
                        d.position,
                        d.event_id,
                        d.event_type,
                        d.error,
                        d.failed_at.isoformat(),
                    )
                    for d in request.dead_letters
                ],
            )
        conn.execute(
            "INSERT INTO _checkpoints (projection, position, epoch) VALUES (?, ?, ?)"
            " ON CONFLICT (projection) DO UPDATE SET position = excluded.position",
            (projection, request.checkpoint, expected.epoch),
        )

    async def drop(self, collections: Sequence[str], projection: str) -> None:
        def drop() -> None:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                for c in collections:
                    conn.execute(f"DROP TABLE IF EXISTS {table(c)}")
                    self._known.discard(c)
                conn.execute("DELETE FROM _checkpoints WHERE projection = ?", (projection,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await self._write(drop)

    async def swap(
        self, projection: str, collections: Mapping[str, str], *, staged_projection: str
    ) -> int:
        def swap() -> int:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                position = (_checkpoint(conn, staged_projection) or Checkpoint()).position
                epoch = (_checkpoint(conn, projection) or Checkpoint()).epoch + 1
                for live, staged in collections.items():
                    self._replace_table(conn, live, staged)
                conn.execute("DELETE FROM _checkpoints WHERE projection = ?", (staged_projection,))
                conn.execute(
                    "INSERT INTO _checkpoints (projection, position, epoch) VALUES (?, ?, ?)"
                    " ON CONFLICT (projection) DO UPDATE SET position = excluded.position,"
                    " epoch = excluded.epoch",
                    (projection, position, epoch),
                )
                conn.execute("COMMIT")
                return position
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        position: int = await self._write(swap)
        self._notifier.notify()
        return position

    def _replace_table(self, conn: sqlite3.Connection, live: str, staged: str) -> None:
        """Drop ``live``, rename ``staged`` to it, and give it ``live``'s indexes by their names."""
        self._ensure_table(conn, staged)
        indexes_of = (
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
        )
        live_indexes = conn.execute(indexes_of, (f"rm_{live}",)).fetchall()
        staged_indexes = conn.execute(indexes_of, (f"rm_{staged}",)).fetchall()
        conn.execute(f"DROP TABLE IF EXISTS {table(live)}")
        for name, _ in staged_indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute(f"ALTER TABLE {table(staged)} RENAME TO {table(live)}")
        for _, sql in live_indexes:
            conn.execute(sql)
        self._known.discard(staged)
        self._known.add(live)

    async def purge_old_copies(self) -> None:
        """Leave no earlier version of any document on disk: checkpoint the write-ahead log
        into the file and truncate it (``secure_delete`` already zeroed what was replaced
        there). Called after an erasure's documents were rewritten (see
        :mod:`crm.kernel.erasure`); waits for readers in flight, as any checkpoint does."""

        def purge() -> None:
            busy, _, _ = self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                raise sqlite3.OperationalError("the WAL checkpoint was blocked by a reader")

        await self._write(purge)

    async def close(self) -> None:
        await self._write(self._writer.close)
        self._writer_pool.shutdown(wait=True)
        await self._readers.close()
