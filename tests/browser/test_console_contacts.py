"""A company customer's contacts in a real browser: a manager opens the company's page, adds
its primary contact with the form, sees them listed, edits their title, adds a second one and
removes it (the browser itself stops the removal until it is confirmed); a Chinese rep reads
the section in Chinese. No request goes to another host and no page has a JavaScript error
(the ``watched`` fixture checks both)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crm.kernel.auth import Role
from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def company(crm: Crm) -> str:
    crm.add_users(
        ("mgr-mona", "Mona Manager", "manager", None, "en"),
        ("rep-wu", "Wu Rep", "sales_rep", None, "zh-CN"),
    )
    with crm.api("boss", Role.MANAGER) as boss:
        body = {"kind": "company", "name": "Helix Instruments", "owner_id": "rep-wu"}
        r = boss.post("/customers", json=body)
        r.raise_for_status()
        return str(r.json()["id"])


def test_a_manager_adds_edits_and_removes_contacts(
    watched: Watched, crm: Crm, company: str
) -> None:
    page = watched.page
    sign_in(watched, crm, "mgr-mona")
    page.goto(f"{crm.url}/console/customers/{company}")
    contacts = page.get_by_role("region", name="Contacts")
    expect(contacts).to_contain_text("No contact yet.")
    contacts.locator("#nc-name").fill("Rosalind Franklin")
    contacts.locator("#nc-title").fill("Head of lab")
    contacts.locator("#nc-email").fill("rosalind@helix.example")
    contacts.get_by_label("Primary contact").check()
    contacts.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    contacts = page.get_by_role("region", name="Contacts")
    item = contacts.locator("li").filter(has_text="Rosalind Franklin")
    expect(item).to_contain_text("primary")
    expect(item).to_contain_text("Head of lab")
    expect(item).to_contain_text("rosalind@helix.example")

    item.get_by_text("Edit", exact=True).click()
    item.get_by_label("Title or role").fill("Director")
    item.get_by_role("button", name="Save contact").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    contacts = page.get_by_role("region", name="Contacts")
    expect(contacts.locator("li").filter(has_text="Rosalind Franklin")).to_contain_text("Director")

    contacts.locator("#nc-name").fill("Maurice Wilkins")
    contacts.get_by_role("button", name="Add", exact=True).click()
    contacts = page.get_by_role("region", name="Contacts")
    maurice = contacts.locator("li").filter(has_text="Maurice Wilkins")
    maurice.get_by_text("Edit", exact=True).click()
    maurice.get_by_role("button", name="Remove").click()  # not confirmed: the browser stops it
    expect(maurice).to_be_visible()
    maurice.get_by_label("Remove this contact from the company").check()
    maurice.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    contacts = page.get_by_role("region", name="Contacts")
    expect(contacts).not_to_contain_text("Maurice Wilkins")
    expect(contacts).to_contain_text("Rosalind Franklin")


def test_a_chinese_rep_reads_the_contacts(watched: Watched, crm: Crm, company: str) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-wu")
    page.goto(f"{crm.url}/console/customers/{company}")
    contacts = page.get_by_role("region", name="联系人")
    expect(contacts.get_by_role("heading", name="添加联系人")).to_be_visible()
    expect(contacts).to_contain_text("Rosalind Franklin")
    expect(contacts).to_contain_text("主要")
