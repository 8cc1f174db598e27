"""Importing a pipeline of the past over HTTP: leads (open, qualified, disqualified, each
captured on its date; one whose e-mail or phone a lead has already is a duplicate) and
opportunities of existing customers (open in a stage of the pipeline, or won or lost on their
close date). Each failing row names its column before anything is written; the same file
imported again creates nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from crm.kernel.auth import Role
from tests.conftest import T0, Api, UserClient
from tests.support.imports import finished

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]

Users = Callable[..., UserClient]


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


async def plan_of(client: UserClient, rows: list[list[str]], **data: str) -> dict[str, Any]:
    r = await client.post("/imports", files={"file": ("f.csv", csv_bytes(rows))}, data=data)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def confirmed(client: UserClient, plan: dict[str, Any]) -> dict[str, Any]:
    import_id = plan["summary"]["id"]
    assert (await client.post(f"/imports/{import_id}/confirm")).status_code == 202
    return await finished(client, import_id)


async def events_of(api: Api, prefix: str) -> list[Any]:
    return [
        e
        async for page in api.platform.store.read_all(0)
        for e in page
        if e.event_type.startswith(prefix)
    ]


async def test_leads_of_the_past_come_in_once_with_their_status_and_date(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER)
    known = await boss.post("/leads", json={"name": "Known", "email": "known@example.com"})
    assert known.status_code == 201, known.text
    rows = [
        ["姓名", "邮箱", "手机", "公司", "来源", "创建日期", "线索状态", "原因"],
        ["王小明", "wang@example.cn", "138 0013 8000", "华为", "展会", "2019/3/4", "", ""],
        ["李雷", "li@example.cn", "", "", "", "2019-05-01", "已确认", "budget confirmed"],
        ["韩梅梅", "", "13900139000", "", "", "2019-06-01", "无效", ""],
        ["Known again", "KNOWN@example.com", "", "", "", "", "", ""],  # row 5: a lead's e-mail
        ["王 小明", "", "+86 138-0013-8000", "", "", "", "", ""],  # row 6: row 2's phone
        ["", "noname@example.com", "", "", "", "", "", ""],  # row 7: no name
        ["Bad", "bad@", "", "", "", "", "", ""],  # row 8
        ["Later", "", "", "", "", "2031-01-01", "", ""],  # row 9: in the future
        ["Odd", "", "", "", "", "", "converted", ""],  # row 10: not a lead status
    ]
    plan = await plan_of(boss, rows, kind="leads")
    assert plan["summary"]["planned"] == {"create": 3, "duplicate": 2, "error": 4}
    issues = {i["row"]: i for i in plan["issues"]}
    assert issues[5]["reasons"] == ["same_email"]
    assert issues[5]["duplicate_of"] == known.json()["id"]
    assert issues[6]["reasons"] == ["same_phone"]
    assert issues[6]["duplicate_row"] == 2
    assert issues[7]["column"] == "姓名"
    assert issues[8]["column"] == "邮箱"
    assert issues[9]["column"] == "创建日期"
    assert issues[10]["column"] == "线索状态"
    assert len(await events_of(api, "sales.lead.")) == 1  # the dry run wrote nothing

    done = await confirmed(boss, plan)
    assert done["done"] == {"created": 3, "duplicate": 2, "failed": 4}
    head = await api.platform.store.head_position()
    listed = (await boss.get("/leads", params={"min_position": head, "limit": 50})).json()
    by_name = {lead["name"]: lead for lead in listed["items"]}
    assert by_name["王小明"]["phone"] == "+8613800138000"
    assert by_name["王小明"]["status"] == "open"
    assert by_name["王小明"]["created_at"].startswith("2019-03-04")
    assert by_name["李雷"]["status"] == "qualified"
    assert by_name["李雷"]["qualified_note"] == "budget confirmed"
    assert by_name["韩梅梅"]["status"] == "disqualified"
    assert "imported as disqualified" in by_name["韩梅梅"]["disqualified_reason"]
    captured = [e for e in await events_of(api, "sales.lead.captured")]
    assert {e.occurred_at for e in captured if e.recorded_at >= T0} >= {
        datetime(2019, 3, 4, tzinfo=UTC)
    }

    again = await plan_of(boss, rows, kind="leads")
    assert again["summary"]["planned"] == {"create": 0, "duplicate": 5, "error": 4}


async def test_opportunities_of_the_past_open_in_their_stage_and_close_on_their_day(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER)
    ada = (await boss.post("/customers", json={"name": "Ada", "email": "ada@example.com"})).json()
    rows = [
        ["商机名称", "邮箱", "金额", "预计成交日期", "阶段", "商机状态", "原因", "创建日期"],
        ["Pumps 2019", "ada@example.com", "¥50,000", "2019-06-30", "", "赢单", "", "2019-03-01"],
        ["Valves", "ada@example.com", "12000", "2019-09-30", "", "lost", "price", "2019-04-01"],
        ["Service deal", "ada@example.com", "8000", "2027-03-31", "Proposal", "", "", ""],
        ["Old win", "ada@example.com", "900", "2018-12-01", "won", "", "", "2018-11-01"],
        ["No reason", "ada@example.com", "100", "2019-01-01", "", "lost", "", "2018-12-01"],
        ["Nowhere", "ada@example.com", "100", "2027-01-01", "Dreaming", "", "", ""],  # row 7
        ["Ghost", "ghost@example.com", "100", "2027-01-01", "", "", "", ""],  # row 8
        ["Backwards", "ada@example.com", "100", "2019-01-01", "", "won", "", "2019-02-01"],
        ["Pumps 2019", "ada@example.com", "¥50,000", "2019-06-30", "", "赢单", "", "2019-03-01"],
    ]
    plan = await plan_of(boss, rows, kind="opportunities", currency="CNY")
    assert plan["summary"]["planned"] == {"create": 4, "duplicate": 1, "error": 4}
    issues = {i["row"]: i for i in plan["issues"]}
    assert issues[6]["column"] == "原因"  # lost needs a reason
    assert issues[7]["column"] == "阶段"
    assert "proposal" in issues[7]["reason"]
    assert issues[8]["column"] == "邮箱"
    assert issues[9]["column"] == "预计成交日期"  # closed before it opened
    assert issues[10]["outcome"] == "duplicate"
    assert issues[10]["duplicate_row"] == 2

    done = await confirmed(boss, plan)
    assert done["done"] == {"created": 4, "duplicate": 1, "failed": 4}
    head = await api.platform.store.head_position()
    listed = await boss.get("/opportunities", params={"min_position": head, "limit": 50})
    by_name = {o["name"]: o for o in listed.json()["items"]}
    assert by_name["Pumps 2019"]["status"] == "won"
    assert by_name["Pumps 2019"]["customer_id"] == ada["id"]
    assert by_name["Pumps 2019"]["amount"] == {"amount": "50000", "currency": "CNY"}
    assert by_name["Pumps 2019"]["closed_at"].startswith("2019-06-30")
    assert by_name["Valves"]["status"] == "lost"
    assert by_name["Service deal"]["status"] == "open"
    assert by_name["Service deal"]["stage"] == "proposal"
    assert by_name["Old win"]["status"] == "won"
    won = await events_of(api, "sales.opportunity.won")
    assert sorted(e.occurred_at for e in won) == [
        datetime(2018, 12, 1, tzinfo=UTC),
        datetime(2019, 6, 30, tzinfo=UTC),
    ]

    again = await plan_of(boss, rows, kind="opportunities", currency="CNY")
    assert again["summary"]["planned"] == {"create": 0, "duplicate": 5, "error": 4}


async def test_custom_fields_of_leads_and_opportunities_come_in_with_them(
    api: Api, as_user: Users
) -> None:
    root = as_user("root", Role.ADMIN)
    for entity, key, body in (
        ("lead", "budget", {"label_en": "Budget", "label_zh": "预算", "type": "number"}),
        (
            "opportunity",
            "po",
            {"label_en": "PO", "label_zh": "采购单", "type": "text", "required": True},
        ),
    ):
        answer = await root.put(f"/custom-fields/{entity}/{key}", json=body)
        assert answer.status_code == 200, answer.text
    boss = as_user("boss", Role.MANAGER)
    await boss.post("/customers", json={"name": "Ada", "email": "ada@example.com"})
    leads = [
        ["name", "email", "预算"],  # the field's Chinese label: matched to it
        ["Wang", "wang@example.cn", "5000"],
        ["Li", "li@example.cn", "a lot"],  # row 3: not a number
    ]
    plan = await plan_of(boss, leads, kind="leads")
    assert plan["summary"]["mapping"] == {"name": "name", "email": "email", "预算": "custom.budget"}
    assert plan["summary"]["planned"] == {"create": 1, "duplicate": 0, "error": 1}
    [issue] = plan["issues"]
    assert issue["column"] == "预算"
    await confirmed(boss, plan)
    opportunities = [
        ["opportunity", "email", "amount", "close date", "PO"],  # the English label
        ["Pumps", "ada@example.com", "100", "2027-01-01", "PO-1"],
        ["Valves", "ada@example.com", "100", "2027-01-01", ""],  # row 3: the PO is required
    ]
    plan = await plan_of(boss, opportunities, kind="opportunities", currency="CNY")
    assert plan["summary"]["planned"] == {"create": 1, "duplicate": 0, "error": 1}
    [issue] = plan["issues"]
    assert "required" in issue["reason"]
    await confirmed(boss, plan)
    head = {"min_position": await api.platform.store.head_position()}
    [lead] = (await boss.get("/leads", params=head)).json()["items"]
    assert lead["custom"] == {"budget": 5000}
    [deal] = (await boss.get("/opportunities", params=head)).json()["items"]
    assert deal["custom"] == {"po": "PO-1"}
