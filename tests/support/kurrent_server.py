"""An in-process KurrentDB/EventStoreDB test server, on the gRPC service stubs that the
``kurrentdbclient`` package ships (``streams_pb2_grpc.StreamsServicer``,
``gossip_pb2_grpc.GossipServicer``).

What it is for: no KurrentDB server can run here, yet the adapter should be exercised through
the real client over real gRPC (HTTP/2 on a loopback socket, protobuf on the wire, the client's
own request building, error unpacking and subscription machinery). This server answers exactly
the calls the adapter makes:

- ``Streams.BatchAppend``: expected-version checks (revision, no stream, any, exists) with the
  server's ``WrongExpectedVersion`` error details; a repeated append of the same event ids is
  idempotent (success with the original positions, nothing written), as the real server's is.
- ``Streams.Read`` of one stream, forwards and backwards, with ``stream_not_found``.
- ``Streams.Read`` of ``$all`` forwards and backwards from a position, with the regex/prefix
  filters on stream name or event type and a count of matching events; a forwards read from a
  position includes the event at that position, a backwards read excludes it.
- ``Streams.Read`` of ``$all`` as a catch-up subscription: confirmation, history after the
  (exclusive) position, then live events as they are appended, with filter checkpoints.
- ``Gossip.Read``, one leader, so that ``+discover`` URLs connect.

Commit positions are sparse byte-offset-like numbers (as KurrentDB's are), and the log opens
with a system event, so code that assumed gap-free positions or an empty ``$all`` fails here.

What it is NOT: KurrentDB. It proves our use of the client over real gRPC, not the real
server's behaviour: not its storage, durability, clustering, ACLs, scavenging, its exact
idempotency window for ``ANY`` appends, nor its precise checkpoint cadence. Everything is kept
in memory and lost when it stops. Run the contract suite against a real server with
``CRM_TEST_ESDB_URL`` for that.
"""

from __future__ import annotations

import asyncio
import bisect
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import grpc
import grpc.aio
from google.protobuf import any_pb2, empty_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from kurrentdbclient.protos.v1 import (
    gossip_pb2,
    gossip_pb2_grpc,
    shared_pb2,
    status_pb2,
    streams_pb2,
    streams_pb2_grpc,
)

FIRST_POSITION = 1_024
"""Where the first record of the log lands: $all does not start at 0 or 1 on a real server
either (it opens with system records)."""
RECORD_OVERHEAD = 97
"""Bytes of framing per record, so that positions grow like the log's byte offsets do."""

Options = streams_pb2.ReadReq.Options


@dataclass(frozen=True, slots=True)
class _Record:
    event_id: str
    stream: str
    revision: int
    position: int
    event_type: str
    content_type: str
    created: int  # 100 ns ticks since the Unix epoch, as the server's "created" metadata
    custom_metadata: bytes
    data: bytes


@dataclass
class _Log:
    """The whole database: one ordered log, and an index of it by stream."""

    records: list[_Record] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    streams: dict[str, list[_Record]] = field(default_factory=dict)
    next_position: int = FIRST_POSITION
    appended: asyncio.Condition = field(default_factory=asyncio.Condition)
    subscribed_from: list[int | None] = field(default_factory=list)
    """The position each catch-up subscription asked to start after (None: the start)."""

    def write(
        self, stream: str, messages: list[streams_pb2.BatchAppendReq.ProposedMessage]
    ) -> list[_Record]:
        events = self.streams.setdefault(stream, [])
        written = []
        created = time.time_ns() // 100
        for m in messages:
            record = _Record(
                event_id=m.id.string,
                stream=stream,
                revision=len(events),
                position=self.next_position,
                event_type=m.metadata.get("type", ""),
                content_type=m.metadata.get("content-type", "application/octet-stream"),
                created=created,
                custom_metadata=m.custom_metadata,
                data=m.data,
            )
            self.next_position += (
                RECORD_OVERHEAD + len(m.data) + len(m.custom_metadata) + len(stream)
            )
            events.append(record)
            self.records.append(record)
            self.positions.append(record.position)
            written.append(record)
        return written


def _current(events: list[_Record]) -> int:
    return len(events) - 1


def _matches_ids(events: list[_Record], start: int, ids: list[str]) -> bool:
    """True when ``ids`` are already recorded in this stream from revision ``start`` on."""
    if start < 0 or start + len(ids) > len(events):
        return False
    return [e.event_id for e in events[start : start + len(ids)]] == ids


def _recorded(record: _Record) -> streams_pb2.ReadResp:
    return streams_pb2.ReadResp(
        event=streams_pb2.ReadResp.ReadEvent(
            event=streams_pb2.ReadResp.ReadEvent.RecordedEvent(
                id=shared_pb2.UUID(string=record.event_id),
                stream_identifier=shared_pb2.StreamIdentifier(stream_name=record.stream.encode()),
                stream_revision=record.revision,
                prepare_position=record.position,
                commit_position=record.position,
                metadata={
                    "type": record.event_type,
                    "content-type": record.content_type,
                    "created": str(record.created),
                },
                custom_metadata=record.custom_metadata,
                data=record.data,
            ),
            commit_position=record.position,
        )
    )


