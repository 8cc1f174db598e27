"""The in-memory event store: the log in a list, for tests and quick experiments.

It keeps the port's promises as the SQLite store does: expected-version appends are atomic
(checked and applied under one lock, so of concurrent appends with one expected version
exactly one wins), positions are gap-free and in commit order, event ids are unique across
streams, idempotency keys are recorded in the same step as the events (even for an append of
no events), and subscribers are woken by the append itself. Payloads are stored as the SQLite
store gives them back (a JSON round trip: tuples become lists, other values text).

Nothing is written anywhere: the data lives as long as the :class:`EventLog` does, at most
until the process exits. Several :class:`InMemoryEventStore` over one log behave like several
processes opening one file (``memory://NAME`` URLs share a log by name).
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import json
import threading
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crm.events import EventEnvelope, NewEvent
from crm.kernel.adapters.sqlite.notifier import CommitNotifier
from crm.kernel.errors import DuplicateEventId, IdempotencyKeyReused, WrongExpectedVersion
from crm.kernel.event_store import ANY_VERSION, NO_STREAM, AppendResult, Idempotency

IDLE_RECHECK_SECONDS = 5.0
"""Every writer of a log is in this process and wakes its subscribers: this is only a guard."""


def _plain(payload: Any) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(json.dumps(payload, separators=(",", ":"), default=str))
    return decoded


@dataclass
class _Key:
    request_hash: str
    result: AppendResult


@dataclass
class EventLog:
    """The state of one in-memory store: the log, its streams and the idempotency keys."""

    events: list[EventEnvelope] = field(default_factory=list)
    """The global log: the event at position ``p`` is ``events[p - 1]``."""
    streams: dict[str, list[int]] = field(default_factory=dict)
    """Stream id -> the positions of its events, in stream order."""
    categories: dict[str, list[int]] = field(default_factory=dict)
    """Category -> the positions of its events, ascending."""
    event_ids: set[str] = field(default_factory=set)
    keys: dict[str, _Key] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    notifier: CommitNotifier = field(default_factory=CommitNotifier)


_NAMED: dict[str, EventLog] = {}
_NAMED_LOCK = threading.Lock()


def shared_log(name: str) -> EventLog:
    """The log of ``memory://NAME``: one per name in this process, kept until it exits."""
    with _NAMED_LOCK:
        return _NAMED.setdefault(name, EventLog())


class InMemoryEventStore:
    """See the module docstring. ``log`` is the state to serve (a fresh one by default)."""

    def __init__(self, log: EventLog | None = None) -> None:
        self.log = log if log is not None else EventLog()
        self._closed = False

    # -- writing ---------------------------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int,
        *,
        idempotency: Idempotency | None = None,
    ) -> AppendResult:
        if self._closed:
            raise RuntimeError("event store is closed")
        # Let other tasks run, as a store with real I/O would: a loop of appends must not
        # starve the event loop. A caller cancelled here has appended nothing.
        await asyncio.sleep(0)
        log = self.log
        with log.lock:
            result = self._append_locked(stream_id, events, expected_version, idempotency)
        if not result.replayed and events:
            log.notifier.notify()
        return result

    def _append_locked(
        self,
        sid: str,
        events: Sequence[NewEvent],
        expected: int,
        idempotency: Idempotency | None,
    ) -> AppendResult:
        log = self.log
        if idempotency is not None:
            found = _lookup(log, idempotency)
            if found is not None:
                return found
        positions = log.streams.get(sid, [])
        current = len(positions) - 1  # NO_STREAM (-1) for a stream without events
        if expected != ANY_VERSION and expected != current:
            raise WrongExpectedVersion(sid, expected, current)
        ids = [str(e.event_id) for e in events]
        if len(set(ids)) != len(ids) or not log.event_ids.isdisjoint(ids):
            raise DuplicateEventId(f"an event id of this append is already recorded in {sid!r}")
        recorded_at = datetime.now(UTC)
        head = len(log.events)
        category = sid.split("-", 1)[0]
        envelopes = [
            EventEnvelope(
                event_id=e.event_id,
                event_type=e.event_type,
                schema_version=e.schema_version,
                stream_id=sid,
                stream_version=current + i,
                position=head + i,
                occurred_at=e.occurred_at.astimezone(UTC),
                recorded_at=recorded_at,
                tenant=e.metadata.tenant,
                actor=e.metadata.actor,
                correlation_id=e.metadata.correlation_id,
                causation_id=e.metadata.causation_id,
                payload=_plain(e.payload),
            )
            for i, e in enumerate(events, start=1)
        ]  # built before anything is recorded: a payload that fails to encode changes nothing
        if envelopes:
            new_positions = [e.position for e in envelopes]
            log.events.extend(envelopes)
            log.streams.setdefault(sid, []).extend(new_positions)
            log.categories.setdefault(category, []).extend(new_positions)
            log.event_ids.update(ids)
            result = AppendResult(sid, current + len(envelopes), envelopes[-1].position)
        else:
            result = AppendResult(sid, current, positions[-1] if positions else 0)
        if idempotency is not None:
            log.keys[idempotency.key] = _Key(
                idempotency.request_hash,
                AppendResult(result.stream_id, result.stream_version, result.position, True),
            )
        return result

    async def idempotent_result(self, idempotency: Idempotency) -> AppendResult | None:
        with self.log.lock:
            return _lookup(self.log, idempotency)

    # -- reading ---------------------------------------------------------------------------

    async def read_stream(
        self, stream_id: str, after_version: int = NO_STREAM
    ) -> list[EventEnvelope]:
        log = self.log
        with log.lock:
            positions = log.streams.get(stream_id, [])
            return [log.events[p - 1] for p in positions[max(after_version + 1, 0) :]]

    def _page(
        self, after: int, limit: int, categories: Collection[str] | None, head: int | None = None
    ) -> list[EventEnvelope]:
        log = self.log
        with log.lock:
            end = len(log.events) if head is None else min(head, len(log.events))
            if limit <= 0 or after >= end:
                return []
            if categories is None:
                return log.events[max(after, 0) : min(end, max(after, 0) + limit)]
            runs = []
            for category in set(categories):
                positions = log.categories.get(category, [])
                start = bisect.bisect_right(positions, after)
                runs.append(positions[start : start + limit])
            chosen = [p for p in heapq.merge(*runs) if p <= end][:limit]
            return [log.events[p - 1] for p in chosen]

    async def read_all(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        categories: Collection[str] | None = None,
    ) -> AsyncIterator[list[EventEnvelope]]:
        head = await self.head_position()
        while after < head:
            page = self._page(after, batch_size, categories, head)
            if not page:
                return
            yield page
            after = page[-1].position

    async def subscribe(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        categories: Collection[str] | None = None,
    ) -> AsyncIterator[list[EventEnvelope]]:
        notifier = self.log.notifier
        while True:
            seen = notifier.generation
            page = self._page(after, batch_size, categories)
            if page:
                yield page
                after = page[-1].position
            else:
                await notifier.wait(seen, IDLE_RECHECK_SECONDS)

    async def head_position(self) -> int:
        with self.log.lock:
            return len(self.log.events)

    async def close(self) -> None:
        """This store refuses appends from now on; the log is kept for others sharing it."""
        self._closed = True


def _lookup(log: EventLog, idempotency: Idempotency) -> AppendResult | None:
    found = log.keys.get(idempotency.key)
    if found is None:
        return None
    if found.request_hash != idempotency.request_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request")
    return found.result
