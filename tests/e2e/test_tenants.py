"""Tenants are records an operator creates and deactivates: a token of a tenant that does not
exist, or was deactivated, is refused (401) and counted as an auth failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest

from crm.events import EventEnvelope
from crm.kernel.access import SYSTEM_ROLE
from crm.kernel.adapters.memory.event_store import InMemoryEventStore
from crm.kernel.auth import Role
from crm.kernel.codec import EventCodec
from crm.kernel.commands import CommandBus
from crm.kernel.errors import Forbidden, InvalidCommand, RuleViolated
from crm.kernel.event_store import EventStore
from crm.kernel.repository import CommandContext
from crm.kernel.settings import Settings
from crm.kernel.tenants import (
    ActivateTenant,
    CreateTenant,
    DeactivateTenant,
    TenantDirectory,
    TenantStatus,
    operator_context,
    tenant_commands,
    tenant_records,
)
from crm.platform.app import create_app
from crm.platform.bootstrap import (
    Platform,
    context_named,
    ensure_first_tenant,
    ensure_tenant,
    open_platform,
)
from tests.conftest import T0, Api
from tests.support.tenants import create_tenants

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]


async def operator(platform: Platform, command: object) -> None:
    tenant: str = getattr(command, "tenant_id")  # noqa: B009
    await platform.runtime.commands.execute(
        command, operator_context(tenant, "ops", platform.runtime.clock.now())
    )


async def test_a_token_of_a_tenant_that_does_not_exist_is_a_401(api: Api) -> None:
    r = await api.as_user("boss", tenant="nowhere").get("/customers")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"
    assert "tenant 'nowhere' does not exist" in r.json()["message"]
    assert (
        await api.as_user("boss", tenant="nowhere").post("/customers", json={"name": "X"})
    ).status_code == 401
    assert (await api.as_user("boss", tenant="acme").get("/customers")).status_code == 200


async def test_a_deactivated_tenant_is_refused_until_it_is_activated(api: Api) -> None:
    acme = api.as_user("boss", tenant="acme")
    assert (await acme.post("/customers", json={"name": "Ada"})).status_code == 201
    await operator(api.platform, DeactivateTenant("acme", reason="unpaid"))
    # at once in the process that recorded it
    r = await acme.get("/customers")
    assert r.status_code == 401
    assert "tenant 'acme' is deactivated" in r.json()["message"]
    assert (await api.as_user("boss", tenant="globex").get("/customers")).status_code == 200
    await operator(api.platform, ActivateTenant("acme"))
    r = await acme.get("/customers")
    assert r.status_code == 200
    assert r.json()["total"] == 1  # its data stayed


async def test_tokens_of_unknown_tenants_count_as_auth_failures(settings: Settings) -> None:
    strict = settings.model_copy(update={"rate_limit_address_auth_failures": "1:10"})
    platform = open_platform(strict, contexts=(context_named("customer"),))
    await create_tenants(platform)
    app = create_app(platform)
    token = platform.runtime.tokens.issue("boss", Role.ADMIN, "ghost")
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("10.0.0.9", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as c:
                ghost = {"Authorization": f"Bearer {token}"}
                answers = [await c.get("/customers", headers=ghost) for _ in range(12)]
    finally:
        await platform.close()
    assert [r.status_code for r in answers] == [401] * 10 + [429] * 2
    assert answers[-1].json()["group"] == "auth_failures"


async def test_only_the_system_manages_tenants(platform: Platform) -> None:
    bus = platform.runtime.commands
    admin = CommandContext(actor="root", role=Role.ADMIN.value, tenant="acme", now=T0)
    with pytest.raises(Forbidden):
        await bus.execute(CreateTenant("acme"), admin)
    # an operator's command names the tenant it is run for
    with pytest.raises(InvalidCommand):
        await bus.execute(
            CreateTenant("acme"),
            CommandContext(actor="ops", role=SYSTEM_ROLE, tenant="globex", now=T0),
        )
    with pytest.raises(InvalidCommand, match="tenant_id"):
        await operator(platform, CreateTenant("Not A Tenant!"))
    await operator(platform, CreateTenant("acme", "Acme Inc"))
    with pytest.raises(RuleViolated, match="exists already"):
        await operator(platform, CreateTenant("acme"))
    with pytest.raises(InvalidCommand, match="no tenant 'ghost'"):
        await operator(platform, DeactivateTenant("ghost"))
    assert [(r.id, r.name, r.status) for r in await tenant_records(platform.store)] == [
        ("acme", "Acme Inc", TenantStatus.ACTIVE)
    ]


async def test_the_first_start_creates_the_default_tenant_once(platform: Platform) -> None:
    assert await ensure_first_tenant(platform) == "default"
    assert await ensure_first_tenant(platform) is None
    await operator(platform, DeactivateTenant("default"))
    # a deactivated default tenant stays deactivated
    assert await ensure_first_tenant(platform) is None
    assert not await ensure_tenant(platform, "default")
    assert await platform.runtime.tenants.status("default") is TenantStatus.DEACTIVATED


class CountingStore:
    """An event store that counts the tenant streams read."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.reads = 0

    async def read_stream(self, stream_id: str, after_version: int = -1) -> list[EventEnvelope]:
        self.reads += 1
        await asyncio.sleep(0.01)
        return await self.store.read_stream(stream_id, after_version)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


@pytest.fixture
async def store() -> AsyncIterator[InMemoryEventStore]:
    s = InMemoryEventStore()
    yield s
    await s.close()


async def test_a_tenant_is_read_once_per_ttl_and_a_change_elsewhere_is_seen_within_it(
    store: InMemoryEventStore, codec: EventCodec
) -> None:
    now = [0.0]
    counting = CountingStore(store)
    directory = TenantDirectory(counting, ttl=5.0, clock=lambda: now[0])  # type: ignore[arg-type]
    elsewhere = CommandBus(store, codec, tenant_commands())  # another process: no cache here
    await elsewhere.execute(CreateTenant("acme"), operator_context("acme", "ops", T0))

    statuses: Sequence[TenantStatus] = await asyncio.gather(
        *(directory.status("acme") for _ in range(50))
    )
    assert set(statuses) == {TenantStatus.ACTIVE}
    assert counting.reads == 1  # fifty requests at once, one read
    await elsewhere.execute(DeactivateTenant("acme"), operator_context("acme", "ops", T0))
    now[0] = 4.9
    assert await directory.status("acme") is TenantStatus.ACTIVE  # within the bound
    assert counting.reads == 1
    now[0] = 5.1
    assert await directory.status("acme") is TenantStatus.DEACTIVATED
    assert counting.reads == 2
    # ids no tenant can have are never read
    assert await directory.status("../etc") is TenantStatus.UNKNOWN
    assert await directory.status("x" * 500) is TenantStatus.UNKNOWN
    assert counting.reads == 2
