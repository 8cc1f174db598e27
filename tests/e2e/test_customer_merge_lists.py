"""The lists of the service desk and sales filtered by a customer, after a merge: with
``customer_id`` of the survivor, the contracts, visits, leads and commission earnings of the
customer merged into it are listed too (through each context's customer directory); with the
merged one's id, its own only; and its data subject export keeps its own, the survivor's holds
both."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from crm.kernel.auth import Role
from tests.conftest import Api, UserClient

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales", "service-desk")]


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def until(
    read: Callable[[], Awaitable[dict[str, Any]]],
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 5.0,
) -> dict[str, Any]:
    """The answer of ``read`` once ``done`` holds for it (a process reacting to a command
    runs after the command answered)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        answer = await read()
        if done(answer) or loop.time() > deadline:
            return answer
        await asyncio.sleep(0.02)


async def two_adas(admin: UserClient) -> tuple[str, str]:
    """Two registrations of one person, rep-1's: (the survivor to be, the duplicate)."""
    first = {"name": "Ada Lovelace", "owner_id": "rep-1"}
    ada = (await ok(await admin.post("/customers", json=first), 201))["id"]
    body = {**first, "email": "ada@example.com", "confirm_distinct": True}
    king = (await ok(await admin.post("/customers", json=body), 201))["id"]
    return ada, king


async def got(client: UserClient, url: str) -> dict[str, Any]:
    return await ok(await client.get(url))


def ids(page: dict[str, Any], field: str = "id") -> list[str]:
    return sorted(str(item[field]) for item in page["items"])


async def visit_for(agent: UserClient, customer_id: str, day: int) -> str:
    ticket = {
        "customer_id": customer_id,
        "kind": "service_request",
        "channel": "phone",
        "priority": "normal",
        "subject": "Boiler",
        "description": "it knocks",
    }
    tid = (await ok(await agent.post("/tickets", json=ticket), 201))["id"]
    await ok(await agent.post(f"/tickets/{tid}/assign", json={"group_id": "g1"}))
    booking = {
        "ticket_id": tid,
        "customer_id": customer_id,
        "technician_id": "tech-1",
        "start": f"2026-03-{day:02d}T09:00:00+00:00",
        "end": f"2026-03-{day:02d}T10:00:00+00:00",
        "address": "3 Elm Street",
    }
    return str((await ok(await agent.post("/visits", json=booking), 201))["id"])


