"""Subject keys in PostgreSQL, in their own schema (``crm_keys`` by default), which can live in
another database than the events so that backups of the log never carry them.

Erasure sets the key to NULL and then VACUUMs the table, so the dead row version holding the
key is pruned from its page. That is best effort, and weaker than SQLite's ``secure_delete``:
PostgreSQL does not promise to overwrite the freed bytes, and the WAL (and any WAL archive,
replica or base backup taken before) still holds the key until it is recycled. Deployments that
must prove physical erasure keep the key store in a database with short WAL retention and no
long-lived archives, or encrypted storage whose own keys rotate.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import asyncpg

from crm.kernel.adapters.postgres.connection import (
    LazyPool,
    check_identifier,
    create_schema,
    split_url,
)
from crm.kernel.keys import new_key

DEFAULT_SCHEMA = "crm_keys"


def _ddl(s: str) -> str:
    return f"""
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.subject_keys (
    subject    TEXT        PRIMARY KEY,
    key        BYTEA,
    created_at TIMESTAMPTZ NOT NULL,
    erased_at  TIMESTAMPTZ
);
"""


class PostgresKeyStore:
    """A :class:`crm.kernel.keys.KeyStore`. ``url`` as for the event store: ``postgresql://``
    or ``postgres://``, with an optional ``?schema=`` (default ``crm_keys``)."""

    def __init__(self, url: str, *, schema: str | None = None, max_pool_size: int = 5) -> None:
        dsn, url_schema = split_url(url, DEFAULT_SCHEMA)
        self.schema = url_schema if schema is None else check_identifier(schema)
        self._pool = LazyPool(dsn, min_size=1, max_size=max_pool_size)
        self._table = f"{self.schema}.subject_keys"

    async def _setup(self, conn: asyncpg.Connection) -> None:
        await create_schema(conn, f"crm-key-store:{self.schema}", _ddl(self.schema))

    async def _conn_pool(self) -> asyncpg.Pool:
        return await self._pool.get(self._setup)

    async def _select(self, subjects: list[str]) -> dict[str, bytes | None]:
        pool = await self._conn_pool()
        rows = await pool.fetch(
            f"SELECT subject, key FROM {self._table} WHERE subject = ANY($1::TEXT[])", subjects
        )
        return {r[0]: r[1] for r in rows}

    async def get(self, subjects: Collection[str]) -> Mapping[str, bytes]:
        if not subjects:
            return {}
        found = await self._select(list(subjects))
        return {s: k for s, k in found.items() if k is not None}

    async def get_or_create(self, subjects: Collection[str]) -> Mapping[str, bytes]:
        if not subjects:
            return {}
        wanted = list(dict.fromkeys(subjects))
        found = await self._select(wanted)
        missing = [s for s in wanted if s not in found]
        if missing:
            # A concurrent caller may insert the same subject first: ON CONFLICT keeps its key
            # (or its erasure), and the re-read below returns what won, so one subject never
            # ends up with two keys.
            pool = await self._conn_pool()
            await pool.execute(
                f"INSERT INTO {self._table} (subject, key, created_at)"
                " SELECT subject, key, now()"
                " FROM unnest($1::TEXT[], $2::BYTEA[]) AS u(subject, key)"
                " ON CONFLICT (subject) DO NOTHING",
                missing,
                [new_key() for _ in missing],
            )
            found.update(await self._select(missing))
        return {s: k for s, k in found.items() if k is not None}

    async def erase(self, subject: str) -> None:
        pool = await self._conn_pool()
        await pool.execute(
            f"INSERT INTO {self._table} (subject, key, created_at, erased_at)"
            " VALUES ($1, NULL, now(), now())"
            " ON CONFLICT (subject) DO UPDATE SET key = NULL, erased_at = excluded.erased_at",
            subject,
        )
        await pool.execute(f"VACUUM {self._table}")

    async def is_erased(self, subject: str) -> bool:
        pool = await self._conn_pool()
        erased_at = await pool.fetchval(
            f"SELECT erased_at FROM {self._table} WHERE subject = $1", subject
        )
        return erased_at is not None

    async def close(self) -> None:
        await self._pool.close()
