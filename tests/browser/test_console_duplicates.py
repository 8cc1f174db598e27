"""The suspected duplicates page in a real browser: an admin opens it from the settings,
reads why two customers look like one, ticks the confirmation and keeps the older record;
the survivor's page says the merge happened and the other's order is listed there; then the
admin keeps another pair apart. No request goes to another host and no page has a
JavaScript error (the ``watched`` fixture checks both)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crm.kernel.auth import Role
from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module", autouse=True)
def customers(crm: Crm) -> None:
    crm.add_users(("adm-dora", "Dora Admin", "admin", None, "en"))
    with crm.api("boss", Role.ADMIN) as boss:
        for profile in (
            {"name": "Rosalind Franklin", "email": "rosalind@kings.example"},
            {"name": "R. Franklin", "email": "Rosalind@Kings.example"},
            {"name": "Wang Fang", "company": "Dawn Tech"},
            {"name": "Wang Fang", "company": "DAWN TECH"},
        ):
            boss.post("/customers", json={**profile, "confirm_distinct": True}).raise_for_status()
        price = {"amount": "99", "currency": "CNY"}
        boss.post("/products", json={"sku": "DNA-1", "name": "Helix", "list_price": price})
        found = boss.get("/customers", params={"q": "R. Franklin"}).json()["items"]
        [copy] = [c for c in found if c["name"] == "R. Franklin"]
        order = {
            "customer_id": copy["id"],
            "currency": "CNY",
            "lines": [{"sku": "DNA-1", "quantity": "1"}],
        }
        boss.post("/orders", json=order).raise_for_status()


def test_an_admin_merges_a_pair_and_keeps_another_apart(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "adm-dora")
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name="Suspected duplicates").click()
    expect(page.locator("#dup-total")).to_have_text("2 suspected pairs")
    pair = page.get_by_role("region", name="Rosalind Franklin and R. Franklin")
    expect(pair).to_contain_text("same e-mail")

    keep = pair.get_by_role("button", name="Keep Rosalind Franklin, merge the other into it")
    keep.click()  # the confirmation is required: the browser stops the form
    expect(page).to_have_url(crm.url + "/console/admin/duplicates")
    pair.get_by_label("Yes: merge R. Franklin into Rosalind Franklin").check()
    keep.click()
    expect(page.get_by_role("status")).to_have_text(
        "Merged: this customer now holds the other's records."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosalind Franklin")
    page.get_by_role("link", name="Quotes, orders and invoices").click()
    expect(page.locator("main")).to_contain_text("DNA-1")

    page.goto(crm.url + "/console/admin/duplicates")
    expect(page.locator("#dup-total")).to_have_text("1 suspected pairs")
    other = page.get_by_role("region", name="Wang Fang and Wang Fang")
    expect(other).to_contain_text("similar name in the same company")
    other.get_by_role("button", name="These are two different customers").click()
    expect(page.get_by_role("status")).to_contain_text("Kept as two customers")
    expect(page.locator("main")).to_contain_text("No suspected duplicates.")
