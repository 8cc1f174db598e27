"""Users, stages and orders in a real browser: an admin renames a user and resets their
password, and the user signs in with the temporary one, is asked for their own before any
other page and then reaches My day under the new name; an admin moves a stage up and the
pipeline board shows the new order; a manager (in Chinese) cancels an order and sees a
shipped one refuse it plainly. No request goes to another host and no page has a
JavaScript error (the ``watched`` fixture checks both)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from crm.kernel.auth import Role
from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]


def test_an_admin_renames_a_user_and_resets_the_password_the_user_signs_in_with(
    watched: Watched, crm: Crm, browser: Browser
) -> None:
    page = watched.page
    sign_in(watched, crm, "admin-ada")
    page.get_by_role("link", name="Users").click()
    row = page.get_by_role("row", name=re.compile("rep-ben"))
    row.get_by_label("Display name of rep-ben").fill("Benjamin Okafor")
    row.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    row = page.get_by_role("row", name=re.compile("rep-ben"))
    expect(row.get_by_label("Display name of rep-ben")).to_have_value("Benjamin Okafor")
    row.get_by_label("Temporary password for Benjamin Okafor").fill("temporary-pass-1")
    row.get_by_role("button", name="Reset password").click()
    expect(page.get_by_role("status")).to_contain_text("rep-ben signs in with the temporary")
    expect(page.get_by_role("row", name=re.compile("rep-ben"))).to_contain_text(
        "must choose a new password"
    )

    ben = browser.new_context()
    try:
        theirs = ben.new_page()
        theirs.goto(crm.url + "/")
        theirs.locator("#user_id").fill("rep-ben")
        theirs.locator("#password").fill("temporary-pass-1")
        theirs.get_by_role("button", name="Sign in").click()
        expect(theirs).to_have_url(re.compile(r"/console/password$"))
        expect(theirs.get_by_role("alert")).to_contain_text("temporary password")
        theirs.get_by_role("link", name="Customers", exact=True).click()
        expect(theirs).to_have_url(re.compile(r"/console/password$"))  # nothing else opens
        theirs.get_by_label("Current password").fill("temporary-pass-1")
        theirs.get_by_label("New password (at least 8 characters)").fill("ben's own secret")
        theirs.get_by_label("The new password again").fill("ben's own secret")
        theirs.get_by_role("button", name="Save my password").click()
        expect(theirs.get_by_role("heading", level=1)).to_have_text("Good day, Benjamin Okafor")
        theirs.get_by_role("button", name="Sign out").click()
        theirs.locator("#user_id").fill("rep-ben")
        theirs.locator("#password").fill("ben's own secret")
        theirs.get_by_role("button", name="Sign in").click()
        expect(theirs.get_by_role("heading", level=1)).to_have_text("Good day, Benjamin Okafor")
    finally:
        ben.close()


def test_an_admin_reorders_the_stages_and_the_board_follows(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "admin-ada")
    page.goto(crm.url + "/console/admin/stages")
    page.get_by_role("button", name="Move Qualification up").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    first = page.locator("#stages tbody tr").first.get_by_role("rowheader")
    expect(first).to_have_text("Qualification")
    page.get_by_role("link", name="Pipeline", exact=True).click()
    columns = page.locator(".board .column h2")
    expect(columns.nth(0)).to_contain_text("Qualification")
    expect(columns.nth(1)).to_contain_text("Prospecting")
    page.goto(crm.url + "/console/admin/stages")
    page.get_by_role("button", name="Move Prospecting up").click()  # as it was
    expect(page.locator("#stages tbody tr").first.get_by_role("rowheader")).to_have_text(
        "Prospecting"
    )


def test_a_manager_cancels_an_order_in_chinese(watched: Watched, crm: Crm) -> None:
    with crm.api("mgr-wang", Role.MANAGER, "north") as wang:
        price = {"amount": "800.00", "currency": "EUR"}
        wang.post(
            "/products", json={"sku": "KETTLE-9", "name": "Kettle", "list_price": price}
        ).raise_for_status()
        body = {
            "customer_id": crm.customers["Ada Lovelace"],
            "currency": "EUR",
            "lines": [{"sku": "KETTLE-9", "quantity": "1"}],
        }
        cancel_me = wang.post("/orders", json=body)
        cancel_me.raise_for_status()
        shipped = wang.post("/orders", json=body)
        shipped.raise_for_status()
        wang.post(f"/orders/{shipped.json()['id']}/ship", json={}).raise_for_status()
    page = watched.page
    sign_in(watched, crm, "mgr-wang")
    page.goto(crm.url + f"/console/orders/{cancel_me.json()['id']}")
    page.get_by_label("取消原因").fill("客户重复下单")
    page.get_by_role("button", name="取消订单").click()
    expect(page.get_by_role("status")).to_have_text("订单已取消。")
    expect(page.locator(".heading .badge")).to_have_text("已取消")
    expect(page.get_by_role("button", name="取消订单")).to_have_count(0)
    page.goto(crm.url + f"/console/orders/{shipped.json()['id']}")
    expect(page.get_by_role("button", name="取消订单")).to_have_count(0)
    expect(page.get_by_role("button", name="标记为已送达")).to_be_visible()
