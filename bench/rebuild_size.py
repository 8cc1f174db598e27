"""Group ``rebuild_size``: is a rebuild's memory flat in the size of the log? The customer
context's ``customers`` read model rebuilt (``crm.kernel.projection.rebuild``, what
``crm projections rebuild customers`` runs) over a log of 10 000 events and over one of
1 000 000 (quick: 2 000 and 20 000), each in a process of its own
(``python -m bench.rebuild_size DIR``), whose peak resident set (``VmHWM``) is the figure;
the ratio of the large to the small is the memory's growth with the log (1.0: flat), and
the events/s of the two say whether the rate holds.

The log is written straight into the store's file (one ``executemany`` transaction per
100 000 rows, the WAL checkpointed into the file): five events per customer (registered,
profile updated, tagged, an interaction, a consent, the ``projection`` group's shapes), their
payloads as the codec makes them but not sealed (a plain value passes the codec's decryption
as it is), so that filling a million events takes seconds; the ``projection`` group measures
the decryption.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

from bench.log_size import CHUNK, INSERT_EVENTS
from bench.measure import Plan, Results, Step, scratch_dir
from bench.projection import EVENTS_PER_CUSTOMER, history
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore

GROUP = "rebuild_size"


def fill(path: Path, events: int, step: Step) -> None:
    """``events`` customer events in ``path`` (the store's own schema), with progress."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        now = int(time.time() * 1_000_000)
        customers = events // EVENTS_PER_CUSTOMER
        rows: list[tuple[object, ...]] = []
        position = 0

        def flush() -> None:
            conn.execute("BEGIN")
            conn.executemany(INSERT_EVENTS, rows)
            conn.execute("COMMIT")
            rows.clear()
            step(f"filling the log: {position:,} / {customers * EVENTS_PER_CUSTOMER:,} events")

        for i in range(customers):
            stream = f"customer-{UUID(int=i + 1)}"
            for version, event in enumerate(history(i)):
                position += 1
                rows.append(
                    (
                        position,
                        str(UUID(int=(now << 64) | position)),
                        stream,
                        version,
                        "customer",
                        event.event_type,
                        event.schema_version,
                        now,
                        now,
                        "default",
                        "bench",
                        str(UUID(int=position)),
                        None,
                        json.dumps(event.model_dump(mode="json"), separators=(",", ":")),
                    )
                )
            if len(rows) >= CHUNK:
                flush()
        if rows:
            flush()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def rebuild_in_a_process(d: Path) -> dict[str, float]:
    """Rebuild in a fresh process; its events/s and peak RSS (MiB)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.rebuild_size", str(d)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


async def child(d: Path) -> dict[str, float]:
    """In the child process: the rebuild, timed, then this process's peak RSS."""
    from crm.customer.projections.customers import CustomersProjection
    from crm.events import REGISTRY
    from crm.kernel.adapters.sqlite.key_store import SqliteKeyStore
    from crm.kernel.adapters.sqlite.read_store import SqliteReadStore
    from crm.kernel.codec import EventCodec
    from crm.kernel.projection import rebuild

    store = SqliteEventStore(d / "events.db")
    read_store = SqliteReadStore(d / "read.db")
    keys = SqliteKeyStore(d / "keys.db")
    try:
        head = await store.head_position()
        start = time.perf_counter()
        position = await rebuild(
            CustomersProjection(), store, read_store, EventCodec(REGISTRY, keys)
        )
        seconds = time.perf_counter() - start
        assert position == head, (position, head)
    finally:
        await store.close()
        await read_store.close()
        await keys.close()
    return {"rate": head / seconds, "rss_mib": peak_rss_mib()}


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


SIZES = {"small": 10_000, "large": 1_000_000}
QUICK_SIZES = {"small": 2_000, "large": 20_000}


def declare(results: Results, sizes: dict[str, int] = SIZES) -> None:
    g = GROUP
    for key, peer in (("large", f"{g}.small"), ("small", None)):
        label = f"rebuild of the customers read model over {sizes[key]:,} events, own process"
        peers = (peer,) if peer else ()
        results.figure(f"{g}.{key}", label, "events/s", peers=peers)
        results.figure(
            f"{g}.{key}_peak_rss_mib",
            f"{label}: peak RSS",
            "MiB",
            peers=tuple(p + "_peak_rss_mib" for p in peers),
        )


async def run(results: Results, plan: Plan, step: Step) -> None:
    sizes = QUICK_SIZES if plan.quick else SIZES
    declare(results, sizes)
    with scratch_dir("rebuild-small") as small, scratch_dir("rebuild-large") as large:
        dirs = {"small": small, "large": large}
        for key, d in dirs.items():
            await SqliteEventStore(d / "events.db").close()  # the store's schema
            await asyncio.to_thread(fill, d / "events.db", sizes[key], step)
        repetitions = 1 if plan.quick else 2
        for rep in range(repetitions):
            order = ("small", "large") if rep % 2 == 0 else ("large", "small")
            for key in order:
                step(f"rebuild {rep + 1}/{repetitions} over {sizes[key]:,} events")
                figures = await asyncio.to_thread(rebuild_in_a_process, dirs[key])
                results.figures[f"{GROUP}.{key}"].samples.append(figures["rate"])
                results.figures[f"{GROUP}.{key}_peak_rss_mib"].samples.append(figures["rss_mib"])


if __name__ == "__main__":
    print(json.dumps(asyncio.run(child(Path(sys.argv[1])))))
