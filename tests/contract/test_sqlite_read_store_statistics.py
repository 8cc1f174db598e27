"""The SQLite read store keeps the query planner's statistics: without them SQLite cannot tell
a selective index from another, and a query by a key sorted by another indexed field (the
duplicate check: by e-mail, sorted by registration) walked the tenant's whole index of the
sort field, a cost growing with every customer. Gathered at the first commit and each time
the documents written double, and loaded by every reader connection before its next read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm.kernel.adapters.sqlite.read_store import ANALYZE_FIRST, SqliteReadStore, table
from crm.kernel.read_store import Checkpoint, CollectionSpec, Index, Query, Write

pytestmark = pytest.mark.contract

SPEC = CollectionSpec(
    "people",
    (Index(("tenant", "created_at")), Index(("tenant", "email_key"))),
)
BY_EMAIL = Query.all_of(
    [{"tenant": "t"}, {"email_key": "p-7@example.com"}], sort="created_at", limit=5
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteReadStore]:
    s = SqliteReadStore(tmp_path / "read.db")
    await s.ensure([SPEC])
    yield s
    await s.close()


async def fill(
    store: SqliteReadStore, start: int, count: int, checkpoint: Checkpoint
) -> Checkpoint:
    writes = [
        Write(
            "people",
            f"p{i}",
            {"tenant": "t", "email_key": f"p-{i}@example.com", "created_at": f"{i:08d}"},
            i + 1,
        )
        for i in range(start, start + count)
    ]
    return await store.commit("people", writes, checkpoint=start + count, expected=checkpoint)


def plan(store: SqliteReadStore) -> str:
    """How a reader connection (on this thread, its statistics loaded) runs the query."""
    conn = store._readers._here()
    rows = conn.execute(
        f"EXPLAIN QUERY PLAN SELECT doc FROM {table('people')}"
        " WHERE json_extract(doc, '$.tenant') = 't'"
        " AND json_extract(doc, '$.email_key') = 'p-7@example.com'"
        " ORDER BY json_extract(doc, '$.created_at') LIMIT 5"
    ).fetchall()
    return " ".join(str(r[3]) for r in rows)


async def test_a_query_by_a_key_uses_its_index_once_the_store_has_grown(
    store: SqliteReadStore,
) -> None:
    checkpoint = await fill(store, 0, 10, Checkpoint())
    assert store.analyses == 1  # the first commit
    checkpoint = await fill(store, 10, 3 * ANALYZE_FIRST, checkpoint)
    assert store.analyses == 2
    assert "email_key" in plan(store), plan(store)
    page = await store.find("people", BY_EMAIL)
    assert [d["email_key"] for d in page.items] == ["p-7@example.com"]
    checkpoint = await fill(store, 10 + 3 * ANALYZE_FIRST, 100, checkpoint)
    assert store.analyses == 2  # not again before the documents written have doubled
    await fill(store, 110 + 3 * ANALYZE_FIRST, 3 * ANALYZE_FIRST, checkpoint)
    assert store.analyses == 3


async def test_a_store_opened_again_gathers_them_at_its_first_commit(tmp_path: Path) -> None:
    first = SqliteReadStore(tmp_path / "read.db")
    await first.ensure([SPEC])
    checkpoint = await fill(first, 0, 2 * ANALYZE_FIRST, Checkpoint())
    await first.close()
    again = SqliteReadStore(tmp_path / "read.db")
    try:
        await fill(again, 2 * ANALYZE_FIRST, 1, checkpoint)
        assert again.analyses == 1
        assert "email_key" in plan(again)
    finally:
        await again.close()
