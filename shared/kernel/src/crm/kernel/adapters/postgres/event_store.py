"""The PostgreSQL event store (asyncpg): the open-source production option.

Gap-free positions. A sequence is not enough: it assigns a number at insert, not at commit, so
with concurrent writers position 8 can become visible before 7 and a reader that moved past 8
never sees 7. Here every append first locks one counter row (``log_head``) and writes
``head + 1 .. head + n`` under that lock, in the same transaction. The next append waits for
the lock, i.e. for this commit, so positions are assigned in commit order, a rolled-back append
releases its numbers with it, and a reader that has seen position ``p`` has seen everything
below: the checkpoint stays one plain integer, as with SQLite. The price is that appends are
serialised across all processes; an append is one round trip (a PL/pgSQL function doing the
lock, the idempotency and version checks and the inserts), so the lock is held only for the
statement and its commit.

LISTEN/NOTIFY only wakes subscribers: each append notifies at commit, one listening connection
per store wakes every local subscriber, and they always re-query the table; a notification that
is lost (listener reconnecting) costs at most the idle re-check interval, never an event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

import asyncpg
from pydantic_core import from_json, to_json

from crm.events import EventEnvelope, NewEvent
from crm.events.envelope import stored_envelope
from crm.kernel.adapters.postgres.connection import (
    LazyPool,
    check_identifier,
    create_schema,
    split_url,
)
from crm.kernel.adapters.sqlite.notifier import CommitNotifier
from crm.kernel.errors import DuplicateEventId, IdempotencyKeyReused, WrongExpectedVersion
from crm.kernel.event_store import ANY_VERSION, NO_STREAM, AppendResult, Idempotency

DEFAULT_SCHEMA = "crm_events"
IDLE_RECHECK_SECONDS = 1.0
COLUMNS = (
    "position, event_id, stream_id, stream_version, event_type, schema_version, occurred_at,"
    " recorded_at, tenant, actor, correlation_id, causation_id, payload"
)


def _ddl(s: str) -> str:
    return f"""
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.events (
    position        BIGINT      PRIMARY KEY,
    event_id        UUID        NOT NULL,
    stream_id       TEXT        NOT NULL,
    stream_version  BIGINT      NOT NULL,
    category        TEXT        NOT NULL,
    event_type      TEXT        NOT NULL,
    schema_version  INTEGER     NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    tenant          TEXT        NOT NULL,
    actor           TEXT        NOT NULL,
    correlation_id  UUID        NOT NULL,
    causation_id    UUID,
    payload         JSONB       NOT NULL,
    CONSTRAINT events_event_id_unique UNIQUE (event_id),
    CONSTRAINT events_stream_version_unique UNIQUE (stream_id, stream_version)
);
CREATE INDEX IF NOT EXISTS events_by_category ON {s}.events (category, position);
CREATE TABLE IF NOT EXISTS {s}.log_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    position  BIGINT  NOT NULL
);
INSERT INTO {s}.log_head VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS {s}.idempotency_keys (
    key             TEXT        PRIMARY KEY,
    request_hash    TEXT        NOT NULL,
    stream_id       TEXT        NOT NULL,
    stream_version  BIGINT      NOT NULL,
    position        BIGINT      NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL
);
CREATE OR REPLACE FUNCTION {s}.append_events(
    p_stream TEXT, p_expected BIGINT, p_key TEXT, p_hash TEXT,
    p_ids UUID[], p_types TEXT[], p_schema_versions INTEGER[], p_occurred TIMESTAMPTZ[],
    p_tenants TEXT[], p_actors TEXT[], p_correlations UUID[], p_causations UUID[],
    p_payloads JSONB[],
    OUT out_outcome TEXT, OUT out_stream TEXT, OUT out_version BIGINT, OUT out_position BIGINT
) LANGUAGE plpgsql AS $fn$
DECLARE
    v_head    BIGINT;
    v_current BIGINT;
    v_last    BIGINT;
    v_n       INTEGER := COALESCE(array_length(p_ids, 1), 0);
    v_key     RECORD;
