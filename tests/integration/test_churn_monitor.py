"""The churn monitor on the real platform, fed through the real HTTP routes, with the clock
moved by hand over months: a regular buyer who stops ordering goes from low to high risk with
the reason in plain words and is won back by a new order; a complainer is warned about;
a change of level is recorded once across ticks, a restart and two monitors at once; the
churn report counts the loss and the win-back; and the rebuilt 360° view equals the
incrementally built one."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest

from crm.analytics.churn.monitor import ACTOR, ChurnMonitor
from crm.analytics.projections.customer_360_models import CUSTOMERS, Customer360Projection
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.context import BoundedContext
from crm.kernel.projection import rebuild
from crm.kernel.read_store import Query
from crm.platform.bootstrap import CONTEXTS, Platform
from tests.conftest import T0, Api, UserClient


@pytest.fixture
def contexts() -> tuple[BoundedContext, ...]:
    """Every context, the analytics one without its jobs: the monitor is ticked by hand
    here, on a clock moved by hand (the platform's own follows every event)."""
    return tuple(replace(c, jobs=None) if c.name == "analytics" else c for c in CONTEXTS)


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def caught_up(
    platform: Platform, client: UserClient, url: str = "/analytics/customers"
) -> Any:
    """GET ``url`` once the 360° view has applied everything in the store."""
    head = await platform.store.head_position()
    path, _, query = url.partition("?")
    r = await client.get(path, params=[*parse_qsl(query), ("min_position", str(head))])
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return r


async def register(boss: UserClient, name: str, owner: str = "rep-1") -> str:
    body = {"name": name, "owner_id": owner, "region": "north"}
    return str((await ok(await boss.post("/customers", json=body), 201))["id"])


async def order(rep: UserClient, customer_id: str) -> None:
    body = {
        "customer_id": customer_id,
        "currency": "EUR",
        "lines": [{"sku": "BOX", "quantity": "1"}],
    }
    await ok(await rep.post("/orders", json=body), 201)


async def complain(agent: UserClient, customer_id: str) -> None:
    body = {
        "customer_id": customer_id,
        "kind": "complaint",
        "channel": "phone",
        "priority": "high",
        "subject": "Late delivery",
        "description": "The parcel came a week late.",
    }
    await ok(await agent.post("/tickets", json=body), 201)


async def risk_events(platform: Platform, customer_id: str, kind: str) -> list[Any]:
    stream = await platform.store.read_stream(f"churnrisk-{customer_id}")
    return [e for e in stream if e.event_type == f"analytics.churn_risk.{kind}"]


async def snapshot(platform: Platform) -> dict[str, Any]:
    page = await platform.read_store.find(CUSTOMERS, Query(limit=10_000))
    return {d["id"]: d for d in page.items}


async def history(api: Api, clock: ManualClock) -> tuple[str, str]:
    """A regular buyer ordering every 30 days for five months, and a one-order customer who
    complains three times in the last days; returns their ids, the clock a day after."""
    boss = api.as_user("boss")
    rep = api.as_user("rep-1", Role.SALES_REP)
    agent = api.as_user("ann", Role.AGENT)
    product = {"sku": "BOX", "name": "Box", "list_price": {"amount": "100", "currency": "EUR"}}
    await ok(await boss.post("/products", json=product), 201)
    regular = await register(boss, "Rita Regular")
    complainer = await register(boss, "Carl Complainer")
    for month in range(6):
        clock.set(T0 + timedelta(days=30 * month))
        await order(rep, regular)
    clock.set(T0 + timedelta(days=140))
    await order(rep, complainer)
    for day in (141, 145, 149):
        clock.set(T0 + timedelta(days=day))
        await complain(agent, complainer)
    clock.set(T0 + timedelta(days=151))
    return regular, complainer


async def test_a_buyer_who_stops_ordering_goes_high_once_and_is_won_back(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    regular, complainer = await history(api, clock)
    analyst = api.as_user("ann", Role.ANALYST)
    await caught_up(platform, analyst)
    monitor = ChurnMonitor(platform.runtime)

    first = await monitor.tick(clock.now())
    assert first.failed == ()
    assert first.fitted == ()
    assert "2 customers with orders, at least 20" in first.fit_skipped["default"]
    assert set(first.recorded) == {regular, complainer}
    assert first.level_changes == ((complainer, None, "medium"),)
    warnings = (await caught_up(platform, analyst, "/analytics/churn/warnings")).json()
    [warned] = warnings["items"]
    assert (warned["customer_id"], warned["level"]) == (complainer, "medium")
    assert [r["text"] for r in warned["reasons"]] == ["3 complaints in 30 days", "3 open tickets"]
    view = (await caught_up(platform, analyst, f"/analytics/customers/{regular}/360")).json()
    assert (view["churn"]["level"], view["churn"]["reasons"]) == ("low", [])

    # Five months of silence: the regular buyer's rhythm says they are gone.
    clock.set(T0 + timedelta(days=150 + 200))
    await caught_up(platform, analyst)
    gone = await monitor.tick(clock.now())
    assert (regular, "low", "high") in gone.level_changes
    assert (await monitor.tick(clock.now())).recorded == ()  # the same verdict: nothing new
    restarted = await ChurnMonitor(platform.runtime).tick(clock.now())
    assert restarted.recorded == ()
    twins = await asyncio.gather(
        ChurnMonitor(platform.runtime).tick(clock.now()),
        ChurnMonitor(platform.runtime).tick(clock.now()),
    )
    assert all(t.recorded == () and t.failed == () for t in twins)
    [changed] = await risk_events(platform, regular, "level_changed")
    assert (changed.payload["previous_level"], changed.payload["level"]) == ("low", "high")
    assert changed.actor == ACTOR
    [assessed] = [
        e for e in await risk_events(platform, regular, "assessed") if e.payload["level"] == "high"
    ]
    reasons = [r["text"] for r in assessed.payload["reasons"]]
    assert reasons[0] == "no order for 200 days, usually orders every 30"
    assert assessed.payload["score"] >= 70

    # A new order wins them back; the report counts the loss and the win-back.
    # Later the same day: only the customer whose view changed is re-assessed.
    clock.advance(timedelta(hours=1))
    await order(api.as_user("rep-1", Role.SALES_REP), regular)
    await caught_up(platform, analyst)
    back = await monitor.tick(clock.now())
    assert back.assessed == (regular,)
    assert back.level_changes == ((regular, "high", "low"),)
    report = (await caught_up(platform, analyst, "/analytics/churn/report")).json()
    [loss] = [row for row in report["losses"] if row["customer_id"] == regular]
    assert loss["lost_at"].startswith((T0 + timedelta(days=350)).date().isoformat())
    assert loss["stage"] == "loyal"
    assert loss["won_back_at"] is not None
    assert loss["days_from_first_contact"] == 350
    assert loss["reason_codes"][0] == "purchase_recency"
    assert {"code": "purchase_recency", "lost": 1, "share": 1.0} in report["reasons"]
    month = loss["period"]
    assert {"period": month, "lost": 1, "won_back": 1} in report["periods"]
    as_csv = await caught_up(platform, analyst, "/analytics/churn/report?format=csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["customer_id"] for r in rows] == [regular]
    assert rows[0]["stage"] == "loyal"

    # The rebuilt view is the incremental one.
    await caught_up(platform, analyst)
    incremental = await snapshot(platform)
    await rebuild(
        Customer360Projection(), platform.store, platform.read_store, platform.runtime.codec
    )
    assert await snapshot(platform) == incremental
    assert incremental[regular]["churn_history"][-1]["win_back"] is True


async def test_with_enough_buyers_the_model_is_fitted_once_a_day_and_used(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    boss = api.as_user("boss")
    rep = api.as_user("rep-1", Role.SALES_REP)
    product = {"sku": "BOX", "name": "Box", "list_price": {"amount": "100", "currency": "EUR"}}
    await ok(await boss.post("/products", json=product), 201)
    customers = [await register(boss, f"Buyer {i}") for i in range(24)]
    for i, customer in enumerate(customers):  # 1 to 4 orders, every 10 to 40 days
        for n in range(1 + i % 4):
            clock.set(T0 + timedelta(days=(i % 5) + n * (10 + 10 * (i % 4))))
            await order(rep, customer)
    clock.set(T0 + timedelta(days=200))
    analyst = api.as_user("ann", Role.ANALYST)
    await caught_up(platform, analyst)

    monitor = ChurnMonitor(platform.runtime)
    first = await monitor.tick(clock.now())
    assert first.fitted == ("default",)
    assert first.fit_skipped == {}
    assert (await monitor.tick(clock.now())).fitted == ()
    assert (await ChurnMonitor(platform.runtime).tick(clock.now())).fitted == ()
    fits = await platform.store.read_stream("churnmodel-default")
    [fitted] = fits
    assert fitted.event_type == "analytics.churn_model.fitted"
    assert fitted.payload["n_customers"] == 24
    assert all(fitted.payload[k] > 0 for k in ("r", "alpha", "a", "b"))
    assert fitted.payload["unit_days"] == 7.0

    view = (await caught_up(platform, analyst, f"/analytics/customers/{customers[3]}/360")).json()
    assert view["orders"]["count"] == 4
    assert 0 < view["churn"]["p_alive"] < 1
    [recency] = [r for r in view["churn"]["reasons"] if r["code"] == "purchase_recency"]
    assert recency["text"].startswith("no order for")
    assert "likely still active" in recency["text"]

    clock.advance(timedelta(days=1))
    assert (await monitor.tick(clock.now())).fitted == ("default",)
    assert len(await platform.store.read_stream("churnmodel-default")) == 2


async def test_a_merge_re_assesses_the_survivor_on_both_histories_and_never_the_merged_one(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    """Rita ordered every 30 days under one record, then went on ordering under a duplicate:
    alone, the first looks gone; merged, the survivor's verdict follows the history of both,
    the merged one is assessed no more, and a move of the merged one's old records
    re-assesses the survivor."""
    boss, admin = api.as_user("boss"), api.as_user("root", Role.ADMIN)
    rep, agent = api.as_user("rep-1", Role.SALES_REP), api.as_user("ann", Role.AGENT)
    analyst = api.as_user("ana", Role.ANALYST)
    product = {"sku": "BOX", "name": "Box", "list_price": {"amount": "100", "currency": "EUR"}}
    await ok(await boss.post("/products", json=product), 201)
    rita = await register(boss, "Rita Regular")
    body = {"name": "Rita Regular", "owner_id": "rep-1", "confirm_distinct": True}
    again = str((await ok(await boss.post("/customers", json=body), 201))["id"])
    for month in range(6):  # days 0 to 150 under the first record, 180 to 330 the other
        clock.set(T0 + timedelta(days=30 * month))
        await order(rep, rita)
        clock.set(T0 + timedelta(days=180 + 30 * month))
        await order(rep, again)
    ticket = {**await ok(await agent.post("/tickets", json=ticket_of(again)), 201)}
    clock.set(T0 + timedelta(days=350))
    await caught_up(platform, analyst)
    monitor = ChurnMonitor(platform.runtime)
    first = await monitor.tick(clock.now())
    assert set(first.assessed) == {rita, again}
    assert (rita, None, "high") in first.level_changes

    since = (await platform.read_store.checkpoint(Customer360Projection.name)).position
    clock.advance(timedelta(hours=1))
    await ok(await admin.post(f"/customers/{rita}/merge", json={"merged_id": again}))
    await caught_up(platform, analyst)
    merged = await monitor.tick(clock.now(), changed_since=since)
    assert merged.assessed == (rita,)
    assert merged.level_changes == ((rita, "high", "low"),)
    view = (await caught_up(platform, analyst, f"/analytics/customers/{rita}/360")).json()
    assert view["churn"]["level"] == "low"
    assert view["orders"]["count"] == 12

    # an event about the merged one's old records moves its document: the survivor is
    # re-assessed (its view saw it), the merged one is not
    since = (await platform.read_store.checkpoint(Customer360Projection.name)).position
    note = {"body": "called back", "public": False}
    await ok(await agent.post(f"/tickets/{ticket['id']}/comment", json=note))
    await caught_up(platform, analyst)
    moved = await monitor.tick(clock.now(), changed_since=since)
    assert moved.assessed == (rita,)
    assert moved.recorded == ()  # the same verdict: nothing new

    # the next day's round: everyone but the merged one
    clock.advance(timedelta(days=1))
    daily = await monitor.tick(clock.now())
    assert rita in daily.assessed
    assert again not in daily.assessed
    assert len(await risk_events(platform, again, "assessed")) == 1
    warnings = (await caught_up(platform, analyst, "/analytics/churn/warnings")).json()
    assert warnings["items"] == []  # the high risk the first record alone showed is gone


def ticket_of(customer_id: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "kind": "inquiry",
        "channel": "phone",
        "priority": "normal",
        "subject": "Delivery days",
        "description": "Which days do you deliver?",
    }
