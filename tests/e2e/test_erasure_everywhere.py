"""Erasing a customer reaches every read model that copied their personal data, over HTTP on
the real platform: tickets (description, comment bodies, satisfaction comment, follow-up note)
and visits (address, notes, report), whose documents no ``customer.erased`` event can reach by
key; the sales lead the customer was converted from (its own key goes with the customer's);
the 360° view. What the API shows equals what a rebuild of the projections stores."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest

from crm.events import ERASED
from crm.events.sales import LeadConversionRequested
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.platform.bootstrap import Platform
from crm.sales.domain.leads import Lead
from crm.sales.projections.pipeline_models import LEADS
from crm.service_desk.projections.ticket_models import TICKETS
from crm.service_desk.projections.visit_models import VISITS
from tests.conftest import Api, UserClient

pytestmark = pytest.mark.e2e

Users = Callable[..., UserClient]
DESCRIPTION = "Mrs Lovelace, 12 St James's Square, got the wrong box"


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def get(platform: Platform, client: UserClient, url: str) -> dict[str, Any]:
    """GET ``url`` once the read models have applied everything in the store."""
    head = await platform.store.head_position()
    path, _, query = url.partition("?")
    r = await client.get(path, params=[*parse_qsl(query), ("min_position", str(head))])
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


async def purged(platform: Platform, collection: str, id: str, field: str) -> dict[str, Any]:
    """The stored document once the erasure reaction's online rebuild replaced its copy of
    the personal data (no operator step: the database itself ends up clean)."""
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        stored = await platform.read_store.get(collection, id)
        if stored is not None and stored[field] == ERASED:
            return dict(stored)
        assert asyncio.get_running_loop().time() < deadline, stored
        await asyncio.sleep(0.05)


async def customer(boss: UserClient, name: str) -> str:
    body = {"name": name, "email": f"{name.split()[0].lower()}@example.com"}
    return str((await ok(await boss.post("/customers", json=body), 201))["id"])


async def worked_complaint(agent: UserClient, customer_id: str) -> str:
    """A complaint with a comment, resolved, scored with a comment and followed up."""
    body = {
        "customer_id": customer_id,
        "kind": "complaint",
        "channel": "phone",
        "priority": "high",
        "subject": "Wrong box delivered",
        "description": DESCRIPTION,
    }
    tid = str((await ok(await agent.post("/tickets", json=body), 201))["id"])
    await ok(await agent.post(f"/tickets/{tid}/assign", json={"agent_id": "ann"}))
    comment = {"body": "Called Mrs Lovelace back on +44 20 7946 0000", "public": True}
    await ok(await agent.post(f"/tickets/{tid}/comment", json=comment))
    await ok(await agent.post(f"/tickets/{tid}/resolve", json={"resolution": "box swapped"}))
    score = {"score": 4, "comment": "Quick, says Ada"}
    await ok(await agent.post(f"/tickets/{tid}/satisfaction", json=score))
    await ok(await agent.post(f"/tickets/{tid}/follow-up", json={"note": "Ada is fine now"}))
    return tid


async def completed_visit(
    boss: UserClient, clock: ManualClock, ticket_id: str, customer_id: str
) -> str:
    body = {
        "ticket_id": ticket_id,
        "customer_id": customer_id,
        "technician_id": "tech-1",
        "start": "2026-03-03T09:00:00+00:00",
        "end": "2026-03-03T10:00:00+00:00",
        "address": "12 St James's Square, London",
        "notes": "ask for Ada at the door",
    }
    vid = str((await ok(await boss.post("/visits", json=body), 201))["id"])
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    report = {"report": "Swapped the box with Ada watching"}
    await ok(await boss.post(f"/visits/{vid}/complete", json=report))
    return vid


def assert_ticket_erased(ticket: dict[str, Any], customer_id: str) -> None:
    assert ticket["description"] == ERASED
    assert [c["body"] for c in ticket["comments"]] == [ERASED]
    assert ticket["satisfaction"]["comment"] == ERASED
    assert ticket["follow_up"]["note"] == ERASED
    # what is not personal is kept
    assert (ticket["customer_id"], ticket["subject"]) == (customer_id, "Wrong box delivered")
    assert (ticket["status"], ticket["resolution"]) == ("resolved", "box swapped")
    assert ticket["satisfaction"]["score"] == 4
    assert ticket["comments"][0]["author_id"] == "ann"
    assert ticket["follow_up"]["agent_id"] == "ann"


async def test_erasing_a_customer_erases_their_tickets_and_visits(
    api: Api, clock: ManualClock
) -> None:
    platform = api.platform
    admin, boss = api.as_user("root", Role.ADMIN), api.as_user("boss")
    agent = api.as_user("ann", Role.AGENT)
    ada, bob = await customer(boss, "Ada Lovelace"), await customer(boss, "Bob Byte")
    ada_ticket, bob_ticket = await worked_complaint(agent, ada), await worked_complaint(agent, bob)
    vid = await completed_visit(boss, clock, ada_ticket, ada)
    before = await get(platform, agent, f"/tickets/{ada_ticket}")
    assert before["description"] == DESCRIPTION
    assert before["follow_up"]["note"] == "Ada is fine now"

    await ok(await admin.post(f"/customers/{ada}/erase", json={"reason": "GDPR art. 17"}))

    ticket = await get(platform, agent, f"/tickets/{ada_ticket}")
    assert_ticket_erased(ticket, ada)
    assert {k: v for k, v in ticket.items() if k not in ("description", "comments")} == {
        **{k: v for k, v in before.items() if k not in ("description", "comments")},
        "satisfaction": {**before["satisfaction"], "comment": ERASED},
        "follow_up": {**before["follow_up"], "note": ERASED},
    }
    listed = {t["id"]: t for t in (await get(platform, agent, "/tickets"))["items"]}
    assert_ticket_erased(listed[ada_ticket], ada)
    assert listed[bob_ticket]["description"] == DESCRIPTION  # another customer: untouched
    assert listed[bob_ticket]["comments"][0]["body"].startswith("Called Mrs Lovelace")
    by_customer = await get(platform, agent, f"/tickets?customer_id={ada}")
    assert [t["description"] for t in by_customer["items"]] == [ERASED]

    visit = await get(platform, boss, f"/visits/{vid}")
    assert (visit["address"], visit["notes"], visit["report"]) == (ERASED, ERASED, ERASED)
    assert (visit["status"], visit["technician_id"], visit["ticket_id"]) == (
        "completed",
        "tech-1",
        ada_ticket,
    )
    assert visit["start"].startswith("2026-03-03T09:00")
    [listed_visit] = (await get(platform, boss, f"/visits?customer_id={ada}"))["items"]
    assert listed_visit["address"] == listed_visit["report"] == ERASED

    view = await get(platform, boss, f"/analytics/customers/{ada}/360")
    assert view["name"] == ERASED
    assert DESCRIPTION not in str(view)

    # the erasure's online rebuild stores what the API already showed
    stored_ticket = await purged(platform, TICKETS, ada_ticket, "description")
    stored_visit = await purged(platform, VISITS, vid, "address")
    assert_ticket_erased(stored_ticket, ada)
    assert stored_visit["address"] == stored_visit["report"] == ERASED
    assert await get(platform, agent, f"/tickets/{ada_ticket}") == ticket
    assert await get(platform, boss, f"/visits/{vid}") == visit
    assert (await get(platform, agent, f"/tickets/{bob_ticket}"))["description"] == DESCRIPTION


async def converted(platform: Platform, rep: UserClient, lead_id: str) -> dict[str, Any]:
    """The lead once the conversion process (customer registered, opportunity opened) is
    done."""
    for _ in range(200):
        lead = await get(platform, rep, f"/leads/{lead_id}")
        if lead["status"] == "converted":
            return lead
        await asyncio.sleep(0.025)
    raise AssertionError(f"lead {lead_id} is still {lead['status']}")


async def test_erasing_a_converted_customer_erases_the_lead_they_came_from(api: Api) -> None:
    platform = api.platform
    admin, rep = api.as_user("root", Role.ADMIN), api.as_user("rep-1", Role.SALES_REP)
    contact = {
        "name": "Grace Hopper",
        "email": "grace@navy.example",
        "phone": "+1 555 0100",
        "company": "Navy",
    }
    lead = await ok(await rep.post("/leads", json=contact), 201)
    other = await ok(await rep.post("/leads", json={**contact, "name": "Ada Byron"}), 201)
    await ok(await rep.post(f"/leads/{lead['id']}/qualify"))
    conversion = {
        "opportunity_name": "Navy compilers",
        "amount": {"amount": "50000", "currency": "EUR"},
        "expected_close_date": "2026-09-30",
    }
    conv = await ok(await rep.post(f"/leads/{lead['id']}/convert", json=conversion), 202)
    done = await converted(platform, rep, lead["id"])
    assert (done["name"], done["customer_id"]) == ("Grace Hopper", conv["customer_id"])
    customer_id = conv["customer_id"]

    await ok(await admin.post(f"/customers/{customer_id}/erase"))

    erased = await get(platform, rep, f"/leads/{lead['id']}")
    assert (erased["name"], erased["email"], erased["phone"]) == (ERASED, ERASED, ERASED)
    assert {k: v for k, v in erased.items() if k not in ("name", "email", "phone")} == {
        k: v for k, v in done.items() if k not in ("name", "email", "phone")
    }
    listed = {d["id"]: d for d in (await get(platform, rep, "/leads"))["items"]}
    assert listed[lead["id"]]["name"] == ERASED
    assert listed[other["id"]]["name"] == "Ada Byron"  # another lead: its own key, untouched
    profile = await get(platform, admin, f"/customers/{customer_id}")
    assert (profile["name"], profile["email"], profile["phone"]) == (ERASED, ERASED, ERASED)
    view = await get(platform, admin, f"/analytics/customers/{customer_id}/360")
    assert (view["name"], view["email"]) == (ERASED, ERASED)

    # the lead's key is gone: its events, the conversion request's contact too, read erased
    raw = await platform.store.read_stream(Lead.stream_id_for(lead["id"]))
    events = await platform.runtime.codec.decode(raw)
    [request] = [e for e in events if isinstance(e, LeadConversionRequested)]
    assert (request.contact_name, request.contact_email, request.contact_phone) == (
        ERASED,
        ERASED,
        ERASED,
    )
    stored = await purged(platform, LEADS, lead["id"], "name")
    assert (stored["name"], stored["email"], stored["phone"]) == (ERASED, ERASED, ERASED)
    assert await get(platform, rep, f"/leads/{lead['id']}") == erased


async def test_a_lead_converted_for_an_existing_customer_is_erased_with_them(api: Api) -> None:
    """Converting a lead for a customer who already exists links the lead to them
    (``customer.lead_linked``), so the customer's erasure reaches the lead's contact too; an
    erased customer takes no new records, so no lead is converted for them any more (409
    ``customer_erased``)."""
    platform = api.platform
    admin, rep = api.as_user("root", Role.ADMIN), api.as_user("rep-1", Role.SALES_REP)
    existing = await ok(
        await rep.post("/customers", json={"name": "Grace Hopper", "owner_id": "rep-1"}), 201
    )
    conversion = {
        "opportunity_name": "Navy compilers",
        "amount": {"amount": "50000", "currency": "EUR"},
        "expected_close_date": "2026-09-30",
        "existing_customer_id": existing["id"],
    }
    leads = []
    for name in ("Grace Hopper", "G. Hopper"):
        lead = await ok(
            await rep.post("/leads", json={"name": name, "email": "g@navy.example"}), 201
        )
        await ok(await rep.post(f"/leads/{lead['id']}/qualify"))
        leads.append(lead["id"])
    await ok(await rep.post(f"/leads/{leads[0]}/convert", json=conversion), 202)
    await converted(platform, rep, leads[0])
    assert (await get(platform, rep, f"/leads/{leads[0]}"))["name"] == "Grace Hopper"

    await ok(await admin.post(f"/customers/{existing['id']}/erase"))
    first = await get(platform, rep, f"/leads/{leads[0]}")
    assert (first["name"], first["email"]) == (ERASED, ERASED)

    # an erased customer takes no new records: the second lead is not converted for them
    refused = await rep.post(f"/leads/{leads[1]}/convert", json=conversion)
    assert (refused.status_code, refused.json()["code"]) == (409, "customer_erased")
    second = await get(platform, rep, f"/leads/{leads[1]}")
    assert (second["name"], second["status"]) == ("G. Hopper", "qualified")
    linked = [
        e.payload["lead_id"]
        for e in await platform.store.read_stream(f"customer-{existing['id']}")
        if e.event_type == "customer.lead_linked"
    ]
    assert linked == leads[:1]
