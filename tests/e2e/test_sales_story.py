"""The whole sales story through HTTP, as the issue tells it: a lead from a campaign is
qualified and converted (the customer context registers the customer), the opportunity moves
through the stages, a quote is accepted and becomes an order, the order ships, is invoiced
and paid in two parts. Managers and reps use their own tokens; every read waits for its
write; the clock is the test's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from tests.conftest import Api, UserClient

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]

Users = Callable[..., UserClient]


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def read(client: UserClient, url: str, position: int) -> dict[str, Any]:
    r = await client.get(url, params={"min_position": position})
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


async def eventually(client: UserClient, url: str, done: Callable[[dict[str, Any]], bool]) -> Any:
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        response = await client.get(url)
        doc = None if response.status_code == 404 else await ok(response)  # 404: not projected yet
        if doc is not None and done(doc):
            return doc
        assert asyncio.get_running_loop().time() < deadline, doc
        await asyncio.sleep(0.05)


async def test_lead_from_a_campaign_to_a_paid_invoice(
    api: Api, as_user: Users, clock: ManualClock
) -> None:
    boss = as_user("boss", Role.MANAGER, team="north")
    rep = as_user("rep-1", Role.SALES_REP, team="north")

    # the manager plans and launches a campaign, and lists a product
    campaign = await ok(
        await boss.post(
            "/campaigns",
            json={
                "name": "Spring webinar",
                "channel": "webinar",
                "budget": eur("5000.00"),
                "starts_on": "2026-03-01",
                "ends_on": "2026-04-30",
            },
        ),
        201,
    )
    await ok(await boss.post(f"/campaigns/{campaign['id']}/launch"))
    product = await ok(
        await boss.post(
            "/products", json={"sku": "CMP-1", "name": "Compiler", "list_price": eur("1200.00")}
        ),
        201,
    )

    # a lead from the campaign, qualified and converted into a new customer
    lead = await ok(
        await rep.post(
            "/leads",
            json={
                "name": "Grace Hopper",
                "email": "grace@navy.example",
                "company": "US Navy",
                "source": "webinar",
                "campaign_id": campaign["id"],
            },
        ),
        201,
    )
    await ok(await rep.post(f"/leads/{lead['id']}/qualify", json={"note": "budget approved"}))
    conversion = await ok(
        await rep.post(
            f"/leads/{lead['id']}/convert",
            json={
                "opportunity_name": "Navy compilers",
                "amount": eur("12000.00"),
                "expected_close_date": "2026-06-30",
            },
        ),
        202,
    )
    customer_id, opportunity_id = conversion["customer_id"], conversion["opportunity_id"]
    await eventually(rep, f"/leads/{lead['id']}", lambda d: d["status"] == "converted")
    customer = await ok(await rep.get(f"/customers/{customer_id}"))
    assert (customer["name"], customer["owner_id"]) == ("Grace Hopper", "rep-1")

    # the opportunity moves through the stages, a day in each
    opportunity = await ok(await rep.get(f"/opportunities/{opportunity_id}"))
    assert (opportunity["stage"], opportunity["campaign_id"]) == ("prospecting", campaign["id"])
    assert opportunity["team_id"] == "north"
    for stage in ("qualification", "needs_analysis", "proposal", "negotiation"):
        clock.advance(timedelta(days=1))
        await ok(await rep.post(f"/opportunities/{opportunity_id}/stage", json={"stage": stage}))

    # a quote for the customer, sent and accepted, becomes an order
    quote = await ok(
        await rep.post(
            "/quotes",
            json={
                "customer_id": customer_id,
                "currency": "EUR",
                "valid_until": "2026-04-30",
                "opportunity_id": opportunity_id,
                "campaign_id": campaign["id"],
                "lines": [{"product_id": product["id"], "quantity": "10", "discount_percent": "5"}],
            },
        ),
        201,
    )
    await ok(await rep.post(f"/quotes/{quote['id']}/send"))
    accepted = await ok(await rep.post(f"/quotes/{quote['id']}/accept"))
    shown = await read(rep, f"/quotes/{quote['id']}", accepted["position"])
    assert (shown["status"], shown["total"]) == ("accepted", eur("11400.00"))
    won = await ok(await rep.post(f"/opportunities/{opportunity_id}/win"))
    order = await ok(await rep.post("/orders", json={"quote_id": quote["id"]}), 201)
    shipped = await ok(await rep.post(f"/orders/{order['id']}/ship", json={"carrier": "DHL"}))
    order_doc = await read(rep, f"/orders/{order['id']}", shipped["position"])
    assert (order_doc["status"], order_doc["campaign_id"], order_doc["customer_id"]) == (
        "shipped",
        campaign["id"],
        customer_id,
    )

    # invoiced, paid in two parts: partly paid, then paid
    invoice = await ok(await rep.post("/invoices", json={"order_id": order["id"]}), 201)
    first = await ok(
        await rep.post("/payments", json={"invoice_id": invoice["id"], "amount": eur("4000.00")}),
        201,
    )
    partly = await read(rep, f"/invoices/{invoice['id']}", first["position"])
    assert (partly["status"], partly["balance"]) == ("issued", eur("7400.00"))
    assert partly["paid"] == eur("4000.00")
    clock.advance(timedelta(days=3))
    second = await ok(
        await rep.post("/payments", json={"invoice_id": invoice["id"], "amount": eur("7400.00")}),
        201,
    )
    paid = await read(rep, f"/invoices/{invoice['id']}", second["position"])
    assert (paid["status"], paid["balance"]) == ("paid", eur("0.00"))
    assert [p["amount"] for p in paid["payments"]] == [eur("4000.00"), eur("7400.00")]

    # the manager of the team sees the whole story; the opportunity's history is complete
    opportunity = await read(boss, f"/opportunities/{opportunity_id}", won["position"])
    assert opportunity["status"] == "won"
    assert [s["stage"] for s in opportunity["stage_history"]] == [
        "prospecting",
        "qualification",
        "needs_analysis",
        "proposal",
        "negotiation",
        "won",
    ]
    orders = await read(boss, f"/orders?campaign_id={campaign['id']}", second["position"])
    assert [o["id"] for o in orders["items"]] == [order["id"]]
