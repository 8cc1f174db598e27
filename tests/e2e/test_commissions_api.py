"""Commissions through HTTP: a plan on collected revenue with a tier crossed by the second
payment, an order split 60/40 between two reps, their March statements, the manager's
approval, and a refund whose clawback lands in April for the rep whose March is closed and in
March for the one whose is still open; a plan on booked revenue held until the invoice is
paid, released, and clawed back on cancellation; a plan change from 1 April that leaves March
as it was; who sees what (reps, a team's manager, another tenant); CSV; a rebuild gives the
same read models. Every figure is worked out by hand in the comments."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.projection import rebuild
from crm.kernel.read_store import find_all
from crm.platform.bootstrap import Platform
from crm.sales.application.commission_process import CommissionProcess
from crm.sales.domain.commissions import CommissionStatement
from crm.sales.projections.commission_models import ENTRIES, PROJECTION, STATEMENTS
from tests.conftest import Api, UserClient
from tests.support.customers import known_customers
from tests.support.reads import caught_up

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("sales")]

_customers = known_customers("cust-1")

Users = Callable[..., UserClient]


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def until(
    read: Callable[[], Awaitable[dict[str, Any]]],
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 5.0,
) -> dict[str, Any]:
    """The answer of ``read`` once ``done`` holds for it (the commission process is a reaction:
    it runs after the command that caused it has answered)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        answer = await read()
        if done(answer) or loop.time() > deadline:
            return answer
        await asyncio.sleep(0.02)


async def statement(client: UserClient, statement_id: str) -> dict[str, Any]:
    r = await client.get(f"/commissions/statements/{statement_id}")
    return {"status_code": r.status_code, **(r.json() if r.status_code == 200 else {})}


def money(doc: dict[str, Any], *names: str) -> tuple[str, ...]:
    return tuple(doc[n]["amount"] for n in names)


async def order_of(rep: UserClient, boss: UserClient, price: str) -> str:
    await boss.post("/products", json={"sku": "SW-1", "name": "Software", "list_price": eur(price)})
    order = await ok(
        await rep.post(
            "/orders",
            json={
                "customer_id": "cust-1",
                "currency": "EUR",
                "lines": [{"sku": "SW-1", "quantity": "1", "unit_price": eur(price)}],
            },
        ),
        201,
    )
    return str(order["id"])


COLLECTED = {
    "currency": "EUR",
    "basis": "collected",
    "base_rate": "10",
    "tiers": [
        {"from_percent": "0", "multiplier": "1"},
        {"from_percent": "100", "multiplier": "2"},
    ],
}

FLAT = {"currency": "EUR", "basis": "collected", "base_rate": "10"}


