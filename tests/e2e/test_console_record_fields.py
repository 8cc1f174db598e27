"""The console's record forms over HTTP: a rep edits an opportunity's amount, close date and
custom fields and reopens a lost one; a stale form is the conflict page; an agent opens a
ticket from the customer page with its custom fields and edits them on the ticket page; bad
values are the 422 page naming the field; a form without its token is refused; an analyst
reads without forms; the labels in Chinese."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from crm.kernel.auth import Role
from tests.conftest import Api
from tests.support.console import UUID, console_user, followed, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales", "service-desk")]

AREAS = [
    {"key": "hw", "label_en": "Hardware", "label_zh": "硬件"},
    {"key": "sw", "label_en": "Software", "label_zh": "软件"},
]


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def setup(api: Api) -> dict[str, str]:
    admin = api.as_user("root", Role.ADMIN)
    po = {"label_en": "Purchase order", "label_zh": "采购单号", "type": "text"}
    await ok(await admin.put("/custom-fields/opportunity/po", json=po))
    area = {"label_en": "Area", "label_zh": "领域", "type": "choice", "choices": AREAS}
    await ok(await admin.put("/custom-fields/ticket/area", json=area))
    serial = {"label_en": "Serial no.", "label_zh": "序列号", "type": "text"}
    await ok(await admin.put("/custom-fields/ticket/serial", json=serial))
    rep = api.as_user("ana", Role.SALES_REP, team="north")
    customer = await ok(
        await rep.post("/customers", json={"name": "Grace Hopper", "owner_id": "ana"}), 201
    )
    deal = {
        "customer_id": customer["id"],
        "name": "Fleet renewal",
        "amount": {"amount": "1000", "currency": "EUR"},
        "expected_close_date": "2027-03-31",
    }
    opened = await ok(await rep.post("/opportunities", json=deal), 201)
    return {"customer": customer["id"], "opportunity": opened["id"]}


def version_of(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found is not None
    return found.group(1)


async def test_a_rep_edits_an_opportunity_and_reopens_it_once_lost(api: Api) -> None:
    ids = await setup(api)
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "al", "analyst")
    url = f"/console/opportunities/{ids['opportunity']}"
    async with own_client(api) as ana, own_client(api) as al:
        csrf = await sign_in(ana, "ana")
        page = await ana.get(url)
        assert "Edit the opportunity" in page.text
        assert 'name="custom.po"' in page.text
        version = version_of(page.text)
        edit = {
            "csrf": csrf,
            "version": version,
            "amount": "1500.50",
            "currency": "EUR",
            "expected_close_date": "2027-04-30",
            "custom.po": "PO-9",
        }
        saved = await followed(ana, await ana.post(f"{url}/edit", data=edit))
        assert "Purchase order" in saved.text
        assert "PO-9" in saved.text
        assert "1,500.50" in saved.text
        doc = await ok(await api.as_user("ana", Role.SALES_REP, team="north").get(url[8:]))
        assert doc["custom"] == {"po": "PO-9"}
        assert doc["amount"]["amount"] == "1500.50"
        assert doc["expected_close_date"] == "2027-04-30"

        stale = await ana.post(f"{url}/edit", data={**edit, "amount": "99"})
        assert stale.status_code == 409  # the form was read at the version before the edit
        fresh = version_of((await ana.get(url)).text)
        bad = await ana.post(f"{url}/edit", data={**edit, "version": fresh, "amount": "lots"})
        assert bad.status_code == 422
        assert "amount" in bad.text
        forged = await ana.post(f"{url}/edit", data={**edit, "csrf": "", "version": fresh})
        assert forged.status_code == 403

        lose = {"csrf": csrf, "version": fresh, "reason": "price"}
        lost = await followed(ana, await ana.post(f"{url}/lose", data=lose))
        assert "Reopen the opportunity" in lost.text
        assert "Edit the opportunity" not in lost.text
        again = {
            "csrf": csrf,
            "version": version_of(lost.text),
            "stage": "qualification",
            "reason": "budget found",
        }
        reopened = await followed(ana, await ana.post(f"{url}/reopen", data=again))
        assert "Edit the opportunity" in reopened.text
        assert (await ok(await api.as_user("boss").get(url[8:])))["status"] == "open"

        await sign_in(al, "al")
        read = await al.get(url)
        assert read.status_code == 200
        assert "PO-9" in read.text
        assert "Edit the opportunity" not in read.text
        assert "Your role reads opportunities but does not work them." in read.text


async def test_an_agent_opens_a_ticket_from_the_customer_page_with_its_fields(api: Api) -> None:
    ids = await setup(api)
    await console_user(api, "ivy", "agent")
    await console_user(api, "lin", "agent", locale="zh-CN")
    await console_user(api, "ana", "sales_rep", team="north")
    customer_url = f"/console/customers/{ids['customer']}"
    async with own_client(api) as ivy, own_client(api) as lin, own_client(api) as ana:
        csrf = await sign_in(ivy, "ivy")
        page = await ivy.get(customer_url)
        assert "Open a ticket for this customer" in page.text
        assert 'name="custom.area"' in page.text
        ticket = {
            "csrf": csrf,
            "customer_id": ids["customer"],
            "subject": "Screen flickers",
            "description": "Since the update",
            "kind": "complaint",
            "channel": "phone",
            "priority": "high",
            "custom.area": "hw",
            "custom.serial": "",
        }
        opened = await ivy.post("/console/tickets", data=ticket)
        shown = await followed(ivy, opened)
        found = re.search(rf"/console/tickets/({UUID})", opened.headers["location"])
        assert found is not None
        ticket_url = f"/console/tickets/{found.group(1)}"
        assert "Screen flickers" in shown.text
        assert "Hardware" in shown.text
        assert "More about the ticket" in shown.text

        listed = await ivy.get(customer_url)
        section = listed.text.split('aria-labelledby="tickets"')[1].split("</section>")[0]
        assert f'href="{ticket_url}">Screen flickers</a>' in section
        queue = await ivy.get("/console/tickets", params={"assignee": "unassigned"})
        assert "Screen flickers" in queue.text
        assert "Unassigned only" in queue.text
        agent = api.as_user("ivy", Role.AGENT)
        await ok(await agent.post(f"{ticket_url[8:]}/assign", json={"agent_id": "ivy"}))
        head = await api.platform.store.head_position()
        after = await ivy.get(
            "/console/tickets", params={"assignee": "unassigned", "min_position": head}
        )
        assert "Screen flickers" not in after.text
        mine = await ivy.get("/console/tickets", params={"assignee": "mine"})
        assert "Screen flickers" in mine.text
        both = await agent.get("/tickets", params={"unassigned": "true", "assignee": "ivy"})
        assert both.status_code == 422
        assert "unassigned" in both.text
        none_left = await ok(await agent.get("/tickets", params={"unassigned": "true"}))
        assert none_left["items"] == []

        bad = await ivy.post("/console/tickets", data={**ticket, "custom.area": "tv"})
        assert bad.status_code == 422
        assert "custom.area" in bad.text

        fields = {"csrf": csrf, "custom.area": "sw", "custom.serial": "SN-1"}
        saved = await followed(ivy, await ivy.post(f"{ticket_url}/fields", data=fields))
        assert "Software" in saved.text
        assert "SN-1" in saved.text
        doc = await ok(await api.as_user("ivy", Role.AGENT).get(ticket_url[8:]))
        assert doc["custom"] == {"area": "sw", "serial": "SN-1"}
        wrong = await ivy.post(f"{ticket_url}/fields", data={**fields, "custom.area": "x"})
        assert wrong.status_code == 422
        forged = await ivy.post(f"{ticket_url}/fields", data={**fields, "csrf": ""})
        assert forged.status_code == 403

        await sign_in(lin, "lin")
        zh = await lin.get(ticket_url)
        assert "领域" in zh.text
        assert "软件" in zh.text
        assert "工单的其他信息" in zh.text
        assert "为该客户新建工单" in (await lin.get(customer_url)).text

        rep_csrf = await sign_in(ana, "ana")
        assert "Open a ticket for this customer" not in (await ana.get(customer_url)).text
        refused = await ana.post("/console/tickets", data={**ticket, "csrf": rep_csrf})
        assert refused.status_code == 403
