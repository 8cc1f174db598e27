"""One trace across processes: a command sent to ``crm serve customer`` is followed through its
append, the relay's publish (``crm relay customer``) and the analytics worker's apply (``crm
worker analytics``, Faust), each process exporting its spans over OTLP/HTTP to a small
receiver here, decoded with the OTLP protobuf definitions."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from crm.events import EventEnvelope
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from tests.integration.test_distributed import Stack
from tests.support.processes import operator
from tests.support.tansu import Broker

pytestmark = pytest.mark.integration


class Collector:
    """An OTLP/HTTP endpoint keeping every span it receives."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    service = next(
                        a.value.string_value
                        for a in resource.resource.attributes
                        if a.key == "service.name"
                    )
                    for scope in resource.scope_spans:
                        with collector.lock:
                            collector.spans += [
                                {
                                    "service": service,
                                    "name": s.name,
                                    "trace_id": int.from_bytes(s.trace_id, "big"),
                                    "span_id": int.from_bytes(s.span_id, "big"),
                                    "parent": int.from_bytes(s.parent_span_id, "big") or None,
                                }
                                for s in scope.spans
                            ]
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of_trace(self, trace_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [s for s in self.spans if s["trace_id"] == trace_id]


@pytest.fixture
def traced(tmp_path: Path, broker: Broker) -> Iterator[tuple[Stack, Collector]]:
    collector = Collector()
    s = Stack(tmp_path, broker)
    for p in s.all:
        p.env.update(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_BSP_SCHEDULE_DELAY="200")
    s.customer.start()
    operator(s.env, "tenants", "add", "default")
    for p in (s.relay, s.worker, s.analytics):
        p.start(wait=False)
    for p in (s.relay, s.worker, s.analytics):
        p.wait_ready()
    yield s, collector
    for p in s.all:
        p.stop()
    collector.server.shutdown()


def test_one_trace_from_the_request_through_kafka_to_the_worker(
    traced: tuple[Stack, Collector],
) -> None:
    stack, collector = traced
    auth = stack.token()
    created = httpx.post(
        f"{stack.customer.url}/customers", json={"name": "Ada", "tags": ["vip"]}, headers=auth
    )
    assert created.status_code == 201, created.text
    body = created.json()
    r = httpx.get(
        f"{stack.analytics.url}/analytics/customers/{body['id']}/activity",
        params={"min_position": body["position"]},
        headers=auth,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    server = None
    deadline = time.monotonic() + 30
    while True:
        posts = [s for s in collector.spans if s["name"] == "POST /customers"]
        if posts:
            server = posts[-1]
            spans = collector.of_trace(server["trace_id"])
            services = {s["service"] for s in spans}
            applies = [s for s in spans if s["service"] == "crm-worker-analytics"]
            if {"crm-customer", "crm-relay-customer"} <= services and applies:
                break
        assert time.monotonic() < deadline, collector.spans
        time.sleep(0.2)
    names = {(s["service"], s["name"]) for s in spans}
    assert ("crm-customer", "command RegisterCustomer") in names
    assert ("crm-customer", "append") in names
    (publish,) = [s for s in spans if s["service"] == "crm-relay-customer"]
    assert publish["name"] == "publish crm.customer.events"
    # the worker applied as a child of the publish whose headers carried the event
    assert all(a["parent"] == publish["span_id"] for a in applies)
    assert any(a["name"].startswith("apply ") for a in applies)
    # and the trace is the request's correlation id, which its event carries
    (event,) = asyncio.run(stream_of(stack.data / "events.db", f"customer-{body['id']}"))
    assert event.correlation_id == UUID(int=server["trace_id"])


async def stream_of(path: Path, stream_id: str) -> list[EventEnvelope]:
    store = SqliteEventStore(path)
    try:
        return await store.read_stream(stream_id)
    finally:
        await store.close()
