"""The churn monitor calibrates the score on the tenant's own history, through the real
routes: with enough customers who left and stayed it fits, the leavers score high and the
regulars low with the reasons in plain words; with too little history it keeps the documented
rules and says why."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from crm.analytics.churn.monitor import ChurnMonitor
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.context import BoundedContext
from crm.platform.bootstrap import CONTEXTS, Platform
from tests.conftest import T0, Api


@pytest.fixture
def contexts() -> tuple[BoundedContext, ...]:
    return tuple(replace(c, jobs=None) if c.name == "analytics" else c for c in CONTEXTS)


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def company(api: Api, clock: ManualClock, customers: int) -> tuple[list[str], list[str]]:
    """Over 300 days: regulars order every 20 to 30 days to the end; leavers did the same
    until somewhere between day 60 and day 180, then never again. Returns (regulars,
    leavers); the clock at day 300."""
    boss = api.as_user("boss")
    rep = api.as_user("rep-1", Role.SALES_REP)
    product = {"sku": "BOX", "name": "Box", "list_price": {"amount": "100", "currency": "EUR"}}
    await ok(await boss.post("/products", json=product), 201)
    regulars: list[str] = []
    leavers: list[str] = []
    for i in range(customers):
        body = {"name": f"Buyer {i}", "owner_id": "rep-1", "confirm_distinct": True}
        cid = str((await ok(await boss.post("/customers", json=body), 201))["id"])
        gap = 20 + i % 11
        stop = 300 if i % 2 == 0 else 60 + (i * 37) % 120
        (regulars if i % 2 == 0 else leavers).append(cid)
        day = i % 7
        while day < stop:
            clock.set(T0 + timedelta(days=day))
            order = {
                "customer_id": cid,
                "currency": "EUR",
                "lines": [{"sku": "BOX", "quantity": "1"}],
            }
            await ok(await rep.post("/orders", json=order), 201)
            day += gap
    clock.set(T0 + timedelta(days=300))
    return regulars, leavers


async def caught_up(platform: Platform, api: Api) -> None:
    head = await platform.store.head_position()
    analyst = api.as_user("ann", Role.ANALYST)
    r = await analyst.get("/analytics/customers", params={"min_position": str(head)})
    assert r.status_code == 200, r.text


async def test_with_enough_history_the_score_is_calibrated(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    regulars, leavers = await company(api, clock, 60)
    await caught_up(platform, api)
    monitor = ChurnMonitor(platform.runtime)
    report = await monitor.tick(clock.now())
    assert report.failed == ()
    assert report.calibrated == ("default",)
    assert report.calibration_skipped == {}
    assert (await monitor.tick(clock.now())).calibrated == ()  # once a day
    await caught_up(platform, api)
    manager = api.as_user("boss")
    page = await ok(await manager.get("/analytics/customers", params={"limit": "100"}))
    view = await ok(await manager.get(f"/analytics/customers/{leavers[0]}/360"))
    assert view["churn"]["level"] == "high"
    assert view["churn"]["reasons"][0]["code"] == "purchase_recency"
    assert view["churn"]["reasons"][0]["text"].startswith("no order for")
    scores = {}
    for cid in regulars + leavers:
        doc = await ok(await manager.get(f"/analytics/customers/{cid}/360"))
        scores[cid] = doc["churn"]["score"]
    assert min(scores[c] for c in leavers) > max(scores[c] for c in regulars)
    assert page["total"] == 60


async def test_with_too_little_history_the_rules_assess_and_say_why(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    await company(api, clock, 12)
    await caught_up(platform, api)
    report = await ChurnMonitor(platform.runtime).tick(clock.now())
    assert report.calibrated == ()
    reason = report.calibration_skipped["default"]
    assert reason.startswith("churn score not calibrated, documented rules used")
    assert "12 customers with history before the cut-off, at least 50 are needed" in reason
