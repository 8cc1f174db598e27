"""``crm import customers`` as a user runs it: the dry run prints every row's outcome and writes
nothing, the run creates the rows that create and says so, a second run of the same file finds
them all duplicates, a wrong mapping or role is refused with the culprit named."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm.kernel.adapters.urls import open_event_store
from crm.kernel.settings import Settings
from crm.platform.bootstrap import ensure_tenant, open_platform
from tests.conftest import SECRET

pytestmark = [pytest.mark.e2e]


def crm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "crm"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def registered(settings: Settings) -> int:
    store = open_event_store(settings.event_store_url)
    try:
        return len(
            [
                e
                async for page in store.read_all(0)
                for e in page
                if e.event_type == "customer.registered"
            ]
        )
    finally:
        await store.close()


@pytest.fixture
async def deployment(tmp_path: Path) -> tuple[Settings, dict[str, str]]:
    settings = Settings(data_dir=tmp_path / "data", secret=SECRET)
    platform = open_platform(settings, contexts=())
    await ensure_tenant(platform, "default")
    await platform.close()
    env = {**os.environ, "CRM_DATA_DIR": str(settings.data_dir), "CRM_SECRET": SECRET}
    return settings, env


def write(path: Path) -> str:
    with path.open("w", newline="", encoding="gb18030") as f:
        out = csv.writer(f)
        out.writerow(["客户名称", "手机", "邮箱", "职务", "备注"])
        out.writerow(["王小明", "138 0013 8000", "wang@example.cn", "经理", "老客户"])
        out.writerow(["李雷", "12", "li@example.cn", "", ""])
        out.writerow(["韩梅梅", "13900139000", "han@example.cn", "", ""])
        out.writerow(["王 小明", "", "WANG@example.cn", "", ""])
    return str(path)


async def test_dry_run_then_run_then_the_same_file_again(
    deployment: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    settings, env = deployment
    file = write(tmp_path / "客户.csv")

    dry = crm(env, "import", "customers", file, "--dry-run")
    assert dry.returncode == 1, dry.stderr  # a row fails
    assert "row 3: error: 手机: not a valid phone number / 电话号码无效 ('12')" in dry.stdout
    assert "row 5: duplicate: duplicate of customer" in dry.stdout
    assert "row 2 / 第 2 行" in dry.stdout
    assert "4 rows: 2 would create, 1 duplicates, 1 errors" in dry.stdout
    assert "备注" in dry.stderr  # the column left out is named
    assert await registered(settings) == 0

    done = crm(env, "import", "customers", file, "--mapping", "职务=title")
    assert done.returncode == 0, done.stderr
    assert ": 2 created, 0 created by an earlier run, 1 duplicates, 1 failed" in done.stdout
    assert await registered(settings) == 2

    listed = crm(env, "import", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [record] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert record["status"] == "finished"
    assert record["file_name"] == "客户.csv"
    assert record["done"] == {
        "created": 2,
        "duplicate": 1,
        "failed": 1,
        "updated": 0,
        "merged": 0,
        "unchanged": 0,
    }
    assert record["options"]["encoding"] == "gb18030"

    again = crm(env, "import", "customers", file, "--dry-run")
    assert "4 rows: 0 would create, 3 duplicates, 1 errors" in again.stdout
    assert await registered(settings) == 2

    promoted = tmp_path / "promoted.csv"
    promoted.write_text("客户名称,邮箱,职务\n王小明,wang@example.cn,总经理\n", encoding="utf-8")
    update = crm(env, "import", "customers", str(promoted), "--update")
    assert update.returncode == 0, update.stderr
    assert "1 would update, 0 would merge, 0 unchanged" in update.stdout
    assert "row 2: update: updates customer" in update.stdout
    assert await registered(settings) == 2  # updated, not registered again


async def test_refusals_name_the_culprit(
    deployment: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    settings, env = deployment
    file = write(tmp_path / "c.csv")
    wrong = crm(env, "import", "customers", file, "--mapping", "手机=fax")
    assert wrong.returncode == 2
    assert "手机" in wrong.stderr
    assert "fax" in wrong.stderr
    rep = crm(env, "import", "customers", file, "--role", "sales_rep")
    assert rep.returncode == 1
    assert "may not import" in rep.stderr
    missing = crm(env, "import", "customers", str(tmp_path / "none.csv"))
    assert missing.returncode == 2
    unknown = crm(
        env, "import", "customers", file, "--resume", "3f0c9a4e-5b7d-4e21-9c3a-8d2f1e6b7a90"
    )
    assert unknown.returncode == 2
    assert "no import" in unknown.stderr
    assert await registered(settings) == 0


async def test_a_sales_history_from_the_command_line(
    deployment: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    """``crm import products`` then ``crm import orders``: the customers are registered
    first (by the customers import), the orders name them by e-mail, each order is placed
    on its own date; run again, every order is a duplicate."""
    settings, env = deployment
    people = tmp_path / "people.csv"
    people.write_text("name,email\nAda,ada@example.com\n", encoding="utf-8")
    products = tmp_path / "products.csv"
    products.write_text("sku,name,price\nPUMP-1,Pump,1200\n", encoding="utf-8")
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order,email,date,sku,quantity,status,invoice date,paid\n"
        "S-1,ada@example.com,03/04/2019,PUMP-1,2,delivered,05/04/2019,yes\n"
        "S-2,ada@example.com,01/06/2019,PUMP-9,1,,,\n",
        encoding="utf-8",
    )
    assert crm(env, "import", "customers", str(people)).returncode == 0
    bad = crm(env, "import", "products", str(products), "--currency", "yuan")
    assert bad.returncode == 2
    assert "currency" in bad.stderr, bad.stderr
    made = crm(env, "import", "products", str(products), "--currency", "CNY")
    assert made.returncode == 0, made.stderr
    dry = crm(env, "import", "orders", str(orders), "--dry-run", "--day-first", "--currency", "CNY")
    assert dry.returncode == 1, dry.stderr  # S-2's sku is not in the catalogue
    assert "row 3: error: sku: no such product in the catalogue" in dry.stdout, dry.stdout
    run = crm(env, "import", "orders", str(orders), "--day-first", "--currency", "CNY")
    assert run.returncode == 0, run.stderr
    assert "1 created" in run.stdout
    store = open_event_store(settings.event_store_url)
    try:
        events = [e async for page in store.read_all(0) for e in page]
    finally:
        await store.close()
    [placed] = [e for e in events if e.event_type == "sales.order.placed"]
    assert placed.occurred_at.date().isoformat() == "2019-04-03"  # day first
    [paid] = [e for e in events if e.event_type == "sales.invoice.paid"]
    assert paid.occurred_at.date().isoformat() == "2019-04-05"
    again = crm(env, "import", "orders", str(orders), "--day-first", "--currency", "CNY")
    assert again.returncode == 0, again.stderr
    assert "0 created" in again.stdout, again.stdout
    assert "1 duplicates" in again.stdout


async def test_contacts_from_the_command_line(
    deployment: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    _, env = deployment
    companies = tmp_path / "companies.csv"
    companies.write_text(
        "客户名称,类型,邮箱\nAcme Ltd,company,info@acme.example\n", encoding="utf-8"
    )
    assert crm(env, "import", "customers", str(companies)).returncode == 0
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "客户,联系人,邮箱,电话,主要联系人\n"
        "acme ltd,Li Wei,li@acme.example,021 5555 0101,是\n"
        "info@acme.example,Ma Lin,ma@acme.example,,否\n"
        "Nobody Inc,X,,,\n",
        encoding="utf-8",
    )
    dry = crm(env, "import", "contacts", str(contacts), "--dry-run")
    assert dry.returncode == 1, dry.stderr
    assert "row 4: error: 客户: no company has this name" in dry.stdout
    assert "3 rows: 2 would create, 0 duplicates, 1 errors" in dry.stdout
    done = crm(env, "import", "contacts", str(contacts))
    assert ": 2 created, 0 created by an earlier run, 0 duplicates, 1 failed" in done.stdout
    again = crm(env, "import", "contacts", str(contacts), "--dry-run")
    assert "3 rows: 0 would create, 2 duplicates, 1 errors" in again.stdout


async def test_invoices_then_payments_from_the_command_line(
    deployment: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    """``crm import invoices`` invoices orders an orders import brought in (by their number),
    on their own dates; ``crm import payments`` pays them (by the order), an overpayment is
    the row's error; run again, nothing is created twice."""
    settings, env = deployment
    (tmp_path / "people.csv").write_text("name,email\nAda,ada@example.com\n", encoding="utf-8")
    (tmp_path / "products.csv").write_text("sku,name,price\nPUMP-1,Pump,1200\n", encoding="utf-8")
    (tmp_path / "orders.csv").write_text(
        "order,email,date,sku\nS-1,ada@example.com,2019-04-03,PUMP-1\n", encoding="utf-8"
    )
    invoices = tmp_path / "invoices.csv"
    invoices.write_text(
        "发票号,订单号,开票日期\nF-1,S-1,05/04/2019\nF-2,S-9,05/04/2019\n", encoding="utf-8"
    )
    payments = tmp_path / "payments.csv"
    payments.write_text(
        "订单号,回款金额,回款日期,付款方式\nS-1,1000,10/04/2019,bank\nS-1,300,11/04/2019,\n"
        "S-1,200,12/04/2019,cash\n",
        encoding="utf-8",
    )
    assert crm(env, "import", "customers", str(tmp_path / "people.csv")).returncode == 0
    for kind in ("products", "orders"):
        made = crm(env, "import", kind, str(tmp_path / f"{kind}.csv"), "--currency", "CNY")
        assert made.returncode == 0, made.stderr
    dry = crm(env, "import", "invoices", str(invoices), "--dry-run", "--day-first")
    assert dry.returncode == 1, dry.stderr
    assert "row 3: error: 订单号: no such order" in dry.stdout, dry.stdout
    run = crm(env, "import", "invoices", str(invoices), "--day-first")
    assert run.returncode == 0, run.stderr
    assert "1 created" in run.stdout
    paid = crm(env, "import", "payments", str(payments), "--day-first")
    assert paid.returncode == 0, paid.stderr
    assert "2 created" in paid.stdout, paid.stdout
    assert "row 3: error: 回款金额:" in paid.stdout
    assert "overpayment" in paid.stdout
    store = open_event_store(settings.event_store_url)
    try:
        events = [e async for page in store.read_all(0) for e in page]
    finally:
        await store.close()
    [issued] = [e for e in events if e.event_type == "sales.invoice.issued"]
    assert issued.occurred_at.date().isoformat() == "2019-04-05"  # day first
    [settled] = [e for e in events if e.event_type == "sales.invoice.paid"]
    assert settled.occurred_at.date().isoformat() == "2019-04-12"
    again = crm(env, "import", "payments", str(payments), "--day-first")
    assert again.returncode == 0, again.stderr
    assert "0 created" in again.stdout, again.stdout
    assert crm(env, "import", "invoices", str(invoices), "--day-first").returncode == 0
    store = open_event_store(settings.event_store_url)
    try:
        events = [e async for page in store.read_all(0) for e in page]
    finally:
        await store.close()
    assert sum(e.event_type == "sales.invoice.issued" for e in events) == 1
    assert sum(e.event_type == "sales.invoice.payment_recorded" for e in events) == 2
