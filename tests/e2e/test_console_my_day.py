"""My day over HTTP: what changed since the user last signed in (the customers, opportunities
and tickets of their day, newest first, each linked), and an analyst's day (the tenant's
churn warnings and the reports they may open), in both languages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from crm.kernel.clock import ManualClock
from tests.conftest import Api
from tests.support.console import console_user, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales", "service-desk")]


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def changed_section(html: str) -> str:
    section = r'<section class="card" aria-labelledby="changed">(.*?)</section>'
    found = re.search(section, html, re.S)
    assert found is not None, html
    return found.group(1)


async def signed_out(client: httpx.AsyncClient, csrf: str) -> None:
    answer = await client.post("/console/sign-out", data={"csrf": csrf})
    assert answer.status_code == 303, answer.text


async def test_my_day_lists_the_customers_opportunities_and_tickets_changed_since(
    api: Api, clock: ManualClock
) -> None:
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "ivy", "agent")
    rep = api.as_user("ana", "sales_rep", team="north")
    before = await ok(
        await rep.post("/customers", json={"name": "Old Customer", "owner_id": "ana"}), 201
    )
    async with own_client(api) as ana, own_client(api) as ivy:
        await signed_out(ana, await sign_in(ana, "ana"))
        await signed_out(ivy, await sign_in(ivy, "ivy"))
        clock.advance(timedelta(hours=2))
        grace = await ok(
            await rep.post("/customers", json={"name": "Grace Hopper", "owner_id": "ana"}), 201
        )
        clock.advance(timedelta(minutes=1))
        deal = {
            "customer_id": grace["id"],
            "name": "Fleet renewal",
            "amount": {"amount": "5000", "currency": "EUR"},
            "expected_close_date": "2027-03-31",
        }
        opened = await ok(await rep.post("/opportunities", json=deal), 201)
        ticket = {
            "customer_id": grace["id"],
            "kind": "complaint",
            "channel": "email",
            "priority": "high",
            "subject": "Invoice is wrong",
            "description": "Twice the amount",
        }
        boss = api.as_user("mgr", "manager")
        raised = await ok(await boss.post("/tickets", json=ticket), 201)
        await ok(await boss.post(f"/tickets/{raised['id']}/assign", json={"agent_id": "ivy"}))
        clock.advance(timedelta(minutes=5))

        await sign_in(ana, "ana")
        head = await api.platform.store.head_position()
        day = await ana.get("/console/", params={"min_position": head})
        assert day.status_code == 200
        changed = changed_section(day.text)
        assert f'href="/console/opportunities/{opened["id"]}">Fleet renewal</a>' in changed
        assert f'href="/console/customers/{grace["id"]}">Grace Hopper</a>' in changed
        assert "Old Customer" not in changed  # changed before the last sign-in
        assert changed.index("Fleet renewal") < changed.index("Grace Hopper")  # newest first
        assert "Invoice is wrong" not in changed  # not a ticket of the rep's day

        await sign_in(ivy, "ivy")
        desk = changed_section((await ivy.get("/console/", params={"min_position": head})).text)
        assert f'href="/console/tickets/{raised["id"]}">Invoice is wrong</a>' in desk
        assert "Ticket" in desk
        assert "Fleet renewal" not in desk
    assert before["id"] not in changed


async def test_an_analysts_day_is_the_tenants_risks_and_the_reports(api: Api) -> None:
    await console_user(api, "lin", "analyst", locale="zh-CN")
    await console_user(api, "al", "analyst")
    async with own_client(api) as al, own_client(api) as lin:
        await sign_in(al, "al")
        day = (await al.get("/console/")).text
        assert "Reports" in day
        assert 'href="/console/analytics/funnel">Sales funnel</a>' in day
        assert 'href="/console/analytics/churn">Churn warnings</a>' in day
        assert "Customers at risk of churning" in day
        assert "My open opportunities" not in day
        assert "Nothing to show for your role" not in day
        assert 'href="/docs">API documentation (for developers)</a>' in day
        docs = await al.get("/docs")
        assert docs.status_code == 200
        assert "//cdn" not in docs.text
        await sign_in(lin, "lin")
        zh = (await lin.get("/console/")).text
        assert "报表" in zh
        assert "销售漏斗" in zh or "漏斗" in zh
