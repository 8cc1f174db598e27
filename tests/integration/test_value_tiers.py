"""The value monitor publishes each customer's value tier as ``analytics.value_tier.changed``:
the tiers ``GET /analytics/value`` shows, once per change, however often it ticks, restarts or
runs twice; a tenant with too little history is skipped, saying so."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crm.analytics.application.value_queries import ValueFilter, ValueQueries
from crm.analytics.application.value_tiers import ValueTierMonitor
from crm.events.analytics import ValueTierChanged
from crm.kernel.auth import Actor, Role
from crm.kernel.clock import ManualClock
from crm.kernel.context import BoundedContext
from crm.platform.bootstrap import CONTEXTS, Platform
from tests.conftest import Api
from tests.integration.test_customer_value import company
from tests.support.reads import caught_up


@pytest.fixture
def contexts() -> tuple[BoundedContext, ...]:
    return tuple(replace(c, jobs=None) if c.name == "analytics" else c for c in CONTEXTS)


async def tier_events(platform: Platform) -> list[ValueTierChanged]:
    out: list[ValueTierChanged] = []
    async for page in platform.store.read_all(0, categories={"valuetier"}):
        for event in await platform.runtime.codec.decode(page):
            assert isinstance(event, ValueTierChanged)
            out.append(event)
    return out


async def test_the_tiers_are_published_once_per_change(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    monitor = ValueTierMonitor(platform.runtime)
    assert (await monitor.tick(clock.now())).recorded == ()  # nobody yet
    ids = await company(api, clock)
    # the list and the monitor read the same read models: both once they hold every order
    await caught_up(platform, *(p.name for p in platform.projections))
    now = clock.now()
    boss = Actor(id="boss", tenant="default", role=Role.ADMIN)
    shown = await ValueQueries(platform.runtime).value(
        boss, ValueFilter(), limit=100, offset=0, now=now
    )
    tiers = {r["customer_id"]: r["tier"] for r in shown["items"]}
    assert set(tiers) == set(ids)

    report = await monitor.tick(now)
    assert sorted(report.recorded) == sorted(ids)
    events = await tier_events(platform)
    assert {e.customer_id: e.tier.value for e in events} == tiers
    assert all(e.previous_tier is None and e.changed_at == now for e in events)

    # the same day again, a restarted monitor, a second one: nothing new
    assert (await monitor.tick(now)).recorded == ()
    assert (await ValueTierMonitor(platform.runtime).tick(now)).recorded == ()
    assert len(await tier_events(platform)) == len(ids)