def _checkpoint(position: int) -> streams_pb2.ReadResp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return streams_pb2.ReadResp(
        checkpoint=streams_pb2.ReadResp.Checkpoint(
            commit_position=position, prepare_position=position, timestamp=stamp
        )
    )


class _Filter:
    """The server side of ``FilterOptions``: a regex (searched, as .NET's ``IsMatch`` does)
    or prefixes, on the stream name or on the event type."""

    def __init__(self, options: Any) -> None:
        self.window = 0
        self._on_stream = False
        self._regex: re.Pattern[str] | None = None
        self._prefixes: tuple[str, ...] = ()
        self.active = options.WhichOneof("filter_option") == "filter"
        if not self.active:
            return
        f = options.filter
        self._on_stream = f.WhichOneof("filter") == "stream_identifier"
        expression = f.stream_identifier if self._on_stream else f.event_type
        self._regex = re.compile(expression.regex) if expression.regex else None
        self._prefixes = tuple(expression.prefix)
        window = f.max if f.WhichOneof("window") == "max" else 32
        self.window = max(1, window) * max(1, f.checkpointIntervalMultiplier)

    def __call__(self, record: _Record) -> bool:
        if not self.active:
            return True
        subject = record.stream if self._on_stream else record.event_type
        if self._prefixes and not subject.startswith(self._prefixes):
            return False
        return self._regex is None or self._regex.search(subject) is not None


class _Streams(streams_pb2_grpc.StreamsServicer):
    def __init__(self, log: _Log) -> None:
        self.log = log

    # -- append ----------------------------------------------------------------------------

    async def BatchAppend(  # noqa: N802 (the gRPC method's name)
        self, request_iterator: AsyncIterator[streams_pb2.BatchAppendReq], context: Any
    ) -> AsyncIterator[streams_pb2.BatchAppendResp]:
        async for req in request_iterator:
            yield await self._batch_append(req)

    async def _batch_append(self, req: streams_pb2.BatchAppendReq) -> streams_pb2.BatchAppendResp:
        log = self.log
        stream = req.options.stream_identifier.stream_name.decode()
        messages = list(req.proposed_messages)
        ids = [m.id.string for m in messages]
        events = log.streams.get(stream, [])
        current = _current(events)
        expected = req.options.WhichOneof("expected_stream_position")
        resp = streams_pb2.BatchAppendResp(
            correlation_id=req.correlation_id, stream_identifier=req.options.stream_identifier
        )
        if expected == "stream_position":
            start, ok = req.options.stream_position + 1, current == req.options.stream_position
        elif expected == "no_stream":
            start, ok = 0, current == -1
        elif expected == "stream_exists":
            start, ok = -1, current >= 0
        else:
            start, ok = -1, True
        if ids and start < 0 and events:  # ANY / EXISTS: a retry of the stream's last write
            found = next((e.revision for e in events if e.event_id == ids[0]), None)
            if found is not None:
                start = found
        if ids and _matches_ids(events, start, ids):
            last = events[start + len(ids) - 1]
            resp.success.current_revision = last.revision
            resp.success.position.commit_position = last.position
            resp.success.position.prepare_position = last.position
            return resp
        if not ok:
            wrong = shared_pb2.WrongExpectedVersion()
            if current == -1:
                wrong.current_no_stream.CopyFrom(empty_pb2.Empty())
            else:
                wrong.current_stream_revision = current
            if expected == "stream_position":
                wrong.expected_stream_position = req.options.stream_position
            elif expected == "no_stream":
                wrong.expected_no_stream.CopyFrom(empty_pb2.Empty())
            else:
                wrong.expected_stream_exists.CopyFrom(empty_pb2.Empty())
            details = any_pb2.Any()
            details.Pack(wrong)
            resp.error.CopyFrom(
                status_pb2.Status(
                    code=9,  # FAILED_PRECONDITION
                    message="WrongExpectedVersion",
                    details=details,
                )
            )
            return resp
        written = log.write(stream, messages)
        if written:
            async with log.appended:
                log.appended.notify_all()
            last = written[-1]
            resp.success.current_revision = last.revision
            resp.success.position.commit_position = last.position
            resp.success.position.prepare_position = last.position
        elif events:
            resp.success.current_revision = events[-1].revision
            resp.success.no_position.CopyFrom(empty_pb2.Empty())
        else:
            resp.success.no_stream.CopyFrom(empty_pb2.Empty())
            resp.success.no_position.CopyFrom(empty_pb2.Empty())
        return resp

    # -- read ------------------------------------------------------------------------------

    async def Read(  # noqa: N802 (the gRPC method's name)
        self, request: streams_pb2.ReadReq, context: Any
    ) -> AsyncIterator[streams_pb2.ReadResp]:
        options = request.options
        subscribe = options.WhichOneof("count_option") == "subscription"
        if options.WhichOneof("stream_option") == "stream":
            if subscribe:
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, "stream subscriptions")
            for resp in self._read_stream(options):
                yield resp
        elif subscribe:
            async for resp in self._subscribe_all(options):
                yield resp
        else:
            for resp in self._read_all(options):
                yield resp

    def _read_stream(self, options: Any) -> Iterator[streams_pb2.ReadResp]:
        name = options.stream.stream_identifier.stream_name.decode()
        events = self.log.streams.get(name)
        if not events:
            yield streams_pb2.ReadResp(
                stream_not_found=streams_pb2.ReadResp.StreamNotFound(
                    stream_identifier=options.stream.stream_identifier
                )
            )
            return
        backwards = options.read_direction == Options.Backwards
        which = options.stream.WhichOneof("revision_option")
        if backwards:
            top = options.stream.revision if which == "revision" else len(events) - 1
            chosen = list(reversed(events[: top + 1]))
        else:
            bottom = options.stream.revision if which == "revision" else 0
            chosen = events[bottom:]
        for record in chosen[: options.count]:
            yield _recorded(record)

    def _read_all(self, options: Any) -> Iterator[streams_pb2.ReadResp]:
        log, accept = self.log, _Filter(options)
        backwards = options.read_direction == Options.Backwards
        which = options.all.WhichOneof("all_option")
        if backwards:
            if which == "position":
                top = bisect.bisect_left(log.positions, options.all.position.commit_position)
            else:
                top = len(log.records)
            scan: Iterator[_Record] = reversed(log.records[:top])
        else:
            if which == "position":
                bottom = bisect.bisect_left(log.positions, options.all.position.commit_position)
            else:
                bottom = len(log.records) if which == "end" else 0
            scan = iter(log.records[bottom:])
        sent = 0
        for record in scan:
            if sent >= options.count:
                return
            if accept(record):
                sent += 1
                yield _recorded(record)

    async def _subscribe_all(self, options: Any) -> AsyncIterator[streams_pb2.ReadResp]:
        log, accept = self.log, _Filter(options)
        yield streams_pb2.ReadResp(
            confirmation=streams_pb2.ReadResp.SubscriptionConfirmation(subscription_id=str(uuid4()))
        )
        which = options.all.WhichOneof("all_option")
        if which == "position":  # exclusive: the events after the given one
            log.subscribed_from.append(options.all.position.commit_position)
            index = bisect.bisect_right(log.positions, options.all.position.commit_position)
        else:
            log.subscribed_from.append(None)
            index = len(log.records) if which == "end" else 0
        scanned = 0
        while True:
            async with log.appended:
                await log.appended.wait_for(lambda i=index: len(log.records) > i)
            batch = log.records[index:]
            index += len(batch)
            for record in batch:
                if accept(record):
                    yield _recorded(record)
                scanned += 1
                if accept.active and scanned >= accept.window:
                    scanned = 0
                    yield _checkpoint(record.position)
            if accept.active and scanned:  # caught up: tell the client how far it is
                scanned = 0
                yield _checkpoint(batch[-1].position)