async def test_the_survivors_contracts_and_visits_include_the_merged_ones(api: Api) -> None:
    admin = api.as_user("root", Role.ADMIN)
    agent = api.as_user("ann", Role.AGENT, team="g1")
    ada, king = await two_adas(admin)
    for customer, level in ((ada, "basic"), (king, "premium")):
        contract = {"customer_id": customer, "level": level, "starts_on": "2026-03-01"}
        await ok(await admin.post("/contracts", json=contract), 201)
    ada_visit = await visit_for(agent, ada, 3)
    king_visit = await visit_for(agent, king, 4)

    before = await ok(await agent.get("/visits", params={"customer_id": ada}))
    assert ids(before) == [ada_visit]
    merged = await ok(await admin.post(f"/customers/{ada}/merge", json={"merged_id": king}))
    at = {"min_position": merged["position"]}

    mine = {"customer_id": ada, **at}
    contracts = await ok(await agent.get("/contracts", params=mine))
    assert sorted((c["customer_id"], c["level"]) for c in contracts["items"]) == sorted(
        [(ada, "basic"), (king, "premium")]
    )
    assert contracts["total"] == 2
    premium = await ok(await agent.get("/contracts", params={**mine, "level": "premium"}))
    assert ids(premium, "customer_id") == [king]
    visits = await ok(await agent.get("/visits", params=mine))
    assert ids(visits) == sorted([ada_visit, king_visit])
    on_day = await ok(await agent.get("/visits", params={**mine, "day": "2026-03-04"}))
    assert ids(on_day) == [king_visit]

    theirs = {"customer_id": king, **at}
    assert ids(await ok(await agent.get("/contracts", params=theirs)), "customer_id") == [king]
    assert ids(await ok(await agent.get("/visits", params=theirs))) == [king_visit]

    # the survivor's data subject export holds both; the merged one's its own
    export = await ok(await admin.get(f"/customers/{ada}/export"))
    assert sorted(v["id"] for v in export["visits"]) == sorted([ada_visit, king_visit])
    assert sorted(c["customer_id"] for c in export["contracts"]) == sorted([ada, king])
    theirs_export = await ok(await admin.get(f"/customers/{king}/export"))
    assert [v["id"] for v in theirs_export["visits"]] == [king_visit]
    assert [c["customer_id"] for c in theirs_export["contracts"]] == [king]

    # no new contract names the merged one
    refused = await admin.post(
        "/contracts", json={"customer_id": king, "level": "basic", "starts_on": "2026-04-01"}
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["merged_into"] == ada


async def converted(rep: UserClient, lead_id: str, position: int) -> None:
    """Wait until the lead reads converted (its read model has the conversion, at
    ``position``, before the process that finishes it may have run)."""
    url = f"/leads/{lead_id}?min_position={position}"
    lead = await until(lambda: got(rep, url), lambda d: d["status"] == "converted")
    assert lead["status"] == "converted", lead


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def test_the_survivors_leads_and_commission_earnings_include_the_merged_ones(
    api: Api,
) -> None:
    admin = api.as_user("root", Role.ADMIN)
    rep = api.as_user("rep-1", Role.SALES_REP)
    ada, king = await two_adas(admin)
    leads = {}
    for customer, name in ((ada, "Ada Lovelace"), (king, "A. King")):
        lead = await ok(await rep.post("/leads", json={"name": name}), 201)
        await ok(await rep.post(f"/leads/{lead['id']}/qualify"))
        conversion = {
            "opportunity_name": f"Engines for {name}",
            "amount": eur("5000"),
            "expected_close_date": "2026-09-30",
            "existing_customer_id": customer,
        }
        accepted = await ok(await rep.post(f"/leads/{lead['id']}/convert", json=conversion), 202)
        await converted(rep, lead["id"], accepted["position"])
        leads[customer] = lead["id"]
    other = await ok(await rep.post("/leads", json={"name": "Charles Babbage"}), 201)

    terms = {"currency": "EUR", "basis": "booked", "base_rate": "10"}
    await ok(await admin.post("/commissions/plans", json={"name": "Booked", "terms": terms}), 201)
    product = {"sku": "ENG", "name": "Engine", "list_price": eur("100")}
    await ok(await admin.post("/products", json=product), 201)
    orders = {}
    for customer, boxes in ((ada, "1"), (king, "2")):
        body = {
            "customer_id": customer,
            "currency": "EUR",
            "lines": [{"sku": "ENG", "quantity": boxes}],
        }
        orders[customer] = (await ok(await rep.post("/orders", json=body), 201))["id"]
    earned = await until(lambda: got(rep, "/commissions/earnings"), lambda page: page["total"] == 2)
    assert earned["total"] == 2, earned

    merged = await ok(await admin.post(f"/customers/{ada}/merge", json={"merged_id": king}))
    at = {"min_position": merged["position"]}
    mine = {"customer_id": ada, **at}
    listed = await ok(await rep.get("/leads", params=mine))
    assert ids(listed) == sorted([leads[ada], leads[king]])
    assert other["id"] not in ids(listed)
    assert ids(await ok(await rep.get("/leads", params={"customer_id": king, **at}))) == [
        leads[king]
    ]
    entries = await ok(await rep.get("/commissions/earnings", params=mine))
    assert sorted((e["order_id"], e["commission"]["amount"]) for e in entries["items"]) == sorted(
        [(orders[ada], "10.00"), (orders[king], "20.00")]
    )
    theirs = await ok(await rep.get("/commissions/earnings", params={"customer_id": king, **at}))
    assert [e["order_id"] for e in theirs["items"]] == [orders[king]]
    csv = await rep.get("/commissions/earnings", params={**mine, "format": "csv"})
    assert csv.status_code == 200, csv.text
    assert len(csv.text.strip().splitlines()) == 3  # the header and both entries
    too_long = await rep.get("/commissions/earnings", params={"customer_id": "x" * 65})
    assert too_long.status_code == 422, too_long.text
    assert "customer_id" in too_long.text

    export = await ok(await admin.get(f"/customers/{ada}/export"))
    assert sorted(lead["id"] for lead in export["leads"]) == sorted([leads[ada], leads[king]])
    theirs_export = await ok(await admin.get(f"/customers/{king}/export"))
    assert [lead["id"] for lead in theirs_export["leads"]] == [leads[king]]
