"""The 360° customer view and the customer list over HTTP, on the real platform, fed by the
real commands of the customer, sales and service-desk contexts: orders, payments, an overdue
invoice, open and lost opportunities with the pipeline value, a complaint worked to its
resolution, interactions and a timeline across contexts without personal data; the list's
filters, sort and CSV export; and who may read what."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from crm.analytics.application.customer_view import CUSTOMER_COLUMNS, WARNING_COLUMNS
from crm.analytics.application.policy import REDACTED
from crm.analytics.churn.monitor import ChurnMonitor
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.platform.bootstrap import Platform
from crm.sales.application.scheduler import SalesScheduler
from tests.conftest import T0, Api, UserClient

DESCRIPTION = "Mrs Lovelace, +44 20 7946 0000, got the wrong box"


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def get(platform: Platform, client: UserClient, url: str, status: int = 200) -> Any:
    """GET ``url`` once the read models have applied everything in the store."""
    head = await platform.store.head_position()
    path, _, query = url.partition("?")
    r = await client.get(path, params=[*parse_qsl(query), ("min_position", str(head))])
    assert r.status_code == status, r.text
    if status == 200:
        assert "X-CRM-Stale" not in r.headers
    return r


async def ids(platform: Platform, client: UserClient, query: str) -> list[str]:
    r = await get(platform, client, "/analytics/customers?" + query)
    return [row["id"] for row in r.json()["items"]]


async def order(rep: UserClient, customer_id: str, boxes: int = 1) -> str:
    line = {"sku": "BOX", "quantity": str(boxes)}
    body = {"customer_id": customer_id, "currency": "EUR", "lines": [line]}
    return str((await ok(await rep.post("/orders", json=body), 201))["id"])


async def invoice(rep: UserClient, order_id: str, due: str) -> str:
    body = {"order_id": order_id, "due_date": due}
    return str((await ok(await rep.post("/invoices", json=body), 201))["id"])


async def story(api: Api, platform: Platform, clock: ManualClock) -> tuple[str, str]:
    """Ada (rep-1's, north, vip): two orders, one invoice paid, one overdue, an open and a
    lost opportunity, a resolved complaint, a call. Bob (rep-2's, south): one big order."""
    boss = api.as_user("boss")
    rep1, rep2 = api.as_user("rep-1", Role.SALES_REP), api.as_user("rep-2", Role.SALES_REP)
    agent = api.as_user("ann", Role.AGENT, team="group-a")
    product = {"sku": "BOX", "name": "Box", "list_price": {"amount": "100", "currency": "EUR"}}
    await ok(await boss.post("/products", json=product), 201)
    ada_body = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "owner_id": "rep-1",
        "region": "north",
        "tags": ["vip"],
    }
    ada = str((await ok(await boss.post("/customers", json=ada_body), 201))["id"])
    bob_body = {"name": "Bob Byte", "owner_id": "rep-2", "region": "south"}
    bob = str((await ok(await boss.post("/customers", json=bob_body), 201))["id"])
    call = {"channel": "call", "direction": "inbound", "summary": "Ada asked for a discount"}
    await ok(await boss.post(f"/customers/{ada}/interactions", json=call), 201)

    first = await order(rep1, ada)
    paid = await invoice(rep1, first, "2026-03-20")
    payment = {"invoice_id": paid, "amount": {"amount": "100.00", "currency": "EUR"}}
    await ok(await rep1.post("/payments", json=payment), 201)
    clock.set(T0 + timedelta(days=20))
    second = await order(rep1, ada)
    await invoice(rep1, second, "2026-03-30")
    await order(rep2, bob, boxes=5)

    deal = {
        "customer_id": ada,
        "name": "Boxes for the whole office",
        "amount": {"amount": "12000.00", "currency": "EUR"},
        "expected_close_date": "2026-06-30",
    }
    await ok(await rep1.post("/opportunities", json=deal), 201)
    lost = await ok(await rep1.post("/opportunities", json={**deal, "name": "Old deal"}), 201)
    await ok(await rep1.post(f"/opportunities/{lost['id']}/lose", json={"reason": "budget cut"}))

    ticket = {
        "customer_id": ada,
        "kind": "complaint",
        "channel": "phone",
        "priority": "high",
        "subject": "Wrong box delivered",
        "description": DESCRIPTION,
    }
    tid = (await ok(await agent.post("/tickets", json=ticket), 201))["id"]
    assign = {"agent_id": "ann", "group_id": "group-a"}
    await ok(await agent.post(f"/tickets/{tid}/assign", json=assign))
    clock.advance(timedelta(hours=3))
    await ok(await agent.post(f"/tickets/{tid}/resolve", json={"resolution": "Swapped"}))
    await ok(await agent.post(f"/tickets/{tid}/satisfaction", json={"score": 4}))

    clock.set(T0 + timedelta(days=40))
    assert len((await SalesScheduler(platform.runtime).tick(clock.now())).invoices_overdue) == 1
    return ada, bob


async def test_the_360_view_joins_every_context(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    ada, bob = await story(api, platform, clock)
    boss = api.as_user("boss")
    view = (await get(platform, boss, f"/analytics/customers/{ada}/360")).json()

    assert (view["name"], view["owner_id"], view["region"], view["tags"]) == (
        "Ada Lovelace",
        "rep-1",
        "north",
        ["vip"],
    )
    assert (view["segment"], view["value_tier"], view["spend"]) == ("repeat", "bronze", "200.00")
    orders = view["orders"]
    assert (orders["count"], orders["totals"], orders["purchase_days"]) == (2, {"EUR": "200.00"}, 2)
    assert orders["first_at"].startswith("2026-03-02")
    assert orders["last_at"].startswith("2026-03-22")
    assert orders["average_interval_days"] == 20.0
    assert orders["days_since_last"] == 20
    assert view["payments"]["collected"] == {"EUR": "100.00"}
    invoices = view["invoices"]
    assert (invoices["open_count"], invoices["overdue_count"]) == (1, 1)
    assert invoices["overdue_amount"] == {"EUR": "100.00"}
    assert invoices["open_invoices"][0]["due_date"] == "2026-03-30"
    opportunities = view["opportunities"]
    assert [o["name"] for o in opportunities["open"]] == ["Boxes for the whole office"]
    assert opportunities["pipeline_value"] == {"EUR": "12000.00"}
    probability = opportunities["open"][0]["probability"]
    weighted = f"{12000 * probability / 100:.2f}"
    assert opportunities["weighted_pipeline_value"] == {"EUR": weighted}
    assert [(o["reason"], o["stage"]) for o in opportunities["lost"]] == [
        ("budget cut", opportunities["open"][0]["stage"])
    ]
    tickets = view["tickets"]
    assert (tickets["opened"], tickets["open"], tickets["complaints_last_90_days"]) == (1, 0, 1)
    assert tickets["average_resolution_hours"] == 3.0
    assert tickets["satisfaction"]["last"] == 4
    assert tickets["breaches"]["count"] == 0
    assert view["interactions"]["by_channel"] == {"call": 1}
    timeline = view["timeline"]
    assert {e["context"] for e in timeline} == {"customer", "sales", "service-desk"}
    assert timeline[0]["type"] == "sales.invoice.overdue"
    assert [e["at"] for e in timeline] == sorted((e["at"] for e in timeline), reverse=True)
    texts = json.dumps(timeline)
    for personal in ("Lovelace", "ada@example.com", "discount", "+44"):
        assert personal not in texts

    # The customer list: filters, sort, pagination, CSV.
    assert await ids(platform, boss, "sort=-spend") == [bob, ada]
    assert await ids(platform, boss, "sort=spend&limit=1") == [ada]
    assert await ids(platform, boss, "sort=spend&limit=1&offset=1") == [bob]
    assert await ids(platform, boss, "region=north") == [ada]
    assert await ids(platform, boss, "tag=vip") == [ada]
    assert await ids(platform, boss, "segment=new") == [bob]
    assert await ids(platform, boss, "owner_id=rep-2") == [bob]
    assert await ids(platform, boss, "min_spend=300") == [bob]
    assert await ids(platform, boss, "max_spend=250") == [ada]
    assert await ids(platform, boss, "value_tier=gold") == []
    bad = await boss.get("/analytics/customers", params={"sort": "secret"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid")
    as_csv = await get(platform, boss, "/analytics/customers?sort=-spend&format=csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    reader = csv.DictReader(io.StringIO(as_csv.text))
    assert tuple(reader.fieldnames or ()) == CUSTOMER_COLUMNS
    rows = list(reader)
    assert [(r["id"], r["orders"], r["spend"]) for r in rows] == [
        (bob, "1", "500.00"),
        (ada, "2", "200.00"),
    ]
    assert (rows[1]["tags"], rows[1]["overdue_invoices"], rows[1]["complaints"]) == (
        "vip",
        "1",
        "1",
    )

    # Churn: after the monitor's tick, the list filters by risk and the warnings list.
    await ChurnMonitor(platform.runtime).tick(clock.now())
    level = (await get(platform, boss, f"/analytics/customers/{ada}/360")).json()["churn"]["level"]
    assert ada in await ids(platform, boss, f"risk={level}")
    warnings = (await get(platform, boss, "/analytics/churn/warnings?format=csv")).text
    reader = csv.DictReader(io.StringIO(warnings))
    assert tuple(reader.fieldnames or ()) == WARNING_COLUMNS
    assert all(row["level"] in ("medium", "high") for row in reader)


async def test_who_may_read_the_customer_analytics(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    ada, bob = await story(api, platform, clock)
    analyst = api.as_user("ana", Role.ANALYST)
    view = (await get(platform, analyst, f"/analytics/customers/{ada}/360")).json()
    assert (view["name"], view["email"]) == (REDACTED, REDACTED)
    assert view["orders"]["count"] == 2
    listed = (await get(platform, analyst, "/analytics/customers?sort=-spend")).json()
    assert [r["name"] for r in listed["items"]] == [REDACTED, REDACTED]
    await get(platform, analyst, "/analytics/churn/report")

    rep1 = api.as_user("rep-1", Role.SALES_REP)
    assert (await get(platform, rep1, f"/analytics/customers/{ada}/360")).json()["name"] == (
        "Ada Lovelace"
    )
    await get(platform, rep1, f"/analytics/customers/{bob}/360", 404)
    assert await ids(platform, rep1, "") == [ada]
    assert await ids(platform, rep1, "owner_id=rep-2") == []
    await get(platform, rep1, "/analytics/churn/warnings")
    await get(platform, rep1, "/analytics/churn/report", 403)

    agent = api.as_user("ann", Role.AGENT)
    await get(platform, agent, f"/analytics/customers/{ada}/360", 403)
    await get(platform, agent, "/analytics/customers", 403)
    await get(platform, agent, "/analytics/churn/warnings", 403)

    other = api.as_user("boss", Role.MANAGER, tenant="other")
    await get(platform, other, f"/analytics/customers/{ada}/360", 404)
    assert await ids(platform, other, "") == []
    assert (await api.client.get(f"/analytics/customers/{ada}/360")).status_code == 401


async def test_the_timeline_names_each_comment_by_whom_it_reached(
    api: Api, platform: Platform
) -> None:
    """An internal note is not an answer to the customer: the timeline says which it was,
    and on which ticket, in plain words."""
    boss = api.as_user("boss")
    agent = api.as_user("ann", Role.AGENT, team="group-a")
    body = {"name": "Cleo Quill", "owner_id": "rep-1", "region": "north"}
    cleo = str((await ok(await boss.post("/customers", json=body), 201))["id"])
    ticket = {
        "customer_id": cleo,
        "kind": "inquiry",
        "channel": "email",
        "priority": "normal",
        "subject": "Opening hours",
        "description": "When are you open?",
    }
    tid = str((await ok(await agent.post("/tickets", json=ticket), 201))["id"])
    note = {"body": "Check the holiday calendar first", "public": False}
    await ok(await agent.post(f"/tickets/{tid}/comment", json=note))
    reply = {"body": "We are open 8 to 18", "public": True}
    await ok(await agent.post(f"/tickets/{tid}/comment", json=reply))

    view = (await get(platform, boss, f"/analytics/customers/{cleo}/360")).json()
    texts = [e["text"] for e in view["timeline"]]
    ref = f"ticket {tid[:8]}"
    assert texts[:3] == [
        f"agent replied to the customer on {ref}",
        f"internal note on {ref}",
        f"inquiry opened as {ref} (priority normal)",
    ]
    assert not any("answered" in t for t in texts)
    assert all("." not in t.split(" ")[0] for t in texts), "plain words, no event types"
