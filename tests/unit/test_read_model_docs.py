"""docs/read-models.md, the analysts' reference of the read models, cannot silently rot.

Every collection any projection of any bounded context declares must have a section (a
heading naming it), and every SQLite example in it must run against the tables the read
store creates for those collections: a renamed collection or a typo in a query fails here.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest

from crm.console.directory import UserDirectoryProjection
from crm.console.teams import TeamsProjection
from crm.kernel.adapters.sqlite.read_store import SqliteReadStore
from crm.kernel.read_store import CollectionSpec
from crm.platform.bootstrap import CONTEXTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "read-models.md"


def declared() -> dict[str, CollectionSpec]:
    """Every collection of every projection of every context and of the console, by name."""
    console = (UserDirectoryProjection(), TeamsProjection())
    return {
        spec.name: spec
        for projection in (*(p for c in CONTEXTS for p in c.projections), *console)
        for spec in projection.collections
    }


def documented(text: str) -> set[str]:
    """The collections named in backticks on a Markdown heading line."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("#"):
            names.update(re.findall(r"`([a-z0-9_]+)`", line))
    return names


def sql_examples(text: str) -> list[str]:
    return re.findall(r"```sql\n(.*?)```", text, re.S)


def test_the_projections_declare_collections() -> None:
    assert len(declared()) >= 20  # the walk over CONTEXTS finds them (not vacuously empty)


def test_every_declared_collection_has_a_section() -> None:
    missing = sorted(set(declared()) - documented(DOC.read_text(encoding="utf-8")))
    assert not missing, f"docs/read-models.md has no section for {missing}"


def test_a_collection_without_a_section_is_reported() -> None:
    text = DOC.read_text(encoding="utf-8").replace("### `customer_360`", "### the 360 view")
    assert "customer_360" not in documented(text)


def test_sections_name_only_collections_that_exist() -> None:
    stale = sorted(documented(DOC.read_text(encoding="utf-8")) - set(declared()))
    assert not stale, f"docs/read-models.md describes collections no projection declares: {stale}"


@pytest.fixture(scope="module")
def read_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty read store with every declared collection's table and indexes."""
    path = tmp_path_factory.mktemp("read-model-docs") / "read.db"

    async def create() -> None:
        store = SqliteReadStore(path)
        try:
            await store.ensure(list(declared().values()))
        finally:
            await store.close()

    asyncio.run(create())
    return path


def test_the_document_has_sql_examples() -> None:
    assert len(sql_examples(DOC.read_text(encoding="utf-8"))) >= 6


@pytest.mark.parametrize("index", range(len(sql_examples(DOC.read_text(encoding="utf-8")))))
def test_every_sql_example_runs_against_the_read_store_schema(read_db: Path, index: int) -> None:
    sql = sql_examples(DOC.read_text(encoding="utf-8"))[index]
    with sqlite3.connect(f"file:{read_db}?mode=ro", uri=True) as conn:
        for statement in (s for s in sql.split(";") if s.strip()):
            conn.execute(statement).fetchall()
