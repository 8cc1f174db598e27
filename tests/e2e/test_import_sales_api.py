"""Importing a company's sales history over HTTP: its catalogue (``kind=products``), then its
orders of the past with their lines, invoices and payments (``kind=orders``, one row per line,
the rows of one order number together), each fact dated by its own date (an order placed in
2019 is placed in 2019 in every read model, recorded now). The dry run prices the lines from
the catalogue and plays each order's history on the domain in memory: an unknown sku, an
overpayment, an invoice of a cancelled order are the row's errors, naming the column, before
anything is written. The same file imported again creates nothing twice."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import openpyxl
import pytest

from crm.kernel.auth import Role
from crm.kernel.repository import CommandContext
from crm.platform.imports.run import run
from crm.platform.imports.service import imports_of
from crm.sales.application.order_commands import PlaceOrder
from tests.conftest import T0, Api, UserClient
from tests.support.imports import finished

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]

Users = Callable[..., UserClient]

PRODUCTS = [
    ["货号", "产品名称", "单价", "描述"],
    ["PUMP-1", "水泵", "¥1,200.00", "industrial pump"],
    ["VALVE-2", "阀门", "80", ""],
    ["pump-1", "水泵 again", "1200", ""],  # row 4: the sku of row 2 (skus ignore case)
    ["BAD SKU", "x", "10", ""],  # row 5: a sku has no spaces
    ["FREE-3", "free", "-5", ""],  # row 6: a negative price
    ["NOPRICE", "no price", "", ""],  # row 7
]
ORDER_HEADERS = [
    "订单号",
    "邮箱",
    "下单日期",
    "货号",
    "数量",
    "单价",
    "折扣",
    "订单状态",
    "开票日期",
    "到期日",
    "已付金额",
    "付款日期",
    "付款方式",
]


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def imported(client: UserClient, name: str, content: bytes, **data: str) -> dict[str, Any]:
    r = await client.post("/imports", files={"file": (name, content)}, data=data)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def run_import(client: UserClient, body: dict[str, Any]) -> dict[str, Any]:
    import_id = body["summary"]["id"]
    assert (await client.post(f"/imports/{import_id}/confirm")).status_code == 202
    return await finished(client, import_id)


async def catalogue_and_ada(boss: UserClient) -> None:
    """PUMP-1 and VALVE-2 in the catalogue (CNY), and the customer Ada (ada@example.com)."""
    await run_import(
        boss,
        await imported(boss, "p.csv", csv_bytes(PRODUCTS[:3]), kind="products", currency="CNY"),
    )
    await boss.post("/customers", json={"name": "Ada", "email": "ada@example.com"})


async def test_a_catalogue_then_orders_of_the_past_keep_their_dates_and_come_in_once(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER)
    products = await imported(
        boss, "products.csv", csv_bytes(PRODUCTS), kind="products", currency="CNY"
    )
    assert products["summary"]["planned"] == {"create": 2, "duplicate": 1, "error": 3}
    issues = {i["row"]: i for i in products["issues"]}
    assert issues[4]["outcome"] == "duplicate"
    assert issues[4]["duplicate_row"] == 2
    assert issues[5]["column"] == "货号"
    assert issues[6]["column"] == "单价"
    assert issues[7]["column"] == "单价"
    assert (await boss.get("/products")).json()["items"] == []  # nothing before confirming
    done = await run_import(boss, products)
    assert done["done"] == {"created": 2, "duplicate": 1, "failed": 3}
    catalogue = {p["sku"]: p for p in (await boss.get("/products")).json()["items"]}
    assert set(catalogue) == {"PUMP-1", "VALVE-2"}
    assert catalogue["PUMP-1"]["list_price"] == {"amount": "1200.00", "currency": "CNY"}

    ada = (await boss.post("/customers", json={"name": "Ada", "email": "ada@example.com"})).json()
    bob = (await boss.post("/customers", json={"name": "Bob", "email": "bob@example.com"})).json()
    rows: list[list[Any]] = [
        ORDER_HEADERS,
        # two lines, delivered, invoiced and paid in full, in 2019
        ["A-1", "ada@example.com", "2019-03-04", "PUMP-1", 2, "", "", "已完成", "2019-03-05",
         "", "是", "2019-03-20", "bank transfer"],
        ["A-1", "", "", "VALVE-2", 3, "70", "10", "", "", "", "", "", ""],
        # one line at its own price, invoiced, half paid, in 2020
        ["A-2", "BOB@example.com", "2020/01/15", "VALVE-2", 10, "75", "", "delivered",
         "2020-01-16", "2020-02-15", "375", "2020-02-01", ""],
        # its second line's sku is not in the catalogue (rows 5, 6)
        ["A-3", "ada@example.com", "2020-05-01", "PUMP-1", 1, "", "", "", "", "", "", "", ""],
        ["A-3", "", "", "NOPE-9", 1, "", "", "", "", "", "", "", ""],
        # paid more than its total (row 7)
        ["A-4", "ada@example.com", "2020-06-01", "VALVE-2", 1, "", "", "delivered", "2020-06-02",
         "", "500", "", ""],
        # cancelled, yet invoiced (row 8)
        ["A-5", "ada@example.com", "2020-07-01", "VALVE-2", 1, "", "", "已取消", "2020-07-02",
         "", "", "", ""],
        # its second line names another customer (rows 9, 10)
        ["A-6", "ada@example.com", "2020-08-01", "VALVE-2", 1, "", "", "", "", "", "", "", ""],
        ["A-6", "bob@example.com", "", "VALVE-2", 1, "", "", "", "", "", "", "", ""],
        # A-1 again, apart from its lines (row 11)
        ["A-1", "ada@example.com", "2019-03-04", "PUMP-1", 1, "", "", "", "", "", "", "", ""],
        # invoiced before it was placed (row 12); A-8: in the future (row 13)
        ["A-7", "ada@example.com", "2020-09-10", "VALVE-2", 1, "", "", "", "2020-09-01",
         "", "", "", ""],
        ["A-8", "ada@example.com", "2031-01-01", "VALVE-2", 1, "", "", "", "", "", "", "", ""],
        # an unknown customer (row 14)
        ["A-9", "nobody@example.com", "2020-10-01", "VALVE-2", 1, "", "", "", "", "", "", "", ""],
    ]  # fmt: skip
    plan = await imported(boss, "orders.xlsx", xlsx_bytes(rows), kind="orders", currency="CNY")
    assert plan["summary"]["kind"] == "orders"
    assert plan["summary"]["planned"] == {"create": 2, "duplicate": 0, "error": 8}
    issues = {i["row"]: i for i in plan["issues"]}
    assert issues[5]["column"] == "货号 (row 6 / 第 6 行)"
    assert issues[5]["value"] == "NOPE-9"
    assert issues[7]["column"] == "已付金额"
    assert "overpayment" in issues[7]["reason"]
    assert issues[8]["column"] == "开票日期"
    assert issues[9]["column"] == "邮箱 (row 10 / 第 10 行)"
    assert issues[11]["column"] == "订单号"
    assert "began at row 2" in issues[11]["reason"]
    assert issues[12]["column"] == "开票日期"
    assert issues[13]["column"] == "下单日期"
    assert issues[14]["column"] == "邮箱"
    assert (await boss.get("/orders")).json()["items"] == []  # a dry run writes nothing

    done = await run_import(boss, plan)
    assert done["done"] == {"created": 2, "duplicate": 0, "failed": 8}
    found = await boss.get(f"/imports/{plan['summary']['id']}/rows", params={"outcome": "created"})
    created = {r["row"]: r["id"] for r in found.json()["items"]}
    assert set(created) == {2, 4}
    head = {"min_position": await api.platform.store.head_position()}
    a1 = (await boss.get(f"/orders/{created[2]}", params=head)).json()
    assert a1["customer_id"] == ada["id"]
    assert a1["status"] == "delivered"
    assert a1["placed_at"].startswith("2019-03-04")
    # 2 x 1200 + 3 x 70 less 10 % = 2400 + 189
    assert a1["total"] == {"amount": "2589.00", "currency": "CNY"}
    assert [line["sku"] for line in a1["lines"]] == ["PUMP-1", "VALVE-2"]
    head = {"min_position": await api.platform.store.head_position()}
    listed = (await boss.get("/invoices", params=head)).json()["items"]
    invoices = {i["order_id"]: i for i in listed}
    paid = invoices[created[2]]
    assert paid["status"] == "paid"
    assert paid["issue_date"] == "2019-03-05"
    assert paid["paid_on"] == "2019-03-20"
    half = invoices[created[4]]
    assert half["status"] != "paid"
    assert half["due_date"] == "2020-02-15"
    assert half["balance"] == {"amount": "375.00", "currency": "CNY"}

    envelopes = [e async for page in api.platform.store.read_all(0) for e in page]
    placed = {e.stream_id: e for e in envelopes if e.event_type == "sales.order.placed"}
    assert {e.occurred_at for e in placed.values()} == {
        datetime(2019, 3, 4, tzinfo=UTC),
        datetime(2020, 1, 15, tzinfo=UTC),
    }
    assert all(e.recorded_at >= T0 for e in placed.values())  # recorded now, placed then
    payments = [e for e in envelopes if e.event_type == "sales.invoice.payment_recorded"]
    assert sorted(e.occurred_at for e in payments) == [
        datetime(2019, 3, 20, tzinfo=UTC),
        datetime(2020, 2, 1, tzinfo=UTC),
    ]
    assert {str(e.correlation_id) for e in payments} == {plan["summary"]["id"]}

    again = await imported(boss, "orders.xlsx", xlsx_bytes(rows), kind="orders", currency="CNY")
    assert again["summary"]["planned"] == {"create": 0, "duplicate": 2, "error": 8}
    assert {i["reasons"][0] for i in again["issues"] if i["outcome"] == "duplicate"} == {
        "same_order_number"
    }
    await run_import(boss, again)
    envelopes = [e async for page in api.platform.store.read_all(0) for e in page]
    assert sum(e.event_type == "sales.order.placed" for e in envelopes) == 2
    assert bob["id"] in {o["customer_id"] for o in (await boss.get("/orders")).json()["items"]}


async def test_an_order_file_needs_its_number_customer_date_and_sku_columns(
    as_user: Users,
) -> None:
    boss = as_user("boss", Role.MANAGER)
    r = await boss.post(
        "/imports",
        files={
            "file": (
                "o.csv",
                csv_bytes([["邮箱", "下单日期", "货号"], ["a@b.co", "2019-1-1", "X"]]),
            )
        },
        data={"kind": "orders"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == "mapping"
    r = await boss.post(
        "/imports",
        files={"file": ("p.csv", csv_bytes(PRODUCTS))},
        data={"kind": "products", "currency": "yuan"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == "currency"


async def test_a_rep_imports_no_history(as_user: Users) -> None:
    rep = as_user("rep", Role.SALES_REP)
    r = await rep.post(
        "/imports", files={"file": ("p.csv", csv_bytes(PRODUCTS))}, data={"kind": "products"}
    )
    assert r.status_code == 403, r.text


async def test_an_order_cut_short_between_its_steps_is_finished_by_the_resumed_run(
    api: Api, as_user: Users
) -> None:
    """A run stopped after an order was placed but before its invoice and payment (a crash
    between two of its commands): the resumed run replays the placement under its key and
    records the rest; nothing twice, the order not called a duplicate of itself."""
    boss = as_user("boss", Role.MANAGER)
    await catalogue_and_ada(boss)
    rows = [
        ["order", "email", "date", "sku", "quantity", "invoice date", "paid", "paid on"],
        ["B-1", "ada@example.com", "2019-05-01", "VALVE-2", "2", "2019-05-02", "yes", "2019-05-09"],
        ["B-2", "ada@example.com", "2019-06-01", "PUMP-1", "1", "", "", ""],
    ]
    plan = await imported(boss, "o.csv", csv_bytes(rows), kind="orders", currency="CNY")
    import_id = plan["summary"]["id"]
    runtime = api.platform.runtime
    tenant = api.platform.settings.default_tenant
    planner = await imports_of(runtime, api.platform.settings.data_dir).planner_of(
        import_id, tenant
    )
    items = [o async for o in planner.rows()]
    first = items[0]
    [place, *rest] = planner.steps(first.id or "", first.item)
    assert isinstance(place.command, PlaceOrder)
    assert [s.suffix for s in rest] == ["invoice", "payment"]
    ctx = CommandContext(
        actor="boss", role=Role.MANAGER.value, tenant=tenant, now=runtime.clock.now()
    )
    await runtime.commands.run(
        place.command,
        replace(
            ctx,
            correlation_id=UUID(import_id),
            idempotency=planner.step_key(first.row, first.item, ""),
            occurred_at=place.happened,
        ),
    )  # the first run got this far on B-1, then died
    report = await run(planner, ctx)
    assert (report.create, report.created, report.duplicate, report.error) == (2, 0, 0, 0)
    envelopes = [e async for page in runtime.store.read_all(0) for e in page]
    types = [e.event_type for e in envelopes if e.event_type.startswith("sales.")]
    assert types.count("sales.order.placed") == 2
    assert types.count("sales.invoice.issued") == 1
    assert types.count("sales.invoice.payment_recorded") == 1
    again = await run(planner, ctx)  # finished: runs nothing
    assert again.rows == 0


async def test_an_order_is_shipped_and_delivered_on_its_own_dates(api: Api, as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    await catalogue_and_ada(boss)
    rows = [
        ["order", "email", "date", "sku", "shipped on", "delivered on", "status"],
        ["D-1", "ada@example.com", "2019-05-01", "VALVE-2", "2019-05-03", "2019-05-07", ""],
        ["D-2", "ada@example.com", "2019-05-01", "VALVE-2", "2019-05-03", "", ""],
        ["D-3", "ada@example.com", "2019-05-01", "VALVE-2", "2019-05-03", "2019-05-02", ""],
        ["D-4", "ada@example.com", "2019-05-01", "VALVE-2", "", "2019-05-02", "cancelled"],
        ["D-5", "ada@example.com", "2019-05-01", "VALVE-2", "2019-04-30", "", ""],
    ]
    plan = await imported(boss, "o.csv", csv_bytes(rows), kind="orders", currency="CNY")
    assert plan["summary"]["planned"] == {"create": 2, "duplicate": 0, "error": 3}
    issues = {i["row"]: i for i in plan["issues"]}
    assert issues[4]["column"] == "delivered on"  # before it was shipped
    assert issues[5]["column"] == "delivered on"  # a cancelled order is not delivered
    assert issues[6]["column"] == "shipped on"  # before the order
    await run_import(boss, plan)
    envelopes = [e async for page in api.platform.store.read_all(0) for e in page]
    dated = {
        (e.event_type, e.occurred_at.date().isoformat())
        for e in envelopes
        if e.event_type in ("sales.order.shipped", "sales.order.delivered")
    }
    assert dated == {
        ("sales.order.shipped", "2019-05-03"),
        ("sales.order.delivered", "2019-05-07"),
    }
    head = {"min_position": await api.platform.store.head_position()}
    statuses = sorted(o["status"] for o in (await boss.get("/orders", params=head)).json()["items"])
    assert statuses == ["delivered", "shipped"]


async def test_an_orders_invoice_keeps_its_number_one_per_tenant(api: Api, as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    await catalogue_and_ada(boss)
    rows = [
        ["订单号", "邮箱", "下单日期", "货号", "发票号", "开票日期"],
        ["N-1", "ada@example.com", "2019-05-01", "VALVE-2", "FP-001", "2019-05-02"],  # row 2
        ["N-1", "", "", "PUMP-1", "", ""],  # row 3: a later line leaves it blank
        ["N-2", "ada@example.com", "2019-05-01", "VALVE-2", "FP-001", "2019-05-02"],  # row 4
        ["N-3", "ada@example.com", "2019-05-01", "VALVE-2", "FP-003", ""],  # row 5: no invoice
        ["N-4", "ada@example.com", "2019-05-01", "VALVE-2", "", "2019-05-02"],  # row 6
    ]
    plan = await imported(boss, "o.csv", csv_bytes(rows), kind="orders", currency="CNY")
    assert plan["summary"]["mapping"]["发票号"] == "invoice"
    assert plan["summary"]["planned"] == {"create": 2, "duplicate": 0, "error": 2}
    issues = {i["row"]: i for i in plan["issues"]}
    assert (issues[4]["column"], issues[4]["value"]) == ("发票号", "FP-001")
    assert "row 2" in issues[4]["reason"]
    assert (issues[5]["column"], issues[5]["value"]) == ("发票号", "FP-003")
    assert "invoice date" in issues[5]["reason"]
    await run_import(boss, plan)
    head = {"min_position": await api.platform.store.head_position()}
    numbers = sorted(
        str(i["number"]) for i in (await boss.get("/invoices", params=head)).json()["items"]
    )
    assert numbers == ["FP-001", "None"]  # N-4's invoice has none

    # another file: FP-001 is N-1's invoice's now, so another order may not take it
    again = [rows[0], ["N-5", "ada@example.com", "2019-06-01", "VALVE-2", "FP-001", "2019-06-02"]]
    plan = await imported(boss, "o2.csv", csv_bytes(again), kind="orders", currency="CNY")
    [issue] = plan["issues"]
    assert (issue["column"], issue["outcome"]) == ("发票号", "error")
    assert "another order" in issue["reason"]
