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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust

from crm.events.envelope import envelope_from_json, envelope_to_json
from crm.kernel.adapters.kafka.publisher import bootstrap_servers
from crm.kernel.projection import DocKey, Projection, ProjectionRunner, Routed
from crm.kernel.read_store import CheckpointMoved
from crm.kernel.runtime import Runtime
from crm.platform.faust_transport import DEFAULT_FETCH_WAIT_MS, use_fetch_wait

log = logging.getLogger(__name__)

UNDECODABLE = "__undecodable__"


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
    ) -> None:
        self.projection = projection
        self.runtime = runtime
        self.batch_size = batch_size
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
        async for values in stream.take(self.batch_size, within=0.05):
            envelopes = [envelope_from_json(v) for v in values if v]
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
                            key=f"{collection}/{id_}".encode(), value=value, force=True
                        )
                    )
            await asyncio.gather(*sent)

    async def apply(self, stream: Any) -> None:
        async for events in stream.take_events(self.batch_size, within=0.05):
            by_partition: dict[int, list[Any]] = defaultdict(list)
            for event in events:
                by_partition[event.message.partition].append(event)
            for partition, items in by_partition.items():
                await self._apply(partition, items)

    async def _apply(self, partition: int, items: Sequence[Any]) -> None:
        batch = [envelope_from_json(e.value) for e in items]
        routed = [Routed(_doc_key(e.key), e.message.offset + 1) for e in items]
        for _ in range(3):
            runner = await self._runner(partition)
            try:
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
) -> tuple[faust.App, list[ProjectionWorker]]:
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

    app.task(prepare_read_store)
    app.page("/health")(health)
    app.page("/ready")(ready)
    return app, workers
