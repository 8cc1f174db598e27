"""Reactions: the steps of processes that cross aggregates or contexts.

A reaction turns an event into a command elsewhere (a lead's conversion registers a customer
in the customer context, the new customer opens an opportunity in sales). Delivery is
at-least-once, so a reaction must have the same effect when it sees an event twice: it runs
its command under an idempotency key derived from the event (:func:`reaction_context`), and
the event store appends nothing the second time. The runner moves its checkpoint only after
the reaction returned, so a crash re-delivers instead of skipping.

A reaction that fails for a reason a retry cannot fix (the domain refused the command, the
event cannot be decoded) goes to the dead letters with the error; anything else (a store or
broker that is down) is retried with backoff, never skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import traceback
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID, uuid4

from crm.events import DomainEvent, EventEnvelope
from crm.kernel.access import SYSTEM_ROLE
from crm.kernel.codec import EventCodec
from crm.kernel.errors import CrmError
from crm.kernel.event_store import EventStore, Idempotency
from crm.kernel.lifecycle import stop_after_batch
from crm.kernel.observability.commands import observed_reactions
from crm.kernel.read_store import Checkpoint, CheckpointMoved, DeadLetter, ReadStore
from crm.kernel.repository import CommandContext

log = logging.getLogger(__name__)


class Reaction(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def categories(self) -> frozenset[str]:
        """The stream categories whose events it reacts to."""
        ...

    @property
    def event_types(self) -> frozenset[str]: ...

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        """Run the step for this event; the same event twice must have one effect."""
        ...


def system_context(
    actor: str,
    tenant: str,
    now: datetime,
    key: str,
    *,
    correlation_id: UUID | None = None,
    causation_id: UUID | None = None,
) -> CommandContext:
    """The context of a command the platform itself runs (a reaction, a scheduler): the
    system role, under an idempotency key that names the step, so running it again appends
    nothing new."""
    return CommandContext(
        actor=actor,
        role=SYSTEM_ROLE,
        tenant=tenant,
        now=now,
        correlation_id=correlation_id or uuid4(),
        causation_id=causation_id,
        idempotency=Idempotency(key, hashlib.sha256(key.encode()).hexdigest()),
    )


def reaction_context(
    reaction: str, envelope: EventEnvelope, now: datetime, *, step: str = ""
) -> CommandContext:
    """The context of a command a reaction runs: acting for the process (``process:<name>``)
    in the event's tenant and correlation, caused by the event, under an idempotency key
    unique to (reaction, event, step), so redelivery appends nothing new."""
    return system_context(
        f"process:{reaction}",
        envelope.tenant,
        now,
        f"reaction:{reaction}:{envelope.event_id}:{step}",
        correlation_id=envelope.correlation_id,
        causation_id=envelope.event_id,
    )


@dataclass(frozen=True, slots=True)
class Delivery:
    """An event as a feed delivered it: ``position`` is where it sits in its source (a
    store position, or a partition offset plus one)."""

    envelope: EventEnvelope
    position: int


async def react_with_retry(
    reaction: Reaction,
    codec: EventCodec,
    delivery: Delivery,
    *,
    checkpoint_name: str,
    retry_max_seconds: float = 5.0,
) -> DeadLetter | None:
    """Apply one delivery: retry transient failures until they pass; return the dead letter
    of a permanent one (a decode error or a refusal by the domain)."""
    envelope = delivery.envelope
    if envelope.event_type not in reaction.event_types:
        return None
    delay = 0.1
    while True:
        try:
            (event,) = await codec.decode([envelope])
            await reaction.react(event, envelope)
            return None
        except asyncio.CancelledError:
            raise
        except (CrmError, ValueError) as e:
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            log.error(
                "%s: event %s (%s) sent to dead letters: %s",
                checkpoint_name,
                envelope.event_id,
                envelope.event_type,
                detail,
            )
            return DeadLetter(
                projection=checkpoint_name,
                position=delivery.position,
                event_id=str(envelope.event_id),
                event_type=envelope.event_type,
                error=detail,
                failed_at=datetime.now(UTC),
            )
        except Exception as e:
            log.warning(
                "%s: reacting to %s failed (%s); retrying in %.1fs",
                checkpoint_name,
                envelope.event_id,
                e,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, retry_max_seconds)


class ReactionRunner:
    """Feeds one reaction from an event store's log, checkpointed in the read store (under
    ``reaction:<name>``) after each page's reactions returned."""

    def __init__(
        self,
        reaction: Reaction,
        store: EventStore,
        checkpoints: ReadStore,
        codec: EventCodec,
        *,
        batch_size: int = 200,
    ) -> None:
        self.reaction = reaction
        self.store = store
        self.checkpoints = checkpoints
        self.codec = codec
        self.batch_size = batch_size
        self.name = f"reaction:{reaction.name}"
        self.checkpoint = Checkpoint()
        self.reacted = 0
        self._stopping = False
        self._busy = False

    @property
    def position(self) -> int:
        return self.checkpoint.position

    async def run(self) -> None:
        """Follow the log forever (cancel or :meth:`stop` to end)."""
        while True:
            self.checkpoint = await self.checkpoints.checkpoint(self.name)
            try:
                async for page in self._pages(live=True):
                    self._busy = True
                    await self.process(page)
                    self._busy = False
                    if self._stopping:
                        return
            except CheckpointMoved:
                self._busy = False
                log.warning("%s: another runner moved the checkpoint; following on", self.name)

    async def catch_up(self) -> int:
        """React to the log up to its head as it is now; return the position reached."""
        self.checkpoint = await self.checkpoints.checkpoint(self.name)
        async for page in self._pages(live=False):
            await self.process(page)
        return self.position

    async def stop(self, task: asyncio.Task[None], timeout: float = 10.0) -> None:
        await stop_after_batch(self, task, timeout)

    def _pages(self, *, live: bool) -> AsyncIterator[list[EventEnvelope]]:
        read = self.store.subscribe if live else self.store.read_all
        return read(self.position, batch_size=self.batch_size, categories=self.reaction.categories)

    async def process(self, page: Sequence[EventEnvelope]) -> None:
        dead: list[DeadLetter] = []
        before = self.reacted
        for envelope in page:
            letter = await react_with_retry(
                self.reaction,
                self.codec,
                Delivery(envelope, envelope.position),
                checkpoint_name=self.name,
            )
            if letter is not None:
                dead.append(letter)
            elif envelope.event_type in self.reaction.event_types:
                self.reacted += 1
        self.checkpoint = await self.checkpoints.commit(
            self.name, [], checkpoint=page[-1].position, expected=self.checkpoint, dead_letters=dead
        )
        observed_reactions(self.reaction.name, self.reacted - before, len(dead))


def categories_of(reactions: Collection[Reaction]) -> frozenset[str]:
    return frozenset().union(*(r.categories for r in reactions))


__all__ = [
    "SYSTEM_ROLE",
    "Delivery",
    "Reaction",
    "ReactionRunner",
    "categories_of",
    "react_with_retry",
    "reaction_context",
    "system_context",
]
