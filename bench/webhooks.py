"""Group ``webhooks``: the webhook deliverer, to a receiver on loopback.

A platform of the activities context (SQLite stores in a scratch directory on a real disk,
its projections running, its jobs not ticking on their own) holds N registered customers
(2 000; 200 with ``--quick``) of one tenant, interleaved with as many of another tenant, and
one subscription to ``customer.registered`` on a ``ThreadingHTTPServer`` on 127.0.0.1 that
answers 204. Then

- **the deliverer**: :meth:`WebhookDeliverer.tick` until every one of the N events was
  received (asserted: N requests, in log order): reading the log, signing, one POST at a time,
  the checkpoint committed every 20 acknowledged; figure: events delivered a second;
- **the peer**: the same N bodies, signed the same way, POSTed one at a time with the same
  HTTP client to the same receiver, with no log read and no checkpoint: what the HTTP round
  trip alone allows.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from bench.measure import Plan, Results, Step, scratch_dir
from crm.activities.application.webhook_commands import (
    AllowedHosts,
    CreateWebhook,
    new_secret,
    sign,
)
from crm.activities.application.webhook_delivery import WebhookDeliverer
from crm.activities.projections.webhook_models import WEBHOOKS_PROJECTION
from crm.events import EventMetadata
from crm.events.customer import CustomerKind, CustomerRegistered
from crm.events.envelope import envelope_to_json
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.event_store import NO_STREAM
from crm.kernel.projection import wait_until
from crm.kernel.repository import CommandContext
from crm.kernel.settings import Settings
from crm.platform.bootstrap import context_named, ensure_tenant, open_platform

GROUP = "webhooks"
SECRET = "bench-secret-" + "w" * 40
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class _Receiver:
    def __init__(self) -> None:
        self.count = 0
        self.ids: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.ids.append(json.loads(body)["stream_id"])
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def declare(results: Results) -> None:
    g = GROUP
    peer = f"{g}.raw_posts"
    results.figure(
        f"{g}.delivered", "webhook deliverer, log to receiver", "events/s", peers=(peer,)
    )
    results.figure(peer, "the same signed POSTs, one at a time, no log", "requests/s")


async def repetition(d: Path, n: int, step: Step, results: Results) -> None:
    clock = ManualClock(NOW)
    settings = Settings(data_dir=d / "data", secret=SECRET, webhook_allowed_hosts="127.0.0.1")
    platform = open_platform(settings, clock=clock, contexts=(context_named("activities"),))
    receiver = _Receiver()
    try:
        for tenant in ("default", "other"):
            await ensure_tenant(platform, tenant)
        await platform.start_projections(None)
        runtime = platform.runtime
        admin = CommandContext(actor="root", role=Role.ADMIN, tenant="default", now=NOW)
        hook = CreateWebhook(str(uuid4()), receiver.url, ("customer.registered",), new_secret())
        await runtime.commands.execute(hook, admin)
        step(f"webhooks: registering {n} customers (and {n} of another tenant)")
        streams: list[str] = []
        for i in range(2 * n):
            tenant = "default" if i % 2 == 0 else "other"
            stream = f"customer-{uuid4()}"
            event = CustomerRegistered(kind=CustomerKind.PERSON, name=f"Person {i}")
            metadata = EventMetadata(tenant=tenant, actor="bench", correlation_id=uuid4())
            new = await runtime.codec.encode(stream, [event], metadata, NOW)
            await runtime.store.append(stream, new, NO_STREAM)
            if tenant == "default":
                streams.append(stream)
        head = await runtime.store.head_position()
        _, done = await wait_until(
            runtime.read_store,
            WEBHOOKS_PROJECTION.name,
            head,
            60.0,
            store=runtime.store,
            categories=WEBHOOKS_PROJECTION.categories,
        )
        assert done, "the webhooks read model did not catch up"

        step(f"webhooks: delivering {n} events")
        deliverer = WebhookDeliverer(runtime, AllowedHosts.parse("127.0.0.1"), batch_size=200)
        start = time.perf_counter()
        while len(receiver.ids) < n:
            report = await deliverer.tick(NOW)
            assert not report.failed, report
            assert not report.dead_lettered, report
        seconds = time.perf_counter() - start
        assert receiver.ids == streams, "not every event, or not in log order"
        results.figures[f"{GROUP}.delivered"].samples.append(n / seconds)

        step(f"webhooks: {n} raw POSTs")
        bodies: list[bytes] = []
        async for page in runtime.store.read_all(0, batch_size=1000, categories=("customer",)):
            bodies.extend(envelope_to_json(e) for e in page if e.tenant == "default")
        secret = new_secret()
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
            start = time.perf_counter()
            for i, body in enumerate(bodies):
                ts = int(time.time())
                headers = {
                    "content-type": "application/json",
                    "webhook-id": str(i),
                    "webhook-timestamp": str(ts),
                    "webhook-signature": sign(secret, str(i), ts, body),
                }
                answer = await client.post(receiver.url, content=body, headers=headers)
                assert answer.status_code == 204
            seconds = time.perf_counter() - start
        results.figures[f"{GROUP}.raw_posts"].samples.append(len(bodies) / seconds)
    finally:
        receiver.close()
        await platform.stop_projections()
        await platform.close()


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    n = plan.size(2_000, 200)
    for rep in range(plan.repetitions):
        with scratch_dir("webhooks") as d:
            step(f"webhooks, repetition {rep + 1}/{plan.repetitions}")
            await repetition(d / "w", n, step, results)
