"""The knowledge base through HTTP: articles drafted, versioned, published and retired, seen
as published by readers and in full by writers; search over published versions only; and
how often each article resolved a ticket, counted from the tickets' resolutions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl
from uuid import uuid4

import pytest

from crm.events.service_desk import TicketChannel, TicketKind, TicketPriority
from crm.kernel.auth import Role
from crm.kernel.repository import CommandContext, Repository
from crm.platform.bootstrap import Platform
from crm.service_desk.domain.calendar import DEFAULT_CALENDAR
from crm.service_desk.domain.sla import DEFAULT_POLICY
from crm.service_desk.domain.tickets import Ticket
from tests.conftest import Api, UserClient
from tests.support.customers import known_customers

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("service-desk")]

_customers = known_customers("cust-1")

Users = Callable[..., UserClient]


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def read(client: UserClient, url: str, position: int, status: int = 200) -> dict[str, Any]:
    path, _, query = url.partition("?")
    r = await client.get(path, params=[*parse_qsl(query), ("min_position", str(position))])
    assert r.status_code == status, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


ARTICLES = {
    "jam": {
        "title": "Printer paper jam",
        "problem": "The printer stops and shows a jam light after printing two pages.",
        "solution": "Open tray 2, remove the stuck paper, close the tray.",
        "tags": ["Printer", "paper jam"],
        "product": "LaserJet 200",
    },
    "wifi": {
        "title": "Wi-Fi keeps dropping",
        "problem": "The router loses the connection every few minutes.",
        "solution": "Update the router firmware and change the channel.",
        "tags": ["network"],
        "product": "Router X",
    },
    "screen": {
        "title": "Écran noir au démarrage",
        "problem": "The screen stays black after boot; the printer queue is unaffected.",
        "solution": "Hold the power button ten seconds and restart.",
        "tags": ["display"],
        "product": "Laptop 13",
    },
}


async def draft(client: UserClient, name: str) -> dict[str, Any]:
    return await ok(await client.post("/kb/articles", json=ARTICLES[name]), 201)


async def test_versions_publication_and_who_sees_what(api: Api, as_user: Users) -> None:
    agent, analyst = as_user("agent-1", Role.AGENT), as_user("ann", Role.ANALYST)
    created = await agent.post("/kb/articles", json=ARTICLES["jam"])
    art = await ok(created, 201)
    url = f"/kb/articles/{art['id']}"
    assert created.headers["Location"] == url

    shown = await read(agent, url, art["position"])
    assert (shown["status"], shown["version"], shown["author_id"]) == ("draft", 1, "agent-1")
    assert shown["tags"] == ["printer", "paper-jam"]
    await read(analyst, url, art["position"], status=404)  # a draft is for writers only
    assert (await read(analyst, "/kb/articles", art["position"]))["total"] == 0

    v2 = await ok(await agent.patch(url, json={"solution": "Open tray 2 and pull gently."}))
    shown = await read(agent, url, v2["position"])
    assert (shown["version"], shown["title"]) == (2, "Printer paper jam")
    assert [(v["version"], v["changed"]) for v in shown["versions"]] == [
        (1, ["title", "problem", "solution", "tags", "product"]),
        (2, ["solution"]),
    ]
    stale = await agent.post(f"{url}/publish", json={"version": 1})
    assert (stale.status_code, stale.json()["code"]) == (409, "article_version_mismatch")
    # an edit naming the version it started from: refused once another replaced it
    older = await agent.patch(url, json={"title": "From version 1", "version": 1})
    assert (older.status_code, older.json()["code"]) == (409, "article_version_mismatch")
    assert (await read(agent, url, v2["position"]))["title"] == "Printer paper jam"
    bad = await agent.patch(url, json={"title": "x", "version": 0})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "version"]
    await ok(await agent.post(f"{url}/publish", json={"version": 2}))

    # A new version waits for publication: readers keep seeing version 2.
    v3 = await ok(
        await agent.patch(url, json={"title": "Paper jam in tray 2", "product": "", "version": 2})
    )
    mine = await read(agent, url, v3["position"])
    assert (mine["title"], mine["product"], mine["version"], mine["published_version"]) == (
        "Paper jam in tray 2",
        None,
        3,
        2,
    )
    theirs = await read(analyst, url, v3["position"])
    assert (theirs["title"], theirs["product"], theirs["version"]) == (
        "Printer paper jam",
        "LaserJet 200",
        2,
    )
    assert [v["version"] for v in theirs["versions"]] == [2]
    listed = await read(analyst, "/kb/articles?product=LaserJet 200", v3["position"])
    assert [a["title"] for a in listed["items"]] == ["Printer paper jam"]
    assert (await read(analyst, "/kb/articles?status=draft", v3["position"]))["total"] == 0
    assert (await read(agent, "/kb/articles?product=LaserJet 200", v3["position"]))["total"] == 0

    assert (await analyst.patch(url, json={"title": "mine now"})).status_code == 403
    assert (
        await as_user("rep", Role.SALES_REP).post("/kb/articles", json=ARTICLES["wifi"])
    ).status_code == 403
    blank = await agent.post("/kb/articles", json={**ARTICLES["wifi"], "title": "  "})
    assert blank.status_code == 422
    assert blank.json()["detail"][0]["loc"] == ["body", "title"]
    unknown = await agent.post(f"/kb/articles/{uuid4()}/publish")
    assert unknown.status_code == 404

    gone = await ok(await as_user("boss").post(f"{url}/retire", json={"reason": "new printers"}))
    await read(analyst, url, gone["position"], status=404)
    shown = await read(agent, url, gone["position"])
    assert (shown["status"], shown["retire_reason"], shown["published"]) == (
        "retired",
        "new printers",
        None,
    )
    refused = await agent.patch(url, json={"title": "again"})
    assert (refused.status_code, refused.json()["code"]) == (409, "article_retired")


async def test_search_finds_published_versions_only(api: Api, as_user: Users) -> None:
    boss, rep = as_user("boss"), as_user("rep", Role.SALES_REP)
    ids = {name: (await draft(boss, name))["id"] for name in ARTICLES}
    for name in ("jam", "wifi", "screen"):
        last = await ok(await boss.post(f"/kb/articles/{ids[name]}/publish"))
    hidden = await draft(boss, "jam")  # an unpublished copy is never found
    last = await ok(await boss.patch(f"/kb/articles/{ids['wifi']}", json={"title": "Printers"}))

    found = await read(rep, "/kb/search?q=printers jammed", last["position"])
    assert [h["id"] for h in found["items"]] == [ids["jam"], ids["screen"]]
    assert found["items"][0]["title"] == "Printer paper jam"
    assert found["items"][0]["score"] > found["items"][1]["score"] > 0
    assert hidden["id"] not in [h["id"] for h in found["items"]]
    accents = await read(rep, "/kb/search?q=ecran demarrage", last["position"])
    assert [h["id"] for h in accents["items"]] == [ids["screen"]]
    assert (await read(rep, "/kb/search?q=wifi", last["position"]))["items"][0]["id"] == ids["wifi"]
    only = await read(rep, "/kb/search?q=printer&product=Laptop 13&limit=5", last["position"])
    assert [h["id"] for h in only["items"]] == [ids["screen"]]
    assert len((await read(rep, "/kb/search?q=printer&limit=1", last["position"]))["items"]) == 1
    assert (await read(rep, "/kb/search?q=the of and", last["position"]))["items"] == []

    # Publishing the edit makes it searchable; retiring removes the article.
    published = await ok(await boss.post(f"/kb/articles/{ids['wifi']}/publish"))
    found = await read(rep, "/kb/search?q=printers", published["position"])
    assert [h["id"] for h in found["items"]] == [ids["jam"], ids["wifi"], ids["screen"]]
    assert found["items"][1]["version"] == 2
    retired = await ok(await boss.post(f"/kb/articles/{ids['jam']}/retire"))
    found = await read(rep, "/kb/search?q=paper jam", retired["position"])
    assert ids["jam"] not in [h["id"] for h in found["items"]]
    assert (await rep.get("/kb/search?q=")).status_code == 422


def as_agent(platform: Platform) -> CommandContext:
    return CommandContext(
        actor="agent-1", role="agent", tenant="default", now=platform.runtime.clock.now()
    )


async def resolve_ticket(platform: Platform, article_id: str | None) -> int:
    """Open, assign and resolve a ticket through its aggregate (the ticket routes are tested
    on their own); the position of the resolution."""
    runtime = platform.runtime
    ticket = Ticket.create(str(uuid4()))
    ticket.open(
        customer_id="cust-1",
        kind=TicketKind.INQUIRY,
        channel=TicketChannel.EMAIL,
        priority=TicketPriority.LOW,
        subject="Paper jam",
        description="It jams",
        now=runtime.clock.now(),
        policy=DEFAULT_POLICY,
        calendar=DEFAULT_CALENDAR,
    )
    ticket.assign(agent_id="agent-1")
    ticket.resolve(
        resolution="Followed the article", now=runtime.clock.now(), kb_article_id=article_id
    )
    result = await Repository(runtime.store, runtime.codec, Ticket).save(ticket, as_agent(platform))
    return result.position


async def test_resolved_tickets_are_counted_per_article(api: Api, as_user: Users) -> None:
    boss, analyst = as_user("boss"), as_user("ann", Role.ANALYST)
    jam, wifi = (await draft(boss, "jam"))["id"], (await draft(boss, "wifi"))["id"]
    for id_ in (jam, wifi):
        await ok(await boss.post(f"/kb/articles/{id_}/publish"))
    await resolve_ticket(api.platform, jam)
    await resolve_ticket(api.platform, None)
    await resolve_ticket(api.platform, str(uuid4()))  # an article this tenant does not have
    await resolve_ticket(api.platform, wifi)
    position = await resolve_ticket(api.platform, jam)

    assert (await read(analyst, f"/kb/articles/{jam}", position))["resolved_tickets"] == 2
    ranked = await read(analyst, "/kb/articles?sort=-resolved_tickets", position)
    assert [(a["id"], a["resolved_tickets"]) for a in ranked["items"]] == [(jam, 2), (wifi, 1)]
    hits = await read(analyst, "/kb/search?q=paper", position)
    assert [(h["id"], h["resolved_tickets"]) for h in hits["items"]] == [(jam, 2)]
    assert (await analyst.get("/kb/articles?sort=author_id")).status_code == 422
