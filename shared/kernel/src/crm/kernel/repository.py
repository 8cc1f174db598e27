"""Loads aggregates from their streams and appends what they triggered, with the expected
version they were loaded at; a concurrent writer makes the append fail, not overwrite."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID, uuid4, uuid5

from crm.events import EventMetadata
from crm.kernel.aggregate import Aggregate
from crm.kernel.codec import EventCodec
from crm.kernel.errors import NotFound, WrongExpectedVersion
from crm.kernel.event_store import NO_STREAM, AppendResult, EventStore, Idempotency

A = TypeVar("A", bound=Aggregate)  # type: ignore[type-arg]


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who runs a command, when, for which tenant, and under which request."""

    actor: str
    role: str
    tenant: str
    now: datetime
    correlation_id: UUID = field(default_factory=uuid4)
    causation_id: UUID | None = None
    idempotency: Idempotency | None = None
    team: str | None = None

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


class Repository(Generic[A]):
    def __init__(self, store: EventStore, codec: EventCodec, aggregate: type[A]) -> None:
        self.store = store
        self.codec = codec
        self.aggregate = aggregate

    async def load(self, id: str, *, tenant: str | None = None) -> A:
        """The aggregate as of its last event; NotFound if it has no events, or if it belongs
        to another tenant than ``tenant`` (tenants never learn of each other's data)."""
        stream_id = self.aggregate.stream_id_for(id)
        envelopes = await self.store.read_stream(stream_id)
        if not envelopes or (tenant is not None and envelopes[0].tenant != tenant):
            raise NotFound(f"{self.aggregate.category} {id} does not exist")
        events = await self.codec.decode(envelopes)
        return self.aggregate.rehydrate(id, events, envelopes[-1].stream_version)

    async def save(
        self, aggregate: A, ctx: CommandContext, *, expected_version: int | None = None
    ) -> AppendResult:
        changes = aggregate.changes
        expected = aggregate.version if expected_version is None else expected_version
        new_events = await self.codec.encode(
            aggregate.stream_id,
            changes,
            ctx.metadata,
            ctx.now,
            ctx.event_ids(aggregate.stream_id, len(changes)),
        )
        return await self.store.append(
            aggregate.stream_id, new_events, expected, idempotency=ctx.idempotency
        )


async def execute(
    repository: Repository[A],
    id: str,
    action: Callable[[A], None],
    ctx: CommandContext,
    *,
    create: bool = False,
    expected_version: int | None = None,
    attempts: int = 3,
) -> AppendResult:
    """Run ``action`` on the aggregate and append its events.

    On a concurrency conflict the command is run again on a fresh load (the rules are checked
    again against what the other writer did), unless the caller pinned ``expected_version``
    (an ``If-Match``): then the conflict is the answer.
    """
    for attempt in range(attempts):
        aggregate = (
            repository.aggregate.create(id)
            if create
            else await repository.load(id, tenant=ctx.tenant)
        )
        action(aggregate)
        try:
            return await repository.save(
                aggregate,
                ctx,
                expected_version=NO_STREAM if create else expected_version,
            )
        except WrongExpectedVersion:
            if create or expected_version is not None or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


async def record_changes(
    repository: Repository[A],
    id: str,
    action: Callable[[A], None],
    context: CommandContext | Callable[[A], CommandContext],
    *,
    tenant: str,
    create_missing: bool = False,
    attempts: int = 3,
) -> tuple[A, AppendResult | None]:
    """Run ``action`` on the aggregate and append what it recorded, if anything: the step of
    a scheduler or monitor, whose domain decides whether a fact is due (and records it once).

    Returns the aggregate after the action (its ``changes`` are what was appended) and the
    append's result: None when the domain recorded nothing, ``replayed`` when the idempotency
    key had already recorded it. ``context`` may be built from the aggregate after the action,
    so the key can name the facts recorded. A concurrent writer makes it run again on a fresh
    load; ``create_missing`` starts a new aggregate when the stream does not exist yet."""
    for attempt in range(attempts):
        try:
            aggregate = await repository.load(id, tenant=tenant)
        except NotFound:
            if not create_missing:
                raise
            aggregate = repository.aggregate.create(id)
        action(aggregate)
        if not aggregate.changes:
            return aggregate, None
        ctx = context if isinstance(context, CommandContext) else context(aggregate)
        try:
            return aggregate, await repository.save(aggregate, ctx)
        except WrongExpectedVersion:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
