"""The in-memory read store against the contract, and against SQLite: the golden filters
(which pin what SQLite answers) must get the same answers here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from crm.kernel.adapters.memory.read_store import InMemoryReadStore, UniqueIndexViolated
from crm.kernel.adapters.sqlite.read_store import SqliteReadStore
from crm.kernel.adapters.urls import open_read_store
from crm.kernel.read_store import (
    Checkpoint,
    CollectionSpec,
    Index,
    InvalidQuery,
    Query,
    ReadStore,
    Write,
)
from tests.contract.read_store_contract import ReadStoreContract, ids, seed
from tests.contract.test_mongodb_read_store import GOLDEN, by_name

pytestmark = pytest.mark.contract


@pytest.fixture
async def read_store() -> AsyncIterator[ReadStore]:
    store = InMemoryReadStore()
    yield store
    await store.close()


class TestInMemoryReadStore(ReadStoreContract):
    pass


@pytest.mark.parametrize(("flt", "expected_ids", "_mongo"), GOLDEN, ids=[str(g[0]) for g in GOLDEN])
async def test_golden_filters_answer_as_sqlite_does(
    read_store: ReadStore, flt: dict[str, Any], expected_ids: list[str], _mongo: dict[str, Any]
) -> None:
    await seed(read_store)
    assert await ids(read_store, by_name(flt)) == expected_ids


ODD: list[dict[str, Any]] = [
    {"id": "n1", "v": 1, "s": "10", "nested": {"k": "x"}, "arr": [1, [2]], "flag": True},
    {"id": "n2", "v": 2.5, "s": "9", "nested": {"k": "Y"}, "arr": [], "flag": False},
    {"id": "n3", "v": "text", "s": None, "nested": None, "arr": "solo", "flag": None},
    {"id": "n4", "nested": {"k": {"deep": 1}}, "arr": {"a": 3}},
    {"id": "n5", "v": -7, "s": "Éa", "nested": {"k": "ÉA"}, "arr": [True]},
]
ODD_QUERIES: list[Query] = [
    Query(sort=(("v", 1),)),
    Query(sort=(("v", -1),)),
    Query(sort=(("s", 1), ("v", -1))),
    Query(sort=(("nested.k", 1),)),
    Query(sort=(("arr", 1),)),
    Query(filter={"v": {"$gt": 0}}, sort=(("v", 1),)),
    Query(filter={"v": {"$lt": "a"}}, sort=(("v", 1),)),
    Query(filter={"v": {"$gte": "a"}}),
    Query(filter={"v": 1.0}),
    Query(filter={"flag": 1}),
    Query(filter={"flag": {"$ne": True}}),
    Query(filter={"flag": {"$in": [True, None]}}),
    Query(filter={"flag": {"$nin": [False]}}),
    Query(filter={"nested.k": "x"}),
    Query(filter={"nested.k": {"$exists": True}}),
    Query(filter={"nested.k.deep": 1}),
    Query(filter={"nested": {"$exists": False}}),
    Query(filter={"arr": {"$contains": 1}}),
    Query(filter={"arr": {"$contains": 3}}),
    Query(filter={"arr": {"$contains": "solo"}}),
    Query(filter={"arr": {"$contains": True}}),
    Query(filter={"arr": {"$contains": "[2]"}}),
    Query(filter={"arr": "[]"}),
    Query(filter={"s": {"$icontains": "é"}}),
    Query(filter={"s": {"$icontains": "A"}}),
    Query(filter={"nested.k": {"$icontains": "y"}}),
    Query(filter={"v": {"$icontains": "2.5"}}),
    Query(filter={"v": {"$icontains": "-"}}),
    Query(filter={"$or": [{"v": {"$lt": 0}}, {"$and": [{"s": "9"}, {"flag": False}]}]}),
    Query(filter={"v": {"$gt": 0, "$lt": 3}, "s": {"$ne": None}}),
    Query(sort=(("v", 1),), limit=2, offset=1),
    Query(sort=(("v", 1),), limit=0),
]


@pytest.mark.parametrize("query", ODD_QUERIES, ids=[str(q) for q in ODD_QUERIES])
async def test_odd_values_are_filtered_and_sorted_as_sqlite_does(
    tmp_path: Path, query: Query
) -> None:
    """Mixed types, nested paths, arrays and objects, booleans, non-ASCII letters: whatever
    SQLite answers, the in-memory store answers too."""
    answers = []
    for store in (SqliteReadStore(tmp_path / "read.db"), InMemoryReadStore()):
        try:
            await store.commit(
                "odd",
                [Write("odd", d["id"], d, i + 1) for i, d in enumerate(ODD)],
                checkpoint=len(ODD),
                expected=Checkpoint(),
            )
            page = await store.find("odd", query)
            answers.append(([d["id"] for d in page.items], page.total))
        finally:
            await store.close()
    assert answers[1] == answers[0]


async def test_bad_queries_are_refused_even_on_a_missing_collection(
    read_store: ReadStore,
) -> None:
    for bad in (Query(filter={"a": {"$where": 1}}), Query(sort=(("a", 0),)), Query(limit=-1)):
        with pytest.raises(InvalidQuery):
            await read_store.find("nobody_made_this", bad)
    with pytest.raises(InvalidQuery):
        await read_store.find("people; drop", Query())


async def test_documents_are_copies_as_sqlite_gives_them_back(read_store: ReadStore) -> None:
    doc: dict[str, Any] = {"id": "a", "pair": (1, 2), "nested": {"n": [1]}}
    await read_store.commit(
        "people", [Write("people", "a", doc, 1)], checkpoint=1, expected=Checkpoint()
    )
    doc["nested"]["n"].append(2)
    got = await read_store.get("people", "a")
    assert got == {"id": "a", "pair": [1, 2], "nested": {"n": [1]}}
    assert got is not None
    got["nested"]["n"].append(3)
    assert (await read_store.find("people", Query())).items == [
        {"id": "a", "pair": [1, 2], "nested": {"n": [1]}}
    ]


async def test_a_unique_index_refuses_a_duplicate_and_the_commit_lands_nothing(
    read_store: ReadStore,
) -> None:
    await read_store.ensure([CollectionSpec("emails", (Index(("email",), unique=True),))])
    cp = await read_store.commit(
        "emails",
        [
            Write("emails", "a", {"email": "a@x"}, 1),
            Write("emails", "b", {"other": 1}, 2),
            Write("emails", "c", {"other": 2}, 3),
            Write("emails", "d", None, 4),
            Write("emails", "e", None, 5),
        ],
        checkpoint=5,
        expected=Checkpoint(),
    )
    with pytest.raises(UniqueIndexViolated):
        await read_store.commit(
            "emails",
            [Write("emails", "f", {"email": "a@x"}, 6), Write("emails", "g", {"x": 1}, 6)],
            checkpoint=6,
            expected=cp,
        )
    assert await read_store.checkpoint("emails") == cp
    assert await read_store.get("emails", "g") is None
    moved = await read_store.commit(  # the old holder moves away: the address is free again
        "emails",
        [Write("emails", "a", {"email": "b@x"}, 7), Write("emails", "f", {"email": "a@x"}, 7)],
        checkpoint=7,
        expected=cp,
    )
    assert moved.position == 7


async def test_memory_urls_open_private_or_named_stores() -> None:
    private, another = open_read_store("memory://"), open_read_store("memory://")
    named, same = open_read_store("memory://url-test"), open_read_store("memory://url-test/")
    for store in (private, named):
        await store.commit(
            "people", [Write("people", "a", {"id": "a"}, 1)], checkpoint=1, expected=Checkpoint()
        )
    assert await another.get("people", "a") is None
    assert await same.get("people", "a") == {"id": "a"}
    for store in (private, another, named, same):
        await store.close()
