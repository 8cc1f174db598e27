"""The MongoDB read store: one collection per read model, written only in transactions.

A stored document is ``{_id, doc, position}`` (``doc`` null for a tombstone); checkpoints and
dead letters have their own collections. A commit is one multi-document transaction (the
checkpoint's compare-and-set, the guarded writes and the dead letters), which MongoDB runs
only on a replica set or sharded cluster: production runs a single-node replica set.

Documents are stored as JSON would carry them (the SQLite store's encoding), so a projection
reads back the same values from either store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pymongo
from pymongo import AsyncMongoClient, IndexModel, ReadPreference, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

# TransactionOptions' documented home re-exports it with a star import that mypy cannot follow
from pymongo.client_session import TransactionOptions  # type: ignore[attr-defined]
from pymongo.errors import CollectionInvalid, DuplicateKeyError, OperationFailure
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from crm.kernel.adapters.mongodb.filters import DOC, field, translate_filter, translate_sort
from crm.kernel.adapters.sqlite.notifier import CommitNotifier
from crm.kernel.read_store import (
    Checkpoint,
    CheckpointMoved,
    CollectionSpec,
    DeadLetter,
    Document,
    Index,
    InvalidQuery,
    Page,
    Query,
    Versioned,
    Write,
)

Stored = dict[str, Any]

DEFAULT_DATABASE = "crm"
PREFIX = "rm_"
CHECKPOINTS = "_checkpoints"
DEAD_LETTERS = "_dead_letters"
NAMESPACE_EXISTS = 48
TRANSACTION_TIMEOUT_SECONDS = 30.0
FIRST_POLL_SECONDS = 0.01
MAX_POLL_SECONDS = 0.25

TRANSACTION_OPTIONS = TransactionOptions(
    read_concern=ReadConcern("snapshot"),
    write_concern=WriteConcern(w="majority"),
    read_preference=ReadPreference.PRIMARY,
)
"""A commit is durable on a majority before it returns, and reads its own snapshot."""


def collection_name(collection: str) -> str:
    if not collection.replace("_", "").isalnum():
        raise InvalidQuery(f"not a collection name: {collection!r}")
    return PREFIX + collection


def index_models(spec: CollectionSpec) -> list[IndexModel]:
    """The indexes declared by ``spec`` on the stored documents' fields.

    A unique index covers only documents that have all its fields: tombstones (``doc`` null)
    and documents without the field would otherwise collide as nulls, where SQLite's unique
    indexes let NULLs repeat. (An explicit null value still counts, unlike SQLite.)"""
    return [_index_model(index) for index in spec.indexes]


def _index_model(index: Index) -> IndexModel:
    keys = [(field(f), 1) for f in index.fields]
    name = "ix_" + "__".join(f.replace(".", "_") for f in index.fields)
    if not index.unique:
        return IndexModel(keys, name=name)
    present = {path: {"$exists": True} for path, _ in keys}
    return IndexModel(keys, name=name, unique=True, partialFilterExpression=present)


def plain(doc: Document | None) -> Document | None:
    """``doc`` as the SQLite store would give it back (JSON types; other values as text)."""
    if doc is None:
        return None
    decoded: Document = json.loads(json.dumps(doc, separators=(",", ":"), default=str))
    return decoded


def guarded_write(write: Write) -> UpdateOne:
    """Set the document only if ``write`` is newer than what is stored, in one statement.

    An update pipeline keeps the stored document when its position is not older. The usual
    guarded upsert (filter on ``position < p``, duplicate key meaning "newer already there")
    cannot be used: inside a transaction a duplicate key error aborts the whole transaction.
    ``$literal`` keeps values such as ``"$x"`` from being read as expressions."""
    stored = {"_id": write.id, DOC: plain(write.doc), "position": write.position}
    newer = {"$lt": [{"$ifNull": ["$position", -1]}, write.position]}
    replacement = {"$cond": [newer, {"$literal": stored}, "$$ROOT"]}
    return UpdateOne({"_id": write.id}, [{"$replaceWith": replacement}], upsert=True)


def dead_letter_write(letter: DeadLetter) -> UpdateOne:
    """Record ``letter`` once per (projection, event): a redelivered batch adds nothing."""
    key = {"projection": letter.projection, "event_id": letter.event_id}
    record = {
        "projection": letter.projection,
        "position": letter.position,
        "event_id": letter.event_id,
        "event_type": letter.event_type,
        "error": letter.error,
        "failed_at": letter.failed_at.isoformat(),
    }
    return UpdateOne({"_id": key}, {"$setOnInsert": record}, upsert=True)


def checkpoint_filter(projection: str, expected: Checkpoint) -> dict[str, Any]:
    """Where the checkpoint must be for a commit to move it (never while a swap is fenced)."""
    return {
        "_id": projection,
        "position": expected.position,
        "epoch": expected.epoch,
        "fenced": {"$ne": True},
    }


def database_of(client: AsyncMongoClient[Stored], database: str | None) -> str:
    """The database given, else the one in the URL's path, else ``crm``."""
    if database is not None:
        return database
    return client.get_default_database(default=DEFAULT_DATABASE).name


