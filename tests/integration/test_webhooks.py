"""Webhooks, received by a real HTTP server on loopback: every delivery's Standard Webhooks
signature verified with the ``standardwebhooks`` package, retries through failures with
exponential backoff on a controlled clock, order, dead letters, redelivery and replay from
a position, the lease that keeps two deliverers from delivering twice, a restart that does
not deliver again what was acknowledged, the URLs refused, and access by role and tenant."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from crm.activities.application import webhook_commands
from crm.activities.application.webhook_commands import AllowedHosts, check_url
from crm.activities.application.webhook_delivery import WebhookDeliverer
from crm.activities.projections.webhook_models import (
    DEAD_LETTERS,
    WEBHOOKS,
    WEBHOOKS_PROJECTION,
)
from crm.kernel.auth import Role
from crm.kernel.context import BoundedContext
from crm.kernel.errors import InvalidCommand
from crm.kernel.projection import rebuild
from crm.kernel.read_store import find_all
from crm.kernel.settings import Settings
from crm.platform.bootstrap import Platform, context_named
from tests.conftest import SECRET, T0, Api, UserClient
from tests.support.console import console_user, followed, own_client, sign_in
from tests.support.customers import register_customer
from tests.support.reads import caught_up

ALLOWED = "127.0.0.1,*.example.org"
LIVE = "in_the_background"
"""A test so named runs the activities context's jobs (the others tick the deliverer)."""


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    live = LIVE in request.node.name
    return Settings(
        data_dir=tmp_path / "data",
        secret=SECRET,
        read_wait_seconds=5.0,
        webhook_allowed_hosts=ALLOWED,
        webhook_interval_seconds=0.05 if live else 300,
    )


@pytest.fixture
def contexts(request: pytest.FixtureRequest) -> tuple[BoundedContext, ...]:
    """Activities alone; its jobs only for a test named so (the others tick by hand)."""
    activities = context_named("activities")
    if LIVE in request.node.name:
        return (activities,)
    return (replace(activities, jobs=None),)


