"""Invoices and payments of orders already in the CRM, as files of their own, over HTTP
(``kind=invoices``, ``kind=payments``): each row is the sales context's command, dated by its
own date (an invoice issued in 2019 is issued in 2019 in the read models, recorded now); the
dry run names the column and the reason of every row that cannot be; the same file imported
again creates nothing; a run cut short is finished by the resumed run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

import pytest

from crm.kernel.auth import Role
from crm.kernel.repository import CommandContext
from crm.platform.imports.run import run
from crm.platform.imports.service import imports_of
from tests.conftest import T0, Api, UserClient
from tests.e2e.test_import_sales_api import catalogue_and_ada, csv_bytes, imported, run_import

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]

Users = Callable[..., UserClient]

ORDERS = [
    ["order", "email", "date", "sku", "quantity", "status"],
    ["O-1", "ada@example.com", "2019-03-04", "VALVE-2", "10", "delivered"],  # 800
    ["O-2", "ada@example.com", "2019-06-01", "PUMP-1", "1", ""],  # 1200
    ["O-3", "ada@example.com", "2019-07-01", "VALVE-2", "1", "cancelled"],
    ["O-4", "ada@example.com", "2019-08-01", "VALVE-2", "2", ""],  # 160
    ["O-5", "ada@example.com", "2019-09-01", "VALVE-2", "1", ""],  # 80
]


async def _orders(boss: UserClient) -> dict[str, str]:
    """The catalogue, Ada and her orders O-1..O-5 (number → order id)."""
    await catalogue_and_ada(boss)
    plan = await imported(boss, "o.csv", csv_bytes(ORDERS), kind="orders", currency="CNY")
    await run_import(boss, plan)
    found = await boss.get(f"/imports/{plan['summary']['id']}/rows", params={"outcome": "created"})
    ids = {r["row"]: r["id"] for r in found.json()["items"]}
    return {ORDERS[row - 1][0]: id_ for row, id_ in ids.items()}


INVOICES = [
    ["发票号", "订单号", "开票日期", "到期日", "发票金额"],
    ["INV-1", "O-1", "2019-03-05", "2019-04-04", "800"],  # row 2
    ["INV-2", "O-2", "2019-06-02", "", ""],  # row 3
    ["INV-3", "O-3", "2019-07-02", "", ""],  # row 4: a cancelled order
    ["INV-4", "O-4", "2019-07-31", "", ""],  # row 5: before the order was placed
    ["INV-5", "NOPE", "2019-08-02", "", ""],  # row 6: no such order
    ["INV-1", "O-1", "2019-03-05", "2019-04-04", "800"],  # row 7: row 2 again
    ["INV-6", "O-2", "2019-06-03", "", ""],  # row 8: O-2 has its invoice (row 3)
    ["INV-7", "O-4", "2019-08-02", "2019-08-01", ""],  # row 9: due before issued
    ["INV-8", "O-4", "2019-08-02", "", "999"],  # row 10: not the order's total
    ["INV-9", "O-5", "2031-01-01", "", ""],  # row 11: in the future
    ["", "O-5", "2019-09-02", "", ""],  # row 12: no number
]


async def test_invoices_of_orders_already_there_keep_their_dates_and_come_in_once(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER)
    orders = await _orders(boss)
    plan = await imported(boss, "invoices.csv", csv_bytes(INVOICES), kind="invoices")
    assert plan["summary"]["kind"] == "invoices"
    assert plan["summary"]["mapping"]["发票号"] == "invoice"
    assert plan["summary"]["planned"] == {"create": 2, "duplicate": 1, "error": 8}
    issues = {i["row"]: i for i in plan["issues"]}
    assert issues[4]["column"] == "订单号"
    assert "cancelled" in issues[4]["reason"]
    assert issues[5]["column"] == "开票日期"
    assert "before the order was placed" in issues[5]["reason"]
    assert (issues[6]["column"], issues[6]["value"]) == ("订单号", "NOPE")
    assert issues[7]["outcome"] == "duplicate"
    assert issues[7]["duplicate_row"] == 2
    assert issues[8]["column"] == "订单号"
    assert "row 3" in issues[8]["reason"]
    assert issues[9]["column"] == "到期日"
    assert issues[10]["column"] == "发票金额"
    assert issues[11]["column"] == "开票日期"
    assert issues[12]["column"] == "发票号"
    assert (await boss.get("/invoices")).json()["items"] == []  # a dry run writes nothing

    done = await run_import(boss, plan)
    assert done["done"] == {"created": 2, "duplicate": 1, "failed": 8}
    head = {"min_position": await api.platform.store.head_position()}
    invoices = {
        i["order_id"]: i for i in (await boss.get("/invoices", params=head)).json()["items"]
    }
    assert set(invoices) == {orders["O-1"], orders["O-2"]}
    assert invoices[orders["O-1"]]["issue_date"] == "2019-03-05"
    assert invoices[orders["O-1"]]["due_date"] == "2019-04-04"
    assert invoices[orders["O-2"]]["due_date"] == "2019-07-02"  # 30 days by default
    assert (invoices[orders["O-1"]]["number"], invoices[orders["O-2"]]["number"]) == (
        "INV-1",
        "INV-2",
    )
    envelopes = [e async for page in api.platform.store.read_all(0) for e in page]
    issued = [e for e in envelopes if e.event_type == "sales.invoice.issued"]
    assert sorted(e.occurred_at for e in issued) == [
        datetime(2019, 3, 5, tzinfo=UTC),
        datetime(2019, 6, 2, tzinfo=UTC),
    ]
    assert all(e.recorded_at >= T0 for e in issued)

    again = await imported(boss, "invoices.csv", csv_bytes(INVOICES), kind="invoices")
    assert again["summary"]["planned"]["create"] == 0
    reasons = {i["row"]: i["reasons"] for i in again["issues"] if i["outcome"] == "duplicate"}
    assert reasons[2] == reasons[3] == ["already_invoiced"]
    await run_import(boss, again)
    envelopes = [e async for page in api.platform.store.read_all(0) for e in page]
    assert sum(e.event_type == "sales.invoice.issued" for e in envelopes) == 2

    # a number another order's invoice has (imported above) is the row's error
    taken = [INVOICES[0], ["INV-1", "O-5", "2019-09-02", "", ""]]
    plan = await imported(boss, "taken.csv", csv_bytes(taken), kind="invoices")
    assert plan["summary"]["planned"] == {"create": 0, "duplicate": 0, "error": 1}
    [issue] = plan["issues"]
    assert (issue["column"], issue["value"]) == ("发票号", "INV-1")
    assert "another order" in issue["reason"]


@pytest.mark.contexts("customer", "sales", "analytics")
async def test_payments_of_invoices_keep_their_dates_refuse_overpayments_and_come_in_once(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER)
    orders = await _orders(boss)
    await run_import(boss, await imported(boss, "i.csv", csv_bytes(INVOICES), kind="invoices"))
    o1_invoice = (await boss.get("/invoices")).json()["items"]
    invoice_of = {i["order_id"]: i["id"] for i in o1_invoice}
    rows = [
        ["invoice", "order", "amount paid", "payment date", "payment method", "流水号"],
        ["", "O-1", "300", "2019-03-10", "bank transfer", "TX-1"],  # row 2
        [invoice_of[orders["O-1"]], "", "500", "2019-03-20", "", ""],  # row 3: pays O-1 off
        ["", "O-1", "1", "2019-03-21", "", ""],  # row 4: O-1 is paid: an overpayment
        ["", "O-2", "1300", "2019-06-10", "", ""],  # row 5: more than O-2's 1200
        ["", "O-2", "200", "2019-06-01", "", ""],  # row 6: before O-2's invoice (2019-06-02)
        ["", "O-4", "10", "2019-08-10", "", ""],  # row 7: O-4 has no invoice
        ["", "O-1", "300", "2019-03-10", "bank transfer", "TX-1"],  # row 8: row 2 again
        ["INV-404", "", "10", "2019-06-10", "", ""],  # row 9: no invoice has this number
        ["", "O-2", "100 EUR", "2019-06-10", "", ""],  # row 10: not the invoice's currency
        ["", "O-2", "200", "2019-06-15", "cash", ""],  # row 11
        ["INV-2", "", "10", "2019-06-20", "", "TX-9"],  # row 12: O-2's invoice by its number
    ]
    plan = await imported(boss, "payments.csv", csv_bytes(rows), kind="payments")
    assert plan["summary"]["mapping"]["流水号"] == "reference"
    assert plan["summary"]["mapping"]["amount paid"] == "amount"
    assert plan["summary"]["planned"] == {"create": 4, "duplicate": 1, "error": 6}
    issues = {i["row"]: i for i in plan["issues"]}
    assert issues[4]["column"] == "amount paid"
    assert "overpayment" in issues[4]["reason"]
    assert issues[5]["column"] == "amount paid"
    assert "overpayment" in issues[5]["reason"]
    assert issues[6]["column"] == "payment date"
    assert (issues[7]["column"], issues[7]["value"]) == ("order", "O-4")
    assert "no such invoice" in issues[7]["reason"]
    assert issues[8]["outcome"] == "duplicate"
    assert (issues[9]["column"], issues[9]["value"]) == ("invoice", "INV-404")
    assert "no invoice has this number" in issues[9]["reason"]
    assert issues[10]["column"] == "amount paid"

    done = await run_import(boss, plan)
    assert done["done"] == {"created": 4, "duplicate": 1, "failed": 6}
    head = {"min_position": await api.platform.store.head_position()}
    invoices = {
        i["order_id"]: i for i in (await boss.get("/invoices", params=head)).json()["items"]
    }
    assert invoices[orders["O-1"]]["status"] == "paid"
    assert invoices[orders["O-1"]]["paid_on"] == "2019-03-20"
    assert invoices[orders["O-2"]]["balance"] == {"amount": "990.00", "currency": "CNY"}
    envelopes = [e async for page in api.platform.store.read_all(0) for e in page]
    paid = [e for e in envelopes if e.event_type == "sales.invoice.payment_recorded"]
    assert sorted(e.occurred_at.date().isoformat() for e in paid) == [
        "2019-03-10",
        "2019-03-20",
        "2019-06-15",
        "2019-06-20",
    ]
    revenue = await boss.get(
        "/analytics/reports/revenue", params={**head, "from": "2019-01", "to": "2019-12"}
    )
    assert revenue.status_code == 200, revenue.text
    months = {row["month"]: row for row in revenue.json()["months"]}
    assert months["2019-03"]["collected"] == {"amount": "800.00", "currency": "CNY"}
    assert months["2019-06"]["collected"] == {"amount": "210.00", "currency": "CNY"}

    again = await imported(boss, "payments.csv", csv_bytes(rows), kind="payments")
    assert again["summary"]["planned"]["create"] == 0
    await run_import(boss, again)
    envelopes = [e async for page in api.platform.store.read_all(0) for e in page]
    assert sum(e.event_type == "sales.invoice.payment_recorded" for e in envelopes) == 4


async def test_a_payments_run_cut_short_is_finished_by_the_resumed_run(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER)
    await _orders(boss)
    await run_import(boss, await imported(boss, "i.csv", csv_bytes(INVOICES), kind="invoices"))
    rows = [
        ["order", "amount", "paid on"],
        ["O-2", "100", "2019-06-10"],
        ["O-2", "100", "2019-06-10"],  # the same payment twice: two payments
        ["O-2", "1000", "2019-06-11"],
    ]
    plan = await imported(boss, "pay.csv", csv_bytes(rows), kind="payments")
    assert plan["summary"]["planned"] == {"create": 3, "duplicate": 0, "error": 0}
    import_id = plan["summary"]["id"]
    runtime = api.platform.runtime
    tenant = api.platform.settings.default_tenant
    planner = await imports_of(runtime, api.platform.settings.data_dir).planner_of(
        import_id, tenant
    )
    [first, *_] = [o async for o in planner.rows()]
    [step] = planner.steps(first.id or "", first.item)
    ctx = CommandContext(
        actor="boss", role=Role.MANAGER.value, tenant=tenant, now=runtime.clock.now()
    )
    await runtime.commands.run(
        step.command,
        replace(
            ctx,
            correlation_id=UUID(import_id),
            idempotency=planner.step_key(first.row, first.item, ""),
            occurred_at=step.happened,
        ),
    )  # the first run recorded row 2, then died
    planner = await imports_of(runtime, api.platform.settings.data_dir).planner_of(
        import_id, tenant
    )
    report = await run(planner, ctx)
    assert (report.create, report.created, report.duplicate, report.error) == (2, 1, 0, 0)
    envelopes = [e async for page in runtime.store.read_all(0) for e in page]
    assert sum(e.event_type == "sales.invoice.payment_recorded" for e in envelopes) == 3
    assert sum(e.event_type == "sales.invoice.paid" for e in envelopes) == 1
