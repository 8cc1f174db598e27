"""What an import pass keeps of each row, on disk rather than in the process: the report's rows
that do not create (:class:`Issues`), the match keys of the file's creating rows
(:class:`KeyIndex`) and the first row of each key a kind checks later rows against
(:class:`RowsByKey`).

Each is a private SQLite database that SQLite makes in the temporary directory and deletes
when it is closed (or dropped); its page cache is bounded (:data:`CACHE_KIB`), so a pass over
100 000 rows holds no more than a pass over 1 000 (``bench/imports.py`` measures the peak
RSS of both; ``tests/integration/test_import_memory.py`` fails if what a run holds grows
with its rows).
Nothing here is a record: the import's record is its stream; these live as long as the pass
or the kept dry run that made them.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Collection, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crm.customer.domain.duplicates import MatchKeys
    from crm.platform.imports.run import RowOutcome

CACHE_KIB = 1024
"""The page cache of each scratch database (SQLite writes the rest to its file)."""

BUFFERED = 256
"""Report rows written at once (one ``executemany``)."""


def scratch() -> sqlite3.Connection:
    """A private on-disk database, deleted when closed: no journal, no sync (nothing in it
    outlives the process)."""
    db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA temp_store=FILE")
    return db


class Issues:
    """The report's rows that do not create (duplicates, errors, updates, merges, unchanged),
    in the file's order, kept on disk and read a page at a time. A row is kept without what it
    read as (``item``): its answer and message are made of the rest."""

    def __init__(self) -> None:
        self._db = scratch()
        self._db.execute(
            "CREATE TABLE issue (n INTEGER PRIMARY KEY, outcome TEXT NOT NULL, body BLOB NOT NULL)"
        )
        self._db.execute("CREATE INDEX issue_outcome ON issue (outcome, n)")
        self._buffer: list[tuple[str, bytes]] = []
        self._count = 0

    def append(self, outcome: RowOutcome) -> None:
        body = pickle.dumps(replace(outcome, item=None), pickle.HIGHEST_PROTOCOL)
        self._buffer.append((outcome.outcome, body))
        self._count += 1
        if len(self._buffer) >= BUFFERED:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._db.executemany("INSERT INTO issue (outcome, body) VALUES (?, ?)", self._buffer)
            self._buffer.clear()

    def __len__(self) -> int:
        return self._count

    def count(self, outcomes: Collection[str] | None = None) -> int:
        """How many rows did one of ``outcomes`` (None: any)."""
        if outcomes is None:
            return self._count
        self._flush()
        marks = ", ".join("?" * len(outcomes))
        found = self._db.execute(
            f"SELECT count(*) FROM issue WHERE outcome IN ({marks})",
            tuple(outcomes),
        ).fetchone()
        return int(found[0])

    def page(
        self, offset: int = 0, limit: int = 50, outcomes: Collection[str] | None = None
    ) -> list[RowOutcome]:
        """Rows ``offset`` to ``offset + limit`` of those that did one of ``outcomes``."""
        self._flush()
        if outcomes is None:
            cursor = self._db.execute(
                "SELECT body FROM issue ORDER BY n LIMIT ? OFFSET ?", (limit, offset)
            )
        else:
            marks = ", ".join("?" * len(outcomes))
            cursor = self._db.execute(
                f"SELECT body FROM issue WHERE outcome IN ({marks}) ORDER BY n LIMIT ? OFFSET ?",
                (*outcomes, limit, offset),
            )
        return [pickle.loads(body) for (body,) in cursor]  # our own rows, written above

    def __iter__(self) -> Iterator[RowOutcome]:
        """Every row, a page at a time."""
        offset = 0
        while chunk := self.page(offset, BUFFERED):
            yield from chunk
            offset += len(chunk)

    def close(self) -> None:
        self._db.close()


class KeyIndex:
    """The match keys of the file's rows that create a record, each with its row, its
    record's id and the keys it is scored on: the first row of each e-mail and phone key, and
    up to ``per_company`` rows of each company key (as the read model's duplicate check scans
    them)."""

    def __init__(self, per_company: int) -> None:
        self.per_company = per_company
        self._db = scratch()
        self._db.executescript(
            """
            CREATE TABLE seen (n INTEGER PRIMARY KEY, row INTEGER NOT NULL, id TEXT NOT NULL,
                name TEXT, email TEXT, phone TEXT, company TEXT);
            CREATE TABLE first (kind TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL,
                PRIMARY KEY (kind, key)) WITHOUT ROWID;
            CREATE TABLE company (key TEXT NOT NULL, n INTEGER NOT NULL,
                PRIMARY KEY (key, n)) WITHOUT ROWID;
            """
        )

    def add(self, keys: MatchKeys, row: int, id_: str) -> None:
        n = self._db.execute(
            "INSERT INTO seen (row, id, name, email, phone, company) VALUES (?, ?, ?, ?, ?, ?)",
            (row, id_, keys.name, keys.email, keys.phone, keys.company),
        ).lastrowid
        for kind, key in (("email", keys.email), ("phone", keys.phone)):
            if key:
                self._db.execute("INSERT OR IGNORE INTO first VALUES (?, ?, ?)", (kind, key, n))
        if keys.company:
            self._db.execute(
                "INSERT INTO company SELECT ?, ? WHERE"
                " (SELECT count(*) FROM company WHERE key = ?) < ?",
                (keys.company, n, keys.company, self.per_company),
            )

    def found(self, keys: MatchKeys) -> list[tuple[int, str, dict[str, str | None]]]:
        """The rows sharing a key with ``keys``: the e-mail's, the phone's, then the
        company's in the file's order (each with its row, id and scored keys)."""
        found: list[int] = []
        for kind, key in (("email", keys.email), ("phone", keys.phone)):
            if key:
                hit = self._db.execute(
                    "SELECT n FROM first WHERE kind = ? AND key = ?", (kind, key)
                ).fetchone()
                if hit is not None:
                    found.append(hit[0])
        if keys.company:
            found.extend(
                n
                for (n,) in self._db.execute(
                    "SELECT n FROM company WHERE key = ? ORDER BY n", (keys.company,)
                )
            )
        answer = []
        for n in found:
            row, id_, name, email, phone, company = self._db.execute(
                "SELECT row, id, name, email, phone, company FROM seen WHERE n = ?", (n,)
            ).fetchone()
            doc = {"email_key": email, "phone_key": phone, "company_key": company, "name": name}
            answer.append((row, id_, doc))
        return answer


class RowsByKey:
    """A key (an order's number, a SKU, a customer's id) → the row of the file that had it
    first, as a dict would say it, kept on disk."""

    def __init__(self) -> None:
        self._db = scratch()
        self._db.execute("CREATE TABLE row_of (key TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID")

    def get(self, key: str) -> int | None:
        hit = self._db.execute("SELECT row FROM row_of WHERE key = ?", (key,)).fetchone()
        return None if hit is None else int(hit[0])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __getitem__(self, key: str) -> int:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __setitem__(self, key: str, row: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO row_of VALUES (?, ?)", (key, row))

    def setdefault(self, key: str, row: int) -> int:
        self._db.execute("INSERT OR IGNORE INTO row_of VALUES (?, ?)", (key, row))
        found = self.get(key)
        assert found is not None
        return found
