"""The distributed runtime as separate processes on a real Kafka-protocol broker (Tansu):
customer service -> event store -> relay -> Kafka -> analytics worker (Faust) -> read store ->
analytics API. SQLite files stand in for the per-context stores (shared through the data
directory); everything else is what runs in production."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm.analytics.projections.activity_models import COLLECTION, CustomerActivityProjection
from crm.events import REGISTRY
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.adapters.sqlite.key_store import SqliteKeyStore
from crm.kernel.adapters.sqlite.read_store import SqliteReadStore
from crm.kernel.auth import Role
from crm.kernel.codec import EventCodec
from crm.kernel.projection import ProjectionRunner
from crm.kernel.read_store import Query
from crm.kernel.settings import Settings
from crm.platform.bootstrap import token_issuer
from tests.support.processes import Process, operator, platform_env
from tests.support.tansu import Broker

pytestmark = pytest.mark.integration


class Stack:
    def __init__(self, tmp: Path, broker: Broker) -> None:
        self.data = tmp / "data"
        self.env = platform_env(self.data, broker.url)
        logs = tmp / "logs"
        logs.mkdir()
        self.customer = Process(["serve", "customer"], self.env, logs / "customer.log")
        self.relay = Process(["relay", "customer"], self.env, logs / "relay.log")
        self.worker = Process(["worker", "analytics"], self.env, logs / "worker.log")
        self.analytics = Process(["serve", "analytics"], self.env, logs / "analytics.log")
        self.all = [self.customer, self.relay, self.worker, self.analytics]

    def token(self, role: Role = Role.MANAGER) -> dict[str, str]:
        issuer = token_issuer(Settings(data_dir=self.data))
        return {"Authorization": f"Bearer {issuer.issue('tester', role, 'default')}"}


@pytest.fixture
def stack(tmp_path: Path, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path, broker)
    s.customer.start()  # creates the data directory and its secret first
    operator(s.env, "tenants", "add", "default")
    for p in (s.relay, s.worker, s.analytics):
        p.start(wait=False)
    for p in (s.relay, s.worker, s.analytics):
        p.wait_ready()
    yield s
    for p in s.all:
        p.stop()


def test_a_command_reaches_the_analytics_read_model_through_kafka(stack: Stack) -> None:
    auth = stack.token()
    created = httpx.post(
        f"{stack.customer.url}/customers", json={"name": "Ada", "tags": ["vip"]}, headers=auth
    )
    assert created.status_code == 201, created.text
    body = created.json()
    tagged = httpx.post(
        f"{stack.customer.url}/customers/{body['id']}/tags",
        json={"tag": "newsletter"},
        headers=auth,
    )
    position = tagged.json()["position"]
    r = httpx.get(
        f"{stack.analytics.url}/analytics/customers/{body['id']}/activity",
        params={"min_position": position},
        headers=auth,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    doc = r.json()
    assert doc["name"] == "Ada"
    assert doc["tags"] == ["newsletter", "vip"]
    assert [e["type"] for e in doc["timeline"]] == ["customer.tagged", "customer.registered"]
    assert doc["sources"]["customer"] == position
    assert "_streams" not in doc

    # the 360-degree view is another projection of the same worker, partitioned by customer
    deadline = time.monotonic() + 30
    while True:
        r = httpx.get(
            f"{stack.analytics.url}/analytics/customers/{body['id']}/360", headers=auth, timeout=10
        )
        if r.status_code == 200 and r.json().get("tags") == ["newsletter", "vip"]:
            break
        assert time.monotonic() < deadline, r.text
        time.sleep(0.2)
    assert r.json()["name"] == "Ada"


async def rebuilt_and_followed(data: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
    """The Kafka-fed read model, a fresh rebuild of it straight from the event store, and the
    last position of each customer's stream."""
    store = SqliteEventStore(data / "events.db")
    keys = SqliteKeyStore(data / "keys.db")
    live = SqliteReadStore(data / "read.db")
    fresh = SqliteReadStore(data / "rebuild.db")
    try:
        codec = EventCodec(REGISTRY, keys)
        await ProjectionRunner(CustomerActivityProjection(), store, fresh, codec).catch_up()
        strip = lambda d: {k: v for k, v in d.items() if not k.startswith("_")}  # noqa: E731
        followed = {
            d["id"]: strip(d) for d in (await live.find(COLLECTION, Query(limit=10**6))).items
        }
        rebuilt = {
            d["id"]: strip(d) for d in (await fresh.find(COLLECTION, Query(limit=10**6))).items
        }
        last: dict[str, int] = {}
        async for page in store.read_all(0, categories={"customer"}):
            for e in page:
                last[e.stream_id.partition("-")[2]] = e.position
        return followed, rebuilt, last
    finally:
        for closeable in (store, keys, live, fresh):
            await closeable.close()


def test_killing_relay_and_worker_at_random_loses_nothing_and_doubles_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    seed = random.randrange(1 << 30)
    rnd = random.Random(seed)
    auth = stack.token()
    base = stack.customer.url
    ids: list[str] = []
    done = False

    async def drive() -> int:
        nonlocal done
        sent = 0
        async with httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as client:
            deadline = time.monotonic() + 12
            while time.monotonic() < deadline:
                if not ids or rnd.random() < 0.3:
                    r = await client.post("/customers", json={"name": f"C{len(ids)}"})
                    assert r.status_code == 201, r.text
                    ids.append(r.json()["id"])
                else:
                    cid = rnd.choice(ids)
                    if rnd.random() < 0.5:
                        r = await client.post(
                            f"/customers/{cid}/tags", json={"tag": f"t{sent % 7}"}
                        )
                    else:
                        r = await client.post(
                            f"/customers/{cid}/interactions",
                            json={"channel": "call", "summary": f"n{sent}"},
                        )
                    assert r.status_code in (200, 201), r.text
                sent += 1
        done = True
        return sent

    async def chaos() -> int:
        kills = 0
        while not done:
            await asyncio.sleep(rnd.uniform(0.5, 2.0))
            victim = rnd.choice([stack.relay, stack.worker])
            victim.kill()
            kills += 1
            await asyncio.sleep(rnd.uniform(0.0, 1.0))
            victim.start(wait=False)
        return kills

    async def run() -> tuple[int, int]:
        sent, kills = await asyncio.gather(drive(), chaos())
        return sent, kills

    sent, kills = asyncio.run(run())
    assert kills >= 3, f"seed {seed}"
    stack.relay.wait_ready()
    stack.worker.wait_ready()
    deadline = time.monotonic() + 90
    while True:
        followed, rebuilt, last = asyncio.run(rebuilt_and_followed(stack.data))
        caught_up = all(
            followed.get(cid, {}).get("sources", {}).get("customer") == pos
            for cid, pos in last.items()
        )
        if caught_up or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert caught_up, f"seed {seed}: the Kafka-fed model did not catch up"
    assert len(rebuilt) == len(ids)
    assert followed == rebuilt, f"seed {seed}: the model fed through crashes differs from a rebuild"
    print(f"seed {seed}: {sent} commands, {kills} kills, {len(ids)} customers")
