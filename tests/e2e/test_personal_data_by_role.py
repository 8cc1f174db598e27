"""One rule for personal data per role, the same in every context and every export
(:mod:`crm.kernel.redaction`), over HTTP on the whole platform.

An analyst reads every route and CSV export that can hold a customer's or a lead's name,
e-mail address, phone, title, interaction summaries, ticket texts or a visit's address,
notes and report -- customer, sales, service desk, analytics -- and finds none of the
plaintext anywhere in the answers' text, while a manager finds each of them. A sales rep
still sees the contact data and interaction notes of their own customer and lead, not the
desk's texts. An analyst may not search or sort by a field they do not see. Erasure wins
over redaction: an erased field reads erased, whoever asks."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import pytest

from crm.analytics.application.reports.campaigns import CAMPAIGN_COLUMNS
from crm.analytics.application.reports.customers import CUSTOMER_COLUMNS
from crm.analytics.application.reports.funnel import FUNNEL_COLUMNS
from crm.analytics.application.reports.revenue import REVENUE_COLUMNS
from crm.analytics.application.reports.rfm import RFM_COLUMNS
from crm.analytics.application.reports.service import SERVICE_COLUMNS
from crm.analytics.churn.monitor import ChurnMonitor
from crm.events import ERASED
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.redaction import REDACTED
from crm.platform.bootstrap import Platform
from tests.conftest import T0, Api, UserClient

pytestmark = pytest.mark.e2e

CONTACT = {
    "name": "Adelheid Quuxley",
    "email": "adelheid.quuxley@example.org",
    "phone": "+49 30 9876 5432",
    "title": "Chief Zebra Officer",
}
LEAD_CONTACT = {
    "name": "Lorenz Leadwright",
    "email": "lorenz.leadwright@example.net",
    "phone": "+49 40 1111 2222",
    "title": "Head of Yaks",
}
SUMMARY = "Called about the walrus invoice, she is moving house"
DESCRIPTION = "The narwhal lamp arrived broken, says Adelheid"
COMMENT = "Rang back on the landline about the narwhal lamp"
SATISFACTION = "Quick and kind, thanks to the okapi team"
FOLLOW_UP = "Checked in: the replacement pangolin lamp works"
ADDRESS = "7 Axolotl Lane, Springfield"
NOTES = "Ring the bell of the capybara door"
REPORT = "Replaced the lamp under the quokka shelf"

SERVICE_TEXTS = (DESCRIPTION, COMMENT, SATISFACTION, FOLLOW_UP, NOTES, REPORT)
PERSONAL = (*CONTACT.values(), *LEAD_CONTACT.values(), SUMMARY, *SERVICE_TEXTS, ADDRESS)


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def read(platform: Platform, client: UserClient, url: str, status: int = 200) -> str:
    """The text of GET ``url`` once the read models applied everything in the store (the
    interactions are read from the customer's stream: no read model to wait for)."""
    head = await platform.store.head_position()
    path, _, query = url.partition("?")
    wait = [] if path.endswith("/interactions") else [("min_position", str(head))]
    r = await client.get(path, params=[*parse_qsl(query), *wait])
    assert r.status_code == status, (url, r.text)
    return r.text


async def story(api: Api, clock: ManualClock) -> dict[str, str]:
    """rep-1's customer with an interaction, three complaints (one worked to the end: a
    comment, satisfaction, a follow-up and a completed visit) and a churn warning; rep-1's
    lead converted into a new customer with an opportunity."""
    boss, rep = api.as_user("boss"), api.as_user("rep-1", Role.SALES_REP)
    agent = api.as_user("ann", Role.AGENT)
    ids: dict[str, str] = {}
    body = {**CONTACT, "company": "Quuxworks", "region": "north", "owner_id": "rep-1"}
    ids["customer"] = c = str((await ok(await boss.post("/customers", json=body), 201))["id"])
    call = {"channel": "call", "direction": "outbound", "summary": SUMMARY}
    await ok(await rep.post(f"/customers/{c}/interactions", json=call), 201)

    lead = await ok(await rep.post("/leads", json={**LEAD_CONTACT, "company": "Yakco"}), 201)
    ids["lead"] = lead["id"]
    await ok(await rep.post(f"/leads/{lead['id']}/qualify", json={}))
    conversion = {
        "opportunity_name": "Yak herd",
        "amount": {"amount": "5000.00", "currency": "EUR"},
        "expected_close_date": "2026-09-30",
    }
    conv = await ok(await rep.post(f"/leads/{lead['id']}/convert", json=conversion), 202)
    ids["lead_customer"], ids["opportunity"] = conv["customer_id"], conv["opportunity_id"]

    tickets = []
    for day in (1, 2, 3):
        clock.set(T0.replace(day=T0.day + day))
        complaint = {
            "customer_id": c,
            "kind": "complaint",
            "channel": "phone",
            "priority": "high",
            "subject": f"Lamp {day}",
            "description": DESCRIPTION,
        }
        tickets.append((await ok(await agent.post("/tickets", json=complaint), 201))["id"])
    ids["ticket"] = t = tickets[0]
    await ok(await agent.post(f"/tickets/{t}/assign", json={"agent_id": "ann"}))
    await ok(await agent.post(f"/tickets/{t}/comment", json={"body": COMMENT, "public": True}))
    visit = {
        "ticket_id": t,
        "customer_id": c,
        "technician_id": "tech-1",
        "start": "2026-03-06T09:00:00+00:00",
        "end": "2026-03-06T10:00:00+00:00",
        "address": ADDRESS,
        "notes": NOTES,
    }
    ids["visit"] = v = str((await ok(await boss.post("/visits", json=visit), 201))["id"])
    clock.set(T0.replace(day=6, hour=10))
    await ok(await boss.post(f"/visits/{v}/complete", json={"report": REPORT}))
    await ok(await agent.post(f"/tickets/{t}/resolve", json={"resolution": "lamp replaced"}))
    score = {"score": 4, "comment": SATISFACTION}
    await ok(await agent.post(f"/tickets/{t}/satisfaction", json=score))
    await ok(await agent.post(f"/tickets/{t}/follow-up", json={"note": FOLLOW_UP}))
    return ids


def routes(ids: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Every route and export that can hold personal data, and what a manager finds in it."""
    c, lc, lead, t, v = (ids[k] for k in ("customer", "lead_customer", "lead", "ticket", "visit"))
    contact, lead_contact = tuple(CONTACT.values()), tuple(LEAD_CONTACT.values())
    name_email = (CONTACT["name"], CONTACT["email"])
    ticket_texts = (DESCRIPTION, COMMENT, SATISFACTION, FOLLOW_UP)
    visit_texts = (ADDRESS, NOTES, REPORT)
    found: dict[str, tuple[str, ...]] = {
        # customer
        "/customers": (*contact, *lead_contact),
        f"/customers/{c}": contact,
        f"/customers/{lc}": lead_contact,
        f"/customers/{c}/interactions": (SUMMARY,),
        # sales
        "/leads": lead_contact,
        f"/leads/{lead}": lead_contact,
        "/opportunities": (),
        f"/opportunities/{ids['opportunity']}": (),
        "/quotes": (),
        "/orders": (),
        "/invoices": (),
        "/payments": (),
        # service desk
        "/tickets": ticket_texts,
        f"/tickets/{t}": ticket_texts,
        f"/tickets?customer_id={c}": ticket_texts,
        "/visits": visit_texts,
        f"/visits/{v}": visit_texts,
        # analytics
        f"/analytics/customers/{c}/360": name_email,
        f"/analytics/customers/{lc}/360": (LEAD_CONTACT["name"], LEAD_CONTACT["email"]),
        f"/analytics/customers/{c}/activity": name_email,
        "/analytics/customers": (CONTACT["name"], LEAD_CONTACT["name"]),
        "/analytics/customers?format=csv": (CONTACT["name"], LEAD_CONTACT["name"]),
        "/analytics/churn/warnings": (CONTACT["name"],),
        "/analytics/churn/warnings?format=csv": (CONTACT["name"],),
        "/analytics/churn/report": (),
        "/analytics/churn/report?format=csv": (),
    }
    for url, columns in (
        ("/analytics/funnel", FUNNEL_COLUMNS),
        ("/analytics/reports/customers", CUSTOMER_COLUMNS),
        ("/analytics/reports/rfm", RFM_COLUMNS),
        ("/analytics/reports/revenue", REVENUE_COLUMNS),
        ("/analytics/reports/campaigns", CAMPAIGN_COLUMNS),
        ("/analytics/reports/service", SERVICE_COLUMNS),
    ):
        found[url] = ()
        found.update({f"{url}?format=csv&table={table}": () for table in columns})
    return found


async def converted(platform: Platform, boss: UserClient, lead_id: str) -> None:
    for _ in range(200):
        if '"status":"converted"' in await read(platform, boss, f"/leads/{lead_id}"):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"lead {lead_id} was not converted")


async def test_an_analyst_finds_no_personal_data_in_any_context_a_manager_finds_it_all(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    ids = await story(api, clock)
    boss, analyst = api.as_user("boss"), api.as_user("ana", Role.ANALYST)
    await converted(platform, boss, ids["lead"])
    await read(platform, boss, "/analytics/customers")
    await ChurnMonitor(platform.runtime).tick(clock.now())

    leaks: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    seen_by_manager = ""
    for url, expected in routes(ids).items():
        as_analyst = await read(platform, analyst, url)
        if found := [value for value in PERSONAL if value in as_analyst]:
            leaks[url] = found
        as_manager = await read(platform, boss, url)
        seen_by_manager += as_manager
        if absent := [value for value in expected if value not in as_manager]:
            missing[url] = absent
    assert leaks == {}, "personal data an analyst reads"
    assert missing == {}, "personal data a manager does not find"
    assert all(value in seen_by_manager for value in PERSONAL)

    # the fields are there for the analyst, redacted
    customer = await ok(await analyst.get(f"/customers/{ids['customer']}"))
    assert {k: customer[k] for k in CONTACT} == dict.fromkeys(CONTACT, REDACTED)
    assert (customer["company"], customer["region"]) == ("Quuxworks", "north")
    [interaction] = (await analyst.get(f"/customers/{ids['customer']}/interactions")).json()
    assert (interaction["summary"], interaction["channel"]) == (REDACTED, "call")
    lead = await ok(await analyst.get(f"/leads/{ids['lead']}"))
    assert {k: lead[k] for k in LEAD_CONTACT} == dict.fromkeys(LEAD_CONTACT, REDACTED)
    assert (lead["company"], lead["status"]) == ("Yakco", "converted")

    # nor may an analyst find or order records by what is hidden from them
    for url in ("/customers?q=adelheid", "/customers?sort=name", "/leads?sort=-name"):
        r = await analyst.get(url)
        assert (r.status_code, r.json()["code"]) == (403, "forbidden"), (url, r.text)
    assert CONTACT["name"] in await read(platform, boss, "/customers?q=adelheid&sort=name")


async def test_a_rep_sees_their_customers_contact_and_notes_not_the_desks_texts(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    ids = await story(api, clock)
    rep = api.as_user("rep-1", Role.SALES_REP)
    await converted(platform, rep, ids["lead"])
    customer = await ok(await rep.get(f"/customers/{ids['customer']}"))
    assert {k: customer[k] for k in CONTACT} == CONTACT
    interactions = await read(platform, rep, f"/customers/{ids['customer']}/interactions")
    assert SUMMARY in interactions
    listed = await read(platform, rep, "/customers?q=adelheid&sort=name")
    assert CONTACT["email"] in listed
    lead = await ok(await rep.get(f"/leads/{ids['lead']}"))
    assert {k: lead[k] for k in LEAD_CONTACT} == LEAD_CONTACT
    assert LEAD_CONTACT["phone"] in await read(platform, rep, "/leads?sort=name")
    assert CONTACT["name"] in await read(
        platform, rep, f"/analytics/customers/{ids['customer']}/360"
    )
    # the desk's texts are not a rep's
    ticket = await ok(await rep.get(f"/tickets/{ids['ticket']}"))
    assert (ticket["description"], ticket["satisfaction"]["comment"]) == (REDACTED, REDACTED)
    visit = await read(platform, rep, f"/visits/{ids['visit']}")
    assert not [value for value in (ADDRESS, NOTES, REPORT) if value in visit]


async def test_erasure_wins_over_redaction(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    ids = await story(api, clock)
    admin, analyst = api.as_user("root", Role.ADMIN), api.as_user("ana", Role.ANALYST)
    rep = api.as_user("rep-1", Role.SALES_REP)
    await ok(await admin.post(f"/customers/{ids['customer']}/erase"))
    customer = await read(platform, analyst, f"/customers/{ids['customer']}")
    assert ERASED in customer
    assert REDACTED not in customer
    for who in (analyst, rep):
        ticket = await ok(await who.get(f"/tickets/{ids['ticket']}"))
        assert (ticket["description"], ticket["comments"][0]["body"]) == (ERASED, ERASED)
        assert ticket["follow_up"]["note"] == ERASED
        visit = await ok(await who.get(f"/visits/{ids['visit']}"))
        assert (visit["address"], visit["report"]) == (ERASED, ERASED)
    [interaction] = (await analyst.get(f"/customers/{ids['customer']}/interactions")).json()
    assert interaction["summary"] == ERASED
    view = await read(platform, analyst, f"/analytics/customers/{ids['customer']}/360")
    assert ERASED in view
    assert REDACTED not in view
