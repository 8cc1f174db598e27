"""The analytics worker: the analytics projections as a Faust app in a Kafka consumer group.

Faust earns its place here as the consumer group and the repartitioning. For each projection
two agents run:

- ``<projection>.route`` reads the context topics (``crm.<context>.events``), asks the
  projection which documents each event touches, and sends one copy per document to the
  routing topic, keyed by the document. Sends are awaited before the batch is acknowledged,
  so a source offset is committed only once its copies are durable in Kafka.
- ``<projection>.apply`` reads the routing topic. All copies for one document land in one
  partition, in order, so a partition is an ordered log of its documents' events: a
  :class:`ProjectionRunner` per partition applies them with the routed offset as the
  position, the same projection code as the embedded runner, and checkpoints per partition
  in the read store, in the same commit as the documents. Redelivery (a rebalance, a crash
  before Faust committed) changes nothing; a stale worker that lost its partition finds the
  checkpoint moved and reloads it.

Changing the number of routing partitions moves documents between partitions: rebuild then.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import faust

from crm.events.envelope import envelope_from_json, envelope_to_json
from crm.kernel.adapters.kafka.publisher import bootstrap_servers
from crm.kernel.observability import ObservabilitySettings, tracing
from crm.kernel.observability.metrics import CONSUMER_LAG, token_allows
from crm.kernel.observability.metrics import render as render_metrics
from crm.kernel.projection import DocKey, Projection, ProjectionRunner, Routed
from crm.kernel.read_store import CheckpointMoved
from crm.kernel.runtime import Runtime
from crm.platform.faust_transport import DEFAULT_FETCH_WAIT_MS, use_fetch_wait

log = logging.getLogger(__name__)

UNDECODABLE = "__undecodable__"

BATCH_WINDOW_SECONDS = 0.01
"""How long an agent gathers records before handling them as one batch. Faust's
``take_events`` wakes on a fixed clock of this period (not when a record arrives; a full
batch goes at once): an event waits for the next tick, on each of the worker's two hops. It
was 50 ms, up to 100 ms of the command -> read model time at low load; 10 ms keeps batches
under load (a batch is whatever arrived in the window) for 100 idle wake-ups a second per
agent (measured in bench/, ``--only kafka``)."""


def trace_headers(headers: Any) -> list[tuple[str, bytes]]:
    """The W3C trace headers among a record's (Faust gives a mapping or a list of pairs)."""
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    return [(k, v) for k, v in items if k in ("traceparent", "tracestate")]


def _doc_key(raw: bytes) -> DocKey:
    collection, _, id_ = raw.decode().partition("/")
    return collection, id_


class ProjectionWorker:
    """Wires one projection into a Faust app (see the module docstring)."""

    def __init__(
        self,
        app: faust.App,
        projection: Projection,
        runtime: Runtime,
        source_topics: Sequence[str],
        *,
        partitions: int,
        batch_size: int = 500,
        batch_window: float = BATCH_WINDOW_SECONDS,
    ) -> None:
        self.projection = projection
        self.runtime = runtime
        self.batch_size = batch_size
        self.batch_window = batch_window
        self.runners: dict[int, ProjectionRunner] = {}
        self.applied = 0
        self.source = app.topic(
            *source_topics, key_serializer="raw", value_serializer="raw", allow_empty=True
        )
        self.routed = app.topic(
            f"{app.conf.id}.{projection.name}.routed",
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
            internal=True,
            allow_empty=True,
        )
        app.agent(self.source, name=f"{projection.name}.route")(self.route)
        app.agent(self.routed, name=f"{projection.name}.apply")(self.apply)

    async def route(self, stream: Any) -> None:
        codec = self.runtime.codec
        async for records in stream.take_events(self.batch_size, within=self.batch_window):
            # the trace context the relay put in the headers travels on with each copy
            headers = {}
            envelopes = []
            for record in records:
                if record.value:
                    envelopes.append(envelope_from_json(record.value))
                    headers[envelopes[-1].event_id] = trace_headers(record.headers)
            relevant = [e for e in envelopes if e.event_type in self.projection.event_types]
            decoded = await codec.decode_each(relevant)
            sent = []
            for envelope, event in zip(relevant, decoded, strict=True):
                if isinstance(event, Exception):
                    keys: list[DocKey] = [(UNDECODABLE, str(envelope.event_id))]
                else:
                    try:
                        keys = list(self.projection.keys(event, envelope))
                    except Exception:
                        keys = [(UNDECODABLE, str(envelope.event_id))]
                value = envelope_to_json(envelope)
                for collection, id_ in keys:
                    sent.append(
                        await self.routed.send(
                            key=f"{collection}/{id_}".encode(),
                            value=value,
                            headers=headers[envelope.event_id],
                            force=True,
                        )
                    )
            await asyncio.gather(*sent)

    async def apply(self, stream: Any) -> None:
        async for events in stream.take_events(self.batch_size, within=self.batch_window):
            by_partition: dict[int, list[Any]] = defaultdict(list)
            for event in events:
                by_partition[event.message.partition].append(event)
            for partition, items in by_partition.items():
                await self._apply(partition, items)

    async def _apply(self, partition: int, items: Sequence[Any]) -> None:
        batch = [envelope_from_json(e.value) for e in items]
        routed = [Routed(_doc_key(e.key), e.message.offset + 1) for e in items]
        parents = {}  # the apply joins the trace of the publish that carried each event
        for envelope, e in zip(batch, items, strict=True):
            context = tracing.context_from_headers(e.headers)
            if context is not None:
                parents[envelope.correlation_id] = context
        for _ in range(3):
            runner = await self._runner(partition)
            try:
                with tracing.parents(parents):
                    outcome = await runner.process(batch, routed)
                self.applied += outcome.applied
                return
            except CheckpointMoved:
                log.info(
                    "%s: partition %d moved on elsewhere; reloading",
                    self.projection.name,
                    partition,
                )
                self.runners.pop(partition, None)
        raise RuntimeError(f"{self.projection.name}: partition {partition} keeps moving")

    async def _runner(self, partition: int) -> ProjectionRunner:
        runner = self.runners.get(partition)
        if runner is None:
            runner = ProjectionRunner(
                self.projection,
                self.runtime.store,
                self.runtime.read_store,
                self.runtime.codec,
                checkpoint_name=f"{self.projection.name}@{partition}",
            )
            await runner.prepare()
            self.runners[partition] = runner
        return runner


