"""Rate limits shared by every replica, in PostgreSQL (``CRM_RATE_LIMIT_STORE=postgresql://…``).

One UNLOGGED table (limits are worth nothing after a crash, so their writes skip the WAL), a
row per key holding the key's GCRA ``tat`` (see :mod:`crm.kernel.http.ratelimit`). A request
is one statement: an ``INSERT … ON CONFLICT DO UPDATE … WHERE`` moves each key's ``tat`` only
if its limit allows it, atomically under the row's lock, so replicas counting the same user
never both spend the last token. Time is the database server's clock (``clock_timestamp()``),
one clock for every replica, whatever their own clocks say. Keys are locked in sorted order, so
two requests never deadlock. Rows whose ``tat`` has passed mean a full bucket, the same as no
row: they are deleted now and then."""

from __future__ import annotations

import time
from collections.abc import Sequence

import asyncpg

from crm.kernel.adapters.postgres.connection import (
    LazyPool,
    check_identifier,
    create_schema,
    split_url,
)
from crm.kernel.http.ratelimit import Limit

DEFAULT_SCHEMA = "crm_rate_limits"
PRUNE_EVERY_SECONDS = 60.0


def _ddl(s: str) -> str:
    return f"""
CREATE SCHEMA IF NOT EXISTS {s};
CREATE UNLOGGED TABLE IF NOT EXISTS {s}.buckets (
    key      TEXT             PRIMARY KEY,
    tat      DOUBLE PRECISION NOT NULL,
    step     DOUBLE PRECISION NOT NULL,
    span     DOUBLE PRECISION NOT NULL
);
"""


def _take_sql(table: str) -> str:
    return f"""
WITH clock AS (SELECT extract(epoch FROM clock_timestamp())::DOUBLE PRECISION AS now),
asked AS (
    SELECT r.key, r.step, r.span
    FROM unnest($1::TEXT[], $2::DOUBLE PRECISION[], $3::DOUBLE PRECISION[])
         AS r(key, step, span)
),
moved AS (
    INSERT INTO {table} AS b (key, tat, step, span)
    SELECT asked.key, clock.now + asked.step, asked.step, asked.span
    FROM asked, clock
    ORDER BY asked.key
    ON CONFLICT (key) DO UPDATE
        SET tat = greatest(b.tat, EXCLUDED.tat - EXCLUDED.step) + EXCLUDED.step,
            step = EXCLUDED.step,
            span = EXCLUDED.span
        WHERE greatest(b.tat, EXCLUDED.tat - EXCLUDED.step) + EXCLUDED.step
              - (EXCLUDED.tat - EXCLUDED.step) <= EXCLUDED.span + 1e-6
    RETURNING b.key
)
SELECT coalesce(max(greatest(
    greatest(held.tat, clock.now) + asked.step - clock.now - asked.span,
    0.001  -- a key that did not move refuses, whatever its row read here says (see below)
)), 0.0) AS wait
FROM asked
CROSS JOIN clock
LEFT JOIN moved ON moved.key = asked.key
LEFT JOIN {table} AS held ON held.key = asked.key
WHERE moved.key IS NULL
"""


# The wait is read from ``held``, the statement's snapshot of the row, while the refusal was
# decided under the row's lock on its latest version: a replica that moved the row in
# between leaves the snapshot older than what refused, and its wait could come out at or
# below zero, an allowed request that took nothing. A key that did not move is a refusal
# with a wait of at least a millisecond.


class PostgresRateLimits:
    """A :class:`crm.kernel.http.ratelimit.RateLimitStore`; ``url`` as the PostgreSQL stores
    take it, with an optional ``?schema=`` (default ``crm_rate_limits``)."""

    def __init__(self, url: str, *, schema: str | None = None, max_pool_size: int = 5) -> None:
        dsn, url_schema = split_url(url, DEFAULT_SCHEMA)
        self.schema = url_schema if schema is None else check_identifier(schema)
        self._table = f"{self.schema}.buckets"
        self._pool = LazyPool(dsn, min_size=1, max_size=max_pool_size)
        self._take = _take_sql(self._table)
        self._next_prune = 0.0

    async def _setup(self, conn: asyncpg.Connection) -> None:
        await create_schema(conn, f"crm-rate-limits:{self.schema}", _ddl(self.schema))

    async def take(self, requests: Sequence[tuple[str, Limit]]) -> float:
        if not requests:
            return 0.0
        pool = await self._pool.get(self._setup)
        keys = [key for key, _ in requests]
        wait = await pool.fetchval(
            self._take,
            keys,
            [limit.interval for _, limit in requests],
            [limit.window for _, limit in requests],
        )
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
            await pool.execute(
                f"DELETE FROM {self._table} WHERE tat < extract(epoch FROM clock_timestamp()) - 1"
            )
        return max(0.0, float(wait or 0.0))

    async def close(self) -> None:
        await self._pool.close()
