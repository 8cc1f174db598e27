"""The MongoDB read store: the read store contract against a real server, and what can be
checked without one.

``CRM_TEST_MONGO_URL`` names a server to run against: a replica set, since commits are
multi-document transactions (``docker run -d -p 27017:27017 mongo:8 --replSet rs0``, then
``mongosh --eval 'rs.initiate()'``; URL ``mongodb://127.0.0.1:27017/?replicaSet=rs0``). Each
test gets a fresh database, dropped after. Without it those tests are skipped; the rest
(golden translations checked against SQLite, the client built offline) always run.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import bson
import pytest
from pymongo import AsyncMongoClient, ReadPreference, UpdateOne
from pymongo.errors import OperationFailure, PyMongoError, ServerSelectionTimeoutError

from crm.kernel.adapters.mongodb.filters import translate_filter
from crm.kernel.adapters.mongodb.read_store import (
    TRANSACTION_OPTIONS,
    MongoReadStore,
    checkpoint_filter,
    collection_name,
    dead_letter_write,
    guarded_write,
    index_models,
    plain,
)
from crm.kernel.adapters.sqlite.read_store import SqliteReadStore
from crm.kernel.read_store import (
    Checkpoint,
    CollectionSpec,
    DeadLetter,
    Index,
    InvalidQuery,
    Query,
    ReadStore,
    Write,
)
from tests.contract.read_store_contract import PEOPLE, ReadStoreContract, ids, seed

pytestmark = pytest.mark.contract

MONGO_URL = os.environ.get("CRM_TEST_MONGO_URL")
needs_server = pytest.mark.skipif(
    not MONGO_URL,
    reason="no MongoDB: set CRM_TEST_MONGO_URL to a replica set (none can be installed here)",
)


@pytest.fixture
async def read_store() -> AsyncIterator[ReadStore]:
    if not MONGO_URL:
        pytest.skip("no MongoDB: set CRM_TEST_MONGO_URL to a replica set")
    database = f"crm_test_{uuid4().hex[:12]}"
    store = MongoReadStore(MONGO_URL, database=database)
    yield store
    await store.close()
    admin: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGO_URL)
    await admin.drop_database(database)
    await admin.close()


@needs_server
class TestMongoReadStore(ReadStoreContract):
    pass


# -- the same filter, the same documents, on both stores -------------------------------------

ALL = ["a", "b", "e", "d", "c"]  # the contract's people by name
NOTHING: dict[str, Any] = {"$in": []}

GOLDEN: list[tuple[dict[str, Any], list[str], dict[str, Any]]] = [
    # (filter, ids SQLite returns sorted by name, the MongoDB query it translates to)
    ({"city": "London"}, ["a", "b"], {"doc.city": {"$eq": "London"}}),
    ({"vip": True}, ["a", "c"], {"doc.vip": {"$eq": True}}),
    ({"city": None}, ["e"], {"doc.city": {"$eq": None}}),
    ({"nickname": None}, ALL, {"doc.nickname": {"$eq": None}}),
    ({"city": {"$ne": "London"}}, ["e", "d", "c"], {"doc.city": {"$ne": "London"}}),
    ({"nickname": {"$ne": "x"}}, ALL, {"doc.nickname": {"$ne": "x"}}),
    ({"city": {"$ne": None}}, ["a", "b", "d", "c"], {"doc.city": {"$ne": None}}),
    (
        {"city": {"$in": ["Nuenen", "New York"]}},
        ["d", "c"],
        {"doc.city": {"$in": ["Nuenen", "New York"]}},
    ),
    ({"city": {"$in": [None, "Nuenen"]}}, ["d"], {"doc.city": {"$in": ["Nuenen"]}}),
    ({"city": {"$in": []}}, [], {"doc.city": {"$in": []}}),
    ({"city": {"$nin": ["London"]}}, ["e", "d", "c"], {"doc.city": {"$nin": ["London"]}}),
    ({"city": {"$nin": ["London", None]}}, ["e"], {"doc.city": {"$eq": None}}),
    ({"city": {"$nin": []}}, ALL, {"doc.city": {"$nin": []}}),
    ({"age": {"$gte": 41, "$lt": 85}}, ["b", "d"], {"doc.age": {"$gte": 41, "$lt": 85}}),
    ({"age": {"$gt": 72}}, ["c"], {"doc.age": {"$gt": 72}}),
    ({"age": {"$lte": 30}}, ["e"], {"doc.age": {"$lte": 30}}),
    ({"age": {"$gte": None}}, [], {"doc.age": NOTHING}),
    ({"nickname": {"$lt": 5}}, [], {"doc.nickname": {"$lt": 5}}),
    ({"tags": {"$contains": "math"}}, ["a", "b"], {"doc.tags": {"$eq": "math"}}),
    ({"tags": {"$contains": "ma"}}, [], {"doc.tags": {"$eq": "ma"}}),
    ({"name": {"$contains": "Ada"}}, [], {"doc.name": {"$eq": "Ada"}}),
    ({"name": {"$contains": "Ada Lovelace"}}, ["a"], {"doc.name": {"$eq": "Ada Lovelace"}}),
    ({"tags": {"$contains": None}}, [], {"doc.tags": NOTHING}),
    ({"name": {"$icontains": "ALAN"}}, ["b"], {"doc.name": {"$regex": "ALAN", "$options": "i"}}),
    ({"name": {"$icontains": "%"}}, [], {"doc.name": {"$regex": "%", "$options": "i"}}),
    ({"name": {"$icontains": "a_"}}, [], {"doc.name": {"$regex": "a_", "$options": "i"}}),
    ({"name": {"$icontains": "."}}, [], {"doc.name": {"$regex": "\\.", "$options": "i"}}),
    (
        {"name": {"$icontains": "a l"}},
        ["a", "e"],
        {"doc.name": {"$regex": "a\\ l", "$options": "i"}},
    ),
    (
        {"$or": [{"city": "Nuenen"}, {"age": 30}]},
        ["e", "d"],
        {"$or": [{"doc.city": {"$eq": "Nuenen"}}, {"doc.age": {"$eq": 30}}]},
    ),
    (
        {"$and": [{"city": "London"}, {"vip": False}]},
        ["b"],
        {"$and": [{"doc.city": {"$eq": "London"}}, {"doc.vip": {"$eq": False}}]},
    ),
    (
        {"vip": True, "$or": [{"age": {"$lt": 40}}, {"city": {"$in": ["New York"]}}]},
        ["a", "c"],
        {
            "doc.vip": {"$eq": True},
            "$or": [{"doc.age": {"$lt": 40}}, {"doc.city": {"$in": ["New York"]}}],
        },
    ),
    ({"city": {"$exists": True}}, ALL, {"doc.city": {"$exists": True}}),
    ({"city": {"$exists": False}}, [], {"doc.city": {"$exists": False}}),
    ({"nickname": {"$exists": True}}, [], {"doc.nickname": {"$exists": True}}),
    ({"nickname": {"$exists": False}}, ALL, {"doc.nickname": {"$exists": False}}),
    ({"city": {}}, ALL, {}),
    ({"$or": [{}]}, ALL, {"$or": [{}]}),
]


def by_name(flt: dict[str, Any]) -> Query:
    return Query(filter=flt, sort=(("name", 1),))


@pytest.mark.parametrize(("flt", "expected_ids", "mongo"), GOLDEN, ids=[str(g[0]) for g in GOLDEN])
async def test_golden_sqlite_results_and_mongo_translation(
    tmp_path: Path, flt: dict[str, Any], expected_ids: list[str], mongo: dict[str, Any]
) -> None:
    """Pins both sides: if SQLite's answer to a filter changes, this fails, and the
    translation next to it must be looked at again (and the row updated with it)."""
    store = SqliteReadStore(tmp_path / "read.db")
    try:
        await seed(store)
        assert await ids(store, by_name(flt)) == expected_ids
    finally:
        await store.close()
    assert translate_filter(flt) == mongo


@needs_server
@pytest.mark.parametrize(("flt", "expected_ids", "_mongo"), GOLDEN, ids=[str(g[0]) for g in GOLDEN])
async def test_golden_results_on_the_server(
    read_store: ReadStore, flt: dict[str, Any], expected_ids: list[str], _mongo: dict[str, Any]
) -> None:
    """The real server answers each golden filter as SQLite does."""
    await seed(read_store)
    assert await ids(read_store, by_name(flt)) == expected_ids


@needs_server
async def test_limit_zero_returns_no_items_but_the_total(read_store: ReadStore) -> None:
    await seed(read_store)
    page = await read_store.find("people", Query(limit=0))
    assert (page.items, page.total) == ([], 5)


@needs_server
async def test_values_that_look_like_operators_are_stored_as_they_are(
    read_store: ReadStore,
) -> None:
    await read_store.ensure([PEOPLE])
    doc = {"id": "$x", "name": "$name", "nested": {"city": "$$ROOT"}}
    await read_store.commit(
        "people", [Write("people", "$x", doc, 1)], checkpoint=1, expected=Checkpoint()
    )
    assert await read_store.get("people", "$x") == doc


@needs_server
async def test_unique_indexes_let_tombstones_and_missing_fields_repeat(
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
    with pytest.raises(OperationFailure, match="E11000"):
        await read_store.commit(
            "emails", [Write("emails", "f", {"email": "a@x"}, 6)], checkpoint=6, expected=cp
        )
    assert await read_store.checkpoint("emails") == cp  # the failed commit moved nothing


# -- what is checked without a server -------------------------------------------------------


async def test_the_client_is_built_without_a_server() -> None:
    """Connection is lazy: the store, its database and a session are built offline."""
    store = MongoReadStore("mongodb://127.0.0.1:1/sales")
    assert store.database == "sales"
    await store.close()
    for url, database, expected in (
        ("mongodb://127.0.0.1:1/?replicaSet=rs0", None, "crm"),
        ("mongodb://h:1/sales", "crm_test", "crm_test"),
        ("mongodb+srv://cluster0.example.invalid/analytics", None, "analytics"),
    ):
        store = MongoReadStore(url, database=database)
        assert store.database == expected
        await store.close()


async def test_an_unreachable_server_is_an_error_not_a_hang() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = MongoReadStore(
        f"mongodb://127.0.0.1:{port}/x", serverSelectionTimeoutMS=100, transaction_timeout=0.5
    )
    try:
        with pytest.raises(ServerSelectionTimeoutError):
            await store.get("people", "a")
        started = time.monotonic()
        with pytest.raises(PyMongoError):  # the driver alone would retry for 120 s
            await store.commit("people", [], checkpoint=1, expected=Checkpoint())
        assert time.monotonic() - started < 5
    finally:
        await store.close()


async def test_bad_queries_are_refused_before_any_io() -> None:
    store = MongoReadStore("mongodb://127.0.0.1:1/x", serverSelectionTimeoutMS=1)
    try:
        for bad in (
            Query(filter={"age": {"$where": "1"}}),
            Query(filter={"$or": []}),
            Query(sort=(("age", 2),)),
            Query(limit=-1),
        ):
            with pytest.raises(InvalidQuery):
                await store.find("people", bad)
        with pytest.raises(InvalidQuery):
            await store.find("people; drop", Query())
    finally:
        await store.close()


def test_transactions_are_majority_durable_snapshots_on_the_primary() -> None:
    assert TRANSACTION_OPTIONS.read_concern is not None
    assert TRANSACTION_OPTIONS.read_concern.level == "snapshot"
    assert TRANSACTION_OPTIONS.write_concern is not None
    assert TRANSACTION_OPTIONS.write_concern.document == {"w": "majority"}
    assert TRANSACTION_OPTIONS.read_preference == ReadPreference.PRIMARY
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient("mongodb://127.0.0.1:1/x")
    session = client.start_session(default_transaction_options=TRANSACTION_OPTIONS)
    assert session.options.default_transaction_options is TRANSACTION_OPTIONS


def test_declared_indexes_are_on_the_stored_document() -> None:
    assert [m.document for m in index_models(PEOPLE)] == [
        {"name": "ix_city", "key": {"doc.city": 1}},
        {"name": "ix_age__city", "key": {"doc.age": 1, "doc.city": 1}},
    ]
    unique = CollectionSpec("users", (Index(("tenant", "login.email"), unique=True),))
    assert [m.document for m in index_models(unique)] == [
        {
            "name": "ix_tenant__login_email",
            "key": {"doc.tenant": 1, "doc.login.email": 1},
            "unique": True,
            "partialFilterExpression": {
                "doc.tenant": {"$exists": True},
                "doc.login.email": {"$exists": True},
            },
        }
    ]
    with pytest.raises(InvalidQuery):
        index_models(CollectionSpec("x", (Index(("a b",)),)))


def test_collection_names_are_prefixed_and_checked() -> None:
    assert collection_name("people__rebuild") == "rm_people__rebuild"
    for bad in ("people; drop", "a.b", "a$b", ""):
        with pytest.raises(InvalidQuery):
            collection_name(bad)


def test_a_write_replaces_the_stored_document_only_if_newer() -> None:
    write = Write("people", "a", {"id": "a", "n": "$n"}, 7)
    stored = {"_id": "a", "doc": {"id": "a", "n": "$n"}, "position": 7}
    newer = {"$lt": [{"$ifNull": ["$position", -1]}, 7]}
    pipeline = [{"$replaceWith": {"$cond": [newer, {"$literal": stored}, "$$ROOT"]}}]
    assert guarded_write(write) == UpdateOne({"_id": "a"}, pipeline, upsert=True)
    tombstone = {"_id": "a", "doc": None, "position": 8}
    newer = {"$lt": [{"$ifNull": ["$position", -1]}, 8]}
    assert guarded_write(Write("people", "a", None, 8)) == UpdateOne(
        {"_id": "a"},
        [{"$replaceWith": {"$cond": [newer, {"$literal": tombstone}, "$$ROOT"]}}],
        upsert=True,
    )
    bson.encode({"u": pipeline})


def test_a_dead_letter_is_recorded_once_per_event() -> None:
    at = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
    letter = DeadLetter("people", 6, "ev-1", "person.moved", "ValueError: x", at)
    op = dead_letter_write(letter)
    assert op == UpdateOne(
        {"_id": {"projection": "people", "event_id": "ev-1"}},
        {
            "$setOnInsert": {
                "projection": "people",
                "position": 6,
                "event_id": "ev-1",
                "event_type": "person.moved",
                "error": "ValueError: x",
                "failed_at": "2026-03-02T09:00:00.123456+00:00",  # BSON dates keep only ms
            }
        },
        upsert=True,
    )


def test_the_checkpoint_moves_only_from_the_expected_place_and_never_while_fenced() -> None:
    assert checkpoint_filter("people", Checkpoint(5, 2)) == {
        "_id": "people",
        "position": 5,
        "epoch": 2,
        "fenced": {"$ne": True},
    }


async def test_documents_are_stored_as_sqlite_gives_them_back(tmp_path: Path) -> None:
    doc: dict[str, Any] = {
        "id": "a",
        "at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        "pair": (1, 2),
        "uuid": uuid4(),
        "nested": {"n": 1.5, "none": None, "flag": True},
    }
    store = SqliteReadStore(tmp_path / "read.db")
    try:
        await store.commit(
            "people", [Write("people", "a", doc, 1)], checkpoint=1, expected=Checkpoint()
        )
        assert plain(doc) == await store.get("people", "a")
    finally:
        await store.close()
    assert plain(None) is None
