"""The data subject export (``GET /customers/{id}/export``): everything held about one
customer from every context, decrypted, nothing of another customer; admins only; recorded as
``customer.data_exported`` (who exported whom, when)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from crm.events import ERASED
from crm.kernel.auth import Role
from crm.platform.bootstrap import Platform
from tests.conftest import T0, Api, UserClient
from tests.support.reads import caught_up

pytestmark = pytest.mark.contexts("customer", "sales", "service-desk", "activities", "analytics")

EUR = "EUR"


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": EUR}


async def everything_about(boss: UserClient, product: str, name: str) -> dict[str, str]:
    """A customer with an interaction, a consent, a converted lead, an opportunity, a quote,
    an order, an invoice, a payment, a complaint, a visit and a task: their ids."""
    email = f"{name.lower()}@example.com"
    cid = str(
        (await ok(await boss.post("/customers", json={"name": name, "email": email}), 201))["id"]
    )
    note = {"channel": "call", "summary": f"{name} asked about prices"}
    await ok(await boss.post(f"/customers/{cid}/interactions", json=note), 201)
    consent = {"purpose": "marketing_email", "granted": True, "method": "web form"}
    await ok(await boss.post(f"/customers/{cid}/consent", json=consent), 201)
    lead = await ok(await boss.post("/leads", json={"name": f"{name} (lead)", "email": email}), 201)
    await ok(await boss.post(f"/leads/{lead['id']}/qualify"))
    conversion = {
        "opportunity_name": f"{name}'s deal",
        "amount": eur("5000"),
        "expected_close_date": "2026-09-30",
        "existing_customer_id": cid,
    }
    converted = await ok(await boss.post(f"/leads/{lead['id']}/convert", json=conversion), 202)
    quote_body = {
        "customer_id": cid,
        "currency": EUR,
        "valid_until": "2026-04-30",
        "lines": [{"product_id": product, "quantity": "2"}],
    }
    quote = await ok(await boss.post("/quotes", json=quote_body), 201)
    await ok(await boss.post(f"/quotes/{quote['id']}/send"))
    await ok(await boss.post(f"/quotes/{quote['id']}/accept"))
    order = await ok(await boss.post("/orders", json={"quote_id": quote["id"]}), 201)
    invoice = await ok(await boss.post("/invoices", json={"order_id": order["id"]}), 201)
    payment = {"invoice_id": invoice["id"], "amount": eur("100.00")}
    await ok(await boss.post("/payments", json=payment), 201)
    ticket_body = {
        "customer_id": cid,
        "kind": "complaint",
        "channel": "phone",
        "priority": "high",
        "subject": "Wrong box",
        "description": f"{name} got the wrong box",
    }
    ticket = await ok(await boss.post("/tickets", json=ticket_body), 201)
    visit_body = {
        "ticket_id": ticket["id"],
        "customer_id": cid,
        "technician_id": f"tech-{name.lower()}",
        "start": "2026-03-03T09:00:00+00:00",
        "end": "2026-03-03T10:00:00+00:00",
        "address": f"{name}'s house",
    }
    visit = await ok(await boss.post("/visits", json=visit_body), 201)
    task_body = {
        "kind": "call",
        "title": f"Call {name} back",
        "subject_kind": "customer",
        "subject_id": cid,
        "due_at": (T0 + timedelta(days=1)).isoformat(),
    }
    task = await ok(await boss.post("/tasks", json=task_body), 201)
    return {
        "customer": cid,
        "lead": lead["id"],
        "opportunity": converted["opportunity_id"],
        "quote": quote["id"],
        "order": order["id"],
        "invoice": invoice["id"],
        "ticket": ticket["id"],
        "visit": visit["id"],
        "task": task["id"],
    }


async def test_the_export_holds_every_contexts_data_of_the_customer_and_no_one_elses(
    api: Api, platform: Platform
) -> None:
    admin = api.as_user("root", Role.ADMIN)
    product = await ok(
        await admin.post(
            "/products", json={"sku": "B-1", "name": "Box", "list_price": eur("50.00")}
        ),
        201,
    )
    ada = await everything_about(admin, product["id"], "Ada")
    bea = await everything_about(admin, product["id"], "Bea")
    await caught_up(platform, *(p.name for p in platform.projections))

    export = await ok(await admin.get(f"/customers/{ada['customer']}/export"))
    assert (export["customer_id"], export["exported_by"]) == (ada["customer"], "root")
    profile = export["profile"]
    assert (profile["name"], profile["email"]) == ("Ada", "ada@example.com")
    assert profile["consents"]["marketing_email"]["granted"] is True
    assert [i["summary"] for i in export["interactions"]] == ["Ada asked about prices"]
    assert [(lead["id"], lead["name"]) for lead in export["leads"]] == [(ada["lead"], "Ada (lead)")]
    assert [o["id"] for o in export["opportunities"]] == [ada["opportunity"]]
    assert [q["id"] for q in export["quotes"]] == [ada["quote"]]
    assert [o["id"] for o in export["orders"]] == [ada["order"]]
    assert [i["id"] for i in export["invoices"]] == [ada["invoice"]]
    assert [p["amount"] for p in export["payments"]] == [eur("100.00")]
    assert [(t["id"], t["description"]) for t in export["tickets"]] == [
        (ada["ticket"], "Ada got the wrong box")
    ]
    assert [(v["id"], v["address"]) for v in export["visits"]] == [(ada["visit"], "Ada's house")]
    assert [t["id"] for t in export["tasks"]] == [ada["task"]]
    assert export["analytics"]["id"] == ada["customer"]
    assert export["analytics"]["orders"]["count"] == 1
    text = json.dumps(export)
    assert "Bea" not in text
    assert "bea@example.com" not in text
    assert not any(id_ in text for id_ in bea.values())

    # who exported whom, when: an event on the customer's stream, naming the sections
    events = await platform.store.read_stream(f"customer-{ada['customer']}")
    exported = [e for e in events if e.event_type == "customer.data_exported"]
    assert len(exported) == 1
    assert exported[0].actor == "root"
    assert exported[0].position == export["position"]
    assert set(exported[0].payload["sections"]) >= {"profile", "tickets", "analytics"}
    # and the customer's record says when it was last exported
    record = await ok(
        await admin.get(
            f"/customers/{ada['customer']}", params={"min_position": export["position"]}
        )
    )
    assert record["data_exported_at"] == exported[0].occurred_at.isoformat()

    # an erased customer's export shows what is left: erased
    erased = await ok(await admin.post(f"/customers/{ada['customer']}/erase"))
    # read-your-writes: the export waits for every read model to apply the erasure
    r = await admin.get(
        f"/customers/{ada['customer']}/export", params={"min_position": erased["position"]}
    )
    assert "X-CRM-Stale" not in r.headers
    after = await ok(r)
    assert after["profile"]["email"] == ERASED
    assert [i["summary"] for i in after["interactions"]] == [ERASED]


async def test_only_admins_export_and_only_customers_that_exist(api: Api) -> None:
    admin = api.as_user("root", Role.ADMIN)
    cid = (await ok(await admin.post("/customers", json={"name": "Cy"}), 201))["id"]
    for role in (Role.MANAGER, Role.SALES_REP, Role.AGENT, Role.ANALYST):
        r = await api.as_user("u", role).get(f"/customers/{cid}/export")
        assert r.status_code in (403, 404), (role, r.text)
        assert r.status_code == 403 or role is Role.SALES_REP
    r = await admin.get("/customers/00000000-0000-0000-0000-000000000000/export")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = await admin.get("/customers/nope/export")
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["path", "customer_id"])
    r = await api.as_user("root", Role.ADMIN, tenant="other").get(f"/customers/{cid}/export")
    assert r.status_code in (401, 404)
