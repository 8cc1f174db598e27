"""Customer value over HTTP on the real platform: CLV from the recorded BG/NBD model and a
Gamma-Gamma fit on the tenant's orders, tiers from CLV, shown with the churn risk; the "high
value, high risk" filter; the tenant's own horizon; who sees what; too little history says so."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest

from crm.analytics.application.value_queries import ValueFilter, ValueQueries, ValueSettings
from crm.analytics.churn.monitor import ChurnMonitor
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.context import BoundedContext
from crm.kernel.errors import RuleViolated
from crm.platform.bootstrap import CONTEXTS, Platform
from tests.conftest import T0, Api, UserClient


@pytest.fixture
def contexts() -> tuple[BoundedContext, ...]:
    """Every context, the churn monitor ticked by hand on a clock moved by hand."""
    return tuple(replace(c, jobs=None) if c.name == "analytics" else c for c in CONTEXTS)


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def caught_up(platform: Platform, client: UserClient, url: str) -> Any:
    head = await platform.store.head_position()
    path, _, query = url.partition("?")
    return await client.get(path, params=[*parse_qsl(query), ("min_position", str(head))])


async def company(api: Api, clock: ManualClock, buyers: int = 24) -> list[str]:
    """``buyers`` customers in pairs over 200 days (seeded): both of a pair order on the same
    days (1 + pair % 4 orders, 7 to 60 days apart), at prices drawn around a mean spend, the
    odd one's prices twice the even one's; even ones belong to rep-1, odd to rep-2."""
    rng = random.Random(15)
    boss = api.as_user("boss")
    product = {"sku": "BOX", "name": "Box", "list_price": {"amount": "100", "currency": "EUR"}}
    await ok(await boss.post("/products", json=product), 201)
    ids: list[str] = []
    for i in range(buyers):
        owner = "rep-1" if i % 2 == 0 else "rep-2"
        body = {"name": f"Buyer {i}", "owner_id": owner, "region": "north"}
        ids.append(str((await ok(await boss.post("/customers", json=body), 201))["id"]))
    for pair in range(buyers // 2):
        day = rng.randint(0, 20)
        days = [day]
        for _ in range(pair % 4):
            days.append(days[-1] + rng.randint(7, 60))
        base = rng.gammavariate(4.0, 15.0)
        noise = [rng.gammavariate(8.0, 1 / 8.0) for _ in days]
        for member in (0, 1):
            i = 2 * pair + member
            rep = api.as_user("rep-1" if member == 0 else "rep-2", Role.SALES_REP)
            for d, factor in zip(days, noise, strict=True):
                clock.set(T0 + timedelta(days=d))
                price = base * (1 + member) * factor
                line = {
                    "sku": "BOX",
                    "quantity": "1",
                    "unit_price": {"amount": f"{price:.2f}", "currency": "EUR"},
                }
                order = {"customer_id": ids[i], "currency": "EUR", "lines": [line]}
                await ok(await rep.post("/orders", json=order), 201)
    clock.set(T0 + timedelta(days=200))
    return ids


async def test_value_list_with_tiers_and_risk(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    ids = await company(api, clock)
    manager = api.as_user("boss")
    # Before the monitor ran: no model recorded, the route fits BG/NBD itself.
    early = await ok(await caught_up(platform, manager, "/analytics/value?limit=100"))
    assert early["total"] == 24
    assert all(r["risk"] is None for r in early["items"])
    await ChurnMonitor(platform.runtime).tick(clock.now())

    found = await ok(await caught_up(platform, manager, "/analytics/value?limit=100"))
    rows = found["items"]
    assert found["total"] == 24
    assert found["excluded"] == 0
    model = found["model"]
    assert (model["currency"], model["horizon_months"], model["annual_discount"]) == (
        "EUR",
        12,
        "0.10",
    )
    assert model["gamma_gamma"]["n_customers"] == 18  # the customers with repeat orders
    clvs = [Decimal(r["clv"]) for r in rows]
    assert clvs == sorted(clvs, reverse=True)
    assert all(r["clv"] == f"{Decimal(r['clv']):.2f}" for r in rows)  # exact cents
    # Tiers from CLV ranks: ceil(20 % of 24) = 5 high, ceil(50 %) = 12 high or medium.
    tiers = [r["tier"] for r in rows]
    assert tiers == sorted(tiers, key=["high", "medium", "low"].index)
    assert tiers.count("high") == 5
    assert tiers.count("medium") == 7
    assert all(r["risk"] in ("low", "medium", "high") for r in rows)
    by_id = {r["customer_id"]: r for r in rows}
    # The two of a pair have the same purchase history, so the same expected purchases: the
    # one with the higher average spend is worth more, by the Gamma-Gamma expected spend.
    for pair in range(12):
        low, high = by_id[ids[2 * pair]], by_id[ids[2 * pair + 1]]
        assert low["orders"] == high["orders"] == 1 + pair % 4
        assert low["expected_purchases"] == high["expected_purchases"]
        assert Decimal(high["spend_to_date"]) > Decimal(low["spend_to_date"])
        assert Decimal(high["expected_spend"]) > Decimal(low["expected_spend"])
        assert Decimal(high["clv"]) > Decimal(low["clv"])
    assert by_id[ids[3]]["name"] == "Buyer 3"

    # The "high value, high risk" list and its filters are the route's.
    for tier, risk in (("high", "high"), ("high", "low"), ("low", "medium")):
        url = f"/analytics/value?tier={tier}&risk={risk}&limit=100"
        picked = await ok(await caught_up(platform, manager, url))
        expected = [r["customer_id"] for r in rows if r["tier"] == tier and r["risk"] == risk]
        assert [r["customer_id"] for r in picked["items"]] == expected
        assert picked["total"] == len(expected)
    paged = await ok(await caught_up(platform, manager, "/analytics/value?limit=5&offset=5"))
    assert [r["customer_id"] for r in paged["items"]] == [r["customer_id"] for r in rows[5:10]]

    as_csv = await caught_up(platform, manager, "/analytics/value?format=csv&limit=100")
    assert as_csv.status_code == 200
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [t["clv"] for t in table] == [r["clv"] for r in rows]

    # Who sees what: the analyst without names, a rep only their own (tiers of the whole base).
    analyst = await ok(
        await caught_up(platform, api.as_user("ann", Role.ANALYST), "/analytics/value")
    )
    assert all(r["name"] != "Buyer 3" for r in analyst["items"])
    rep = api.as_user("rep-1", Role.SALES_REP)
    own = await ok(await caught_up(platform, rep, "/analytics/value?limit=100"))
    assert own["total"] == 12
    assert all(r["owner_id"] == "rep-1" for r in own["items"])
    assert {r["customer_id"]: r["tier"] for r in own["items"]} == {
        k: v["tier"] for k, v in by_id.items() if v["owner_id"] == "rep-1"
    }
    agent = await caught_up(platform, api.as_user("al", Role.AGENT), "/analytics/value")
    assert agent.status_code == 403

    # Bad input names the field; an unknown parameter is refused.
    for bad in ("tier=platinum", "limit=0", "currency=eur", "horizon=5"):
        r = await caught_up(platform, manager, f"/analytics/value?{bad}")
        assert r.status_code in (400, 422), (bad, r.text)
        assert bad.split("=")[0] in r.text


async def test_the_tenant_sets_its_horizon_and_discount(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    await company(api, clock)
    manager = api.as_user("boss")
    await caught_up(platform, manager, "/analytics/value")  # the view has caught up
    actor = platform.runtime.tokens.verify(api.headers("boss")["Authorization"].split()[1])
    now = clock.now()

    async def values(settings: ValueSettings) -> dict[str, Decimal]:
        found = await ValueQueries(platform.runtime, settings).value(
            actor, ValueFilter(), limit=100, offset=0, now=now
        )
        return {r["customer_id"]: Decimal(r["clv"]) for r in found["items"]}

    default = await values(ValueSettings())
    longer = await values(ValueSettings(tenants={"default": {"horizon_months": 36}}))
    undiscounted = await values(ValueSettings(tenants={"default": {"annual_discount": "0"}}))
    other_tenant = await values(ValueSettings(tenants={"other": {"horizon_months": 36}}))
    assert other_tenant == default
    assert all(longer[c] > default[c] for c in default if default[c] > 0)
    assert all(undiscounted[c] > default[c] for c in default if default[c] > 0)
    with pytest.raises(ValueError, match="horizon_months"):
        ValueSettings(tenants={"default": {"horizon_months": 0}}).policy_for("default")


async def test_too_little_history_says_so(api: Api, platform: Platform, clock: ManualClock) -> None:
    await company(api, clock, buyers=6)
    manager = api.as_user("boss")
    r = await caught_up(platform, manager, "/analytics/value")
    assert r.status_code == 409, r.text
    assert "value_model_unavailable" in r.text
    assert "at least 20" in r.text
    actor = platform.runtime.tokens.verify(api.headers("boss")["Authorization"].split()[1])
    with pytest.raises(RuleViolated):
        await ValueQueries(platform.runtime).value(
            actor, ValueFilter(), limit=10, offset=0, now=clock.now()
        )
