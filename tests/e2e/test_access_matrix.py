"""The access matrix: every kind of record x every action (read one, list, change, create a
record referring to it) x an outsider (another rep or sales team, another support group,
another tenant). Each outsider must be refused: 404 for a record they may not see (its
existence does not leak), 422 naming the field for a reference to a customer they may not act
on (the same answer as for one that does not exist), never a success. One rule shows here
as it is meant: visits are read tenant-wide (the technicians' schedule every agent books
against), so another support group reads them but changes none. A new route that
forgets the rules shows up here as a row that answered 2xx.

Every cell is checked and the failures are reported together, so one run shows the whole
matrix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from crm.kernel.auth import Role
from tests.conftest import Api, UserClient

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales", "service-desk")]

Call = Callable[[UserClient], Awaitable[httpx.Response]]


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


@dataclass(frozen=True)
class Cell:
    kind: str
    action: str
    outsider: str
    call: Call
    refused: frozenset[int]
    """The answers that refuse it (the rule's)."""
    hidden_id: str | None = None
    """For a list: the id that must not be among the items."""


async def story(api: Api) -> dict[str, str]:
    """Tenant ``default``: rep-a of sales team north owns a customer and their lead,
    opportunity, quotes, order and invoice; north's manager set rep-a's target; agent-1 of
    support group g1 works a ticket of the customer with a visit; a contract and a KB
    article. Returns the records' ids."""
    rep = api.as_user("rep-a", Role.SALES_REP, team="north")
    boss = api.as_user("boss-n", Role.MANAGER, team="north")
    agent = api.as_user("agent-1", Role.AGENT, team="g1")
    ids: dict[str, str] = {}
    customer = await ok(
        await rep.post("/customers", json={"name": "Ada", "owner_id": "rep-a"}), 201
    )
    ids["customer"] = c = customer["id"]
    lead = await ok(await rep.post("/leads", json={"name": "Lead of A"}), 201)
    ids["lead"] = lead["id"]
    await ok(await rep.post(f"/leads/{lead['id']}/qualify", json={}))
    opportunity = {
        "customer_id": c,
        "name": "Deal",
        "amount": eur("1000.00"),
        "expected_close_date": "2026-06-30",
    }
    ids["opportunity"] = (await ok(await rep.post("/opportunities", json=opportunity), 201))["id"]
    await ok(
        await boss.post(
            "/products", json={"sku": "M-1", "name": "Matrix", "list_price": eur("10.00")}
        ),
        201,
    )
    quote = {
        "customer_id": c,
        "currency": "EUR",
        "valid_until": "2026-03-31",
        "lines": [{"sku": "M-1", "quantity": "1"}],
    }
    ids["quote"] = (await ok(await rep.post("/quotes", json=quote), 201))["id"]
    accepted = (await ok(await rep.post("/quotes", json=quote), 201))["id"]
    await ok(await rep.post(f"/quotes/{accepted}/send", json={}))
    await ok(await rep.post(f"/quotes/{accepted}/accept", json={}))
    ids["accepted_quote"] = accepted
    order = {"customer_id": c, "currency": "EUR", "lines": [{"sku": "M-1", "quantity": "2"}]}
    ids["order"] = (await ok(await rep.post("/orders", json=order), 201))["id"]
    invoiced = (await ok(await rep.post("/orders", json=order), 201))["id"]
    ids["invoice"] = (await ok(await rep.post("/invoices", json={"order_id": invoiced}), 201))["id"]
    target = {"owner_kind": "rep", "owner_id": "rep-a", "period": "2026-Q2", "amount": eur("5.00")}
    ids["target"] = (await ok(await boss.post("/targets", json=target), 201))["id"]
    ticket = {
        "customer_id": c,
        "kind": "service_request",
        "channel": "phone",
        "priority": "normal",
        "subject": "Boiler",
        "description": "it knocks",
    }
    ids["ticket"] = t = (await ok(await agent.post("/tickets", json=ticket), 201))["id"]
    await ok(await agent.post(f"/tickets/{t}/assign", json={"group_id": "g1"}))
    visit = {
        "ticket_id": t,
        "customer_id": c,
        "technician_id": "tech-1",
        "start": "2026-03-03T09:00:00+00:00",
        "end": "2026-03-03T10:00:00+00:00",
        "address": "3 Elm Street",
    }
    ids["visit"] = (await ok(await agent.post("/visits", json=visit), 201))["id"]
    contract = {"customer_id": c, "level": "premium", "starts_on": "2026-03-01"}
    await ok(await boss.post("/contracts", json=contract), 201)
    ids["contract"] = c
    article = {"title": "Knocking boiler", "problem": "It knocks", "solution": "Bleed it"}
    ids["article"] = (await ok(await agent.post("/kb/articles", json=article), 201))["id"]
    return ids


def matrix(ids: dict[str, str], other_ticket: str) -> list[Cell]:
    c = ids["customer"]
    hidden = frozenset({404})
    refused_ref = frozenset({404, 422})
    cells: list[Cell] = []

    def kind(
        name: str,
        one: str,
        listing: str,
        change: tuple[str, str, dict[str, Any]],
        outsiders: tuple[str, ...],
        reference: tuple[str, dict[str, Any], frozenset[int]] | None = None,
    ) -> None:
        method, url, body = change
        id_ = ids[name]
        for who in outsiders:
            cells.append(Cell(name, "read", who, lambda u, one=one: u.get(one), hidden))
            cells.append(
                Cell(name, "list", who, lambda u, lst=listing: u.get(lst), frozenset(), id_)
            )
            cells.append(
                Cell(
                    name,
                    "change",
                    who,
                    lambda u, m=method, url=url, b=body: getattr(u, m)(url, json=b),
                    hidden,
                )
            )
            if reference is not None:
                ref_url, ref_body, refused = reference
                cells.append(
                    Cell(
                        name,
                        "create-referencing",
                        who,
                        lambda u, url=ref_url, b=ref_body: u.post(url, json=b),
                        refused,
                    )
                )

    sales_outsiders = ("rep", "tenant")
    opportunity = {"name": "Mine", "amount": eur("1.00"), "expected_close_date": "2026-06-30"}
    kind(
        "customer",
        f"/customers/{c}",
        "/customers",
        ("patch", f"/customers/{c}", {"region": "EMEA"}),
        sales_outsiders,
        ("/opportunities", {**opportunity, "customer_id": c}, frozenset({422})),
    )
    for url, body in (
        (
            "/quotes",
            {
                "currency": "EUR",
                "valid_until": "2026-03-31",
                "lines": [{"sku": "M-1", "quantity": "1"}],
            },
        ),
        ("/orders", {"currency": "EUR", "lines": [{"sku": "M-1", "quantity": "1"}]}),
    ):
        for who in sales_outsiders:
            cells.append(
                Cell(
                    "customer",
                    f"create-referencing {url}",
                    who,
                    lambda u, url=url, b=body: u.post(url, json={**b, "customer_id": c}),
                    frozenset({422}),
                )
            )
    for url, body in (
        (
            "/tickets",
            {
                "kind": "inquiry",
                "channel": "email",
                "priority": "low",
                "subject": "s",
                "description": "d",
            },
        ),
        ("/contracts", {"level": "basic", "starts_on": "2026-03-01"}),
    ):
        cells.append(
            Cell(
                "customer",
                f"create-referencing {url}",
                "tenant",
                lambda u, url=url, b=body: u.post(url, json={**b, "customer_id": c}),
                frozenset({422}),
            )
        )
    lead = ids["lead"]
    kind(
        "lead",
        f"/leads/{lead}",
        "/leads",
        ("post", f"/leads/{lead}/disqualify", {"reason": "mine now"}),
        sales_outsiders,
    )
    opp = ids["opportunity"]
    kind(
        "opportunity",
        f"/opportunities/{opp}",
        "/opportunities",
        ("patch", f"/opportunities/{opp}", {"expected_close_date": "2026-07-31"}),
        sales_outsiders,
    )
    quote = ids["quote"]
    kind(
        "quote",
        f"/quotes/{quote}",
        "/quotes",
        ("post", f"/quotes/{quote}/send", {}),
        sales_outsiders,
        ("/orders", {"quote_id": ids["accepted_quote"]}, refused_ref),
    )
    order = ids["order"]
    kind(
        "order",
        f"/orders/{order}",
        "/orders",
        ("post", f"/orders/{order}/cancel", {}),
        sales_outsiders,
        ("/invoices", {"order_id": order}, refused_ref),
    )
    invoice = ids["invoice"]
    kind(
        "invoice",
        f"/invoices/{invoice}",
        "/invoices",
        ("post", "/payments", {"invoice_id": invoice, "amount": eur("1.00")}),
        sales_outsiders,
    )
    target = ids["target"]
    kind(
        "target",
        f"/targets/{target}",
        "/targets",
        ("patch", f"/targets/{target}", {"amount": eur("9.00")}),
        ("team", "tenant"),
    )
    # setting the same rep's target for the period again: another team's is hidden (another
    # tenant's rep-a is that tenant's own, with a target of its own)
    same = {"owner_kind": "rep", "owner_id": "rep-a", "period": "2026-Q2", "amount": eur("7.00")}
    cells.append(
        Cell("target", "set again", "team", lambda u: u.post("/targets", json=same), hidden)
    )
    ticket = ids["ticket"]
    kind(
        "ticket",
        f"/tickets/{ticket}",
        "/tickets",
        ("post", f"/tickets/{ticket}/comment", {"body": "mine", "public": False}),
        ("group", "tenant"),
        (
            "/visits",
            {
                "ticket_id": ticket,
                "customer_id": c,
                "technician_id": "tech-9",
                "start": "2026-03-04T09:00:00+00:00",
                "end": "2026-03-04T10:00:00+00:00",
                "address": "elsewhere",
            },
            refused_ref,
        ),
    )
    visit = ids["visit"]
    kind(
        "visit",
        f"/visits/{visit}",
        "/visits",
        ("post", f"/visits/{visit}/cancel", {"reason": "mine"}),
        ("tenant",),
    )
    # the technicians' schedule is the tenant's (every agent books against it): another
    # group reads visits, but changes only those of tickets it works
    reschedule = {"start": "2026-03-05T09:00:00+00:00", "end": "2026-03-05T10:00:00+00:00"}
    for url, body in (
        (f"/visits/{visit}/cancel", {"reason": "mine"}),
        (f"/visits/{visit}/reschedule", reschedule),
    ):
        cells.append(
            Cell(
                "visit",
                f"change {url.rsplit('/', 1)[1]}",
                "group",
                lambda u, url=url, b=body: u.post(url, json=b),
                hidden,
            )
        )
    kind(
        "contract",
        f"/contracts/{c}",
        "/contracts",
        ("post", f"/contracts/{c}/change", {"level": "basic"}),
        ("tenant",),
    )
    article = ids["article"]
    kind(
        "article",
        f"/kb/articles/{article}",
        "/kb/articles",
        ("patch", f"/kb/articles/{article}", {"title": "Mine"}),
        ("tenant",),
        (f"/tickets/{other_ticket}/articles", {"article_id": article}, refused_ref),
    )
    return cells


async def test_every_kind_every_action_refuses_every_outsider(api: Api) -> None:
    ids = await story(api)
    outsiders = {
        "rep": api.as_user("rep-b", Role.SALES_REP, team="south"),
        "team": api.as_user("boss-s", Role.MANAGER, team="south"),
        "group": api.as_user("agent-2", Role.AGENT, team="g2"),
        "tenant": api.as_user("root", Role.ADMIN, tenant="other"),
    }
    # the other tenant's own ticket, to link the article to
    theirs = await ok(await outsiders["tenant"].post("/customers", json={"name": "Bob"}), 201)
    other_ticket = await ok(
        await outsiders["tenant"].post(
            "/tickets",
            json={
                "customer_id": theirs["id"],
                "kind": "inquiry",
                "channel": "email",
                "priority": "low",
                "subject": "s",
                "description": "d",
            },
        ),
        201,
    )
    head = await api.platform.store.head_position()
    failures: list[str] = []
    cells = matrix(ids, other_ticket["id"])
    for cell in cells:
        client = outsiders[cell.outsider]
        r = await cell.call(client)
        where = f"{cell.kind} x {cell.action} x another {cell.outsider}"
        if cell.hidden_id is not None:
            listed = await client.get(
                str(r.request.url.path), params={"min_position": head, "limit": 100}
            )
            items = listed.json().get("items", []) if listed.status_code == 200 else []
            if listed.status_code not in (200, 403, 404) or any(
                cell.hidden_id in (i.get("id"), i.get("customer_id")) for i in items
            ):
                failures.append(f"{where}: {listed.status_code} listing it")
        elif r.status_code not in cell.refused:
            failures.append(f"{where}: {r.status_code} {r.text[:160]}")
    assert not failures, f"{len(failures)} of {len(cells)} cells let an outsider through:\n" + (
        "\n".join(failures)
    )
    assert len(cells) >= 60
