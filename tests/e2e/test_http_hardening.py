"""The HTTP layer every context shares, as an attacker and a careful client see it: security
headers on every answer, one error shape for every 4xx, unknown query parameters refused,
rate limits per user and address, a 414 for a URL too long (also from a real `crm up`)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from crm.kernel.auth import Role
from crm.kernel.errors import InvalidCommand
from crm.kernel.http.ratelimit import InMemoryRateLimits, Limit
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import Platform, open_platform
from tests.conftest import SECRET, Api
from tests.support.processes import Process
from tests.support.tenants import create_tenants

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]


def assert_error_shape(body: dict[str, Any], loc: list[Any] | None = None) -> None:
    assert isinstance(body["detail"], list), body
    assert body["detail"], body
    for item in body["detail"]:
        assert set(item) >= {"loc", "msg", "type"}, item
        assert isinstance(item["loc"], list), item
        assert isinstance(item["msg"], str), item
    assert isinstance(body["code"], str), body
    assert isinstance(body["message"], str), body
    if loc is not None:
        assert loc in [item["loc"] for item in body["detail"]], body


# --- security headers -------------------------------------------------------------------


async def test_every_answer_carries_the_security_headers(api: Api) -> None:
    boss = api.as_user("boss")
    answers = [
        await api.client.get("/health"),
        await boss.get("/customers"),
        await boss.get(f"/customers/{uuid4()}"),
        await boss.get("/customers?limit=-1"),
        await api.client.get("/customers"),
        await api.client.get("/no-such-route"),
        await boss.post("/customers", json={"name": "Ada"}),
    ]
    assert [r.status_code for r in answers] == [200, 200, 404, 422, 401, 404, 201]
    for r in answers:
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store"
        policy = r.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "server" not in r.headers


async def test_the_docs_pages_load_everything_from_the_platform_itself(api: Api) -> None:
    docs = await api.client.get("/docs")
    assert docs.status_code == 200
    policy = docs.headers["content-security-policy"]
    assert "http" not in policy  # no other host may be named
    assert "frame-ancestors 'none'" in policy
    # the page's one inline script is allowed by its hash, not by 'unsafe-inline'
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'sha256-" in script_src
    assert "unsafe-inline" not in script_src
    inline = re.findall(rb"<script>(.*?)</script>", docs.content, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0]).digest()).decode()
    assert f"'sha256-{digest}'" in script_src
    redoc = await api.client.get("/redoc")
    assert "http" not in redoc.headers["content-security-policy"]
    for page in (docs, redoc):
        assert not re.findall(rb'(?:src|href)="(?:https?:)?//', page.content), page.text
        assets = re.findall(rb'(?:src|href)="(/[^"]+)"', page.content)
        assert assets
        for asset in assets:
            answer = await api.client.get(asset.decode())
            assert answer.status_code == 200, asset
    assert (await api.client.get("/openapi.json")).status_code == 200


async def test_a_bug_is_a_500_in_the_error_shape_with_the_headers(platform: Platform) -> None:
    app = create_app(platform)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as client:
        r = await client.get("/boom")
    assert r.status_code == 500
    assert_error_shape(r.json())
    assert "a bug" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"


# --- unknown query parameters -----------------------------------------------------------


async def test_unknown_query_parameters_are_a_422_naming_each(api: Api) -> None:
    boss = api.as_user("boss")
    r = await boss.get("/customers?fmt=csv&region=EMEA&colour=red")
    assert r.status_code == 422
    body = r.json()
    assert_error_shape(body)
    assert [e["loc"] for e in body["detail"]] == [["query", "fmt"], ["query", "colour"]]
    assert {e["msg"] for e in body["detail"]} == {"unknown query parameter"}
    assert (await api.client.get("/health?verbose=1")).status_code == 422
    # parameters of nested dependencies are the route's own: min_position, limit, offset
    ok = await boss.get("/customers?min_position=0&limit=5&offset=0&sort=-created_at&q=a")
    assert ok.status_code == 200, ok.text
    customer = (await boss.post("/customers", json={"name": "Ada"})).json()
    one = await boss.get(f"/customers/{customer['id']}?min_position={customer['position']}")
    assert one.status_code == 200
    assert (await boss.get(f"/customers/{customer['id']}?fields=name")).status_code == 422


async def test_an_integer_query_parameter_beyond_64_bits_is_a_422(api: Api) -> None:
    boss = api.as_user("boss")
    for query in ("offset=1" + "0" * 24, "limit=5&offset=9223372036854775808", "min_position=1e99"):
        r = await boss.get(f"/customers?{query}")
        assert r.status_code == 422, (query, r.text)
        assert_error_shape(r.json())
    r = await boss.get("/customers?offset=1" + "0" * 24)
    assert_error_shape(r.json(), ["query", "offset"])
    assert (await boss.get("/customers?offset=1000000000")).status_code == 200  # MAX_OFFSET


# --- one error shape --------------------------------------------------------------------


async def test_every_4xx_has_the_documented_shape(api: Api) -> None:
    boss = api.as_user("boss")
    analyst = api.as_user("ann", Role.ANALYST)
    customer = (await boss.post("/customers", json={"name": "Ada"})).json()
    url = f"/customers/{customer['id']}"

    missing = await boss.get(f"/customers/{uuid4()}")
    assert missing.status_code == 404
    assert_error_shape(missing.json(), ["path", "customer_id"])
    assert missing.json()["code"] == "not_found"

    no_route = await boss.get("/nothing/here")
    assert no_route.status_code == 404
    assert_error_shape(no_route.json(), ["path"])

    wrong_method = await boss.put("/health")
    assert wrong_method.status_code == 405
    assert_error_shape(wrong_method.json())

    anonymous = await api.client.get("/customers")
    assert anonymous.status_code == 401
    assert_error_shape(anonymous.json(), ["header", "Authorization"])
    assert anonymous.headers["www-authenticate"] == "Bearer"

    refused = await analyst.post("/customers", json={"name": "Bob"})
    assert refused.status_code == 403
    assert_error_shape(refused.json())

    stale = await boss.patch(url, json={"region": "EMEA"}, headers={"If-Match": '"7"'})
    assert stale.status_code == 409
    assert_error_shape(stale.json(), ["header", "If-Match"])
    assert (stale.json()["code"], stale.json()["expected_version"]) == ("version_conflict", 7)

    owned = await boss.post(f"{url}/owner", json={"owner_id": "rep-1"})
    assert owned.status_code == 200, owned.text
    claim = await api.as_user("rep-2", Role.SALES_REP).post(f"{url}/claim")
    assert claim.status_code in (404, 409)
    assert_error_shape(claim.json())

    reused = [
        await boss.post("/customers", json={"name": name}, headers={"Idempotency-Key": "same-key"})
        for name in ("One", "Two")
    ][1]
    assert reused.status_code == 422
    assert_error_shape(reused.json(), ["header", "Idempotency-Key"])

    not_utf8 = await boss.post(
        "/customers", content=b'{"name": "\xff"}', headers={"Content-Type": "application/json"}
    )
    assert not_utf8.status_code == 422
    assert_error_shape(not_utf8.json(), ["body"])

    bad_body = await boss.post("/customers", json={"name": "x", "nonsense": 1})
    assert bad_body.status_code == 422
    assert_error_shape(bad_body.json(), ["body", "nonsense"])


async def test_a_bad_sort_points_at_the_query_parameter(api: Api) -> None:
    r = await api.as_user("boss").get("/customers?sort=shoe_size")
    assert r.status_code == 422
    assert_error_shape(r.json(), ["query", "sort"])


async def test_an_invalid_command_may_say_where_its_field_is(platform: Platform) -> None:
    app = create_app(platform)

    @app.post("/things/{thing_id}")
    async def thing(thing_id: str, which: str = "") -> None:
        if which == "header":
            raise InvalidCommand("if-match", "bad")
        if which == "path":
            raise InvalidCommand("thing_id", "bad")
        if which == "explicit":
            raise InvalidCommand("lines.0.sku", "bad", location="body")
        raise InvalidCommand("which", "bad")

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm.test"
    ) as client:
        token = platform.runtime.tokens.issue("boss", Role.MANAGER, "default")
        h = {"Authorization": f"Bearer {token}"}
        locs = {
            which: (await client.post(f"/things/t1?which={which}", headers=h)).json()["detail"][0][
                "loc"
            ]
            for which in ("query", "path", "explicit")
        }
    assert locs == {
        "query": ["query", "which"],
        "path": ["path", "thing_id"],
        "explicit": ["body", "lines", "0", "sku"],
    }


# --- rate limits ------------------------------------------------------------------------


@pytest.fixture
def strict(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "rate_limit_user_commands": "0.1:5",
            "rate_limit_user_reads": "100:20",
            "rate_limit_address_reads": "5:30",
            "rate_limit_user_exports": "1:2",
            "rate_limit_address_auth_failures": "1:10",
        }
    )


@pytest.fixture
async def strict_api(strict: Settings) -> AsyncIterator[Api]:
    platform = open_platform(strict, contexts=_customer_only())
    await create_tenants(platform)
    app = create_app(platform)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1234))
            async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as c:
                yield Api(c, platform)
    finally:
        await platform.close()


def _customer_only() -> tuple[Any, ...]:
    from crm.platform.bootstrap import context_named

    return (context_named("customer"),)


async def test_commands_past_a_users_limit_are_a_429_with_retry_after(strict_api: Api) -> None:
    ada = strict_api.as_user("ada")
    answers = [await ada.post("/customers", json={"name": f"C{i}"}) for i in range(8)]
    assert [r.status_code for r in answers[:5]] == [201] * 5
    limited = answers[5]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert_error_shape(limited.json(), ["request"])
    assert limited.json()["code"] == "rate_limited"
    assert limited.headers["x-content-type-options"] == "nosniff"
    # another user, and another tenant's user of the same name, have their own allowance
    assert (
        await strict_api.as_user("bob").post("/customers", json={"name": "B"})
    ).status_code == 201
    other = strict_api.as_user("ada", tenant="other")
    assert (await other.post("/customers", json={"name": "T"})).status_code == 201
    # reads are another group; health is never limited
    assert (await ada.get("/customers")).status_code == 200
    health = [(await strict_api.client.get("/health")).status_code for _ in range(50)]
    assert set(health) == {200}
    # (it comes back at the rate: test_the_token_bucket_refills_at_its_rate)


async def test_an_address_is_limited_whoever_it_claims_to_be(strict_api: Api) -> None:
    codes = [
        (await strict_api.as_user(f"user-{i}").get("/customers")).status_code for i in range(40)
    ]
    assert codes[:30] == [200] * 30
    assert 429 in codes[30:]


async def test_exports_have_their_own_tighter_limit(strict_api: Api) -> None:
    ada = strict_api.as_user("ada")
    # the group is known by `format=csv` or `format=xlsx` before routing
    formats = ("csv", "xlsx", "csv", "xlsx")
    codes = [(await ada.get(f"/customers?format={f}")).status_code for f in formats]
    assert codes == [200, 200, 429, 429]
    assert (await ada.get("/customers")).status_code == 200


async def test_a_burst_of_bad_tokens_is_throttled_per_address(api: Api) -> None:
    """With the default settings: 100 bad-token requests at once are not all answered."""
    bad = {"Authorization": "Bearer not.a.token"}
    answers = await asyncio.gather(*(api.client.get("/customers", headers=bad) for _ in range(100)))
    codes = [r.status_code for r in answers]
    assert set(codes) == {401, 429}
    assert codes.count(401) <= 55
    assert codes.count(429) >= 40
    limited = next(r for r in answers if r.status_code == 429)
    assert_error_shape(limited.json())
    assert "retry-after" in limited.headers
    # a valid token from the same address is not locked out
    assert (await api.as_user("boss").get("/customers")).status_code == 200


async def test_rate_limits_can_be_switched_off(settings: Settings) -> None:
    off = settings.model_copy(
        update={"rate_limit_enabled": False, "rate_limit_address_auth_failures": "1:1"}
    )
    platform = open_platform(off, contexts=_customer_only())
    app = create_app(platform)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as c:
                codes = {(await c.get("/customers")).status_code for _ in range(20)}
    finally:
        await platform.close()
    assert codes == {401}


async def test_the_token_bucket_refills_at_its_rate() -> None:
    now = [100.0]
    limits = InMemoryRateLimits(clock=lambda: now[0])
    limit = Limit(rate=10, burst=3)
    assert [await limits.take([("k", limit)]) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await limits.take([("k", limit)])
    assert wait == pytest.approx(0.1)
    now[0] += 0.1
    assert await limits.take([("k", limit)]) == 0.0
    assert await limits.take([("k", limit)]) > 0
    now[0] += 10
    assert [await limits.take([("k", limit)]) for _ in range(3)] == [0.0, 0.0, 0.0]
    # a request refused by one key is still counted by the others (the address made it)
    now[0] += 10
    assert [await limits.take([("k", limit)]) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await limits.take([("address", Limit(1, 5)), ("k", limit)]) > 0
    assert [await limits.take([("address", Limit(1, 5))]) for _ in range(4)] == [0.0] * 4
    assert await limits.take([("address", Limit(1, 5))]) > 0


def test_limits_are_rate_and_burst_or_off() -> None:
    assert Limit.parse("50:200") == Limit(50.0, 200)
    assert Limit.parse("2.5/s:10") == Limit(2.5, 10)
    assert Limit.parse("off") is None
    with pytest.raises(ValueError, match="RATE:BURST"):
        Limit.parse("fast")
    with pytest.raises(ValueError, match="rate_limit_user_reads"):
        Settings(rate_limit_user_reads="lots")


# --- URLs too long ----------------------------------------------------------------------


async def test_a_url_over_the_limit_is_a_414(api: Api) -> None:
    boss = api.as_user("boss")
    r = await boss.get("/customers?q=" + "a" * 9000)
    assert r.status_code == 414
    assert_error_shape(r.json(), ["request", "url"])
    assert (await boss.get("/customers?q=" + "a" * 4000)).status_code == 422  # q's own bound


def _raw_request(url: str, target: str, *, timeout: float = 20) -> bytes:
    """Send a GET for ``target`` by hand (httpx would refuse a 1 MB URL), return the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        answer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


