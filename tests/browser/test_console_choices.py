# ruff: noqa: RUF001  (the Chinese texts are meant, full-width punctuation included)
"""Choices a person makes on the console's forms, in Chromium: an admin imports customers for
a rep and a catalogue priced in a currency the file does not name; a Chinese manager imports a
GB18030 file, first said to be UTF-8; a manager's stale page refused in Chinese; an admin
narrows the team pipeline to one team."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from crm.kernel.auth import Role
from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]

CUSTOMERS = b"name,email\nLise Meitner,lise@example.com\n"
PRODUCTS = "sku,名称,单价\nBRW-01,Burette,120.50\n".encode("utf-8-sig")
GB18030 = "姓名,邮箱\n王小明,wang.xm@example.com\n".encode("gb18030")


def test_an_admin_imports_customers_for_a_rep_and_products_in_a_currency(
    watched: Watched, crm: Crm
) -> None:
    page = watched.page
    sign_in(watched, crm, "admin-ada")
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("File (.csv or .xlsx)").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": CUSTOMERS}
    )
    page.get_by_label("What the file holds").select_option("customers")
    page.get_by_label("Owner of the records it creates").select_option(label="Ben Okafor")
    page.get_by_role("button", name="Check the file (dry run)").click()
    expect(page.locator("[data-count=create]")).to_contain_text("1")
    page.get_by_role("button", name="Confirm and import").click()
    expect(page.locator("#import-status")).to_contain_text("finished", timeout=20_000)
    page.locator("#import-rows a").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Lise Meitner"))
    expect(page.get_by_role("region", name="Profile", exact=True)).to_contain_text("Ben Okafor")

    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("File (.csv or .xlsx)").set_input_files(
        {"name": "catalogue.csv", "mimeType": "text/csv", "buffer": PRODUCTS}
    )
    page.get_by_label("What the file holds").select_option("products")
    currency = page.get_by_label("Currency of prices that name none (products, orders)")
    currency.fill("XX")
    page.get_by_role("button", name="Check the file (dry run)").click()
    expect(page.get_by_role("alert")).to_contain_text("currency")
    page.go_back()
    page.get_by_label("File (.csv or .xlsx)").set_input_files(
        {"name": "catalogue.csv", "mimeType": "text/csv", "buffer": PRODUCTS}
    )
    page.get_by_label("What the file holds").select_option("products")
    currency.fill("CNY")
    page.get_by_role("button", name="Check the file (dry run)").click()
    expect(page.locator("[data-count=create]")).to_contain_text("1")
    page.get_by_role("button", name="Confirm and import").click()
    expect(page.locator("#import-status")).to_contain_text("finished", timeout=20_000)
    with crm.api("admin-ada", Role.ADMIN) as admin:
        products = admin.get("/products", params={"sku": "BRW-01"}).json()["items"]
    assert [p["list_price"] for p in products] == [{"amount": "120.50", "currency": "CNY"}]


def test_a_chinese_manager_imports_a_gb18030_file_in_the_encoding_she_chose(
    watched: Watched, crm: Crm
) -> None:
    page = watched.page
    sign_in(watched, crm, "mgr-wang")
    page.get_by_role("link", name="导入", exact=True).click()

    def check(encoding: str) -> None:
        page.get_by_label("文件（.csv 或 .xlsx）").set_input_files(
            {"name": "客户.csv", "mimeType": "text/csv", "buffer": GB18030}
        )
        page.get_by_label("文件内容").select_option("customers")
        page.get_by_label("CSV 文件的编码").select_option(label=encoding)
        page.get_by_role("button", name="检查文件（试运行）").click()

    check("UTF-8")  # what it is not: refused, in her language, naming what to choose
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("无法按 UTF-8 读取")
    expect(alert).to_contain_text("GB18030")
    page.go_back()
    check("GB18030（GBK，中文版 Windows 与 Excel）")
    expect(page.get_by_label("姓名")).to_have_value("name")  # the header read, and matched
    expect(page.locator("[data-count=create]")).to_contain_text("1")
    page.get_by_role("button", name="确认并导入").click()
    expect(page.locator("#import-status")).to_contain_text("已完成", timeout=20_000)
    page.locator("#import-rows a").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("王小明"))


def test_a_managers_stale_page_is_refused_in_chinese(watched: Watched, crm: Crm) -> None:
    """王珊 has the customer's page open; meanwhile the rep released the customer to the
    pool; her own "退回公海" is then the domain's refusal, in her language."""
    with crm.api("rep-ben", Role.SALES_REP, "north") as ben:
        answer = ben.post("/customers", json={"name": "Rosalind Franklin", "owner_id": "rep-ben"})
        answer.raise_for_status()
        customer = answer.json()["id"]
        page = watched.page
        sign_in(watched, crm, "mgr-wang")
        page.goto(
            f"{crm.url}/console/customers/{customer}?min_position={answer.json()['position']}"
        )
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Rosalind Franklin"))
        ben.post(f"/customers/{customer}/release").raise_for_status()
    page.get_by_role("button", name="退回公海").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("无法执行：该客户已在公海中。")
    expect(alert).not_to_contain_text("This cannot be done")


def test_an_admin_narrows_the_team_pipeline_to_one_team(watched: Watched, crm: Crm) -> None:
    crm.add_users(("rep-cai", "Cai Lun", "sales_rep", "south", "en"))
    with crm.api("rep-cai", Role.SALES_REP, "south") as cai:
        customer = cai.post("/customers", json={"name": "Paper Mill", "owner_id": "rep-cai"})
        customer.raise_for_status()
        opened = cai.post(
            "/opportunities",
            json={
                "customer_id": customer.json()["id"],
                "name": "Paper press",
                "amount": {"amount": "880.00", "currency": "EUR"},
                "expected_close_date": (date.today() + timedelta(days=60)).isoformat(),
            },
        )
        opened.raise_for_status()
    page = watched.page
    sign_in(watched, crm, "admin-ada")
    page.goto(f"{crm.url}/console/team?min_position={opened.json()['position']}")
    reps = page.get_by_role("region", name="By rep")
    expect(reps).to_contain_text("Cai Lun")
    expect(reps).to_contain_text("Ana Silva")
    page.get_by_label("Team").select_option("south")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"team=south"))
    expect(page.get_by_text("Team south")).to_be_visible()
    expect(reps).to_contain_text("Cai Lun")
    expect(reps).not_to_contain_text("Ana Silva")
    page.get_by_role("region", name="Open opportunities by stage").get_by_role("link").first.click()
    expect(page.get_by_label("Team")).to_have_value("south")
    expect(page.get_by_role("main")).to_contain_text("Paper press")
    expect(page.get_by_role("main")).not_to_contain_text("Analytical engine")
