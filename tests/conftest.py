"""Fixtures shared by every layer of tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from crm.events import REGISTRY, EventMetadata, NewEvent
from crm.kernel.adapters.sqlite.key_store import SqliteKeyStore
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.codec import EventCodec
from crm.kernel.context import BoundedContext
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import CONTEXTS, Platform, context_named, open_platform
from tests.support.tenants import create_tenants

SECRET = "test-secret-" + "x" * 40
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "contexts(*names): the only bounded contexts the test's platform runs (routes,"
        " projections, reactions, jobs), e.g. contexts('customer', 'sales'); unmarked: all",
    )


def new_event(event_type: str = "test.happened", **payload: Any) -> NewEvent:
    return NewEvent(
        event_id=uuid4(),
        event_type=event_type,
        schema_version=1,
        payload=payload or {"n": 1},
        occurred_at=T0,
        metadata=EventMetadata(tenant="t1", actor="tester", correlation_id=uuid4()),
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # a read waits for its position up to 5 s: only a read model that lags waits at all, and
    # a loaded machine (two test processes on two cores) may lag for more than the default 2 s
    return Settings(data_dir=tmp_path / "data", secret=SECRET, read_wait_seconds=5.0)


@pytest.fixture
async def codec(tmp_path: Path) -> AsyncIterator[EventCodec]:
    keys = SqliteKeyStore(tmp_path / "keys.db")
    yield EventCodec(REGISTRY, keys)
    await keys.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def contexts(request: pytest.FixtureRequest) -> tuple[BoundedContext, ...]:
    """The contexts named by the test's (or its module's) ``contexts`` marker, else all: a
    platform that starts only what a test uses sets up faster and proves the same."""
    marker = request.node.get_closest_marker("contexts")
    if marker is None:
        return CONTEXTS
    if not marker.args:
        raise pytest.UsageError("@pytest.mark.contexts needs at least one context name")
    return tuple(context_named(name) for name in marker.args)


@pytest.fixture
async def platform(
    settings: Settings, clock: ManualClock, contexts: tuple[BoundedContext, ...]
) -> AsyncIterator[Platform]:
    p = open_platform(settings, clock=clock, contexts=contexts)
    yield p
    await p.close()


class Api:
    """An HTTP client of the whole platform that can speak as any user of the tenants the
    fixture created (``tests.support.tenants.TEST_TENANTS``)."""

    def __init__(self, client: httpx.AsyncClient, platform: Platform) -> None:
        self.client = client
        self.platform = platform

    def headers(
        self,
        user: str,
        role: Role | str = Role.MANAGER,
        tenant: str = "default",
        team: str | None = None,
    ) -> dict[str, str]:
        token = self.platform.runtime.tokens.issue(user, Role(role), tenant, team=team)
        return {"Authorization": f"Bearer {token}"}

    def as_user(
        self,
        user: str,
        role: Role | str = Role.MANAGER,
        tenant: str = "default",
        team: str | None = None,
    ) -> UserClient:
        return UserClient(self.client, self.headers(user, role, tenant, team))


class UserClient:
    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self._client = client
        self._headers = headers

    def _merge(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs["headers"] = {**self._headers, **kwargs.get("headers", {})}
        return kwargs

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self._client.get(url, **self._merge(kwargs))

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self._client.post(url, **self._merge(kwargs))

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self._client.put(url, **self._merge(kwargs))

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self._client.patch(url, **self._merge(kwargs))

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self._client.delete(url, **self._merge(kwargs))


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[Api]:
    await create_tenants(platform)
    app = create_app(platform)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as client:
            yield Api(client, platform)


@pytest.fixture
def as_user(api: Api) -> Callable[..., UserClient]:
    return api.as_user
