"""The customer page after a merge (``MergeCustomers``): the survivor's timeline and its list
of tickets hold the merged customer's quotes, orders, invoices, opportunities and tickets
beside its own, as the API's lists filtered by the survivor give them, in English and
Chinese; a rep's page of the survivor as well (the records are theirs); and another rep's
survivor page stays theirs."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from crm.kernel.auth import Role
from tests.conftest import Api, UserClient
from tests.support.console import console_user, csrf_of, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales", "service-desk")]


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def timeline(html: str) -> list[str]:
    section = html.split('id="timeline"', 1)[1]
    return re.findall(r"</time> · (?:<a [^>]+>)?([^<]+)<", section)


async def records_of(ana: UserClient, agent: UserClient, customer: str, n: str) -> int:
    """An opportunity, a draft quote, an order and its invoice, and a ticket for ``customer``,
    told apart by ``n`` (the amounts and names carry it); the last command's position."""
    await ok(
        await ana.post(
            "/opportunities",
            json={
                "customer_id": customer,
                "name": f"Heating {n}",
                "amount": {"amount": f"{n}000.00", "currency": "EUR"},
                "expected_close_date": "2027-09-30",
            },
        ),
        201,
    )
    line = {"sku": "BOILER-1", "quantity": n}
    quote = {"customer_id": customer, "currency": "EUR", "valid_until": "2027-01-31"}
    await ok(await ana.post("/quotes", json={**quote, "lines": [line]}), 201)
    order = await ok(
        await ana.post("/orders", json={"customer_id": customer, "currency": "EUR",
                                         "lines": [line]}),
        201,
    )  # fmt: skip
    await ok(await ana.post("/invoices", json={"order_id": order["id"]}), 201)
    ticket = {
        "customer_id": customer,
        "subject": f"Boiler {n} knocks",
        "description": "since Monday",
        "kind": "complaint",
        "channel": "phone",
        "priority": "normal",
    }
    return int((await ok(await agent.post("/tickets", json=ticket), 201))["position"])


async def test_the_survivors_timeline_holds_the_merged_customers_records(api: Api) -> None:
    boss = api.as_user("mgr", Role.MANAGER, team="north")
    price = {"amount": "100.00", "currency": "EUR"}
    product = {"sku": "BOILER-1", "name": "Boiler", "list_price": price}
    await ok(await boss.post("/products", json=product), 201)
    ana = api.as_user("ana", "sales_rep", team="north")
    agent = api.as_user("tom", "agent")
    ada = (await ok(await ana.post("/customers", json={"name": "Ada Lovelace",
                                                       "owner_id": "ana"}), 201))["id"]  # fmt: skip
    body = {"name": "Ada Lovelace", "email": "ada@example.com", "owner_id": "ana",
            "confirm_distinct": True}  # fmt: skip
    king = (await ok(await ana.post("/customers", json=body), 201))["id"]
    await records_of(ana, agent, ada, "2")
    await records_of(ana, agent, king, "3")
    admin = api.as_user("root", Role.ADMIN)
    merged = await ok(await admin.post(f"/customers/{ada}/merge", json={"merged_id": king}))
    at = int(merged["position"])
    theirs = [
        "Opportunity opened: Heating 3 (€3,000.00)",
        "Quote drafted: €300.00",
        "Order placed: €300.00",
        "Invoice issued: €300.00",
        "Ticket opened: Boiler 3 knocks",
    ]
    own = [
        "Opportunity opened: Heating 2 (€2,000.00)",
        "Quote drafted: €200.00",
        "Order placed: €200.00",
        "Invoice issued: €200.00",
        "Ticket opened: Boiler 2 knocks",
    ]
    # the API's lists of the survivor hold both: the page reads the same
    tickets = await ok(await agent.get(f"/tickets?customer_id={ada}&min_position={at}"))
    assert len(tickets["items"]) == 2

    await console_user(api, "ana", "sales_rep", "north")
    await console_user(api, "mgr", "manager", "north")
    async with own_client(api) as browser:
        await sign_in(browser, "ana")
        page = await browser.get(f"/console/customers/{ada}?min_position={at}")
        assert page.status_code == 200, page.text
        texts = timeline(page.text)
        for text in [*theirs, *own]:
            assert text in texts, (text, texts)

        await browser.post(
            "/console/language", data={"csrf": csrf_of(page.text), "locale": "zh-CN"}
        )
        texts = timeline((await browser.get(f"/console/customers/{ada}")).text)
        for text in ("新建商机：Heating 3（€3,000.00）", "下单：€300.00", "开具发票：€300.00",
                     "起草报价：€300.00", "新建工单：Boiler 3 knocks"):  # fmt: skip
            assert text in texts, (text, texts)

    async with own_client(api) as browser:  # a manager: the page's ticket list has both too
        await sign_in(browser, "mgr")
        page = await browser.get(f"/console/customers/{ada}?min_position={at}")
        listed = page.text.split('id="timeline"', 1)[0]
        assert "Boiler 3 knocks" in listed
        assert "Boiler 2 knocks" in listed
        assert all(text in timeline(page.text) for text in theirs)