async def partition_lags(
    partitions: Sequence[Any],
    *,
    fetched: Callable[[Any], int | None],
    listed: Callable[[list[Any]], Awaitable[Mapping[Any, int]]],
    position: Callable[[Any], Awaitable[int | None]],
) -> dict[Any, int]:
    """Each partition's end minus the consumer's position (never below 0).

    The end is the high watermark of the consumer's last fetch response (``fetched``, which a
    consumer waiting on an idle partition refreshes every fetch wait) and, for a partition not
    fetched yet, the broker's answer to ListOffsets (``listed``). Not ListOffsets first: Tansu
    on S3 storage answers it from a stale copy of the partition's watermark (after a restart,
    and often between), which under-reports the lag, down to 0 when the stale end lies below
    the consumer's position, while its fetch responses carry the right watermark."""
    ends = {tp: end for tp in partitions if (end := fetched(tp)) is not None}
    unfetched = [tp for tp in partitions if tp not in ends]
    if unfetched:
        ends.update((await listed(unfetched)).items())
    lags = {}
    for tp in partitions:
        at = await position(tp)
        if at is not None and tp in ends:
            lags[tp] = max(0, ends[tp] - at)
    return lags


def build_app(
    runtime: Runtime,
    projections: Sequence[Projection],
    source_topics: Sequence[str],
    *,
    bus_url: str,
    app_id: str = "crm-analytics",
    partitions: int = 6,
    replication: int = 1,
    web_port: int = 6066,
    web_host: str = "127.0.0.1",
    rebalance_timeout: float = 60.0,
    session_timeout: float = 30.0,
    datadir: Path | None = None,
    fetch_wait_ms: int = DEFAULT_FETCH_WAIT_MS,
    observability: ObservabilitySettings | None = None,
) -> tuple[faust.App, list[ProjectionWorker]]:
    obs = observability or ObservabilitySettings()
    app = faust.App(
        app_id,
        # Faust keeps table state here; ours is memory-only, but it still creates the folder
        datadir=str(datadir) if datadir is not None else None,
        broker=f"kafka://{bootstrap_servers(bus_url)}",
        store="memory://",
        topic_partitions=partitions,
        topic_replication_factor=replication,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_rebalance_timeout=rebalance_timeout,
        broker_session_timeout=session_timeout,
        broker_heartbeat_interval=min(3.0, session_timeout / 3),
        web_port=web_port,
        web_host=web_host,
        web_bind=web_host,
    )
    # before the first topic: Faust would otherwise wait up to 1.5 s on each fetch
    use_fetch_wait(app, fetch_wait_ms)
    workers = [
        ProjectionWorker(app, projection, runtime, source_topics, partitions=partitions)
        for projection in projections
    ]

    async def prepare_read_store() -> None:
        for projection in projections:
            await runtime.read_store.ensure(projection.collections)

    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    async def ready(web: Any, request: Any) -> Any:
        """Ready once the consumer holds partitions of the group."""
        ok = bool(app.consumer.assignment())
        return web.json({"ready": ok}, status=200 if ok else 503)

    async def consumer_lag() -> None:
        """Records of each assigned partition not read yet, per topic and partition of this
        consumer group (:func:`partition_lags`)."""
        consumer = app.consumer
        partitions = sorted(consumer.assignment())
        if not partitions:
            return
        lags = await partition_lags(
            partitions,
            fetched=consumer.highwater,
            listed=lambda tps: consumer.highwaters(*tps),
            position=consumer.position,
        )
        for tp, lag in lags.items():
            CONSUMER_LAG.labels(app.conf.id, tp.topic, str(tp.partition)).set(lag)

    async def metrics(web: Any, request: Any) -> Any:
        """``/metrics`` for the bearer of CRM_METRICS_TOKEN (:mod:`crm.platform.telemetry`)."""
        if not obs.metrics_token:
            return web.json({"code": "not_found", "message": "set CRM_METRICS_TOKEN"}, status=404)
        if not token_allows(obs.metrics_token, request.headers.get("Authorization")):
            return web.json({"code": "unauthorized", "message": "metrics token"}, status=401)
        await consumer_lag()
        body, content_type = render_metrics()
        return web.bytes(body, content_type=content_type.split(";")[0])

    async def refresh_lag() -> None:
        while True:
            try:
                await consumer_lag()
            except Exception as e:  # the next round tries again
                log.debug("consumer lag: %s", e)
            await asyncio.sleep(obs.metrics_refresh_seconds)

    app.task(prepare_read_store)
    app.task(refresh_lag)
    app.page("/metrics")(metrics)
    app.page("/health")(health)
    app.page("/ready")(ready)
    return app, workers