class Receiver:
    """A webhook receiver on loopback: answers the statuses of ``plan`` first, then 204;
    keeps every request (headers, body) in order."""

    def __init__(self) -> None:
        self.plan: list[int] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                with receiver._lock:
                    receiver.requests.append(
                        ({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.plan.pop(0) if receiver.plan else 204
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every request's envelope, each signature checked (raises on a bad one)."""
        verifier = Verifier(secret)
        return [verifier.verify(body, headers) for headers, body in self.requests]

    def customers(self) -> list[str]:
        return [json.loads(body)["stream_id"].partition("-")[2] for _, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def admin(api: Api, tenant: str = "default") -> UserClient:
    return api.as_user("root", Role.ADMIN, tenant)


async def subscribe(api: Api, url: str, *types: str, tenant: str = "default") -> dict[str, Any]:
    answer = await admin(api, tenant).post(
        "/webhooks", json={"url": url, "event_types": list(types or ["customer.registered"])}
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    assert body["secret"].startswith("whsec_")
    await caught_up(api.platform, "activities_webhooks")
    return body


def refused(answer: httpx.Response, field: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][-1] == field, answer.text


def deliverer(platform: Platform, **kw: Any) -> WebhookDeliverer:
    kw.setdefault("jitter", lambda: 0.0)
    return WebhookDeliverer(platform.runtime, AllowedHosts.parse(ALLOWED), **kw)


def count(outcome: str) -> float:
    return REGISTRY.get_sample_value("crm_webhook_deliveries_total", {"outcome": outcome}) or 0.0


async def test_deliveries_are_signed_retried_with_backoff_and_in_order(
    api: Api, receiver: Receiver
) -> None:
    await register_customer(api.platform, "before")  # a new subscription starts after it
    hook = await subscribe(api, receiver.url)
    first = await register_customer(api.platform, "c1")
    await register_customer(api.platform, "x1", tenant="other")  # not this tenant's
    await register_customer(api.platform, "c2")
    await register_customer(api.platform, "c3")
    receiver.plan = [500, 503]
    d = deliverer(api.platform, base_delay=2.0)
    failed_before = count("failed")

    assert (await d.tick(T0)).failed == 1
    assert (await d.tick(T0 + timedelta(seconds=0.9))).failed == 0  # waits 1 s (2 s, jittered)
    assert len(receiver.requests) == 1
    assert (await d.tick(T0 + timedelta(seconds=1))).failed == 1  # then 2 s (4 s, jittered)
    assert (await d.tick(T0 + timedelta(seconds=2.9))).delivered == 0
    report = await d.tick(T0 + timedelta(seconds=3))
    assert (report.delivered, report.failed) == (3, 0)

    assert receiver.customers() == [first, first, first, "c2", "c3"]
    envelopes = receiver.verified(hook["secret"])
    assert [e["event_type"] for e in envelopes] == ["customer.registered"] * 5
    assert {e["tenant"] for e in envelopes} == {"default"}
    ids = [h["webhook-id"] for h, _ in receiver.requests]
    assert ids[0] == ids[1] == ids[2] == envelopes[0]["event_id"]  # the same id on every retry
    with pytest.raises(WebhookVerificationError):
        Verifier("whsec_" + "QUJD" * 8).verify(receiver.requests[0][1], receiver.requests[0][0])
    assert count("failed") - failed_before == 2
    families = {f.name: f for f in text_string_to_metric_families(generate_latest().decode())}
    for name in ("crm_webhook_deliveries", "crm_webhook_attempt_duration_seconds"):
        labels = {k for sample in families[name].samples for k in sample.labels}
        assert labels <= {"outcome", "le"}, labels  # no tenant, no subscription id
    assert families["crm_webhook_lag_events"].samples[0].value >= 0
    assert await d.tick(T0 + timedelta(seconds=4)) == type(report)(T0 + timedelta(seconds=4))


async def test_dead_letter_after_max_attempts_then_redelivered_and_replayed(
    api: Api, receiver: Receiver
) -> None:
    hook = await subscribe(api, receiver.url)
    await register_customer(api.platform, "c1")
    await register_customer(api.platform, "c2")
    receiver.plan = [500, 500]
    d = deliverer(api.platform, max_attempts=2, base_delay=1.0)
    dead_before = count("dead_lettered")

    await d.tick(T0)
    report = await d.tick(T0 + timedelta(seconds=1))
    assert (report.dead_lettered, report.delivered) == (1, 1)  # c1 given up, c2 went on
    progress = (await admin(api).get(f"/webhooks/{hook['id']}/deliveries")).json()
    assert progress["dead_letters"] == 1
    assert progress["delivered_to"] >= json.loads(receiver.requests[-1][1])["position"]  # c2
    assert progress["behind"] == progress["head"] - progress["delivered_to"]
    assert receiver.customers() == ["c1", "c1", "c2"]
    assert count("dead_lettered") - dead_before == 1

    me = admin(api)
    head = await caught_up(api.platform, "activities_webhooks")
    letters = (await me.get(f"/webhooks/{hook['id']}/dead-letters?min_position={head}")).json()
    (letter,) = letters["items"]
    assert (letter["status"], letter["attempts"], letter["error"]) == ("dead", 2, "HTTP 500")
    assert letter["event_type"] == "customer.registered"
    position = letter["position"]

    answer = await me.post(f"/webhooks/{hook['id']}/dead-letters/{position}/redeliver")
    assert answer.status_code == 200, answer.text
    assert (await d.tick(T0 + timedelta(seconds=2))).delivered == 1
    assert receiver.customers()[-1] == "c1"
    head = await caught_up(api.platform, "activities_webhooks")
    letters = (await me.get(f"/webhooks/{hook['id']}/dead-letters?min_position={head}")).json()
    assert [x["status"] for x in letters["items"]] == ["redelivered"]
    progress = (await me.get(f"/webhooks/{hook['id']}/deliveries")).json()
    assert progress["dead_letters"] == 0
    assert progress["delivered_to"] >= position
    again = await me.post(f"/webhooks/{hook['id']}/dead-letters/{position}/redeliver")
    refused(again, "position")

    answer = await me.post(f"/webhooks/{hook['id']}/replay?from_position={position}")
    assert answer.status_code == 200, answer.text
    await d.tick(T0 + timedelta(seconds=3))  # rewinds
    assert (await d.tick(T0 + timedelta(seconds=3))).delivered == 2
    assert receiver.customers()[-2:] == ["c1", "c2"]
    receiver.verified(hook["secret"])
    bad = await me.post(f"/webhooks/{hook['id']}/replay?from_position=99999")
    refused(bad, "from_position")

    platform = api.platform
    await caught_up(platform, "activities_webhooks")
    before = await read_models(platform)
    assert before[DEAD_LETTERS]
    await rebuild(WEBHOOKS_PROJECTION, platform.store, platform.read_store, platform.runtime.codec)
    assert await read_models(platform) == before  # rebuilt from the log, the same
    assert "whsec_" not in json.dumps(before)  # no secret in any read model


async def read_models(platform: Platform) -> dict[str, list[dict[str, Any]]]:
    store = platform.read_store
    return {c: await find_all(store, c, {}) for c in (WEBHOOKS, DEAD_LETTERS)}


async def test_two_deliverers_deliver_once_and_a_restart_resumes_after_the_acknowledged(
    api: Api, receiver: Receiver
) -> None:
    await subscribe(api, receiver.url)
    for c in ("c1", "c2", "c3"):
        await register_customer(api.platform, c)
    one, two = deliverer(api.platform), deliverer(api.platform)
    await asyncio.gather(one.tick(T0), two.tick(T0))
    await asyncio.gather(one.tick(T0), two.tick(T0))
    assert receiver.customers() == ["c1", "c2", "c3"]  # one held the lease, once each

    restarted = deliverer(api.platform)  # a new process: nothing in memory, its own name
    await register_customer(api.platform, "c4")
    assert (await restarted.tick(T0 + timedelta(seconds=10))).delivered == 0  # still leased
    assert (await restarted.tick(T0 + timedelta(seconds=61))).delivered == 1
    assert receiver.customers() == ["c1", "c2", "c3", "c4"]


async def test_one_tick_moves_past_pages_of_other_events(api: Api, receiver: Receiver) -> None:
    await subscribe(api, receiver.url)
    for i in range(25):
        await register_customer(api.platform, f"x{i}", tenant="other")
    await register_customer(api.platform, "c1")
    d = deliverer(api.platform, batch_size=10)
    assert (await d.tick(T0)).delivered == 1
    assert receiver.customers() == ["c1"]


async def test_disabled_and_changed_subscriptions(api: Api, receiver: Receiver) -> None:
    hook = await subscribe(api, receiver.url, "customer.*")
    me = admin(api)
    assert (await me.post(f"/webhooks/{hook['id']}/disable")).status_code == 200
    await register_customer(api.platform, "c1")
    await caught_up(api.platform, "activities_webhooks")
    d = deliverer(api.platform)
    await d.tick(T0)
    assert receiver.requests == []
    assert (await me.post(f"/webhooks/{hook['id']}/enable")).status_code == 200
    await caught_up(api.platform, "activities_webhooks")
    await d.tick(T0)
    assert receiver.customers() == ["c1"]

    got = await me.get(f"/webhooks/{hook['id']}")
    assert got.json()["event_types"] == ["customer.*"]
    assert "secret" not in got.json()
    changed = await me.put(
        f"/webhooks/{hook['id']}",
        json={"url": receiver.url + "2", "event_types": ["customer.registered"]},
        headers={"If-Match": '"0"'},
    )
    assert changed.status_code == 409, changed.text  # it moved on since version 0
    rotated = await me.post(f"/webhooks/{hook['id']}/rotate-secret")
    secret = rotated.json()["secret"]
    assert secret.startswith("whsec_")
    assert secret != hook["secret"]
    await register_customer(api.platform, "c2")
    await d.tick(T0)
    Verifier(secret).verify(receiver.requests[-1][1], receiver.requests[-1][0])
    with pytest.raises(WebhookVerificationError):
        Verifier(hook["secret"]).verify(receiver.requests[-1][1], receiver.requests[-1][0])


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://127.0.0.1/x", "http"),
        ("http://user:pw@127.0.0.1/x", "password"),
        ("http://10.0.0.1/x", "allowed"),
        ("http://localhost/x", "allowed"),
        ("https://evil.example.com/x", "allowed"),
        ("http://127.0.0.1:99999/x", "port"),
    ],
)
async def test_a_url_not_allowed_is_a_422_naming_url(api: Api, url: str, why: str) -> None:
    answer = await admin(api).post("/webhooks", json={"url": url, "event_types": ["task.x"]})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][-1] in ("url", "event_types")
    answer = await admin(api).post(
        "/webhooks", json={"url": url, "event_types": ["customer.registered"]}
    )
    refused(answer, "url")
    assert why in answer.text


async def test_event_types_refused(api: Api, receiver: Receiver) -> None:
    for types in (["tenant.created"], ["user.added"], ["nope.*"], ["activities.webhook.created"]):
        answer = await admin(api).post(
            "/webhooks", json={"url": receiver.url, "event_types": types}
        )
        refused(answer, "event_types")


async def test_a_wildcard_host_resolving_inside_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The DNS answer decides for a host allowed by a wildcard (the resolver is replaced
    here: the test machine has no DNS for example.org)."""
    answers = {"in.example.org": ["10.1.2.3"], "out.example.org": ["93.184.215.14"]}

    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    monkeypatch.setattr(webhook_commands, "resolve", resolve)
    allowed = AllowedHosts.parse(ALLOWED)
    assert await check_url("https://out.example.org/h", allowed) == "https://out.example.org/h"
    with pytest.raises(InvalidCommand, match="internal"):
        await check_url("https://in.example.org/h", allowed)
    answers["in.example.org"] = ["::ffff:192.168.0.1"]
    with pytest.raises(InvalidCommand, match="internal"):
        await check_url("https://in.example.org/h", allowed)


async def test_only_admins_of_the_tenant(api: Api, receiver: Receiver) -> None:
    hook = await subscribe(api, receiver.url)
    for role in (Role.MANAGER, Role.SALES_REP, Role.AGENT, Role.ANALYST):
        who = api.as_user("someone", role)
        assert (await who.get("/webhooks")).status_code == 403
        assert (await who.get(f"/webhooks/{hook['id']}")).status_code == 403
        body = {"url": receiver.url, "event_types": ["customer.registered"]}
        assert (await who.post("/webhooks", json=body)).status_code == 403
        assert (await who.post(f"/webhooks/{hook['id']}/disable")).status_code == 403
    stranger = admin(api, "other")
    assert (await stranger.get(f"/webhooks/{hook['id']}")).status_code == 404
    assert (await stranger.get(f"/webhooks/{hook['id']}/dead-letters")).status_code == 404
    assert (await stranger.get(f"/webhooks/{hook['id']}/deliveries")).status_code == 404
    assert (await stranger.post(f"/webhooks/{hook['id']}/disable")).status_code == 404
    assert (
        await stranger.post(f"/webhooks/{hook['id']}/replay?from_position=1")
    ).status_code == 404
    assert (await stranger.get("/webhooks")).json()["items"] == []
    mine = (await admin(api).get("/webhooks")).json()["items"]
    assert [h["id"] for h in mine] == [hook["id"]]
    assert (await admin(api).get("/webhooks?colour=red")).status_code in (400, 422)


async def test_the_platform_delivers_in_the_background(api: Api, receiver: Receiver) -> None:
    """As ``crm up`` (and ``crm serve activities``) run it: the activities context's job."""
    hook = await subscribe(api, receiver.url)
    await register_customer(api.platform, "c1")
    for _ in range(200):
        if receiver.requests:
            break
        await asyncio.sleep(0.05)
    assert receiver.customers() == ["c1"]
    receiver.verified(hook["secret"])


async def test_the_console_page_for_admins(api: Api, receiver: Receiver) -> None:
    await console_user(api, "root", "admin")
    await console_user(api, "lin", "admin", locale="zh-CN")
    await console_user(api, "boss", "manager")
    async with own_client(api) as browser:
        csrf = await sign_in(browser, "root")
        page = await browser.get("/console/webhooks")
        assert page.status_code == 200, page.text
        assert "No webhook yet." in page.text
        assert 'href="/console/webhooks"' in page.text  # in the admin's navigation
        form = {"csrf": csrf, "url": receiver.url, "event_types": "customer.registered, sales.*"}
        added = await browser.post("/console/webhooks", data=form)
        assert added.status_code == 200, added.text
        secret = re.search(r'<code id="secret">(whsec_[^<]+)</code>', added.text)
        assert secret is not None
        assert receiver.url in added.text
        assert "customer.registered, sales.*" in added.text
        refused = await browser.post("/console/webhooks", data={**form, "url": "http://10.0.0.1/"})
        assert refused.status_code == 422
        assert "the URL" in refused.text

        (hook,) = (await admin(api).get("/webhooks")).json()["items"]
        await register_customer(api.platform, "c1")
        await deliverer(api.platform).tick(T0)
        receiver.verified(secret.group(1))  # the secret the page showed signs the deliveries
        detail = await browser.get(f"/console/webhooks/{hook['id']}")
        assert "No dead letter." in detail.text
        assert re.search(r"Delivered up to position \d+ of \d+", detail.text)
        replayed = await browser.post(
            f"/console/webhooks/{hook['id']}/replay", data={"csrf": csrf, "from_position": "1"}
        )
        assert "Saved." in (await followed(browser, replayed)).text
        disabled = await browser.post(
            f"/console/webhooks/{hook['id']}/disable", data={"csrf": csrf}
        )
        assert ">Enable<" in (await followed(browser, disabled)).text
        rotated = await browser.post(
            f"/console/webhooks/{hook['id']}/rotate-secret", data={"csrf": csrf}
        )
        new = re.search(r'<code id="secret">(whsec_[^<]+)</code>', rotated.text)
        assert new is not None
        assert new.group(1) != secret.group(1)
    async with own_client(api) as browser:
        await sign_in(browser, "lin")
        page = await browser.get("/console/webhooks")
        assert "签名请求" in page.text
        assert "已停用" in page.text
    async with own_client(api) as browser:
        await sign_in(browser, "boss")
        assert (await browser.get("/console/webhooks")).status_code == 403
        assert 'href="/console/webhooks"' not in (await browser.get("/console/")).text


async def test_no_answer_and_a_redirect_are_failures(api: Api, receiver: Receiver) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    await subscribe(api, f"http://127.0.0.1:{port}/hook")
    await register_customer(api.platform, "c1")
    d = deliverer(api.platform, max_attempts=2)
    assert (await d.tick(T0)).failed == 1
    (failing,) = d.failing.values()
    assert "ConnectError" in failing.error
    assert (await d.tick(T0 + timedelta(seconds=1))).dead_lettered == 1

    await subscribe(api, receiver.url)
    await register_customer(api.platform, "c2")
    receiver.plan = [302]
    other = deliverer(api.platform)
    report = await other.tick(T0 + timedelta(seconds=120))
    assert report.failed == 2  # c2 to the closed port, and to the receiver that redirects
    assert any(f.error == "HTTP 302" for f in other.failing.values())