async def test_earned_on_payments_approved_then_clawed_back_into_the_next_open_month(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss")
    rep1, rep2 = as_user("rep-1", Role.SALES_REP), as_user("rep-2", Role.SALES_REP)
    # access: a rep may not make plans; bad input names the field
    refused = await rep1.post("/commissions/plans", json={"name": "x", "terms": COLLECTED})
    assert refused.status_code == 403, refused.text
    bad = await boss.post(
        "/commissions/plans",
        json={
            "name": "x",
            "terms": {**COLLECTED, "tiers": [{"from_percent": "50", "multiplier": "1"}]},
        },
    )
    assert bad.status_code == 422, bad.text
    past = await boss.post(
        "/commissions/plans",
        json={"name": "x", "terms": COLLECTED, "effective_from": "2026-03-01"},
    )
    assert past.status_code == 422, past.text
    unknown = await boss.get("/commissions/earnings", params={"repid": "rep-1"})
    assert unknown.status_code in (400, 422)

    plan = await ok(
        await boss.post("/commissions/plans", json={"name": "Field", "terms": COLLECTED}), 201
    )
    shown = await ok(
        await rep1.get(
            f"/commissions/plans/{plan['id']}", params={"min_position": plan["position"]}
        )
    )
    assert (shown["name"], shown["versions"][0]["terms"]["base_rate"]) == ("Field", "10")
    target = {
        "owner_kind": "rep",
        "owner_id": "rep-1",
        "period": "2026-03",
        "amount": eur("800.00"),
    }
    await ok(await boss.post("/targets", json=target), 201)

    order_id = await order_of(rep1, boss, "1500.00")
    shares = {
        "shares": [{"rep_id": "rep-1", "percent": "60"}, {"rep_id": "rep-2", "percent": "40"}]
    }
    assert (await rep1.put(f"/commissions/splits/{order_id}", json=shares)).status_code == 403
    bad_split = {"shares": [{"rep_id": "rep-1", "percent": "60"}]}
    assert (await boss.put(f"/commissions/splits/{order_id}", json=bad_split)).status_code == 422
    await ok(await boss.put(f"/commissions/splits/{order_id}", json=shares))
    invoice = await ok(await rep1.post("/invoices", json={"order_id": order_id}), 201)
    first = await ok(
        await rep1.post(
            "/payments",
            json={"invoice_id": invoice["id"], "amount": eur("1000.00"), "payment_id": "pay-1"},
        ),
        201,
    )
    second = await ok(
        await rep1.post(
            "/payments",
            json={"invoice_id": invoice["id"], "amount": eur("500.00"), "payment_id": "pay-2"},
        ),
        201,
    )
    assert first["id"] == "pay-1"
    assert second["id"] == "pay-2"

    # rep-1 (60 %, target 800): pay-1 600.00 x 10 % = 60.00; pay-2 300.00 crosses 800:
    # 200 at x1 + 100 at x2 = 40.00. rep-2 (40 %, no target, first tier): 40.00 + 20.00.
    march1 = await until(lambda: statement(boss, "rep-1-2026-03"), lambda s: s.get("entries") == 2)
    assert money(march1, "revenue", "earned", "payable", "held") == (
        "900.00",
        "100.00",
        "100.00",
        "0.00",
    )
    march2 = await until(lambda: statement(boss, "rep-2-2026-03"), lambda s: s.get("entries") == 2)
    assert money(march2, "revenue", "payable") == ("600.00", "60.00")
    entries = await ok(await rep1.get("/commissions/earnings", params={"sort": "recorded_at"}))
    assert [e["commission"]["amount"] for e in entries["items"]] == ["60.00", "40.00"]
    assert [e["multiplier"] for e in entries["items"]] == ["1.000000", "1.333333"]
    assert entries["items"][1]["attainment_before"] == "75.00"

    # who sees what: each rep their own, the manager both
    own = await ok(await rep1.get("/commissions/statements"))
    assert [s["statement_id"] for s in own["items"]] == ["rep-1-2026-03"]
    assert (await rep2.get("/commissions/statements/rep-1-2026-03")).status_code == 404
    both = await ok(await boss.get("/commissions/statements", params={"period": "2026-03"}))
    assert both["total"] == 2

    # approval: not by a rep; then closed
    assert (await rep1.post("/commissions/statements/rep-1-2026-03/approve")).status_code == 403
    approved = await ok(
        await boss.post("/commissions/statements/rep-1-2026-03/approve", json={"note": "March"})
    )
    assert approved["id"] == "rep-1-2026-03"
    closed = await until(
        lambda: statement(boss, "rep-1-2026-03"), lambda s: s.get("status") == "approved"
    )
    assert (closed["approved_by"], closed["payable"]["amount"]) == ("boss", "100.00")

    # a refund of half of pay-2 (250.00): its commission back, half of each rep's:
    # rep-1 40.00 x 250/500 = -20.00 into April (March is closed), rep-2 -10.00 into March
    refund = {"payment_id": "pay-2", "amount": eur("250.00"), "reason": "goods returned"}
    too_much = {**refund, "amount": eur("500.01")}
    over = await rep1.post(f"/invoices/{invoice['id']}/refunds", json=too_much)
    assert over.status_code == 409, over.text
    await ok(await rep1.post(f"/invoices/{invoice['id']}/refunds", json=refund), 201)
    april = await until(lambda: statement(boss, "rep-1-2026-04"), lambda s: s.get("entries") == 1)
    assert money(april, "revenue", "clawed_back", "payable") == ("-150.00", "-20.00", "-20.00")
    march2 = await until(lambda: statement(boss, "rep-2-2026-03"), lambda s: s.get("entries") == 3)
    assert money(march2, "revenue", "clawed_back", "payable") == ("500.00", "-10.00", "50.00")
    still = await statement(boss, "rep-1-2026-03")
    assert (still["entries"], still["payable"]["amount"]) == (2, "100.00")
    invoice_doc = await ok(await rep1.get(f"/invoices/{invoice['id']}"))
    assert (invoice_doc["refunded"]["amount"], invoice_doc["balance"]["amount"]) == (
        "250.00",
        "0.00",
    )

    # CSV: every entry of rep-1, exact to the cent
    r = await rep1.get("/commissions/earnings", params={"format": "csv", "sort": "recorded_at"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["kind"], row["statement_id"], row["commission"]) for row in rows] == [
        ("earned", "rep-1-2026-03", "60.00"),
        ("earned", "rep-1-2026-03", "40.00"),
        ("clawed_back", "rep-1-2026-04", "-20.00"),
    ]
    statements_csv = await boss.get("/commissions/statements", params={"format": "csv"})
    lines = list(csv.DictReader(io.StringIO(statements_csv.text)))
    assert {(row["statement_id"], row["payable"], row["status"]) for row in lines} == {
        ("rep-1-2026-03", "100.00", "approved"),
        ("rep-1-2026-04", "-20.00", "open"),
        ("rep-2-2026-03", "50.00", "open"),
    }

    await rebuilt_the_same(api.platform)


async def rebuilt_the_same(platform: Platform) -> None:
    """Rebuilt from the log, the read models hold the same documents."""
    await caught_up(platform, PROJECTION.name)
    store = platform.read_store
    before = {c: await find_all(store, c, {}) for c in (ENTRIES, STATEMENTS)}
    assert len(before[ENTRIES]) == 6
    runtime = platform.runtime
    await rebuild(PROJECTION, runtime.store, runtime.read_store, runtime.codec)
    after = {c: await find_all(store, c, {}) for c in (ENTRIES, STATEMENTS)}
    assert after == before


async def test_booked_commission_is_held_until_paid_then_clawed_back_on_cancellation_or_return(
    api: Api, as_user: Users
) -> None:
    boss, rep = as_user("boss"), as_user("rep-1", Role.SALES_REP)
    terms = {"currency": "EUR", "basis": "booked", "base_rate": "5", "hold_until_collected": True}
    await ok(await boss.post("/commissions/plans", json={"name": "Booked", "terms": terms}), 201)
    paid = await order_of(rep, boss, "200.00")
    # 200.00 x 5 % = 10.00, held
    march = await until(lambda: statement(boss, "rep-1-2026-03"), lambda s: s.get("entries") == 1)
    assert money(march, "held", "payable") == ("10.00", "0.00")
    # the order's event delivered again posts nothing again
    runtime = api.platform.runtime
    (placed,) = await runtime.store.read_stream(f"order-{paid}")
    (event,) = await runtime.codec.decode([placed])
    await CommissionProcess(runtime.commands, runtime.clock).react(event, placed)
    again = await runtime.commands.repository(CommissionStatement).load("default:rep-1-2026-03")
    assert len(again.state.entries) == 1
    invoice = await ok(await rep.post("/invoices", json={"order_id": paid}), 201)
    await ok(
        await rep.post("/payments", json={"invoice_id": invoice["id"], "amount": eur("200.00")}),
        201,
    )
    march = await until(lambda: statement(boss, "rep-1-2026-03"), lambda s: s.get("entries") == 2)
    assert money(march, "held", "released", "payable") == ("10.00", "10.00", "10.00")
    await ok(await rep.post(f"/orders/{paid}/cancel", json={"reason": "changed mind"}))
    march = await until(lambda: statement(boss, "rep-1-2026-03"), lambda s: s.get("entries") == 3)
    assert money(march, "held", "clawed_back", "payable", "revenue") == (
        "10.00",
        "-10.00",
        "0.00",
        "0.00",
    )
    # cancelled before payment: the held commission is taken from what is held
    unpaid = await ok(
        await rep.post(
            "/orders",
            json={
                "customer_id": "cust-1",
                "currency": "EUR",
                "lines": [{"sku": "SW-1", "quantity": "1", "unit_price": eur("33.35")}],
            },
        ),
        201,
    )
    # 33.35 x 5 % = 1.6675 -> 1.67
    march = await until(lambda: statement(boss, "rep-1-2026-03"), lambda s: s.get("entries") == 4)
    assert money(march, "held") == ("11.67",)
    await ok(await rep.post(f"/orders/{unpaid['id']}/cancel"))
    march = await until(lambda: statement(boss, "rep-1-2026-03"), lambda s: s.get("entries") == 5)
    assert money(march, "held", "payable") == ("10.00", "0.00")

    # paid, shipped, delivered and returned: 80.00 x 5 % = 4.00 held, released, clawed back
    kept = await order_of(rep, boss, "80.00")
    bill = await ok(await rep.post("/invoices", json={"order_id": kept}), 201)
    await ok(
        await rep.post("/payments", json={"invoice_id": bill["id"], "amount": eur("80.00")}), 201
    )
    for step in ("ship", "deliver"):
        await ok(await rep.post(f"/orders/{kept}/{step}"))
    await ok(await rep.post(f"/orders/{kept}/return", json={"reason": "broken"}))
    march = await until(lambda: statement(boss, "rep-1-2026-03"), lambda s: s.get("entries") == 8)
    assert money(march, "held", "released", "clawed_back", "payable") == (
        "14.00",
        "14.00",
        "-14.00",
        "0.00",
    )
    returned = await ok(
        await rep.get("/commissions/earnings", params={"order_id": kept, "kind": "clawed_back"})
    )
    assert [(e["reason"], e["commission"]["amount"]) for e in returned["items"]] == [
        ("return", "-4.00")
    ]


async def test_a_plan_change_pays_from_its_date_and_teams_see_their_own(
    api: Api, as_user: Users, clock: ManualClock
) -> None:
    boss = as_user("boss")
    north, south = as_user("mgr-n", team="north"), as_user("mgr-s", team="south")
    rep = as_user("rep-3", Role.SALES_REP, team="south")
    plan = await ok(
        await boss.post("/commissions/plans", json={"name": "Flat", "terms": FLAT}), 201
    )
    order_id = await order_of(rep, boss, "1000.00")
    invoice = await ok(await rep.post("/invoices", json={"order_id": order_id}), 201)
    pay = {"invoice_id": invoice["id"], "amount": eur("400.00")}
    await ok(await rep.post("/payments", json=pay), 201)
    # from 1 April the plan pays 12 %: decided in March, it rewrites nothing of March
    revision = {"terms": {**FLAT, "base_rate": "12"}, "effective_from": "2026-04-01"}
    await ok(await boss.post(f"/commissions/plans/{plan['id']}/versions", json=revision))
    backdated = {**revision, "effective_from": "2026-03-01"}
    assert (
        await boss.post(f"/commissions/plans/{plan['id']}/versions", json=backdated)
    ).status_code == 422
    clock.set(datetime(2026, 4, 2, 9, 0, tzinfo=UTC))
    await ok(await rep.post("/payments", json={**pay, "amount": eur("600.00")}), 201)
    # March: 400.00 x 10 % = 40.00; April: 600.00 x 12 % = 72.00
    april = await until(lambda: statement(south, "rep-3-2026-04"), lambda s: s.get("entries") == 1)
    assert money(april, "payable") == ("72.00",)
    march = await statement(south, "rep-3-2026-03")
    assert (march["entries"], march["payable"]["amount"]) == (1, "40.00")
    entries = await ok(await rep.get("/commissions/earnings", params={"sort": "recorded_at"}))
    assert [e["plan_version"] for e in entries["items"]] == [1, 2]

    # a manager of another team sees none of it, nor approves it; another tenant neither
    assert (await north.get("/commissions/statements/rep-3-2026-03")).status_code == 404
    assert (await north.get("/commissions/statements")).json()["total"] == 0
    assert (await north.get("/commissions/earnings")).json()["total"] == 0
    denied = await north.post("/commissions/statements/rep-3-2026-03/approve")
    assert denied.status_code == 404
    stranger = as_user("boss", tenant="acme")
    assert (await stranger.get("/commissions/statements")).json()["total"] == 0
    assert (await stranger.get(f"/commissions/plans/{plan['id']}")).status_code == 404
    done = await ok(await south.post("/commissions/statements/rep-3-2026-03/approve"))
    seen = await ok(
        await south.get(
            "/commissions/statements",
            params={"status": "approved", "min_position": done["position"]},
        )
    )
    assert [s["statement_id"] for s in seen["items"]] == ["rep-3-2026-03"]
