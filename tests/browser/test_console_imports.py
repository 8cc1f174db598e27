"""The import page in Chromium: an admin uploads a CSV, maps the column the page did not
recognise to the phone, checks the file again, sees the failing row with its column and
reason, confirms, watches it finish and finds the imported customers; a manager who reads
Chinese sees the page and the import in Chinese."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]

FILE = (
    "姓名,邮箱,Mobile number\n"
    "Hedy Lamarr,hedy@example.com,13800138111\n"
    "Bad Mail,bad@,13900139111\n"
    "Emmy Noether,emmy@example.com,13700137111\n"
).encode("utf-8-sig")


def test_an_admin_imports_customers_and_a_manager_reads_it_in_chinese(
    watched: Watched, crm: Crm
) -> None:
    page = watched.page
    sign_in(watched, crm, "admin-ada")
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import")
    page.get_by_label("File (.csv or .xlsx)").set_input_files(
        {"name": "clients.csv", "mimeType": "text/csv", "buffer": FILE}
    )
    page.get_by_label("What the file holds").select_option("customers")
    page.get_by_role("button", name="Check the file (dry run)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of clients.csv")
    first = page.url
    mobile = page.get_by_label("Mobile number")
    expect(mobile).to_have_value("")  # matched no field
    mobile.select_option("phone")
    page.get_by_role("button", name="Check again with this mapping").click()
    expect(page).not_to_have_url(first)
    expect(page.get_by_label("Mobile number")).to_have_value("phone")
    expect(page.locator("[data-count=create]")).to_contain_text("2")
    expect(page.locator("[data-count=error]")).to_contain_text("1")
    rows = page.locator("#import-rows")
    expect(rows).to_contain_text("邮箱")
    expect(rows).to_contain_text("not an e-mail address")
    page.get_by_role("button", name="Confirm and import").click()
    expect(page.locator("#import-status")).to_contain_text("finished", timeout=20_000)
    expect(page.locator("#progress")).to_have_attribute("value", "100")
    created = page.locator("#import-rows a")
    expect(created).to_have_count(2)
    created.first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Hedy Lamarr"))
    page.goto(crm.url + "/console/customers?q=Noether")
    expect(page.get_by_role("main")).to_contain_text("Emmy Noether")

    page.context.clear_cookies()
    sign_in(watched, crm, "mgr-wang")
    page.get_by_role("link", name="导入", exact=True).click()
    expect(page.get_by_role("heading", level=2, name="上传文件")).to_be_visible()
    expect(page.get_by_label("文件内容")).to_contain_text("客户")
    expect(page.get_by_role("main")).to_contain_text("clients.csv")
    expect(page.get_by_role("main")).to_contain_text("已完成")
