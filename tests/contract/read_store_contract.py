"""The read store contract: every ReadStore adapter runs these tests unchanged.

An adapter's test module defines an async ``read_store`` fixture and subclasses
:class:`ReadStoreContract`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from crm.kernel.read_store import (
    Checkpoint,
    CheckpointMoved,
    CollectionSpec,
    DeadLetter,
    Index,
    InvalidQuery,
    Query,
    ReadStore,
    Write,
)

PEOPLE = CollectionSpec("people", (Index(("city",)), Index(("age", "city"))))

ROWS = [
    {
        "id": "a",
        "name": "Ada Lovelace",
        "city": "London",
        "age": 36,
        "tags": ["vip", "math"],
        "vip": True,
    },
    {"id": "b", "name": "Alan Turing", "city": "London", "age": 41, "tags": ["math"], "vip": False},
    {"id": "c", "name": "Grace Hopper", "city": "New York", "age": 85, "tags": [], "vip": True},
    {
        "id": "d",
        "name": "Edsger Dijkstra",
        "city": "Nuenen",
        "age": 72,
        "tags": ["graphs"],
        "vip": False,
    },
    {"id": "e", "name": "Barbara Liskov", "city": None, "age": 30, "tags": ["types"], "vip": False},
]


async def seed(store: ReadStore, projection: str = "people") -> Checkpoint:
    await store.ensure([PEOPLE])
    return await store.commit(
        projection,
        [Write("people", r["id"], r, i + 1) for i, r in enumerate(ROWS)],
        checkpoint=len(ROWS),
        expected=Checkpoint(),
    )


async def ids(store: ReadStore, query: Query) -> list[str]:
    return [d["id"] for d in (await store.find("people", query)).items]


class ReadStoreContract:
    async def test_documents_round_trip(self, read_store: ReadStore) -> None:
        await seed(read_store)
        assert await read_store.get("people", "a") == ROWS[0]
        assert await read_store.get("people", "zz") is None
        assert await read_store.get("nobody_made_this", "a") is None
        assert (await read_store.checkpoint("people")).position == len(ROWS)

    async def test_a_write_lands_only_with_a_later_position(self, read_store: ReadStore) -> None:
        cp = await seed(read_store)
        cp = await read_store.commit(
            "people",
            [Write("people", "a", {"id": "a", "name": "stale"}, 1)],
            checkpoint=6,
            expected=cp,
        )
        assert (await read_store.get("people", "a"))["name"] == "Ada Lovelace"
        await read_store.commit(
            "people",
            [Write("people", "a", {"id": "a", "name": "new"}, 7)],
            checkpoint=7,
            expected=cp,
        )
        assert (await read_store.get("people", "a"))["name"] == "new"
        versioned = await read_store.get_versioned("people", ["a", "b", "missing"])
        assert versioned["a"].position == 7
        assert versioned["b"].position == 2
        assert "missing" not in versioned

    async def test_delete_keeps_a_tombstone_that_guards_the_position(
        self, read_store: ReadStore
    ) -> None:
        cp = await seed(read_store)
        cp = await read_store.commit(
            "people", [Write("people", "a", None, 10)], checkpoint=10, expected=cp
        )
        assert await read_store.get("people", "a") is None
        assert (await read_store.get_versioned("people", ["a"]))["a"].position == 10
        await read_store.commit(
            "people", [Write("people", "a", ROWS[0], 9)], checkpoint=11, expected=cp
        )
        assert await read_store.get("people", "a") is None
        assert "a" not in await ids(read_store, Query())

    async def test_checkpoint_moves_only_from_where_the_writer_left_it(
        self, read_store: ReadStore
    ) -> None:
        cp = await seed(read_store)
        with pytest.raises(CheckpointMoved):
            await read_store.commit(
                "people",
                [Write("people", "x", {"id": "x"}, 99)],
                checkpoint=99,
                expected=Checkpoint(3),
            )
        assert await read_store.get("people", "x") is None
        assert await read_store.checkpoint("people") == cp

    async def test_filters(self, read_store: ReadStore) -> None:
        await seed(read_store)
        by = lambda f: ids(read_store, Query(filter=f, sort=(("name", 1),)))  # noqa: E731
        assert await by({"city": "London"}) == ["a", "b"]
        assert await by({"vip": True}) == ["a", "c"]
        assert await by({"city": None}) == ["e"]
        assert await by({"city": {"$ne": "London"}}) == ["e", "d", "c"]
        assert await by({"city": {"$in": ["Nuenen", "New York"]}}) == ["d", "c"]
        assert await by({"city": {"$nin": ["London"]}}) == ["e", "d", "c"]
        assert await by({"age": {"$gte": 41, "$lt": 85}}) == ["b", "d"]
        assert await by({"age": {"$gt": 72}}) == ["c"]
        assert await by({"age": {"$lte": 30}}) == ["e"]
        assert await by({"tags": {"$contains": "math"}}) == ["a", "b"]
        assert await by({"name": {"$icontains": "ALAN"}}) == ["b"]
        assert await by({"name": {"$icontains": "%"}}) == []
        assert await by({"$or": [{"city": "Nuenen"}, {"age": 30}]}) == ["e", "d"]
        assert await by({"$and": [{"city": "London"}, {"vip": False}]}) == ["b"]
        assert await by({"city": {"$exists": True}}) == ["a", "b", "e", "d", "c"]  # null is present
        assert await by({"nickname": {"$exists": True}}) == []
        assert await by({"missing_field": {"$exists": False}}) == ["a", "b", "e", "d", "c"]
        assert await by({"city": {"$in": []}}) == []

    async def test_sort_and_pagination(self, read_store: ReadStore) -> None:
        await seed(read_store)
        assert await ids(read_store, Query(sort=(("age", -1),))) == ["c", "d", "b", "a", "e"]
        page = await read_store.find("people", Query(sort=(("age", 1),), limit=2, offset=2))
        assert [d["id"] for d in page.items] == ["b", "d"]
        assert (page.total, page.limit, page.offset) == (5, 2, 2)
        assert await ids(read_store, Query(sort=(("city", 1), ("age", -1)), limit=3)) == [
            "e",
            "b",
            "a",
        ]

    async def test_bad_queries_are_refused_not_run(self, read_store: ReadStore) -> None:
        await seed(read_store)
        for bad in ({"age": {"$where": "1"}}, {"x'); DROP TABLE rm_people; --": 1}, {"$or": []}):
            with pytest.raises(InvalidQuery):
                await read_store.find("people", Query(filter=bad))
        with pytest.raises(InvalidQuery):
            await read_store.find("people", Query(sort=(("age", 2),)))
        assert len(await ids(read_store, Query())) == 5

    async def test_dead_letters_are_kept_with_their_reason(self, read_store: ReadStore) -> None:
        cp = await seed(read_store)
        letter = DeadLetter(
            "people", 6, "ev-1", "person.moved", "ValueError: no city", datetime.now(UTC)
        )
        await read_store.commit("people", [], checkpoint=6, expected=cp, dead_letters=[letter])
        assert await read_store.dead_letters("people") == [letter]
        assert await read_store.dead_letters() == [letter]
        assert await read_store.dead_letters("other") == []

    async def test_waiting_for_a_checkpoint(self, read_store: ReadStore) -> None:
        cp = await seed(read_store)
        assert await read_store.wait_for_checkpoint("people", 5, timeout=0.01) == 5
        assert await read_store.wait_for_checkpoint("people", 6, timeout=0.05) == 5

        async def later() -> None:
            await asyncio.sleep(0.05)
            await read_store.commit("people", [], checkpoint=8, expected=cp)

        task = asyncio.create_task(later())
        assert await read_store.wait_for_checkpoint("people", 8, timeout=2) == 8
        await task

    async def test_swap_replaces_live_collections_and_starts_a_new_epoch(
        self, read_store: ReadStore
    ) -> None:
        live = await seed(read_store)
        staged = CollectionSpec("people__next", PEOPLE.indexes)
        await read_store.ensure([staged])
        await read_store.commit(
            "people__next",
            [Write("people__next", "z", {"id": "z", "name": "Zed", "city": "Oslo", "age": 1}, 3)],
            checkpoint=3,
            expected=Checkpoint(),
        )
        position = await read_store.swap(
            "people", {"people": "people__next"}, staged_projection="people__next"
        )
        assert position == 3
        assert await ids(read_store, Query()) == ["z"]
        assert await ids(read_store, Query(filter={"city": "Oslo"})) == ["z"]
        moved = await read_store.checkpoint("people")
        assert moved.position == 3
        assert moved.epoch == live.epoch + 1
        with pytest.raises(CheckpointMoved):
            await read_store.commit("people", [], checkpoint=5, expected=Checkpoint(3, live.epoch))
        assert (await read_store.checkpoint("people__next")).position == 0

    async def test_drop(self, read_store: ReadStore) -> None:
        await seed(read_store)
        await read_store.drop(["people"], "people")
        assert await read_store.get("people", "a") is None
        assert (await read_store.checkpoint("people")).position == 0
