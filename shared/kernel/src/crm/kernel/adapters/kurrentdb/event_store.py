"""The KurrentDB/EventStoreDB event store, through the official async client
(``kurrentdbclient.AsyncKurrentDBClient``) alone.

How the port maps onto KurrentDB, and where it cannot:

Streams and versions
    One of our streams is one KurrentDB stream of the same name; our ``stream_version`` is
    its stream position (0-based, gap-free). ``expected_version`` maps to ``current_version``:
    ``NO_STREAM`` -> ``StreamState.NO_STREAM``, ``ANY_VERSION`` -> ``StreamState.ANY``, an
    integer to itself; the client's ``WrongCurrentVersionError`` becomes
    :class:`~crm.kernel.errors.WrongExpectedVersion` with the actual version (-1 for none).

Events
    The KurrentDB event id is our event id, so a retried append (same ids, same expected
    version) is recognised by the server and writes nothing twice. The data is the JSON
    payload; the custom metadata is a JSON object with the rest of our envelope
    (``event_id``, ``schema_version``, ``occurred_at``, ``tenant``, ``actor``,
    ``correlation_id``, ``causation_id``), plus KurrentDB's own ``$correlationId`` and
    ``$causationId`` so that its system projections understand them. ``recorded_at`` is the
    server's ``created`` timestamp.

Positions: monotonic, NOT gap-free
    Our port promises positions 1, 2, 3... KurrentDB's global order is its commit position,
    a byte offset in its transaction log: unique per event, increasing in commit order, but
    sparse (and system records sit between ours). Renumbering would need a counter that no
    KurrentDB write can update atomically with the events, so this adapter exposes the commit
    position itself as ``position`` and says so: positions grow with commit order and a
    checkpoint is still one integer (a reader that has seen ``p`` has seen everything at or
    below ``p``, because KurrentDB only exposes committed records in log order), but
    ``p + 1`` is usually not the next event, and ``head - checkpoint`` is a distance in bytes,
    not a number of events. ``gap_free_positions`` is False on this class; the contract suite
    checks ordering instead of adjacency for it.

Global log and subscriptions
    ``read_all`` and ``subscribe`` read ``$all`` with a server-side filter on the stream name:
    ``^<category>(-.*)?$`` for each wanted category, or, for every category, everything but
    system streams (``$...``) and this adapter's idempotency records. ``subscribe`` is
    ``subscribe_to_all`` (a catch-up subscription: history after the exclusive position, then
    live events pushed by the server) with ``include_checkpoints``: the filter checkpoints are
    where the subscription resumes, from the last event or checkpoint position it saw, when
    the connection drops, so a reconnect after a long run of foreign events does not rescan
    them. The caller's own checkpoint stays the last event position it processed.

Event ids
    KurrentDB deduplicates event ids per stream (an append whose ids are already at the
    expected place succeeds and writes nothing), not across streams: the same id appended to
    another stream is accepted. ``DuplicateEventId`` is therefore never raised here, and the
    contract's cross-stream uniqueness test is switched off for this adapter.

Idempotency keys
    KurrentDB has no transaction across two streams (this adapter targets the v1 append API
    that every supported server has), so the key cannot be written in the same transaction as
    the events. Instead each key gets its own stream, ``crm.idempotency-<sha256(key)>``, used
    as a tiny state machine guarded by expected versions:

    1. ``claimed`` (request hash, target stream) is appended with ``NO_STREAM`` (or after a
       ``released``): exactly one claimant wins. A different request hash under a live claim
       or a completed key raises :class:`~crm.kernel.errors.IdempotencyKeyReused`.
    2. The events are appended with event ids derived from (key, request hash, stream,
       index), so every request that holds or shares the claim (the same request sent twice
       at once, or retried after a crash) writes the *same* ids, and the server's event-id
       deduplication turns them into one write.
    3. ``completed`` (stream version, position) is appended after the claim's version: the
       first to record it answers ``replayed=False``, everyone else reads it back as
       ``replayed=True`` with the same result.

    A failed append (wrong expected version) appends ``released``, freeing the key as the
    SQLite store's rolled-back transaction does. A crash between the steps leaves a claim that
    a retry of the same request completes (same derived ids, so nothing is written twice);
    a different request under that key is refused, as it would be after a completed one. The
    envelope's ``event_id`` stays the caller's (kept in the metadata); only the server-side
    id is derived. For ``ANY_VERSION`` appends the deduplication of step 2 relies on the
    server's recent-event-id cache, so two copies of one request arriving far apart in time
    with ``ANY_VERSION`` could both be written; integer and ``NO_STREAM`` expectations are
    exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4, uuid5

from kurrentdbclient import AsyncKurrentDBClient, RecordedEvent, StreamState
from kurrentdbclient import NewEvent as KurrentEvent
from kurrentdbclient.events import Checkpoint
from kurrentdbclient.exceptions import (
    DiscoveryFailedError,
    GrpcError,
    NotFoundError,
    ProgrammingError,
    WrongCurrentVersionError,
)

from crm.events import EventEnvelope, NewEvent
from crm.kernel.errors import IdempotencyKeyReused, WrongExpectedVersion
from crm.kernel.event_store import ANY_VERSION, NO_STREAM, AppendResult, Idempotency

log = logging.getLogger(__name__)

SCHEMES: Final = {
    "esdb": "kurrentdb",
    "esdb+discover": "kurrentdb+discover",
    "kurrentdb": "kurrentdb",
    "kurrentdb+discover": "kurrentdb+discover",
    "kdb": "kdb",
    "kdb+discover": "kdb+discover",
}
KEY_STREAM_PREFIX: Final = "crm.idempotency-"
CLAIMED: Final = "crm.idempotency.claimed"
COMPLETED: Final = "crm.idempotency.completed"
RELEASED: Final = "crm.idempotency.released"
_KEY_NAMESPACE: Final = UUID("6f1d0a52-8d0e-4a8e-9d43-4f3b9c1c2e71")
_MAX_KEY_ROUNDS: Final = 20
_EXCLUDE_STREAMS: Final = (r"\$.*", re.escape(KEY_STREAM_PREFIX) + ".*")
_NOTHING: Final = ("(?!)",)  # a regex no stream name matches
_RECONNECT_MAX_SECONDS: Final = 5.0


def client_url(url: str) -> str:
    """The client's connection string for one of our URLs: ``esdb[+discover]://`` (the
    EventStoreDB names) become ``kurrentdb[+discover]://``; the rest is passed unchanged."""
    parts = urlsplit(url)
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(f"not a KurrentDB URL: {url!r} (schemes: {', '.join(SCHEMES)})")
    return urlunsplit(parts._replace(scheme=scheme))


