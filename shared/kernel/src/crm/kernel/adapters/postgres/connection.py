"""What both PostgreSQL adapters share: the URL they accept and a pool opened on first use."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

SetupFn = Callable[[asyncpg.Connection], Awaitable[None]]
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def split_url(url: str, default_schema: str) -> tuple[str, str]:
    """The DSN for asyncpg and the schema our tables live in.

    ``postgresql://`` and ``postgres://`` URLs are accepted; an optional ``?schema=name`` query
    parameter (ours, removed before the DSN reaches asyncpg) puts the tables in their own
    schema, so that several stores, or several tests, share one database without meeting.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {parts.scheme!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = default_schema
    kept = []
    for name, value in query:
        if name == "schema":
            schema = value
        else:
            kept.append((name, value))
    dsn = urlunsplit(parts._replace(query=urlencode(kept)))
    return dsn, check_identifier(schema)


def check_identifier(name: str) -> str:
    """Schema names are spliced into SQL, so only plain lower-case identifiers are allowed."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"invalid schema name {name!r} (lower-case letters, digits and _)")
    return name


class LazyPool:
    """An asyncpg pool created on first use, in the event loop that uses it (a store is built
    synchronously, before any loop runs), with ``setup`` run once after it opens."""

    def __init__(self, dsn: str, *, min_size: int, max_size: int) -> None:
        self.dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None
        self.closed = False

    async def get(self, setup: SetupFn) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        if self.closed:
            raise RuntimeError("store is closed")
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                pool = await asyncpg.create_pool(
                    self.dsn, min_size=self._min_size, max_size=self._max_size
                )
                try:
                    async with pool.acquire() as conn:
                        await setup(conn)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
        return self._pool

    async def close(self) -> None:
        self.closed = True
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


async def create_schema(conn: asyncpg.Connection, lock_name: str, ddl: str) -> None:
    """Run idempotent DDL under a transaction-scoped advisory lock: ``CREATE ... IF NOT EXISTS``
    alone still fails when two processes create the same schema at the same instant."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", lock_name)
        await conn.execute(ddl)
