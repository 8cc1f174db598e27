"""Observability over HTTP: ``/metrics`` scraped and parsed with the Prometheus client's own
parser, its counters moving with the commands sent; who may scrape it; one trace per request
from the HTTP span through the command and the append to the projections' apply (the SDK's
in-memory exporter); JSON log lines with the command's ids and no personal data."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from uuid import UUID, uuid4

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from crm.kernel.event_store import NO_STREAM
from crm.kernel.observability import ObservabilitySettings
from crm.kernel.observability.logs import ContextFilter, json_formatter
from crm.platform.app import create_app
from crm.platform.bootstrap import Platform, context_named
from crm.platform.processes import relay_app
from tests.conftest import Api, UserClient, new_event
from tests.support.spans import captured_spans
from tests.support.tenants import create_tenants

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]

TOKEN = "scrape-me-" + uuid4().hex
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[Api]:
    await create_tenants(platform)
    app = create_app(
        platform,
        observability=ObservabilitySettings(metrics_token=TOKEN, metrics_refresh_seconds=60),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as client:
            yield Api(client, platform)


@pytest.fixture
def as_user(api: Api) -> Callable[..., UserClient]:
    return api.as_user


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with captured_spans() as exporter:
        yield exporter


async def scrape(api: Api) -> Samples:
    r = await api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, metric: str, /, **labels: str) -> float:
    return samples.get((metric, frozenset(labels.items())), 0.0)


def labelled(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for (n, labels) in samples if n == name]


async def register(client: UserClient, **fields: object) -> dict[str, object]:
    body = {"name": "Ada Lovelace", "email": f"ada-{uuid4().hex[:12]}@example.com", **fields}
    r = await client.post("/customers", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_metrics_need_the_token_on_the_api_port(api: Api, platform: Platform) -> None:
    bare = await api.client.get("/metrics")
    assert bare.status_code == 401
    assert bare.json()["code"] == "unauthorized"
    wrong = await api.client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    user = await api.client.get("/metrics", headers=api.headers("boss"))  # a user's token
    assert user.status_code == 401
    off = create_app(platform, observability=ObservabilitySettings(metrics_token=None))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=off), base_url="http://crm.test"
    ) as client:
        r = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404
    assert "CRM_METRICS_PORT" in r.json()["message"]


async def test_counters_move_with_commands(as_user: Callable[..., UserClient], api: Api) -> None:
    boss = as_user("boss")
    before = await scrape(api)
    c = await register(boss)
    ok = await boss.patch(
        f"/customers/{c['id']}", json={"region": "EU"}, headers={"If-Match": '"0"'}
    )
    assert ok.status_code == 200
    stale = await boss.patch(
        f"/customers/{c['id']}", json={"region": "US"}, headers={"If-Match": '"0"'}
    )
    assert stale.status_code == 409
    missing = await boss.patch(f"/customers/{uuid4()}", json={"region": "US"})
    assert missing.status_code == 404
    r = await boss.get(f"/customers/{c['id']}", params={"min_position": ok.json()["position"]})
    assert r.status_code == 200
    after = await scrape(api)

    def moved(metric: str, /, **labels: str) -> float:
        return value(after, metric, **labels) - value(before, metric, **labels)

    assert moved("crm_commands_total", command="RegisterCustomer", outcome="accepted") == 1
    assert moved("crm_commands_total", command="UpdateProfile", outcome="accepted") == 1
    assert moved("crm_commands_total", command="UpdateProfile", outcome="conflict") == 1
    assert moved("crm_commands_total", command="UpdateProfile", outcome="rejected") == 1
    assert moved("crm_http_requests_total", route="/customers", method="POST", status="201") == 1
    route = "/customers/{customer_id}"
    assert moved("crm_http_requests_total", route=route, method="PATCH", status="409") == 1
    assert moved("crm_http_requests_total", route=route, method="PATCH", status="404") == 1
    assert moved("crm_http_requests_total", route=route, method="GET", status="200") == 1
    assert moved("crm_http_request_duration_seconds_count", route=route, method="PATCH") == 3
    assert moved("crm_event_store_appends_total", outcome="ok") >= 2
    assert moved("crm_event_store_appends_total", outcome="conflict") >= 1
    assert moved("crm_event_store_appended_events_total") >= 2
    assert moved("crm_projection_events_applied_total", projection="customers") >= 2
    # the e-mail address is encrypted under the customer's key: the key store was asked
    assert moved("crm_key_store_operations_total", operation="get_or_create", outcome="ok") >= 1
    # every projection the platform runs has a lag; caught up after the read above. The read
    # sees the committed checkpoint a moment before the runner notes its position (which the
    # gauge reads), so on a busy machine one scrape may still count the last event: waited for
    lags = labelled(after, "crm_follower_lag_events")
    assert {"kind": "projection", "name": "customers"} in lags
    deadline = asyncio.get_running_loop().time() + 10
    caught = after
    while value(caught, "crm_follower_lag_events", kind="projection", name="customers") != 0:
        assert asyncio.get_running_loop().time() < deadline, "the customers projection lags"
        await asyncio.sleep(0.05)
        caught = await scrape(api)
    assert value(caught, "crm_follower_lag_seconds", kind="projection", name="customers") == 0
    assert value(after, "crm_event_store_head_position") >= ok.json()["position"]
    # no label carries an id, a tenant or anything typed
    text = json.dumps([sorted(k[1]) for k in after])
    assert str(c["id"]) not in text
    assert "default" not in text
    assert "boss" not in text
    assert "example.com" not in text


async def test_a_projection_behind_shows_its_lag(
    as_user: Callable[..., UserClient], api: Api, platform: Platform
) -> None:
    boss = as_user("boss")
    runner = next(r for r in platform.runners if r.projection.name == "customers")
    task = next(t for t in platform._tasks if t.get_name() == "projection:customers")
    await runner.stop(task)  # the read model stops following: what comes now is lag
    await register(boss)
    await register(boss)
    await asyncio.sleep(0.05)
    samples = await scrape(api)
    assert value(samples, "crm_follower_lag_events", kind="projection", name="customers") == 2
    assert value(samples, "crm_follower_lag_seconds", kind="projection", name="customers") > 0


async def test_one_trace_from_the_request_to_the_read_model(
    as_user: Callable[..., UserClient], spans: InMemorySpanExporter, platform: Platform
) -> None:
    boss = as_user("boss")
    c = await register(boss)
    (event,) = await platform.store.read_stream(f"customer-{c['id']}")
    # the client reads its write in the same trace by sending the correlation id back
    r = await boss.get(
        f"/customers/{c['id']}",
        params={"min_position": c["position"]},
        headers={"X-Correlation-ID": str(event.correlation_id)},
    )
    assert r.status_code == 200
    finished = spans.get_finished_spans()
    by_name = {s.name: s for s in finished}
    server = by_name["POST /customers"]
    trace_id = server.context.trace_id
    # the correlation id every event of the request carries is the trace's id
    assert event.correlation_id == UUID(int=trace_id)
    command = by_name["command RegisterCustomer"]
    append = by_name["append"]

    def applies() -> list[object]:
        done = spans.get_finished_spans()
        return [s for s in done if s.name == "apply customers" and s.context.trace_id == trace_id]

    # the apply span ends just after its batch commits, which the read may already have seen
    for _ in range(100):
        if applies():
            break
        await asyncio.sleep(0.05)
    assert command.context.trace_id == trace_id
    assert command.parent is not None
    assert command.parent.span_id == server.context.span_id
    assert append.context.trace_id == trace_id
    assert append.parent is not None
    assert append.parent.span_id == command.context.span_id
    assert applies(), "no apply span of the projection in the request's trace"
    assert dict(server.attributes or {})["http.route"] == "/customers"
    (read,) = [s for s in spans.get_finished_spans() if s.name.startswith("GET /customers/")]
    assert read.context.trace_id == trace_id
    assert dict(append.attributes or {})["crm.position"] == c["position"]


async def test_a_given_correlation_id_names_the_trace(
    as_user: Callable[..., UserClient], spans: InMemorySpanExporter, platform: Platform
) -> None:
    correlation = uuid4()
    boss = as_user("boss")
    r = await boss.post(
        "/customers",
        json={"name": "Grace Hopper", "email": f"g-{uuid4().hex[:8]}@example.com"},
        headers={"X-Correlation-ID": str(correlation)},
    )
    assert r.status_code == 201
    (event,) = await platform.store.read_stream(f"customer-{r.json()['id']}")
    assert event.correlation_id == correlation
    server = next(s for s in spans.get_finished_spans() if s.name == "POST /customers")
    assert server.context.trace_id == correlation.int
    # a W3C traceparent decides the trace; the correlation id follows it
    trace_id = uuid4().int
    parent = f"00-{trace_id:032x}-{'ab' * 8}-01"
    r = await boss.post(
        "/customers",
        json={"name": "Alan Turing", "email": f"a-{uuid4().hex[:8]}@example.com"},
        headers={"traceparent": parent},
    )
    assert r.status_code == 201
    (event,) = await platform.store.read_stream(f"customer-{r.json()['id']}")
    assert event.correlation_id == UUID(int=trace_id)
    posted = [s for s in spans.get_finished_spans() if s.name == "POST /customers"]
    assert posted[-1].context.trace_id == trace_id
    assert posted[-1].parent is not None
    assert posted[-1].parent.span_id == 0xABABABABABABABAB


async def test_json_log_lines_carry_the_command_and_no_personal_data(
    as_user: Callable[..., UserClient],
) -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        boss = as_user("boss")
        email = f"secret-{uuid4().hex[:8]}@example.com"
        c = await register(boss, name="Ada Secretname", email=email, phone="+49 30 1234567")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    records = [json.loads(line) for line in lines]
    (command,) = [r for r in records if r.get("command") == "RegisterCustomer"]
    assert command["stream"] == f"customer-{c['id']}"
    assert command["position"] == c["position"]
    assert command["tenant"] == "default"
    assert command["actor"] == "boss"
    assert UUID(command["correlation_id"])
    assert command["level"] == "INFO"
    assert command["logger"] == "crm.commands"
    (request,) = [r for r in records if r.get("http_route") == "/customers"]
    assert request["http_status"] == 201
    assert request["correlation_id"] == command["correlation_id"]
    everything = "\n".join(lines)
    for personal in ("Secretname", email, "1234567"):
        assert personal not in everything


async def test_group_commits_are_measured(as_user: Callable[..., UserClient], api: Api) -> None:
    boss = as_user("boss")
    before = await scrape(api)
    await asyncio.gather(*(register(boss) for _ in range(8)))
    after = await scrape(api)
    groups = value(after, "crm_event_store_group_commit_appends_count") - value(
        before, "crm_event_store_group_commit_appends_count"
    )
    appends = value(after, "crm_event_store_group_commit_appends_sum") - value(
        before, "crm_event_store_group_commit_appends_sum"
    )
    assert 1 <= groups <= appends  # every append was in a group; some groups may hold several
    assert appends >= 8


async def test_a_relay_that_cannot_publish_shows_its_lag_and_failures(platform: Platform) -> None:
    app = relay_app(
        platform,
        context_named("customer"),
        "kafka://127.0.0.1:1",  # nothing listens: every publish fails
        observability=ObservabilitySettings(metrics_token=TOKEN, metrics_refresh_seconds=60),
    )
    failures = ("crm_relay_publish_failures_total", "customer")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://relay.test"
        ) as client,
    ):
        api = Api(client, platform)
        before = await scrape(api)
        assert value(before, "crm_follower_lag_events", kind="relay", name="customer") == 0
        await platform.store.append(f"customer-{uuid4()}", [new_event()], NO_STREAM)
        for _ in range(100):
            after = await scrape(api)
            if value(after, failures[0], context=failures[1]) > value(
                before, failures[0], context=failures[1]
            ):
                break
            await asyncio.sleep(0.05)
        assert value(after, failures[0], context=failures[1]) > value(
            before, failures[0], context=failures[1]
        )
        assert value(after, "crm_follower_lag_events", kind="relay", name="customer") == 1
        assert value(after, "crm_follower_lag_seconds", kind="relay", name="customer") >= 0
        unauthorized = await client.get("/metrics")
        assert unauthorized.status_code == 401