def _current_version(expected: int) -> int | StreamState:
    if expected == NO_STREAM:
        return StreamState.NO_STREAM
    if expected == ANY_VERSION:
        return StreamState.ANY
    if expected < 0:
        raise ValueError(f"invalid expected version {expected}")
    return expected


def _actual(e: WrongCurrentVersionError) -> int | None:
    actual = e.actual_version
    if actual is StreamState.NO_STREAM:
        return NO_STREAM
    return actual if isinstance(actual, int) else None


def _to_kurrent(event: NewEvent, server_id: UUID | None = None) -> KurrentEvent:
    m = event.metadata
    metadata: dict[str, Any] = {
        "event_id": str(event.event_id),
        "schema_version": event.schema_version,
        "occurred_at": event.occurred_at.isoformat(),
        "tenant": m.tenant,
        "actor": m.actor,
        "correlation_id": str(m.correlation_id),
        "causation_id": str(m.causation_id) if m.causation_id else None,
        "$correlationId": str(m.correlation_id),
    }
    if m.causation_id is not None:
        metadata["$causationId"] = str(m.causation_id)
    return KurrentEvent(
        type=event.event_type,
        data=json.dumps(event.payload, separators=(",", ":"), default=str).encode(),
        metadata=json.dumps(metadata, separators=(",", ":")).encode(),
        content_type="application/json",
        id=server_id or event.event_id,
    )


def _envelope(r: RecordedEvent) -> EventEnvelope:
    meta = json.loads(r.metadata)
    occurred_at = datetime.fromisoformat(meta["occurred_at"])
    causation = meta.get("causation_id")
    return EventEnvelope(
        event_id=UUID(meta["event_id"]) if meta.get("event_id") else r.id,
        event_type=r.type,
        schema_version=int(meta["schema_version"]),
        stream_id=r.stream_name,
        stream_version=r.stream_position,
        position=r.commit_position,
        occurred_at=occurred_at,
        recorded_at=r.recorded_at or occurred_at,
        tenant=meta["tenant"],
        actor=meta["actor"],
        correlation_id=UUID(meta["correlation_id"]),
        causation_id=UUID(causation) if causation else None,
        payload=json.loads(r.data),
    )


def _filter(categories: Collection[str] | None) -> dict[str, Any]:
    if categories is None:
        return {"filter_exclude": _EXCLUDE_STREAMS, "filter_by_stream_name": True}
    include = tuple(re.escape(c) + "(-.*)?" for c in sorted(categories)) or _NOTHING
    return {"filter_include": include, "filter_by_stream_name": True}