BEGIN
    -- The counter row lock serialises appends: positions follow commit order, gap-free.
    -- Each later statement takes a fresh snapshot, so it sees the previous holder's commit.
    SELECT h.position INTO v_head FROM {s}.log_head h WHERE h.id = 1 FOR UPDATE;
    IF p_key IS NOT NULL THEN
        SELECT k.request_hash, k.stream_id, k.stream_version, k.position INTO v_key
        FROM {s}.idempotency_keys k WHERE k.key = p_key;
        IF FOUND THEN
            out_outcome := CASE WHEN v_key.request_hash = p_hash
                THEN 'replayed' ELSE 'key_reused' END;
            out_stream := v_key.stream_id;
            out_version := v_key.stream_version;
            out_position := v_key.position;
            RETURN;
        END IF;
    END IF;
    SELECT e.stream_version, e.position INTO v_current, v_last
    FROM {s}.events e WHERE e.stream_id = p_stream
    ORDER BY e.stream_version DESC LIMIT 1;
    IF NOT FOUND THEN
        v_current := {NO_STREAM};
        v_last := 0;
    END IF;
    out_stream := p_stream;
    IF p_expected <> {ANY_VERSION} AND p_expected <> v_current THEN
        out_outcome := 'wrong_version';
        out_version := v_current;
        RETURN;
    END IF;
    IF v_n > 0 THEN
        INSERT INTO {s}.events (position, event_id, stream_id, stream_version, category,
            event_type, schema_version, occurred_at, recorded_at, tenant, actor,
            correlation_id, causation_id, payload)
        SELECT v_head + u.i, u.event_id, p_stream, v_current + u.i, split_part(p_stream, '-', 1),
            u.event_type, u.schema_version, u.occurred_at, now(), u.tenant, u.actor,
            u.correlation_id, u.causation_id, u.payload
        FROM unnest(p_ids, p_types, p_schema_versions, p_occurred, p_tenants, p_actors,
                    p_correlations, p_causations, p_payloads)
             WITH ORDINALITY AS u(event_id, event_type, schema_version, occurred_at, tenant,
                                  actor, correlation_id, causation_id, payload, i);
        UPDATE {s}.log_head SET position = v_head + v_n WHERE id = 1;
        PERFORM pg_notify('{s}', (v_head + v_n)::TEXT);
        out_version := v_current + v_n;
        out_position := v_head + v_n;
    ELSE
        out_version := v_current;
        out_position := v_last;
    END IF;
    IF p_key IS NOT NULL THEN
        INSERT INTO {s}.idempotency_keys
        VALUES (p_key, p_hash, p_stream, out_version, out_position, now());
    END IF;
    out_outcome := 'appended';
