"""The customer form in a real browser with the new profile fields and a tenant's custom
field: an admin registers a customer with a billing address (a textarea, lines kept), a
birthday (the date picker's input), a preferred channel and a custom choice, and the page
shows them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crm.kernel.auth import Role
from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]


def test_an_admin_registers_a_customer_with_an_address_a_birthday_and_a_custom_field(
    watched: Watched, crm: Crm
) -> None:
    with crm.api("admin-ada", Role.ADMIN) as admin:
        admin.put(
            "/custom-fields/customer/segment_hint",
            json={
                "label_en": "Segment hint",
                "label_zh": "客户类别",
                "type": "choice",
                "choices": [
                    {"key": "retail", "label_en": "Retail", "label_zh": "零售"},
                    {"key": "wholesale", "label_en": "Wholesale", "label_zh": "批发"},
                ],
            },
        ).raise_for_status()
    page = watched.page
    sign_in(watched, crm, "admin-ada")
    page.goto(crm.url + "/console/customers/new")
    page.get_by_label("Name", exact=True).fill("Hedy Lamarr")
    page.get_by_label("Billing address").fill("Hauptstr. 1\n10115 Berlin")
    page.get_by_label("Birthday").fill("1914-11-09")
    page.get_by_label("Preferred channel").select_option("chat")
    page.get_by_label("Segment hint").select_option("wholesale")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hedy Lamarr")
    profile = page.get_by_role("region", name="Profile", exact=True)
    expect(profile).to_contain_text("Hauptstr. 1")
    expect(profile).to_contain_text("10115 Berlin")
    expect(profile).to_contain_text("9 Nov 1914")
    expect(profile).to_contain_text("Chat")
    expect(profile).to_contain_text("Wholesale")
    expect(page.get_by_label("Segment hint")).to_have_value("wholesale")  # the edit form
