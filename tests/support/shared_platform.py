"""One platform for a whole test module, each test in a tenant of its own.

Starting a platform with every context costs 1-3 s (FastAPI builds each route's models anew
for every app), so a module of thirty tests spent most of its time starting platforms. A
module whose tests need no fresh store and no clock of their own shares one: the ``api``
fixture below gives each test a new tenant (``t-<n>``, created through the command bus like
any other), and its users speak for that tenant unless a test names another. Tenants keep
every record apart (lists, totals, SKUs, ids), so a test sees only what it wrote.

A module opts in with::

    from tests.support.shared_platform import TenantApi, in_new_tenant, module_api  # noqa: F401

    pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


    @pytest_asyncio.fixture(loop_scope="module")
    async def api(module_api: Api) -> TenantApi:  # noqa: F811
        return await in_new_tenant(module_api)

Not for tests that move the clock, rebuild or stop projections, count events in the whole
store, or need the tenants of :data:`tests.support.tenants.TEST_TENANTS` empty."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import CONTEXTS, Platform, context_named, ensure_tenant, open_platform
from tests.conftest import SECRET, T0, Api, UserClient
from tests.support.tenants import create_tenants

_numbers = itertools.count(1)


class TenantApi(Api):
    """An :class:`Api` whose users belong to ``tenant`` unless told otherwise."""

    def __init__(self, client: httpx.AsyncClient, platform: Platform, tenant: str) -> None:
        super().__init__(client, platform)
        self.tenant = tenant

    def headers(
        self,
        user: str,
        role: Role | str = Role.MANAGER,
        tenant: str | None = None,
        team: str | None = None,
    ) -> dict[str, str]:
        return super().headers(user, role, tenant or self.tenant, team)

    def as_user(
        self,
        user: str,
        role: Role | str = Role.MANAGER,
        tenant: str | None = None,
        team: str | None = None,
    ) -> UserClient:
        return UserClient(self.client, self.headers(user, role, tenant, team))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_api(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Api]:
    """The module's platform, the contexts its ``contexts`` marker names running (else all),
    behind one HTTP client; its tests run in the module's event loop
    (``pytest.mark.asyncio(loop_scope="module")``)."""
    data = tmp_path_factory.mktemp("shared-platform") / "data"
    settings = Settings(data_dir=data, secret=SECRET, read_wait_seconds=5.0)
    marker = request.node.get_closest_marker("contexts")  # the module's, as for ``platform``
    contexts = CONTEXTS if marker is None else tuple(context_named(n) for n in marker.args)
    platform = open_platform(settings, clock=ManualClock(T0), contexts=contexts)
    try:
        await create_tenants(platform)
        app = create_app(platform)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as c:
                yield Api(c, platform)
    finally:
        await platform.close()


async def in_new_tenant(module_api: Api) -> TenantApi:
    """The module's platform as seen from a tenant created for this test."""
    tenant = f"t-{next(_numbers)}"
    assert await ensure_tenant(module_api.platform, tenant, operator="tests")
    return TenantApi(module_api.client, module_api.platform, tenant)
