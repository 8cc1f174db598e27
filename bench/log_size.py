"""Group ``log_size``: does a command get slower as the log grows? The same customer commands
as the ``http`` group (in process, one at a time, every projection running) on a platform
whose event store already holds 10 000 events, and on one that holds 1 000 000; the ratio of
the second to the first is the figure (1.0: the size of the log costs nothing).

The history is written straight into the store's file (one ``executemany`` transaction per
100 000 rows, then the WAL checkpointed into the file), 10 events per stream in a category no
read model follows (``archive``), so the
platform starts in seconds either way and what is compared is the command path over a big log
(the store's indexes, the head, the stream lookups, the idempotency keys), not a catch-up.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from uuid import UUID

import httpx

from bench.http_api import SECRET, auth, drive
from bench.measure import Plan, Results, Step, percentile, scratch_dir
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import ensure_first_tenant, open_platform

GROUP = "log_size"
CHUNK = 100_000
INSERT_EVENTS = (
    "INSERT INTO events (position, event_id, stream_id, stream_version, category,"
    " event_type, schema_version, occurred_at, recorded_at, tenant, actor,"
    " correlation_id, causation_id, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
"""A row of the SQLite store's ``events`` table, written straight into its file."""
PER_STREAM = 10


def fill(path: Path, events: int, step: Step) -> None:
    """``events`` archived events in ``path`` (the store's own schema), with progress."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        now = int(time.time() * 1_000_000)
        payload = json.dumps({"note": "x" * 80, "amount": "12.50"}, separators=(",", ":"))
        for start in range(0, events, CHUNK):
            rows = [
                (
                    p,
                    str(UUID(int=(now << 64) | p)),
                    f"archive-{(p - 1) // PER_STREAM}",
                    (p - 1) % PER_STREAM,
                    "archive",
                    "archive.noted",
                    1,
                    now,
                    now,
                    "default",
                    "bench",
                    str(UUID(int=p)),
                    None,
                    payload,
                )
                for p in range(start + 1, min(events, start + CHUNK) + 1)
            ]
            conn.execute("BEGIN")
            conn.executemany(
                INSERT_EVENTS,
                rows,
            )
            conn.execute("COMMIT")
            step(f"filling the log: {min(events, start + CHUNK):,} / {events:,} events")
        # into the file: the commands must not pay for checkpointing the fill's WAL
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def filled(d: Path, events: int, step: Step) -> Settings:
    """A data directory whose event store holds ``events`` archived events."""
    settings = Settings(data_dir=d / "data", secret=SECRET)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await SqliteEventStore(settings.data_dir / "events.db").close()  # the store's schema
    await asyncio.to_thread(fill, settings.data_dir / "events.db", events, step)
    return settings


async def commands_over(settings: Settings, pairs: int) -> tuple[float, list[float]]:
    """Commands/s and latencies, one at a time, on a platform started over ``settings``."""
    platform = open_platform(settings)
    try:
        await ensure_first_tenant(platform)
        app = create_app(platform)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://crm.bench", headers=auth()
            ) as client:
                await drive(client, 20, 1)
                return await drive(client, pairs, 1)
    finally:
        await platform.close()


def declare(results: Results) -> None:
    g = GROUP
    for key, label, peer in (
        ("large", "commands, 1 at a time, log of 1 000 000 events (quick 5 000)", f"{g}.small"),
        ("small", "commands, 1 at a time, log of 10 000 events (quick 1 000)", None),
    ):
        peers = (peer,) if peer else ()
        results.figure(f"{g}.{key}", label, "commands/s", peers=peers)
        results.figure(
            f"{g}.{key}_p50_ms",
            f"{label}: p50",
            "ms",
            peers=tuple(p + "_p50_ms" for p in peers),
        )


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    sizes = {"small": 10_000, "large": 1_000_000}
    repetitions = plan.repetitions
    if plan.quick:  # a smoke run: each platform start costs seconds, so one repetition
        sizes, repetitions = {"small": 1_000, "large": 5_000}, 1
    pairs = plan.size(150, 5)
    with scratch_dir("log-small") as small, scratch_dir("log-large") as large:
        dirs = {"small": small, "large": large}
        settings = {key: await filled(dirs[key], n, step) for key, n in sizes.items()}
        for rep in range(repetitions):
            order = ("small", "large") if rep % 2 == 0 else ("large", "small")
            for key in order:
                step(f"repetition {rep + 1}/{repetitions}: over {sizes[key]:,} events")
                rate, latencies = await commands_over(settings[key], pairs)
                results.figures[f"{GROUP}.{key}"].samples.append(rate)
                results.figures[f"{GROUP}.{key}_p50_ms"].samples.append(
                    percentile(latencies, 50) * 1000
                )
