"""A subscriber of the SQLite event store is woken by a commit of another process (the relay
follows a store that ``crm serve`` writes), not by its idle re-check (issue 16)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

from crm.kernel.adapters.sqlite import event_store as sqlite_event_store
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.event_store import NO_STREAM
from tests.conftest import new_event

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
    from tests.conftest import new_event

    async def main() -> None:
        store = SqliteEventStore(Path(sys.argv[1]))
        await store.append("thing-1", [new_event(n=2)], int(sys.argv[2]))
        await store.close()

    asyncio.run(main())
    """
)


async def test_a_subscriber_is_woken_by_a_commit_in_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the idle re-check pushed far away, only the WAL check can deliver in time.
    monkeypatch.setattr(sqlite_event_store, "IDLE_RECHECK_SECONDS", 60.0)
    path = tmp_path / "events.db"
    store = SqliteEventStore(path)
    try:
        first = await store.append("thing-1", [new_event(n=1)], NO_STREAM)
        pages = store.subscribe(first.position)
        nxt = asyncio.ensure_future(anext(pages))
        await asyncio.sleep(0.2)  # the subscriber is idle, waiting
        assert not nxt.done()
        writer = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, str(path), str(first.stream_version), cwd=ROOT
        )
        assert await writer.wait() == 0
        async with asyncio.timeout(10):
            page = await nxt
        assert [e.payload for e in page] == [{"n": 2}]
        await pages.aclose()
    finally:
        await store.close()
