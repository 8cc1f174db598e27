"""Loads aggregates from their streams and appends what they triggered, with the expected
version they were loaded at; a concurrent writer makes the append fail, not overwrite. The one
path that runs commands on them is :mod:`crm.kernel.commands`."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4, uuid5

from crm.events import EventMetadata
from crm.kernel.aggregate import Aggregate
from crm.kernel.codec import EventCodec
from crm.kernel.errors import InvalidCommand, NotFound
from crm.kernel.event_store import NO_STREAM, AppendResult, EventStore, Idempotency
from crm.kernel.observability.commands import appended

A = TypeVar("A", bound=Aggregate)  # type: ignore[type-arg]


CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of ``now`` a fact's time may be (clocks of the machines a file or a request
came from are not ours)."""


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who runs a command, when, for which tenant, and under which request.

    ``now`` is when the command runs; ``occurred_at``, when the fact it records happened, if
    that was earlier: an order placed in 2019 and imported today is recorded with
    ``occurred_at`` in 2019 (the envelope's ``occurred_at``, what every read model dates it
    by) beside ``recorded_at`` now (the store's). The acts take the fact's time from
    :attr:`happened_at`; rules about the present (an overdue mark, a claim) keep ``now``."""

    actor: str
    role: str
    tenant: str
    now: datetime
    correlation_id: UUID = field(default_factory=uuid4)
    causation_id: UUID | None = None
    idempotency: Idempotency | None = None
    team: str | None = None
    occurred_at: datetime | None = None
    """When the recorded fact happened; None: now."""

    def __post_init__(self) -> None:
        when = self.occurred_at
        if when is None:
            return
        if when.tzinfo is None:
            raise InvalidCommand("occurred_at", "needs a time zone (e.g. 2019-05-01T10:00:00Z)")
        if when > self.now + CLOCK_SKEW:
            raise InvalidCommand("occurred_at", "is in the future")

    @property
    def happened_at(self) -> datetime:
        """The time of the fact the command records: ``occurred_at``, else ``now``."""
        return self.occurred_at if self.occurred_at is not None else self.now

    @property
    def metadata(self) -> EventMetadata:
        return EventMetadata(
            tenant=self.tenant,
            actor=self.actor,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
        )

    def event_ids(self, stream_id: str, count: int) -> Sequence[UUID] | None:
        """Under an idempotency key, event ids are derived from it: the same request always
        produces the same ids, so a store that deduplicates by id (KurrentDB) also keeps a
        retried request from appending twice."""
        if self.idempotency is None:
            return None
        base = uuid5(_NAMESPACE, f"{self.idempotency.key}\x00{stream_id}")
        return [uuid5(base, str(i)) for i in range(count)]


_NAMESPACE = UUID("9f4c2c58-3c7e-4f55-8d3a-6c1f0e0c2b1a")


KEPT_STATES = 256
"""How many streams' states a repository keeps (of an aggregate that :attr:`keeps_state`)."""


@dataclass(frozen=True, slots=True)
class _Kept:
    tenant: str
    state: Any
    version: int


class Repository(Generic[A]):
    def __init__(self, store: EventStore, codec: EventCodec, aggregate: type[A]) -> None:
        self.store = store
        self.codec = codec
        self.aggregate = aggregate
        self._kept: OrderedDict[str, _Kept] = OrderedDict()

    async def load(self, id: str, *, tenant: str | None = None) -> A:
        """The aggregate as of its last event; NotFound if it has no events, or if it belongs
        to another tenant than ``tenant`` (tenants never learn of each other's data).

        Of an aggregate that :attr:`~crm.kernel.aggregate.Aggregate.keeps_state`, the state
        loaded last is kept, and the next load reads only the events after it (whoever
        appended them): a stream of one event a batch is not read whole for every batch."""
        stream_id = self.aggregate.stream_id_for(id)
        kept = self._kept.get(stream_id)
        if kept is None:
            envelopes = await self.store.read_stream(stream_id)
            if not envelopes:
                raise NotFound(f"{self.aggregate.category} {id} does not exist")
            kept = _Kept(envelopes[0].tenant, self.aggregate.initial_state(), NO_STREAM)
        if tenant is not None and kept.tenant != tenant:
            raise NotFound(f"{self.aggregate.category} {id} does not exist")
        if kept.version != NO_STREAM:
            envelopes = await self.store.read_stream(stream_id, after_version=kept.version)
        state = kept.state
        for event in await self.codec.decode(envelopes):
            state = state.evolve(event)
        version = envelopes[-1].stream_version if envelopes else kept.version
        if self.aggregate.keeps_state:
            self._keep(stream_id, _Kept(kept.tenant, state, version))
        return self.aggregate(id, state, version)

    def _keep(self, stream_id: str, kept: _Kept) -> None:
        earlier = self._kept.pop(stream_id, None)
        if earlier is not None and earlier.version > kept.version:
            kept = earlier  # a load that read further finished first
        self._kept[stream_id] = kept
        while len(self._kept) > KEPT_STATES:
            self._kept.popitem(last=False)

    async def save(
        self, aggregate: A, ctx: CommandContext, *, expected_version: int | None = None
    ) -> AppendResult:
        changes = aggregate.changes
        expected = aggregate.version if expected_version is None else expected_version
        new_events = await self.codec.encode(
            aggregate.stream_id,
            changes,
            ctx.metadata,
            ctx.happened_at,
            ctx.event_ids(aggregate.stream_id, len(changes)),
        )
        return await appended(
            aggregate.stream_id,
            len(new_events),
            self.store.append(
                aggregate.stream_id, new_events, expected, idempotency=ctx.idempotency
            ),
        )
