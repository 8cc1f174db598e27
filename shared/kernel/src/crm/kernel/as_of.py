"""Reading the log as it stood at a moment: "what happened by then, as recorded by then".

An ``as_of`` answer is the same projection code run over the events that had happened
(``occurred_at <= as_of``) and had been recorded (``recorded_at <= as_of``) by the moment,
into an in-memory read store, and the query that serves the live answer read from there. An
event imported later about an earlier day is left out of an answer as of a moment before it
was imported: the CRM did not know it then. Personal data is decoded with the keys as they
are now, so what was erased since reads erased in the past too (the keys are gone).

:func:`replay` reads the projection's categories of the whole log up to the head (its cost is
a rebuild of that read model, measured in ``bench/as_of.py``); ``only`` narrows which
documents are written (one customer's), and ``keep`` which events are decoded and applied
(:func:`about`: those of some customers' streams; the log is still paged through, but only
their events are decrypted and applied).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import cast

from crm.events import DomainEvent, EventEnvelope
from crm.kernel.adapters.memory import InMemoryReadStore
from crm.kernel.codec import EventCodec
from crm.kernel.event_store import EventStore
from crm.kernel.projection import DocKey, Projection, ProjectionRunner
from crm.kernel.read_store import CollectionSpec, Document


def known_by(envelope: EventEnvelope, moment: datetime) -> bool:
    """Whether the event had happened and been recorded by ``moment``."""
    return envelope.occurred_at <= moment and envelope.recorded_at <= moment


def about(*record_ids: str) -> Callable[[EventEnvelope], bool]:
    """Whether an event, read in log order, is about one of ``record_ids``: of a stream of
    that id (``customer-<id>``, ``churnrisk-<id>``), or naming it as ``customer_id`` (an order
    placed, a ticket opened), or of a stream an earlier such event began (the order's
    shipment, the ticket's comments). The payload is read as stored, before anything is
    decrypted."""
    ids = frozenset(record_ids)
    streams: set[str] = set()

    def keep(envelope: EventEnvelope) -> bool:
        if envelope.stream_id in streams:
            return True
        if (
            envelope.stream_id.partition("-")[2] in ids
            or envelope.payload.get("customer_id") in ids
        ):
            streams.add(envelope.stream_id)
            return True
        return False

    return keep


class LogAsOf:
    """The event store's log as it stood at ``moment``: its pages hold only the events known
    by then (:func:`known_by`), at their own positions; and, given ``keep``, only those it
    keeps."""

    def __init__(
        self,
        store: EventStore,
        moment: datetime,
        keep: Callable[[EventEnvelope], bool] | None = None,
    ) -> None:
        self.store = store
        self.moment = moment
        self.keep = keep

    async def read_all(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        categories: Collection[str] | None = None,
    ) -> AsyncIterator[list[EventEnvelope]]:
        async for page in self.store.read_all(after, batch_size=batch_size, categories=categories):
            kept = [
                e for e in page if known_by(e, self.moment) and (self.keep is None or self.keep(e))
            ]
            if kept:
                yield kept

    def subscribe(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        categories: Collection[str] | None = None,
    ) -> AsyncIterator[list[EventEnvelope]]:
        raise NotImplementedError("the past is not followed live")

    async def head_position(self) -> int:
        return await self.store.head_position()


class Only:
    """``projection`` writing only the documents ``wanted`` accepts (the others are never
    loaded nor written): one customer's 360° view, say."""

    def __init__(self, projection: Projection, wanted: Callable[[DocKey], bool]) -> None:
        self.inner = projection
        self.wanted = wanted

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def version(self) -> int:
        return self.inner.version

    @property
    def collections(self) -> Sequence[CollectionSpec]:
        return self.inner.collections

    @property
    def event_types(self) -> frozenset[str]:
        return self.inner.event_types

    @property
    def categories(self) -> frozenset[str] | None:
        return self.inner.categories

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        return [k for k in self.inner.keys(event, envelope) if self.wanted(k)]

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        return self.inner.evolve(key, doc, event, envelope)


async def replay(
    projection: Projection,
    store: EventStore,
    codec: EventCodec,
    moment: datetime,
    *,
    only: Callable[[DocKey], bool] | None = None,
    keep: Callable[[EventEnvelope], bool] | None = None,
) -> InMemoryReadStore:
    """A fresh in-memory read store holding ``projection``'s documents as they were at
    ``moment`` (those ``only`` accepts, if given), from the events ``keep`` keeps (all, if
    not given: :func:`about` keeps one customer's)."""
    read_store = InMemoryReadStore()
    fed: Projection = projection if only is None else Only(projection, only)
    log = cast(EventStore, LogAsOf(store, moment, keep))
    await ProjectionRunner(fed, log, read_store, codec, batch_size=2000).catch_up()
    return read_store


__all__ = ["LogAsOf", "Only", "about", "known_by", "replay"]
