"""Subject keys in their own SQLite file, kept apart from the events so that backups of the
log never carry them. ``secure_delete`` overwrites an erased key's bytes on disk, and the
WAL is checkpointed at erasure so no old page still holds it."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from crm.kernel.adapters.sqlite.connection import connect
from crm.kernel.keys import new_key

T = TypeVar("T")
_KeyRequest = tuple[list[str], "Future[dict[str, bytes]]"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS subject_keys (
    subject    TEXT PRIMARY KEY,
    key        BLOB,
    created_at TEXT NOT NULL,
    erased_at  TEXT
) WITHOUT ROWID;
"""


class SqliteKeyStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-keys")
        self._waiting: queue.SimpleQueue[_KeyRequest] = queue.SimpleQueue()
        self._conn = connect(path)
        self._conn.execute("PRAGMA secure_delete=ON")
        self._conn.executescript(SCHEMA)

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def _select(self, subjects: list[str]) -> dict[str, bytes | None]:
        found: dict[str, bytes | None] = {}
        for start in range(0, len(subjects), 500):
            chunk = subjects[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for subject, key in self._conn.execute(
                f"SELECT subject, key FROM subject_keys WHERE subject IN ({marks})", chunk
            ):
                found[subject] = key
        return found

    async def get(self, subjects: Collection[str]) -> Mapping[str, bytes]:
        def get() -> dict[str, bytes]:
            return {s: k for s, k in self._select(list(subjects)).items() if k is not None}

        if not subjects:
            return {}
        return await self._run(get)

    async def get_or_create(self, subjects: Collection[str]) -> Mapping[str, bytes]:
        """The subjects' keys, new ones created. Calls waiting at once share one transaction
        (one fsync): a burst of registrations (an import's batch, sixteen clients) used to
        commit a key each, one after another on this store's single thread."""
        if not subjects:
            return {}
        request: _KeyRequest = (list(dict.fromkeys(subjects)), Future())
        self._waiting.put(request)
        self._pool.submit(self._create_waiting)
        return await asyncio.wrap_future(request[1])

    def _create_waiting(self) -> None:
        """Every request waiting now, in one transaction (the pool's one thread runs this once
        per request; a run that finds the queue emptied by an earlier one does nothing)."""
        group: list[_KeyRequest] = []
        while True:
            try:
                group.append(self._waiting.get_nowait())
            except queue.Empty:
                break
        group = [r for r in group if r[1].set_running_or_notify_cancel()]
        if not group:
            return
        wanted = list(dict.fromkeys(s for subjects, _ in group for s in subjects))
        try:
            keys = self._create(wanted)
        except BaseException as e:
            for _, done in group:
                done.set_exception(e)
            return
        for subjects, done in group:
            done.set_result({s: keys[s] for s in subjects if s in keys})

    def _create(self, wanted: list[str]) -> dict[str, bytes]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            found = self._select(wanted)
            now = datetime.now(UTC).isoformat()
            missing = [(s, new_key(), now) for s in wanted if s not in found]
            self._conn.executemany(
                "INSERT INTO subject_keys (subject, key, created_at) VALUES (?, ?, ?)", missing
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        keys = {s: k for s, k in found.items() if k is not None}
        keys.update((s, k) for s, k, _ in missing)
        return keys

    async def erase(self, subject: str) -> None:
        def erase() -> None:
            now = datetime.now(UTC).isoformat()
            self._conn.execute(
                "INSERT INTO subject_keys (subject, key, created_at, erased_at)"
                " VALUES (?, NULL, ?, ?)"
                " ON CONFLICT (subject) DO UPDATE SET key = NULL, erased_at = excluded.erased_at",
                (subject, now, now),
            )
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await self._run(erase)

    async def is_erased(self, subject: str) -> bool:
        def erased() -> bool:
            row = self._conn.execute(
                "SELECT erased_at FROM subject_keys WHERE subject = ?", (subject,)
            ).fetchone()
            return bool(row and row[0])

        return await self._run(erased)

    async def close(self) -> None:
        await self._run(self._conn.close)
        self._pool.shutdown(wait=True)
