from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm.kernel.adapters.sqlite.read_store import SqliteReadStore
from crm.kernel.read_store import ReadStore
from tests.contract.read_store_contract import ReadStoreContract

pytestmark = pytest.mark.contract


@pytest.fixture
async def read_store(tmp_path: Path) -> AsyncIterator[ReadStore]:
    store = SqliteReadStore(tmp_path / "read.db")
    yield store
    await store.close()


class TestSqliteReadStore(ReadStoreContract):
    pass


async def test_indexes_are_used_for_declared_fields(tmp_path: Path) -> None:
    """An index declared by a projection serves equality filters on its field."""
    from tests.contract.read_store_contract import seed

    store = SqliteReadStore(tmp_path / "read.db")
    try:
        await seed(store)
        plan = await store._readers.run(
            lambda conn: conn.execute(
                "EXPLAIN QUERY PLAN SELECT doc FROM rm_people"
                " WHERE json_extract(doc, '$.city') = 'London'"
            ).fetchall()
        )
        assert any("ix_people__city" in str(row) for row in plan)
    finally:
        await store.close()