class MongoReadStore:
    def __init__(
        self,
        url: str,
        *,
        database: str | None = None,
        transaction_timeout: float = TRANSACTION_TIMEOUT_SECONDS,
        **client_options: Any,
    ) -> None:
        self._transaction_timeout = transaction_timeout
        self._client: AsyncMongoClient[Stored] = AsyncMongoClient(
            url, tz_aware=True, appname="crm-read-store", **client_options
        )
        self._db = self._client.get_database(
            database_of(self._client, database), write_concern=WriteConcern(w="majority")
        )  # the fence, renames and drops, outside transactions, must survive a failover too
        self._checkpoints = self._db[CHECKPOINTS]
        self._dead_letters = self._db[DEAD_LETTERS]
        self._notifier = CommitNotifier()
        self._known: set[str] = set()

    @property
    def database(self) -> str:
        return self._db.name

    def _collection(self, collection: str) -> AsyncCollection[Stored]:
        return self._db[collection_name(collection)]

    # -- schema ------------------------------------------------------------------------------

    async def ensure(self, collections: Sequence[CollectionSpec]) -> None:
        for spec in collections:
            await self._ensure_collection(spec.name)
            models = index_models(spec)
            if models:
                await self._collection(spec.name).create_indexes(models)
        await self._dead_letters.create_index(
            [("projection", 1), ("failed_at", 1), ("position", 1)], name="ix_projection"
        )

    async def _ensure_collection(self, collection: str) -> None:
        """Create it outside any transaction (creating one inside is limited and conflicts)."""
        if collection in self._known:
            return
        try:
            await self._db.create_collection(collection_name(collection))
        except CollectionInvalid:
            pass
        except OperationFailure as e:
            if e.code != NAMESPACE_EXISTS:
                raise
        self._known.add(collection)

    # -- reading -----------------------------------------------------------------------------

    async def get(self, collection: str, id: str) -> Document | None:
        found = await self._collection(collection).find_one({"_id": id}, {DOC: 1})
        doc: Document | None = found.get(DOC) if found else None
        return doc

    async def get_versioned(self, collection: str, ids: Sequence[str]) -> dict[str, Versioned]:
        if not ids:
            return {}
        cursor = self._collection(collection).find(
            {"_id": {"$in": list(dict.fromkeys(ids))}}, {DOC: 1, "position": 1}
        )
        return {s["_id"]: Versioned(s.get(DOC), s["position"]) async for s in cursor}

    async def find(self, collection: str, query: Query) -> Page:
        where = {DOC: {"$ne": None}, **translate_filter(query.filter)}
        order = translate_sort(query.sort)
        if query.limit < 0 or query.offset < 0:
            raise InvalidQuery("limit and offset must not be negative")
        coll = self._collection(collection)

        async def items() -> list[Document]:
            if query.limit == 0:  # MongoDB reads limit 0 as "no limit"
                return []
            cursor = coll.find(where, {DOC: 1}, sort=order, skip=query.offset, limit=query.limit)
            return [s[DOC] async for s in cursor]

        total, docs = await asyncio.gather(coll.count_documents(where), items())
        return Page(docs, total, query.limit, query.offset)

    async def checkpoint(self, projection: str) -> Checkpoint:
        found = await self._checkpoints.find_one({"_id": projection})
        return Checkpoint(found["position"], found["epoch"]) if found else Checkpoint()

    async def wait_for_checkpoint(self, projection: str, position: int, timeout: float) -> int:
        """Poll with backoff (commits by other processes), woken at once by this one's."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pause = FIRST_POLL_SECONDS
        while True:
            seen = self._notifier.generation
            reached = (await self.checkpoint(projection)).position
            remaining = deadline - loop.time()
            if reached >= position or remaining <= 0:
                return reached
            await self._notifier.wait(seen, min(remaining, pause))
            pause = min(pause * 2, MAX_POLL_SECONDS)

    async def dead_letters(self, projection: str | None = None) -> list[DeadLetter]:
        cursor = self._dead_letters.find(
            {} if projection is None else {"projection": projection},
            sort=[("failed_at", 1), ("position", 1), ("_id", 1)],
        )
        return [
            DeadLetter(
                r["projection"],
                r["position"],
                r["event_id"],
                r["event_type"],
                r["error"],
                datetime.fromisoformat(r["failed_at"]),
            )
            async for r in cursor
        ]

    # -- writing -----------------------------------------------------------------------------

    async def commit(
        self,
        projection: str,
        writes: Sequence[Write],
        *,
        checkpoint: int,
        expected: Checkpoint,
        dead_letters: Sequence[DeadLetter] = (),
    ) -> Checkpoint:
        by_collection: dict[str, list[UpdateOne]] = {}
        for w in writes:
            by_collection.setdefault(w.collection, []).append(guarded_write(w))
        for collection in by_collection:
            await self._ensure_collection(collection)
        letters = [dead_letter_write(d) for d in dead_letters]

        async def apply(session: AsyncClientSession) -> None:
            await self._move_checkpoint(session, projection, expected, checkpoint)
            for collection, ops in by_collection.items():
                await self._collection(collection).bulk_write(ops, ordered=False, session=session)
            if letters:
                await self._dead_letters.bulk_write(letters, ordered=False, session=session)

        await self._transaction(apply)
        self._notifier.notify()
        return Checkpoint(checkpoint, expected.epoch)

    async def _move_checkpoint(
        self, session: AsyncClientSession, projection: str, expected: Checkpoint, to: int
    ) -> None:
        moved = CheckpointMoved(f"{projection} checkpoint is not at {expected} any more")
        where = checkpoint_filter(projection, expected)
        update = {"$set": {"position": to}}
        if expected != Checkpoint():
            result = await self._checkpoints.update_one(where, update, session=session)
            if result.matched_count == 0:
                raise moved
            return
        try:  # the first commit: the checkpoint may not exist yet
            await self._checkpoints.update_one(where, update, upsert=True, session=session)
        except DuplicateKeyError as e:  # it exists, elsewhere (this aborts the transaction)
            raise moved from e

    async def _transaction(self, body: Callable[[AsyncClientSession], Awaitable[None]]) -> None:
        """Run ``body(session)`` in one transaction, retried by the driver on transient
        errors (write conflicts, an election) for ``transaction_timeout`` seconds, not the
        driver's 120: a server that stays away fails the commit instead of holding it (and a
        graceful stop) for two minutes. Any other error aborts it and is raised."""
        with pymongo.timeout(self._transaction_timeout):
            async with self._client.start_session(
                default_transaction_options=TRANSACTION_OPTIONS
            ) as session:
                await session.with_transaction(body)

    async def drop(self, collections: Sequence[str], projection: str) -> None:
        """Not one transaction (MongoDB cannot drop inside one): the checkpoint goes first,
        so an interrupted drop leaves documents ahead of their checkpoint (replayed harmlessly
        under the position guard), never a checkpoint claiming documents that are gone."""
        names = [collection_name(c) for c in collections]
        await self._checkpoints.delete_one({"_id": projection})
        for collection, name in zip(collections, names, strict=True):
            await self._db.drop_collection(name)
            self._known.discard(collection)

    async def swap(
        self, projection: str, collections: Mapping[str, str], *, staged_projection: str
    ) -> int:
        """Replace each live collection by its staged one and move ``projection`` to the
        staged position in a new epoch.

        MongoDB cannot rename inside a transaction. Each ``renameCollection`` (with
        ``dropTarget``) is atomic for its collection: a reader sees the old or the new one,
        never a mix (a query running across the rename may fail and must be retried). Several
        collections are renamed one after another, so for a moment a reader may see some new
        and some old. The writer never sees a mix: first the live checkpoint is *fenced* (no
        commit can move it), then the collections are renamed, then one transaction unfences
        it at the staged position in the next epoch and deletes the staged checkpoint. Every
        checkpoint a runner can have read before the unfence carries the old epoch, so a
        commit built on documents loaded before the renames finished fails with
        CheckpointMoved and the runner reloads from the new collections (while fenced it just
        retries). If the swap dies while fenced, the runner cannot commit until a rebuild
        (which swaps again) completes: it stalls, but nothing wrong is written.
        """
        pairs = [
            (collection_name(live), collection_name(staged)) for live, staged in collections.items()
        ]
        position = (await self.checkpoint(staged_projection)).position
        await self._checkpoints.update_one(
            {"_id": projection},
            {"$set": {"fenced": True}, "$setOnInsert": {"position": 0, "epoch": 0}},
            upsert=True,
        )
        for (live, staged), (live_name, staged_name) in zip(
            collections.items(), pairs, strict=True
        ):
            await self._ensure_collection(staged)
            await self._db[staged_name].rename(live_name, dropTarget=True)
            self._known.discard(staged)
            self._known.add(live)

        async def unfence(session: AsyncClientSession) -> None:
            await self._checkpoints.update_one(
                {"_id": projection},
                {"$set": {"position": position}, "$inc": {"epoch": 1}, "$unset": {"fenced": ""}},
                session=session,
            )
            await self._checkpoints.delete_one({"_id": staged_projection}, session=session)

        await self._transaction(unfence)
        self._notifier.notify()
        return position

    async def close(self) -> None:
        await self._client.close()
