"""The console's import page: a manager uploads a CSV, sees the dry run's counts and failing
rows (column and reason), changes a column's field and checks again (a new plan), confirms,
follows the progress to the end and finds the imported customers; an update row changes a
customer already there; a rep may not open the page; the page in Chinese; every form needs
its CSRF token."""

from __future__ import annotations

import csv
import io
import re

import pytest

from crm.console.users import system_context
from crm.platform.imports.record import ConfirmImport
from tests.conftest import Api
from tests.support.console import UUID, console_user, own_client, sign_in, until_shown

pytestmark = pytest.mark.e2e


def csv_of(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


FILE = csv_of(
    [
        ["姓名", "邮箱", "Mobile number", "备注"],
        ["Ada Lovelace", "ada@example.com", "13800138000", "first"],
        ["Bob Byron", "bob@", "13900139000", ""],  # row 3: not an e-mail
        ["Grace Hopper", "grace@navy.example", "13700137000", ""],
    ]
)


async def test_a_manager_imports_customers_from_the_page(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    boss = api.as_user("mgr", "manager")
    known = await boss.post("/customers", json={"name": "Grace H.", "email": "grace@navy.example"})
    grace = known.json()["id"]
    async with own_client(api) as client:
        csrf = await sign_in(client, "mgr")
        listing = await client.get("/console/imports")
        assert listing.status_code == 200, listing.text
        assert '<option value="customers">Customers</option>' in listing.text
        assert '<option value="interactions">Interactions</option>' in listing.text
        refused = await client.post(
            "/console/imports",
            data={"csrf": "forged", "kind": "customers"},
            files={"file": ("c.csv", FILE, "text/csv")},
        )
        assert refused.status_code == 403

        sent = await client.post(
            "/console/imports",
            data={"csrf": csrf, "kind": "customers", "day_first": "true", "on_match": "update"},
            files={"file": ("clients.csv", FILE, "text/csv")},
        )
        assert sent.status_code == 303, sent.text
        first = sent.headers["location"]
        assert re.fullmatch(f"/console/imports/{UUID}", first)
        page = (await client.get(first)).text
        assert "clients.csv" in page
        # "Mobile number" matched no field: the user maps it to the phone
        assert 'name="column.2"' in page
        assert re.search(r'id="column-2" name="column.2">\s*<option value="">not imported', page)
        assert 'data-count="error">fail: <strong>1</strong>' in page
        assert 'data-count="update">update: <strong>1</strong>' in page
        assert "<strong>邮箱</strong>: not an e-mail address" in page  # column and reason
        updates = (await client.get(first, params={"show": "update"})).text
        assert f'href="/console/customers/{grace}"' in updates

        again = await client.post(
            f"{first}/mapping",
            data={
                "csrf": csrf,
                "column.0": "name",
                "column.1": "email",
                "column.2": "phone",
                "column.3": "",
                "day_first": "true",
                "on_match": "update",
            },
        )
        assert again.status_code == 303, again.text
        second = again.headers["location"]
        assert second != first
        page = (await client.get(second)).text
        assert re.search(r'<option value="phone" selected>Phone</option>', page)
        assert "Not imported: 备注" in page

        confirmed = await client.post(f"{second}/confirm", data={"csrf": csrf})
        assert confirmed.status_code == 303
        done = await until_shown(client, second, "rows, finished</p>")
        assert 'value="100"' in done.text  # the progress bar, full
        assert "4 of 3 rows done" not in done.text
        assert re.search(r'data-count="create">create: <strong>1</strong>', done.text)
        created = re.findall(f'href="/console/customers/({UUID})\\?min_position=[0-9]+"', done.text)
        assert len(created) == 1
        failed = await client.get(second, params={"show": "failed"})
        assert "<strong>邮箱</strong>" in failed.text
        listing = await client.get("/console/imports")
        assert listing.text.count("clients.csv") == 2  # the first plan stays, not confirmed
        assert "dry run, not confirmed" in listing.text

    head = await api.platform.store.head_position()
    customers = (await boss.get("/customers", params={"min_position": head})).json()["items"]
    by_name = {c["name"]: c for c in customers}
    assert by_name["Ada Lovelace"]["phone"] == "+8613800138000"
    assert by_name["Grace Hopper"]["id"] == grace  # updated, not registered twice
    assert by_name["Grace Hopper"]["phone"] == "+8613700137000"
    assert "Bob Byron" not in by_name


async def test_the_page_in_chinese_and_not_for_a_rep(api: Api) -> None:
    await console_user(api, "wang", "admin", locale="zh-CN")
    await console_user(api, "rep", "sales_rep")
    async with own_client(api) as client:
        await sign_in(client, "wang")
        page = await client.get("/console/imports")
        assert "上传文件" in page.text
        assert '<option value="customers">客户</option>' in page.text
        assert "日在前" in page.text
        assert 'href="/console/imports"' in page.text  # in the navigation
    async with own_client(api) as client:
        await sign_in(client, "rep")
        assert 'href="/console/imports"' not in (await client.get("/console/")).text
        refused = await client.get("/console/imports")
        assert refused.status_code == 403


async def test_an_import_that_stopped_is_resumed_from_its_page(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    async with own_client(api) as client:
        csrf = await sign_in(client, "mgr")
        sent = await client.post(
            "/console/imports",
            data={"csrf": csrf, "kind": "customers"},
            files={"file": ("stopped.csv", FILE, "text/csv")},
        )
        url = sent.headers["location"]
        import_id = url.rsplit("/", 1)[1]
        # confirmed by a process that then died: running, but no run here
        runtime = api.platform.runtime
        ctx = system_context("default", runtime.clock.now(), "mgr")
        await runtime.commands.execute(ConfirmImport(import_id), ctx)
        page = (await client.get(url)).text
        assert "running" in page
        assert "Resume the import" in page
        assert 'http-equiv="refresh"' not in page  # nothing runs: nothing to follow
        resumed = await client.post(f"{url}/confirm", data={"csrf": csrf})
        assert resumed.status_code == 303
        done = await until_shown(client, url, "rows, finished</p>")
        assert "Resume the import" not in done.text
        assert len(re.findall(f'href="/console/customers/({UUID})\\?min_position=', done.text)) == 2


async def test_a_manager_imports_the_catalogue_and_past_orders_from_the_page(api: Api) -> None:
    """Products with the form's currency, then an order of 2019 with two lines: the dry
    run's failing line named by its row, confirmed, the order linked from the import."""
    await console_user(api, "mgr", "manager")
    boss = api.as_user("mgr", "manager")
    await boss.post("/customers", json={"name": "Ada", "email": "ada@example.com"})
    products = csv_of([["SKU", "Product name", "Price"], ["PUMP-1", "Pump", "1200"]])
    orders = csv_of(
        [
            ["Order number", "E-mail", "Order date", "SKU", "Qty", "Status"],
            ["S-1", "ada@example.com", "2019-04-03", "PUMP-1", "2", "delivered"],
            ["S-1", "", "", "PUMP-1", "1", ""],
            ["S-2", "ada@example.com", "2019-06-01", "PUMP-1", "1", ""],
            ["S-2", "", "", "GONE-1", "1", ""],
        ]
    )
    async with own_client(api) as client:
        csrf = await sign_in(client, "mgr")
        listing = (await client.get("/console/imports")).text
        assert '<option value="products">Products</option>' in listing
        assert '<option value="orders">Orders with their lines</option>' in listing
        assert 'name="currency"' in listing
        wrong = await client.post(
            "/console/imports",
            data={"csrf": csrf, "kind": "products", "currency": "元元"},
            files={"file": ("p.csv", products, "text/csv")},
        )
        assert wrong.status_code == 422
        sent = await client.post(
            "/console/imports",
            data={"csrf": csrf, "kind": "products", "currency": "cny"},
            files={"file": ("p.csv", products, "text/csv")},
        )
        assert sent.status_code == 303, sent.text
        plan = sent.headers["location"]
        await client.post(f"{plan}/confirm", data={"csrf": csrf})
        await until_shown(client, plan, "rows, finished</p>")

        sent = await client.post(
            "/console/imports",
            data={"csrf": csrf, "kind": "orders", "currency": "CNY"},
            files={"file": ("orders.csv", orders, "text/csv")},
        )
        assert sent.status_code == 303, sent.text
        plan = sent.headers["location"]
        page = (await client.get(plan)).text
        assert 'data-count="error">fail: <strong>1</strong>' in page
        assert "<strong>SKU (row 5 / 第 5 行)</strong>: no such product" in page
        await client.post(f"{plan}/confirm", data={"csrf": csrf})
        done = await until_shown(client, plan, "rows, finished</p>")
        [(order, written)] = re.findall(
            f'href="/console/orders/({UUID})\\?min_position=([0-9]+)"', done.text
        )
        shown = await client.get(f"/console/orders/{order}?min_position={written}")
        assert shown.status_code == 200
        assert "PUMP-1" in shown.text
    placed = (await boss.get(f"/orders/{order}")).json()
    assert placed["placed_at"].startswith("2019-04-03")
    assert placed["total"] == {"amount": "3600.00", "currency": "CNY"}


async def test_the_records_an_import_creates_may_go_to_a_rep(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    await console_user(api, "ana", "sales_rep")
    boss = api.as_user("mgr", "manager")
    people = csv_of([["姓名", "邮箱"], ["Ada Lovelace", "ada@example.com"]])
    async with own_client(api) as client:
        csrf = await sign_in(client, "mgr")
        listing = (await client.get("/console/imports")).text
        assert '<option value="ana">Ana</option>' in listing
        refused = await client.post(
            "/console/imports",
            data={"csrf": csrf, "kind": "customers", "owner_id": "nobody"},
            files={"file": ("c.csv", people, "text/csv")},
        )
        assert refused.status_code == 422
        assert "not an active rep or manager" in refused.text
        sent = await client.post(
            "/console/imports",
            data={"csrf": csrf, "kind": "customers", "owner_id": "ana"},
            files={"file": ("c.csv", people, "text/csv")},
        )
        assert sent.status_code == 303, sent.text
        plan = sent.headers["location"]
        await client.post(f"{plan}/confirm", data={"csrf": csrf})
        await until_shown(client, plan, "rows, finished</p>")
    head = await api.platform.store.head_position()
    [ada] = (await boss.get("/customers", params={"min_position": head})).json()["items"]
    assert ada["owner_id"] == "ana"


async def test_invoices_and_payments_are_kinds_of_file_of_the_page(api: Api) -> None:
    """Orders brought in over the API, then their invoices and payments as files of their
    own from the page: the kinds offered with their names, the dry run's failing row named by
    its column, confirmed; the invoice issued and paid on the file's dates."""
    await console_user(api, "mgr", "manager")
    boss = api.as_user("mgr", "manager")
    await boss.post("/customers", json={"name": "Ada", "email": "ada@example.com"})
    await boss.post(
        "/products",
        json={"sku": "PUMP-1", "name": "Pump", "list_price": {"amount": "100", "currency": "CNY"}},
    )
    orders = csv_of(
        [
            ["Order number", "E-mail", "Order date", "SKU"],
            ["S-1", "ada@example.com", "2019-04-03", "PUMP-1"],
        ]
    )
    invoices = csv_of(
        [
            ["发票号", "订单号", "开票日期"],
            ["F-1", "S-1", "2019-04-05"],
            ["F-2", "S-9", "2019-04-05"],
        ]
    )
    payments = csv_of([["订单号", "回款金额", "回款日期"], ["S-1", "100", "2019-04-20"],
                       ["S-1", "1", "2019-04-21"]])  # fmt: skip
    async with own_client(api) as client:
        csrf = await sign_in(client, "mgr")
        listing = (await client.get("/console/imports")).text
        assert '<option value="invoices">Invoices</option>' in listing
        assert '<option value="payments">Payments</option>' in listing
        for kind, content, failing in (
            ("orders", orders, None),
            ("invoices", invoices, "<strong>订单号</strong>: no such order"),
            ("payments", payments, "would be an overpayment"),
        ):
            sent = await client.post(
                "/console/imports",
                data={"csrf": csrf, "kind": kind, "currency": "CNY"},
                files={"file": (f"{kind}.csv", content, "text/csv")},
            )
            assert sent.status_code == 303, sent.text
            plan = sent.headers["location"]
            page = (await client.get(plan)).text
            if failing is not None:
                assert failing in page, page
            await client.post(f"{plan}/confirm", data={"csrf": csrf})
            await until_shown(client, plan, "rows, finished</p>")
    head = {"min_position": await api.platform.store.head_position()}
    [invoice] = (await boss.get("/invoices", params=head)).json()["items"]
    assert invoice["issue_date"] == "2019-04-05"
    assert invoice["status"] == "paid"
    assert invoice["paid_on"] == "2019-04-20"
