"""Rate limits shared by replicas in PostgreSQL: the same answers as the in-process store, one
allowance for every replica counting the same key (never more than the burst, even when they
race), and a platform whose two apps share one limit. Runs when ``CRM_TEST_POSTGRES_URL`` names
a database; each test gets a fresh schema, dropped afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from crm.kernel.auth import Role
from crm.kernel.http.ratelimit import Limit, open_rate_limit_store
from crm.kernel.http.ratelimit_postgres import PostgresRateLimits
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import context_named, open_platform
from tests.conftest import SECRET
from tests.support.postgres import URL, fresh_schema, needs_postgres
from tests.support.tenants import create_tenants

pytestmark = [pytest.mark.contract, needs_postgres]


@pytest.fixture
def schema() -> Iterator[str]:
    yield from fresh_schema("test_rate_limits")


@pytest.fixture
async def replicas(schema: str) -> AsyncIterator[list[PostgresRateLimits]]:
    stores = [PostgresRateLimits(URL, schema=schema) for _ in range(3)]
    yield stores
    for store in stores:
        await store.close()


async def test_a_burst_then_refusals_with_the_wait(replicas: list[PostgresRateLimits]) -> None:
    store = replicas[0]
    limit = Limit(rate=2, burst=3)
    assert [await store.take([("k", limit)]) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await store.take([("k", limit)])
    assert 0.3 < wait <= 0.5
    await asyncio.sleep(wait + 0.05)
    assert await store.take([("k", limit)]) == 0.0
    assert await store.take([("other", limit)]) == 0.0


async def test_replicas_racing_on_one_key_never_exceed_the_burst(
    replicas: list[PostgresRateLimits],
) -> None:
    limit = Limit(rate=0.01, burst=25)  # no refill worth speaking of during the test
    answers = await asyncio.gather(
        *(replicas[i % 3].take([("shared", limit), (f"own-{i % 3}", limit)]) for i in range(90))
    )
    assert sum(1 for wait in answers if wait == 0.0) == 25
    # each replica's own key was counted for every request it made, refused or not... up to its
    # burst: 30 requests each, 25 allowed
    for i in range(3):
        assert await replicas[i].take([(f"own-{i}", limit)]) > 0


async def test_two_apps_share_one_limit(schema: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        secret=SECRET,
        rate_limit_store=f"{URL}?schema={schema}",
        rate_limit_user_commands="0.01:4",
    )
    assert isinstance(open_rate_limit_store(settings.rate_limit_store), PostgresRateLimits)
    platform = open_platform(settings, contexts=(context_named("customer"),))
    await create_tenants(platform)
    apps = [create_app(platform), create_app(platform)]
    token = platform.runtime.tokens.issue("ada", Role.MANAGER, "default")
    headers = {"Authorization": f"Bearer {token}"}
    codes = []
    try:
        async with apps[0].router.lifespan_context(apps[0]):
            clients = [
                httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://crm.test")
                for a in apps
            ]
            for i in range(6):
                r = await clients[i % 2].post("/customers", json={"name": f"C{i}"}, headers=headers)
                codes.append(r.status_code)
            for client in clients:
                await client.aclose()
    finally:
        await apps[1].state.rate_limits.close()
        await platform.close()
    assert codes == [201, 201, 201, 201, 429, 429]
