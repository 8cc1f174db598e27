"""Opening SQLite the way every adapter here needs it: WAL, a busy timeout, explicit
transactions."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000


def path_from_url(url: str) -> Path:
    """``sqlite:///relative/file.db`` or ``sqlite:////abs/file.db`` -> a path."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise ValueError(f"not a sqlite URL: {url!r}")
    path = unquote(parts.path)
    if path.startswith("//") or path.startswith("/"):
        path = path[1:]
    if not path:
        raise ValueError(f"sqlite URL has no file: {url!r}")
    return Path(path)


def connect(path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN/COMMIT ourselves), in WAL mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _retry_locked(fn: Callable[[], T], attempts: int = 50) -> T:
    """Switching to WAL needs a moment alone with the file; another process may hold it."""
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(0.02)
    raise AssertionError("unreachable")


class Readers:
    """A small pool of reader threads, each with its own connection (sqlite3 connections must
    not be shared between threads). Closing waits for reads in flight before closing their
    connections: a cancelled asyncio task does not stop the thread running its query."""

    def __init__(self, path: Path, *, synchronous: str = "FULL", threads: int = 4) -> None:
        self._path = path
        self._synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=f"sqlite-read:{path.name}"
        )
        self.statistics = 0
        """Bumped when the writer has gathered new planner statistics (``ANALYZE``): each
        connection loads them before its next read (SQLite reads them only when a connection
        opens, or on ``ANALYZE sqlite_schema``)."""
        self._loaded: dict[int, int] = {}  # id(connection) -> the statistics it has

    def _fresh(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        wanted = self.statistics
        if self._loaded.get(id(conn)) != wanted:
            conn.execute("ANALYZE sqlite_schema")
            self._loaded[id(conn)] = wanted
        return conn

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self._path, synchronous=self._synchronous)
            self._local.conn = conn
            self._loaded[id(conn)] = self.statistics  # opened: the statistics of now
            with self._lock:
                self._all.append(conn)
        return self._fresh(conn)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(connection, *args)`` on a reader thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, lambda: fn(self._connection(), *args)
        )

    def _here(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "here", None)
        if conn is None:
            conn = connect(self._path, synchronous=self._synchronous)
            conn.execute("PRAGMA busy_timeout=0")  # never wait on the caller's thread
            self._local.here = conn
            self._loaded[id(conn)] = self.statistics
            with self._lock:
                self._all.append(conn)
        return self._fresh(conn)

    async def point(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(connection, *args)`` on the calling thread, for reads of a few rows by an
        index (microseconds in SQLite): the hop to a reader thread and back costs several
        times the query (a third of a command's reads were such hops). In WAL mode a read
        waits for no writer; if the file is busy all the same (a checkpoint truncating the
        WAL, a recovery), the read goes to a reader thread, which may wait."""
        try:
            return fn(self._here(), *args)
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
        return await self.run(fn, *args)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
