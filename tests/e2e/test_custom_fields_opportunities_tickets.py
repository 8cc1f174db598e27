"""Custom fields on opportunities and tickets through HTTP: checked at the command (422 naming
``custom.<key>``), carried by the events (the personal ones sealed with the customer's key),
held by the read models, edited, filtered, sorted, exported as columns, redacted like contact
data when personal, and erased with the customer."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import uuid4

import pytest

from crm.kernel.auth import Role
from crm.kernel.redaction import REDACTED
from crm.sales.domain.opportunities import Opportunity
from tests.conftest import Api, UserClient

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales", "service-desk")]

LEVELS = [
    {"key": "gold", "label_en": "Gold", "label_zh": "金牌"},
    {"key": "silver", "label_en": "Silver", "label_zh": "银牌"},
]


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def define(api: Api, entity: str, fields: dict[str, dict[str, Any]]) -> None:
    admin = api.as_user("root", Role.ADMIN)
    for key, body in fields.items():
        await ok(await admin.put(f"/custom-fields/{entity}/{key}", json=body))


async def customer(api: Api, owner: str = "rep-1") -> str:
    body = {"name": "Li Wei", "email": f"li-{uuid4().hex[:10]}@example.com", "owner_id": owner}
    return str((await ok(await api.as_user("boss").post("/customers", json=body), 201))["id"])


async def fresh(client: UserClient, api: Api, url: str, **params: Any) -> Any:
    head = await api.platform.store.head_position()
    return await client.get(url, params={"min_position": head, **params})


async def opportunity(rep: UserClient, customer_id: str, name: str, custom: Any) -> str:
    body = {
        "customer_id": customer_id,
        "name": name,
        "amount": {"amount": "1000", "currency": "EUR"},
        "expected_close_date": "2027-06-30",
        "custom": custom,
    }
    return str((await ok(await rep.post("/opportunities", json=body), 201))["id"])


async def test_opportunities_take_edit_filter_sort_and_export_their_custom_fields(
    api: Api,
) -> None:
    await define(
        api,
        "opportunity",
        {
            "level": {"label_en": "Level", "label_zh": "级别", "type": "choice", "choices": LEVELS},
            "budget": {"label_en": "Budget", "label_zh": "预算", "type": "money"},
            "po": {"label_en": "PO", "label_zh": "采购单", "type": "text", "required": True},
        },
    )
    cid = await customer(api)
    rep = api.as_user("rep-1", Role.SALES_REP)
    body = {
        "customer_id": cid,
        "name": "Fleet",
        "amount": {"amount": "1000", "currency": "EUR"},
        "expected_close_date": "2027-06-30",
    }
    missing = await rep.post("/opportunities", json=body)
    assert missing.status_code == 422
    assert "custom.po" in missing.text
    wrong = await rep.post("/opportunities", json={**body, "custom": {"po": "1", "level": "x"}})
    assert wrong.status_code == 422
    assert "custom.level" in wrong.text
    a_lead = await rep.post("/opportunities", json={**body, "custom": {"po": "1", "wechat": "w"}})
    assert a_lead.status_code == 422
    assert "custom.wechat" in a_lead.text
    a = await opportunity(rep, cid, "Fleet", {"po": "PO-1", "level": "gold", "budget": "900 EUR"})
    b = await opportunity(rep, cid, "Trucks", {"po": "PO-2", "budget": "80 EUR"})
    doc = await ok(await fresh(rep, api, f"/opportunities/{a}"))
    assert doc["custom"] == {"po": "PO-1", "level": "gold", "budget": "900 EUR"}
    assert "custom_sort" not in doc
    assert "custom_personal_keys" not in doc

    edited = await rep.patch(f"/opportunities/{b}", json={"custom": {"level": "silver"}})
    await ok(edited)
    cleared = await rep.patch(f"/opportunities/{b}", json={"custom": {"po": None}})
    assert cleared.status_code == 422
    assert "custom.po" in cleared.text
    (_, *_, changed) = await api.platform.store.read_stream(Opportunity.stream_id_for(b))
    assert changed.event_type == "sales.opportunity.custom_fields_changed"
    assert changed.payload["changed"] == ["level"]
    same = await ok(await rep.patch(f"/opportunities/{b}", json={"custom": {"level": "silver"}}))
    assert same["version"] == changed.stream_version  # the same values record nothing

    gold = await ok(await fresh(rep, api, "/opportunities", **{"custom.level": "gold"}))
    assert [d["id"] for d in gold["items"]] == [a]
    by_budget = await ok(await fresh(rep, api, "/opportunities", sort="custom.budget"))
    assert [d["name"] for d in by_budget["items"]] == ["Trucks", "Fleet"]  # 80 before 900
    unknown = await rep.get("/opportunities", params={"custom.nope": "x"})
    assert unknown.status_code == 422
    assert "custom.nope" in unknown.text
    assert (await rep.get("/opportunities", params={"sort": "custom.nope"})).status_code == 422
    exported = await rep.get("/opportunities", params={"format": "csv", "sort": "custom.budget"})
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [(r["name"], r["custom.level"], r["custom.budget"]) for r in rows] == [
        ("Trucks", "silver", "80 EUR"),
        ("Fleet", "gold", "900 EUR"),
    ]
    assert "custom" not in rows[0]


async def test_a_personal_value_of_an_opportunity_is_the_customers_and_erased_with_them(
    api: Api,
) -> None:
    await define(
        api,
        "opportunity",
        {
            "contact": {
                "label_en": "Contact",
                "label_zh": "联系人",
                "type": "text",
                "personal": True,
            }
        },
    )
    cid = await customer(api)
    rep = api.as_user("rep-1", Role.SALES_REP)
    oid = await opportunity(rep, cid, "Fleet", {"contact": "Mr Zhou 138"})
    (opened,) = await api.platform.store.read_stream(Opportunity.stream_id_for(oid))
    assert str(opened.payload["custom_personal"]).startswith("enc:")
    assert "Zhou" not in str(opened.payload)
    analyst = api.as_user("ana", Role.ANALYST)
    seen = await ok(await fresh(analyst, api, "/opportunities"))
    assert seen["items"][0]["custom"] == {"contact": REDACTED}
    assert (
        await analyst.get("/opportunities", params={"sort": "custom.contact"})
    ).status_code == 403
    assert (await ok(await fresh(rep, api, f"/opportunities/{oid}")))["custom"] == {
        "contact": "Mr Zhou 138"
    }
    await ok(await api.as_user("root", Role.ADMIN).post(f"/customers/{cid}/erase"))
    after = await ok(await fresh(api.as_user("boss"), api, f"/opportunities/{oid}"))
    assert "Zhou" not in str(after["custom"])


async def ticket(agent: UserClient, customer_id: str, subject: str, custom: Any) -> str:
    body = {
        "customer_id": customer_id,
        "kind": "complaint",
        "channel": "phone",
        "priority": "normal",
        "subject": subject,
        "description": "It broke.",
        "custom": custom,
    }
    return str((await ok(await agent.post("/tickets", json=body), 201))["id"])


async def test_tickets_take_edit_filter_sort_and_export_their_custom_fields(api: Api) -> None:
    await define(
        api,
        "ticket",
        {
            "serial": {"label_en": "Serial no.", "label_zh": "序列号", "type": "text"},
            "units": {"label_en": "Units", "label_zh": "台数", "type": "number"},
            "phone": {"label_en": "Callback", "label_zh": "回拨", "type": "text", "personal": True},
        },
    )
    cid = await customer(api)
    agent = api.as_user("agent-1", Role.AGENT)
    bad = await agent.post(
        "/tickets",
        json={
            "customer_id": cid,
            "kind": "complaint",
            "channel": "phone",
            "priority": "normal",
            "subject": "Broken",
            "description": "x",
            "custom": {"units": "many"},
        },
    )
    assert bad.status_code == 422
    assert "custom.units" in bad.text
    a = await ticket(agent, cid, "Pump", {"serial": "SN-1", "units": 3, "phone": "+86 138"})
    b = await ticket(agent, cid, "Valve", {"units": 12})
    await ok(await agent.patch(f"/tickets/{b}", json={"custom": {"serial": "SN-2"}}))
    nothing = await agent.patch(f"/tickets/{b}", json={"custom": {}})
    assert nothing.status_code == 422
    assert "custom" in nothing.text
    stream = await api.platform.store.read_stream(f"ticket-{a}")
    assert str(stream[0].payload["custom_personal"]).startswith("enc:")
    assert "+86 138" not in str(stream[0].payload)

    doc = await ok(await fresh(agent, api, f"/tickets/{b}"))
    assert doc["custom"] == {"units": 12, "serial": "SN-2"}
    found = await ok(await fresh(agent, api, "/tickets", **{"custom.serial": "SN-1"}))
    assert [d["id"] for d in found["items"]] == [a]
    by_units = await ok(await fresh(agent, api, "/tickets", sort="-custom.units"))
    assert [d["subject"] for d in by_units["items"]] == ["Valve", "Pump"]
    assert (await agent.get("/tickets", params={"custom.nope": "1"})).status_code == 422
    assert (await agent.get("/tickets", params={"sort": "custom.nope"})).status_code == 422
    exported = await agent.get("/tickets", params={"format": "csv", "sort": "custom.units"})
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [(r["subject"], r["custom.serial"], r["custom.units"]) for r in rows] == [
        ("Pump", "SN-1", "3"),
        ("Valve", "SN-2", "12"),
    ]
    analyst = api.as_user("ana", Role.ANALYST)
    seen = await ok(await fresh(analyst, api, f"/tickets/{a}"))
    assert seen["custom"]["phone"] == REDACTED
    assert seen["custom"]["serial"] == "SN-1"
    assert (await analyst.get("/tickets", params={"custom.phone": "1"})).status_code == 403

    await ok(await agent.post(f"/tickets/{a}/assign", json={"agent_id": "agent-1"}))
    await ok(await agent.post(f"/tickets/{a}/resolve", json={"resolution": "Replaced"}))
    await ok(await agent.post(f"/tickets/{a}/close"))
    closed = await agent.patch(f"/tickets/{a}", json={"custom": {"units": 4}})
    assert closed.status_code == 409
    assert "ticket_closed" in closed.text
    await ok(await api.as_user("root", Role.ADMIN).post(f"/customers/{cid}/erase"))
    erased = await ok(await fresh(api.as_user("boss"), api, f"/tickets/{a}"))
    assert "+86 138" not in str(erased["custom"])
    assert erased["custom"]["serial"] == "SN-1"