END
$fn$;
"""


def _envelope(row: asyncpg.Record) -> EventEnvelope:
    return stored_envelope(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
        row[10], row[11], from_json(row[12]),
    )  # fmt: skip


class PostgresEventStore:
    """See the module docstring. ``url`` is ``postgresql://`` or ``postgres://``; its optional
    ``?schema=`` parameter (default ``crm_events``) names the schema holding the tables, created
    idempotently on first use."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        min_pool_size: int = 1,
        max_pool_size: int = 10,
    ) -> None:
        dsn, url_schema = split_url(url, DEFAULT_SCHEMA)
        self.schema = url_schema if schema is None else check_identifier(schema)
        self._pool = LazyPool(dsn, min_size=min_pool_size, max_size=max_pool_size)
        self._notifier = CommitNotifier()
        self._listener: asyncpg.Connection | None = None
        self._listening: asyncio.Lock | None = None
        s = self.schema
        self._sql_append = (
            f"SELECT out_outcome, out_stream, out_version, out_position"
            f" FROM {s}.append_events($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)"
        )
        self._sql_page = (
            f"SELECT {COLUMNS} FROM {s}.events WHERE position > $1 ORDER BY position LIMIT $2"
        )
        self._sql_page_in = (
            f"SELECT {COLUMNS} FROM {s}.events WHERE category = ANY($3::TEXT[]) AND position > $1"
            " ORDER BY position LIMIT $2"
        )

    async def _setup(self, conn: asyncpg.Connection) -> None:
        await create_schema(conn, f"crm-event-store:{self.schema}", _ddl(self.schema))

    async def _conn_pool(self) -> asyncpg.Pool:
        return await self._pool.get(self._setup)

    # -- writing ---------------------------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int,
        *,
        idempotency: Idempotency | None = None,
    ) -> AppendResult:
        pool = await self._conn_pool()
        metas = [e.metadata for e in events]
        try:
            row = await pool.fetchrow(
                self._sql_append,
                stream_id,
                expected_version,
                idempotency.key if idempotency else None,
                idempotency.request_hash if idempotency else None,
                [e.event_id for e in events],
                [e.event_type for e in events],
                [e.schema_version for e in events],
                [e.occurred_at for e in events],
                [m.tenant for m in metas],
                [m.actor for m in metas],
                [m.correlation_id for m in metas],
                [m.causation_id for m in metas],
                [to_json(e.payload, fallback=str).decode() for e in events],
            )
        except asyncpg.UniqueViolationError as e:
            if e.constraint_name == "events_event_id_unique":
                raise DuplicateEventId(str(e)) from e
            raise
        outcome, sid, version, position = row
        if outcome == "wrong_version":
            raise WrongExpectedVersion(stream_id, expected_version, version)
        if outcome == "key_reused":
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different request"
            )
        if outcome == "appended" and events:
            self._notifier.notify()  # local subscribers need not wait for the round trip
        return AppendResult(sid, version, position, replayed=outcome == "replayed")

    async def idempotent_result(self, idempotency: Idempotency) -> AppendResult | None:
        pool = await self._conn_pool()
        row = await pool.fetchrow(
            f"SELECT request_hash, stream_id, stream_version, position"
            f" FROM {self.schema}.idempotency_keys WHERE key = $1",
            idempotency.key,
        )
        if row is None:
            return None
        if row[0] != idempotency.request_hash:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different request"
            )
        return AppendResult(row[1], row[2], row[3], replayed=True)

    # -- reading ---------------------------------------------------------------------------

    async def read_stream(
        self, stream_id: str, after_version: int = NO_STREAM
    ) -> list[EventEnvelope]:
        pool = await self._conn_pool()
        rows = await pool.fetch(
            f"SELECT {COLUMNS} FROM {self.schema}.events"
            " WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version",
            stream_id,
            after_version,
        )
        return [_envelope(r) for r in rows]

    async def _page(
        self, after: int, limit: int, categories: Collection[str] | None
    ) -> list[EventEnvelope]:
        pool = await self._conn_pool()
        rows: list[Any]
        if categories is None:
            rows = await pool.fetch(self._sql_page, after, limit)
        else:
            rows = await pool.fetch(self._sql_page_in, after, limit, list(categories))
        return [_envelope(r) for r in rows]

    async def read_all(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        categories: Collection[str] | None = None,
    ) -> AsyncIterator[list[EventEnvelope]]:
        head = await self.head_position()
        while after < head:
            page = [
                e for e in await self._page(after, batch_size, categories) if e.position <= head
            ]
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
        while True:
            # Listening before reading: a commit after the read is always notified.
            await self._ensure_listener()
            seen = self._notifier.generation
            page = await self._page(after, batch_size, categories)
            if page:
                yield page
                after = page[-1].position
            else:
                await self._notifier.wait(seen, IDLE_RECHECK_SECONDS)

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        if self._listening is None:
            self._listening = asyncio.Lock()
        async with self._listening:
            if self._listener is not None and not self._listener.is_closed():
                return
            await self._conn_pool()  # the schema (and so the channel's meaning) exists
            try:
                conn = await asyncpg.connect(self._pool.dsn)
                await conn.add_listener(self.schema, self._on_notify)
            except (OSError, asyncpg.PostgresError):
                # No listener for now: subscribers fall back to the idle re-check and
                # try again at their next wait. Nothing is missed, only later.
                return
            conn.add_termination_listener(self._on_listener_lost)
            self._listener = conn

    def _on_notify(self, conn: object, pid: int, channel: str, payload: object) -> None:
        self._notifier.notify()

    def _on_listener_lost(self, conn: object) -> None:
        self._listener = None
        self._notifier.notify()  # wake subscribers so they re-query and re-listen

    async def head_position(self) -> int:
        pool = await self._conn_pool()
        value = await pool.fetchval(f"SELECT position FROM {self.schema}.log_head WHERE id = 1")
        return int(value or 0)

    async def close(self) -> None:
        if self._listener is not None:
            conn, self._listener = self._listener, None
            conn.remove_termination_listener(self._on_listener_lost)
            await conn.close()
        await self._pool.close()
