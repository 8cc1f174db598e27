"""Projections and the runner that feeds them.

A projection is pure: for an event it names the documents it touches (``keys``), and for
each computes the new document from the old one (``evolve``). The runner does all the I/O:
it reads a batch from the log, loads the touched documents once, evolves them in memory,
and commits the changed documents and the checkpoint together. An event whose ``evolve``
raises goes to the dead-letter store with its error and the runner moves on. Rebuilding is
running the same projection from position 0 into staging collections, then swapping them in.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from crm.events import DomainEvent, EventEnvelope
from crm.kernel.codec import EventCodec
from crm.kernel.event_store import EventStore
from crm.kernel.lifecycle import stop_after_batch
from crm.kernel.observability import tracing
from crm.kernel.observability.commands import observed_batch
from crm.kernel.read_store import (
    Checkpoint,
    CheckpointMoved,
    CollectionSpec,
    DeadLetter,
    Document,
    ReadStore,
    Versioned,
    Write,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

DocKey = tuple[str, str]
"""(collection, document id)"""

STAGING = "__rebuild"
MAX_CONSISTENCY_SCAN = 1000
"""Events a read-your-writes check reads past a projection's checkpoint, at most."""
STREAMS = "_streams"
"""Where a routed document keeps the last version it applied of each stream."""


@dataclass(frozen=True, slots=True)
class Routed:
    """Where a copy of an event was routed: the document it is for, and its position in the
    partition that owns that document."""

    key: DocKey
    position: int


class Projection(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int:
        """Bumped whenever its code changes what it writes: the platform then rebuilds the
        read model online at start (:func:`ensure_version`)."""
        ...

    @property
    def collections(self) -> Sequence[CollectionSpec]: ...

    @property
    def event_types(self) -> frozenset[str]:
        """The event types it applies; the others only move its checkpoint."""
        ...

    @property
    def categories(self) -> frozenset[str] | None:
        """Stream categories it reads (a filter the store can apply), None for all."""
        ...

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]: ...

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        """The document after ``event`` (None deletes it). Must not mutate ``doc``."""
        ...


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    position: int
    applied: int
    dead_lettered: int