class _Gossip(gossip_pb2_grpc.GossipServicer):
    def __init__(self, port: int) -> None:
        self.port = port

    async def Read(self, request: Any, context: Any) -> gossip_pb2.ClusterInfo:  # noqa: N802
        return gossip_pb2.ClusterInfo(
            members=[
                gossip_pb2.MemberInfo(
                    instance_id=shared_pb2.UUID(string=str(uuid4())),
                    state=gossip_pb2.MemberInfo.Leader,
                    is_alive=True,
                    http_end_point=gossip_pb2.EndPoint(address="127.0.0.1", port=self.port),
                )
            ]
        )


class KurrentTestServer:
    """``async with KurrentTestServer() as server: server.url`` (see the module docstring)."""

    def __init__(self, *, port: int = 0, log: _Log | None = None) -> None:
        """``port`` 0 picks a free one; ``log`` lets a new server serve an old server's
        database (a restart, as the client sees it)."""
        self.log = log or _Log()
        self.port = port
        self._fresh = log is None
        self._server: grpc.aio.Server | None = None

    @property
    def url(self) -> str:
        return f"kurrentdb://127.0.0.1:{self.port}?Tls=false"

    @property
    def discover_url(self) -> str:
        return f"kurrentdb+discover://127.0.0.1:{self.port}?Tls=false"

    async def start(self) -> KurrentTestServer:
        server = grpc.aio.server()
        self.port = server.add_insecure_port(f"127.0.0.1:{self.port}")
        streams_pb2_grpc.add_StreamsServicer_to_server(_Streams(self.log), server)  # type: ignore[no-untyped-call]
        gossip_pb2_grpc.add_GossipServicer_to_server(_Gossip(self.port), server)  # type: ignore[no-untyped-call]
        await server.start()
        self._server = server
        if not self._fresh:
            return self
        self._fresh = False
        # A real log opens with system records: readers must skip them.
        self.log.write(
            "$settings",
            [
                streams_pb2.BatchAppendReq.ProposedMessage(
                    id=shared_pb2.UUID(string=str(uuid4())),
                    metadata={"type": "$settings", "content-type": "application/json"},
                    data=b"{}",
                )
            ],
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=None)
            self._server = None

    async def __aenter__(self) -> KurrentTestServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
