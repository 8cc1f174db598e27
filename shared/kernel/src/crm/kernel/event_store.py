"""The event store port: the source of truth and the outbox of every context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from crm.events import EventEnvelope, NewEvent

NO_STREAM: Final = -1
"""Expected version of a stream that must not exist yet."""
ANY_VERSION: Final = -2
"""Append whatever the stream's version (for streams with a single writer)."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where an append landed: the stream's version after it and the global position of its
    last event (for an append of no events: of the stream's last event, 0 if none)."""

    stream_id: str
    stream_version: int
    position: int
    replayed: bool = False
    """True when an idempotency key had already been recorded and nothing was appended."""


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A client's idempotency key (scoped by tenant and actor) and the hash of its request."""

    key: str
    request_hash: str


class EventStore(Protocol):
    """Streams of events with optimistic concurrency, and a gap-free global log.

    Positions start at 1 and grow by one per event in commit order, so a reader that has seen
    position ``p`` has seen every event at or below ``p``: a checkpoint is a single integer.
    """

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int,
        *,
        idempotency: Idempotency | None = None,
    ) -> AppendResult:
        """Append atomically if the stream is at ``expected_version`` (its last event's
        version, :data:`NO_STREAM` or :data:`ANY_VERSION`), else raise WrongExpectedVersion.

        With ``idempotency``, the key is recorded in the same transaction; an append under a
        key already recorded appends nothing and returns the first result (``replayed``), or
        raises IdempotencyKeyReused if the request hash differs."""
        ...

    async def idempotent_result(self, idempotency: Idempotency) -> AppendResult | None:
        """The result recorded under this key (raising IdempotencyKeyReused on another hash)."""
        ...

    async def read_stream(
        self, stream_id: str, after_version: int = NO_STREAM
    ) -> list[EventEnvelope]:
        """The stream's events after ``after_version``, oldest first ([] for no stream)."""
        ...

    def read_all(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        categories: Collection[str] | None = None,
    ) -> AsyncIterator[list[EventEnvelope]]:
        """The global log after position ``after`` up to the head as it is now, in pages."""
        ...

    def subscribe(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        categories: Collection[str] | None = None,
    ) -> AsyncIterator[list[EventEnvelope]]:
        """Catch-up subscription: the log after ``after``, then each new page as it is
        committed, forever. Waits for appends without busy polling."""
        ...

    async def head_position(self) -> int:
        """The position of the last recorded event (0 for an empty store)."""
        ...

    async def close(self) -> None: ...