@pytest.fixture(scope="module")
def crm_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    d: Path = tmp_path_factory.mktemp("crm-up")
    env = {**os.environ, "CRM_DATA_DIR": str(d / "data"), "CRM_SECRET": SECRET}
    env.pop("CRM_BUS", None)
    process = Process(["up"], env, d / "crm-up.log")
    process.start(timeout=90)
    try:
        yield process
    finally:
        process.stop()


def test_crm_up_answers_a_1_mb_url_with_a_414(crm_up: Process) -> None:
    answer = _raw_request(crm_up.url, "/customers?q=" + "a" * 1_000_000)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414"), answer[:200]
    assert b'"uri_too_long"' in body
    assert b'"detail"' in body
    # one over the app's limit but within what the server parses: the app's 414
    answer = _raw_request(crm_up.url, "/customers?q=" + "a" * 20_000)
    assert answer.startswith(b"HTTP/1.1 414"), answer[:200]
    assert b'"loc":["request","url"]' in answer


def test_crm_up_has_no_server_banner_and_sends_the_headers(crm_up: Process) -> None:
    r = httpx.get(f"{crm_up.url}/health")
    assert r.status_code == 200
    assert "server" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff"
    anonymous = httpx.get(f"{crm_up.url}/customers")
    assert anonymous.status_code == 401
    assert "server" not in anonymous.headers