def key_stream(key: str) -> str:
    """The stream that records one idempotency key (hashed: keys are free text)."""
    return KEY_STREAM_PREFIX + hashlib.sha256(key.encode()).hexdigest()


class KurrentDBEventStore:
    """See the module docstring. ``url``: ``kurrentdb://host:2113?Tls=false`` and friends."""

    gap_free_positions: ClassVar[bool] = False
    """Positions are KurrentDB commit positions: increasing in commit order, not adjacent."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client = AsyncKurrentDBClient(client_url(url))
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
        if idempotency is None:
            return await self._write(stream_id, [_to_kurrent(e) for e in events], expected_version)
        return await self._append_once(stream_id, events, expected_version, idempotency)

    async def _write(
        self, stream_id: str, events: list[KurrentEvent], expected: int
    ) -> AppendResult:
        """One atomic append; the result's version and position are those of its last event."""
        if not events:
            return await self._check_only(stream_id, expected)
        try:
            position = await self._client.append_to_stream(
                stream_id, events=events, current_version=_current_version(expected)
            )
        except WrongCurrentVersionError as e:
            actual = _actual(e)
            if actual is None:
                actual = await self._version_of(stream_id)
            raise WrongExpectedVersion(stream_id, expected, actual) from None
        if expected >= 0:
            version = expected + len(events)
        elif expected == NO_STREAM:
            version = len(events) - 1
        else:  # ANY: the server does not tell the version, find our last event
            version, position = await self._locate(stream_id, events[-1].id)
        return AppendResult(stream_id, version, position)

    async def _check_only(self, stream_id: str, expected: int) -> AppendResult:
        """An append of no events: checks the expectation, writes nothing."""
        last = await self._last_event(stream_id)
        current = last.stream_position if last is not None else NO_STREAM
        if expected != ANY_VERSION and expected != current:
            raise WrongExpectedVersion(stream_id, expected, current)
        return AppendResult(stream_id, current, last.commit_position if last else 0)

    async def _last_event(self, stream_id: str) -> RecordedEvent | None:
        try:
            found = await self._client.get_stream(stream_id, backwards=True, limit=1)
        except NotFoundError:
            return None
        return found[0] if found else None

    async def _version_of(self, stream_id: str) -> int:
        last = await self._last_event(stream_id)
        return last.stream_position if last is not None else NO_STREAM

    async def _locate(self, stream_id: str, event_id: UUID) -> tuple[int, int]:
        """Stream version and commit position of one event, searching from the stream's end
        (where an event just appended is, unless others were appended after it since)."""
        response = await self._client.read_stream(stream_id, backwards=True)
        try:
            async for r in response:
                if r.id == event_id:
                    return r.stream_position, r.commit_position
        finally:
            await response.stop()
        raise LookupError(f"event {event_id} not found in {stream_id!r}")  # pragma: no cover

    # -- idempotency -----------------------------------------------------------------------

    async def _append_once(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected: int,
        key: Idempotency,
    ) -> AppendResult:
        kstream = key_stream(key.key)
        base = uuid5(_KEY_NAMESPACE, f"{key.key}\x00{key.request_hash}\x00{stream_id}")
        proposed = [_to_kurrent(e, uuid5(base, str(i))) for i, e in enumerate(events)]
        for _ in range(_MAX_KEY_ROUNDS):
            last = await self._last_event(kstream)
            record = self._key_record(last, key)
            if record is not None:
                return record
            if last is None or last.type == RELEASED:
                claim_version = 0 if last is None else last.stream_position + 1
                try:
                    await self._client.append_to_stream(
                        kstream,
                        events=[self._key_event(CLAIMED, key, stream_id)],
                        current_version=StreamState.NO_STREAM
                        if last is None
                        else last.stream_position,
                    )
                except WrongCurrentVersionError:
                    continue  # someone else claimed it first: look again
            else:  # claimed by the same request (checked by _key_record): share the claim
                claim_version = last.stream_position
            try:
                result = await self._write(stream_id, proposed, expected)
            except WrongExpectedVersion:
                await self._settle(kstream, claim_version, self._key_event(RELEASED, key))
                raise
            done = self._key_event(
                COMPLETED,
                key,
                stream_id,
                stream_version=result.stream_version,
                position=result.position,
            )
            if await self._settle(kstream, claim_version, done):
                return result
        raise RuntimeError(f"idempotency key {key.key!r} stayed contended")  # pragma: no cover

    async def _settle(self, kstream: str, claim_version: int, event: KurrentEvent) -> bool:
        """Record the outcome of a claim; False when another holder recorded one first."""
        try:
            await self._client.append_to_stream(
                kstream, events=[event], current_version=claim_version
            )
        except WrongCurrentVersionError:
            return False
        return True

    @staticmethod
    def _key_event(kind: str, key: Idempotency, stream_id: str = "", **extra: int) -> KurrentEvent:
        data = {"request_hash": key.request_hash, "stream_id": stream_id, **extra}
        return KurrentEvent(type=kind, data=json.dumps(data).encode(), id=uuid4())

    @staticmethod
    def _key_record(last: RecordedEvent | None, key: Idempotency) -> AppendResult | None:
        """The recorded result (replayed), None when there is none yet; raises on another
        request's hash unless the key was released."""
        if last is None or last.type == RELEASED:
            return None
        data = json.loads(last.data)
        if data["request_hash"] != key.request_hash:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different request"
            )
        if last.type != COMPLETED:
            return None
        return AppendResult(
            data["stream_id"], data["stream_version"], data["position"], replayed=True
        )

    async def idempotent_result(self, idempotency: Idempotency) -> AppendResult | None:
        last = await self._last_event(key_stream(idempotency.key))
        return self._key_record(last, idempotency)

    # -- reading ---------------------------------------------------------------------------

    async def read_stream(
        self, stream_id: str, after_version: int = NO_STREAM
    ) -> list[EventEnvelope]:
        try:
            found = await self._client.get_stream(stream_id, stream_position=after_version + 1)
        except NotFoundError:
            return []
        return [_envelope(r) for r in found]

    async def _page(
        self, after: int, limit: int, categories: Collection[str] | None
    ) -> list[RecordedEvent]:
        # Reading forwards from a commit position includes the event there: ask for one more.
        response = await self._client.read_all(
            commit_position=after or None, limit=limit + 1, **_filter(categories)
        )
        page = [r async for r in response if r.commit_position > after]
        return page[:limit]

    async def read_all(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        categories: Collection[str] | None = None,
    ) -> AsyncIterator[list[EventEnvelope]]:
        head = await self._head(categories)
        while after < head:
            page = [
                r
                for r in await self._page(after, batch_size, categories)
                if r.commit_position <= head
            ]
            if not page:
                return
            yield [_envelope(r) for r in page]
            after = page[-1].commit_position

    async def subscribe(
        self,
        after: int = 0,
        *,
        batch_size: int = 1000,
        categories: Collection[str] | None = None,
    ) -> AsyncIterator[list[EventEnvelope]]:
        queue: asyncio.Queue[EventEnvelope | BaseException] = asyncio.Queue(
            maxsize=max(batch_size * 2, 16)
        )
        pump = asyncio.create_task(self._pump(after, categories, queue))
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                page, failed = [item], None
                while len(page) < batch_size and not queue.empty():
                    nxt = queue.get_nowait()
                    if isinstance(nxt, BaseException):
                        failed = nxt
                        break
                    page.append(nxt)
                yield page
                if failed is not None:
                    raise failed
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump  # its failures, if any, were delivered through the queue

    async def _pump(
        self,
        after: int,
        categories: Collection[str] | None,
        queue: asyncio.Queue[EventEnvelope | BaseException],
    ) -> None:
        """Feeds the subscription's queue; resubscribes after a lost connection from the last
        event or filter checkpoint it saw (exclusive), backing off up to a few seconds."""
        resume = after
        delay = 0.1
        while True:
            try:
                sub = await self._client.subscribe_to_all(
                    commit_position=resume or None,
                    include_checkpoints=True,
                    **_filter(categories),
                )
                try:
                    async for r in sub:
                        delay = 0.1
                        if r.commit_position <= resume:
                            continue
                        resume = r.commit_position
                        if not isinstance(r, Checkpoint):
                            await queue.put(_envelope(r))
                finally:
                    await sub.stop()
                await asyncio.sleep(delay)  # the server ended it: subscribe again
            except (GrpcError, DiscoveryFailedError) as e:
                log.warning("KurrentDB subscription lost (%s); resuming after %d", e, resume)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RECONNECT_MAX_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                await queue.put(e)
                return

    async def _head(self, categories: Collection[str] | None) -> int:
        response = await self._client.read_all(backwards=True, limit=1, **_filter(categories))
        last = [r async for r in response]
        return last[0].commit_position if last else 0

    async def head_position(self) -> int:
        return await self._head(None)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ProgrammingError):  # never connected: nothing to close
            await self._client.close()