class ProjectionRunner:
    """Feeds one projection from the event store, batch by batch, checkpointed.

    ``suffix`` names the physical collections (staging ones for a rebuild) and the checkpoint;
    ``checkpoint_name`` overrides the latter (one checkpoint per partition of a routed source).
    """

    def __init__(
        self,
        projection: Projection,
        store: EventStore,
        read_store: ReadStore,
        codec: EventCodec,
        *,
        batch_size: int = 1000,
        suffix: str = "",
        checkpoint_name: str | None = None,
    ) -> None:
        self.projection = projection
        self.store = store
        self.read_store = read_store
        self.codec = codec
        self.batch_size = batch_size
        self.suffix = suffix
        self.checkpoint_name = checkpoint_name or projection.name + suffix
        self.checkpoint = Checkpoint()
        self._stopping = False
        self._busy = False

    async def prepare(self) -> None:
        await self.read_store.ensure(
            [
                CollectionSpec(spec.name + self.suffix, spec.indexes)
                for spec in self.projection.collections
            ]
        )
        self.checkpoint = await self.read_store.checkpoint(self.checkpoint_name)

    @property
    def position(self) -> int:
        return self.checkpoint.position

    async def run(self) -> None:
        """Follow the log forever (cancel to stop: the batch in hand is committed or not at all)."""
        await self.prepare()
        while True:
            try:
                async for batch in self._pages(live=True):
                    self._busy = True
                    await self.process(batch)
                    self._busy = False
                    if self._stopping:
                        return
            except CheckpointMoved:
                self._busy = False
                previous = self.checkpoint
                self.checkpoint = await self.read_store.checkpoint(self.checkpoint_name)
                log.info(
                    "%s: checkpoint moved from %s to %s (rebuilt); following from there",
                    self.checkpoint_name,
                    previous,
                    self.checkpoint,
                )

    async def stop(self, task: asyncio.Task[None], timeout: float = 10.0) -> None:
        """Stop gracefully: the batch in hand is committed with its checkpoint first."""
        await stop_after_batch(self, task, timeout)

    async def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Process the log up to its head as it is now; return the position reached. The next
        page is read (in the store's reader thread) while this one is processed."""
        await self.prepare()
        async for batch in read_ahead(self._pages(live=False)):
            await self.process(batch)
            if progress is not None:
                progress(self.position)
        return self.position

    def _pages(self, *, live: bool) -> AsyncIterator[list[EventEnvelope]]:
        read = self.store.subscribe if live else self.store.read_all
        return read(
            self.position, batch_size=self.batch_size, categories=self.projection.categories
        )

    async def process(
        self, batch: Sequence[EventEnvelope], routed: Sequence[Routed] | None = None
    ) -> BatchOutcome:
        """Apply one batch and commit it with the checkpoint at its last position.

        Positions are the events' own, from one ordered log. ``routed`` (one per event) is
        for a partitioned source instead: each copy of an event was routed to the partition
        that owns one document; it applies to that document only, and its position there
        (its offset plus one) is what the document and the checkpoint remember.
        """
        if not batch:
            return BatchOutcome(self.position, 0, 0)
        started = tracing.now_ns()
        projection = self.projection
        items = (
            [(e, r.position, r.key) for e, r in zip(batch, routed, strict=True)]
            if routed is not None
            else [(e, e.position, None) for e in batch]
        )
        relevant = [
            item
            for item in items
            if item[0].event_type in projection.event_types and item[1] > self.position
        ]
        decoded = await self.codec.decode_each([e for e, _, _ in relevant])
        now = datetime.now(UTC)
        dead: list[DeadLetter] = []
        plans: list[tuple[EventEnvelope, int, DomainEvent, list[DocKey]]] = []
        wanted: dict[str, set[str]] = {}
        for (envelope, position, key), event in zip(relevant, decoded, strict=True):
            try:
                if isinstance(event, Exception):
                    raise event
                keys = [key] if key is not None else list(projection.keys(event, envelope))
            except Exception as e:
                dead.append(self._dead_letter(envelope, position, e, now))
                continue
            plans.append((envelope, position, event, keys))
            for collection, id_ in keys:
                wanted.setdefault(collection, set()).add(id_)
        docs: dict[DocKey, Versioned] = {}
        for collection, ids in wanted.items():
            found = await self.read_store.get_versioned(collection + self.suffix, list(ids))
            for id_ in ids:
                docs[(collection, id_)] = found.get(id_, Versioned(None, 0))
        dirty: set[DocKey] = set()
        applied = 0
        for envelope, position, event, keys in plans:
            try:
                updates = {
                    key: self._evolve(
                        key, docs[key].doc, event, envelope, dedupe=routed is not None
                    )
                    for key in keys
                    if docs[key].position < position
                }
            except Exception as e:
                dead.append(self._dead_letter(envelope, position, e, now))
                continue
            for key, doc in updates.items():
                docs[key] = Versioned(doc, position)
                dirty.add(key)
            applied += 1
        writes = [
            Write(
                collection + self.suffix,
                id_,
                docs[(collection, id_)].doc,
                docs[(collection, id_)].position,
            )
            for collection, id_ in dirty
        ]
        dead.sort(key=lambda letter: letter.position)
        end = items[-1][1]
        self.checkpoint = await self.read_store.commit(
            self.checkpoint_name,
            writes,
            checkpoint=end,
            expected=self.checkpoint,
            dead_letters=dead,
        )
        for letter in dead:
            log.error(
                "%s: event %s (%s at %d) sent to dead letters: %s",
                self.checkpoint_name,
                letter.event_id,
                letter.event_type,
                letter.position,
                letter.error,
            )
        return observed_batch(
            projection.name, batch, started, BatchOutcome(end, applied, len(dead))
        )

    def _evolve(
        self,
        key: DocKey,
        doc: Document | None,
        event: DomainEvent,
        envelope: EventEnvelope,
        *,
        dedupe: bool,
    ) -> Document | None:
        """``projection.evolve``; for a routed source also skipping an event the document
        already has. A relay that crashed between publishing and checkpointing publishes a
        page again; those copies arrive with new offsets, so the offset guard alone would
        apply them twice. The document remembers the last version it applied of each
        stream (``_streams``): a stream's events arrive in order, so that is enough."""
        if not dedupe:
            return self.projection.evolve(key, doc, event, envelope)
        applied: dict[str, int] = dict(doc.get(STREAMS, {})) if doc is not None else {}
        if envelope.stream_version <= applied.get(envelope.stream_id, -1):
            return doc
        new = self.projection.evolve(key, doc, event, envelope)
        if new is None:
            return None
        applied[envelope.stream_id] = envelope.stream_version
        return {**new, STREAMS: applied}

    def _dead_letter(
        self, envelope: EventEnvelope, position: int, error: Exception, now: datetime
    ) -> DeadLetter:
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return DeadLetter(
            projection=self.projection.name,
            position=position,
            event_id=str(envelope.event_id),
            event_type=envelope.event_type,
            error=detail,
            failed_at=now,
        )


async def read_ahead(pages: AsyncIterator[T]) -> AsyncIterator[T]:
    """``pages``, with the next one asked for as soon as one is handed out: a consumer that
    spends time on each page (decoding, evolving, committing) finds the next one read
    meanwhile. Stopping early (an error, a ``break``) cancels the read ahead and closes
    ``pages``."""
    ahead: asyncio.Future[T] = asyncio.ensure_future(anext(pages))
    try:
        while True:
            try:
                page = await ahead
            except StopAsyncIteration:
                return
            ahead = asyncio.ensure_future(anext(pages))
            yield page
    finally:
        if not ahead.done():
            ahead.cancel()
            await asyncio.wait([ahead])  # its outcome is dropped; a cancel of ours is not
        if not ahead.cancelled():
            ahead.exception()  # retrieved: a read's error after the consumer stopped is moot
        aclose = getattr(pages, "aclose", None)
        if aclose is not None:
            await aclose()


async def rebuild(
    projection: Projection,
    store: EventStore,
    read_store: ReadStore,
    codec: EventCodec,
    *,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 2000,
) -> int:
    """Rebuild ``projection`` from position 0 into staging collections while the live ones
    keep serving (and a live runner keeps updating them), then swap the staging ones in
    atomically. A live runner notices its checkpoint moved and follows on from the swap.
    Returns the position the rebuilt projection reached; ``progress(position, head)``.
    """
    staged = [spec.name + STAGING for spec in projection.collections]
    await read_store.drop(staged, projection.name + STAGING)
    runner = ProjectionRunner(
        projection, store, read_store, codec, batch_size=batch_size, suffix=STAGING
    )
    head = await store.head_position()

    def report(position: int) -> None:
        if progress is not None:
            progress(position, max(head, position))

    await runner.catch_up(report)
    while (new_head := await store.head_position()) > runner.position:
        # events came in meanwhile; a pass that finds none of the projection's own (the
        # newest events are other streams') means it is caught up: the live runner takes
        # over from the swap
        head, before = new_head, runner.position
        await runner.catch_up(report)
        if runner.position == before:
            break
    position = await read_store.swap(
        projection.name,
        {spec.name: spec.name + STAGING for spec in projection.collections},
        staged_projection=projection.name + STAGING,
    )
    await read_store.ensure(projection.collections)
    await record_version(read_store, projection)
    if progress is not None:
        done = max(head, position)
        progress(done, done)
    return position


VERSION_SUFFIX = "@version"
"""The checkpoint whose position records the version a read model was built by."""


async def recorded_version(read_store: ReadStore, projection: Projection) -> Checkpoint:
    return await read_store.checkpoint(projection.name + VERSION_SUFFIX)


async def outdated(read_store: ReadStore, projection: Projection) -> bool:
    """Whether the stored read model was built by another version of the projection's code.
    A read model never versioned before (built before versions were recorded, or never) is
    taken as built by the code at hand: there is nothing older to replace."""
    recorded = (await recorded_version(read_store, projection)).position
    return recorded not in (0, projection.version)


async def record_version(read_store: ReadStore, projection: Projection) -> None:
    version = await recorded_version(read_store, projection)
    if version.position != projection.version:
        await read_store.commit(
            projection.name + VERSION_SUFFIX, [], checkpoint=projection.version, expected=version
        )


async def ensure_version(
    projection: Projection,
    store: EventStore,
    read_store: ReadStore,
    codec: EventCodec,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> bool:
    """Rebuild the read model if it was built by another version of the projection (blue/
    green: the old documents keep serving until the new ones are swapped in), then record
    the version. Returns whether it rebuilt."""
    if not await outdated(read_store, projection):
        await record_version(read_store, projection)
        return False
    log.info("%s: rebuilding for version %d", projection.name, projection.version)
    await rebuild(projection, store, read_store, codec, progress=progress)
    return True


async def wait_until(
    read_store: ReadStore,
    projection: str,
    position: int,
    timeout: float,
    *,
    store: EventStore | None = None,
    categories: Collection[str] | None = None,
) -> tuple[int, bool]:
    """Read-your-writes: wait until ``projection`` has applied ``position``; return the
    checkpoint reached and whether it is caught up.

    With the ``store`` and the projection's ``categories``, the wait is for the last event
    of those categories at or before ``position`` (found by reading the log from the
    checkpoint): a projection that only reads some streams need not see an unrelated later
    event to be consistent with a write. A position beyond the head is waited for as it is."""
    reached = (await read_store.checkpoint(projection)).position
    if reached >= position:
        return reached, True
    target = position
    if store is not None and categories is not None and position <= await store.head_position():
        target, scanned = reached, 0
        async for page in store.read_all(reached, batch_size=100, categories=categories):
            relevant = [e.position for e in page if e.position <= position]
            if relevant:
                target = relevant[-1]
            scanned += len(page)
            if len(relevant) < len(page):
                break
            if scanned >= MAX_CONSISTENCY_SCAN:  # far behind: wait for the position itself
                target = position
                break
        if target <= reached:
            return reached, True
    reached = await read_store.wait_for_checkpoint(projection, target, timeout)
    return reached, reached >= target


__all__ = [
    "STAGING",
    "BatchOutcome",
    "DocKey",
    "Projection",
    "ProjectionRunner",
    "ensure_version",
    "rebuild",
    "wait_until",
]
