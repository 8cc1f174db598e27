"""The settings pages in a real browser: a manager, signed in, adds a pipeline stage, a
business calendar and an SLA policy on it, retires the policy, plans a campaign and sets a
target, each seen on the page after its form; and reaches "Your password" from the
navigation with the keyboard alone. No request goes to another host and no page has a
JavaScript error (the ``watched`` fixture checks both)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from crm.kernel.auth import Role
from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]

MINUTES = {"low": (480, 2400), "normal": (240, 1440), "high": (60, 480), "urgent": (15, 240)}


@pytest.fixture(scope="module", autouse=True)
def manager(crm: Crm) -> None:
    """An English-reading manager of team north, and the tenant's default policy (so the
    one the manager defines is not the last and may be retired)."""
    crm.add_users(("mgr-mia", "Mia Manager", "manager", "north", "en"))
    hours = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
    targets = {
        p: {"first_response_minutes": f, "resolution_minutes": r} for p, (f, r) in MINUTES.items()
    }
    with crm.api("boss", Role.ADMIN) as boss:
        boss.post(
            "/calendars", json={"id": "utc", "name": "UTC", "time_zone": "UTC", "hours": hours}
        ).raise_for_status()
        body = {"level": None, "name": "Everyone", "calendar_id": "utc", "targets": targets}
        boss.post("/sla/policies", json=body).raise_for_status()


def saved(page: Page) -> None:
    expect(page.get_by_role("status")).to_have_text("Saved.")


def test_a_manager_uses_the_settings_forms(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "mgr-mia")
    page.get_by_role("link", name="Settings", exact=True).click()

    page.get_by_role("link", name="Pipeline stages").click()
    page.get_by_label("Stage name").last.fill("pilot")
    page.locator("#new-stage-probability").fill("55")
    page.get_by_role("button", name="Add a stage").click()
    saved(page)
    expect(page.locator("#stages")).to_contain_text(re.compile("pilot", re.I))

    page.goto(crm.url + "/console/admin/sla")
    page.locator("#cal-id").fill("shanghai")
    page.locator("#cal-name").fill("Shanghai office")
    page.locator("#cal-zone").fill("Asia/Shanghai")
    page.locator("#cal-start").fill("09:00")
    page.locator("#cal-end").fill("18:00")
    page.locator("#cal-holidays").fill("2027-02-17")
    page.get_by_role("button", name="Save the calendar").click()
    saved(page)
    expect(page.locator("#calendars-table")).to_contain_text("Shanghai office")

    page.get_by_text("Define a policy").click()
    page.locator("#new-policy-level").select_option("premium")
    page.locator("#new-policy-name").fill("Premium care")
    page.locator("#new-policy-calendar").fill("shanghai")
    for priority, (first, resolution) in MINUTES.items():
        page.locator(f"#new-policy-{priority}-first").fill(str(first))
        page.locator(f"#new-policy-{priority}-resolution").fill(str(resolution))
    page.locator("form[action='/console/admin/sla/policies']").last.get_by_role(
        "button", name="Save the policy"
    ).click()
    saved(page)
    policies = page.locator("#policies-table")
    expect(policies.get_by_role("row", name=re.compile("Premium care"))).to_contain_text("shanghai")
    page.get_by_role("button", name="Retire the policy Premium care").click()
    saved(page)
    expect(policies).not_to_contain_text("Premium care")
    expect(policies).to_contain_text("Everyone")
    # the last policy stays, said plainly
    page.get_by_role("button", name="Retire the policy Everyone").click()
    expect(page.get_by_role("main")).to_contain_text("last SLA policy")
    page.goto(crm.url + "/console/admin/sla")
    expect(page.locator("#policies-table")).to_contain_text("Everyone")

    page.goto(crm.url + "/console/admin/campaigns")
    page.locator("#campaign-name").fill("Spring fair")
    page.locator("#campaign-channel").select_option("email")
    page.locator("#campaign-budget").fill("2500")
    page.locator("#campaign-starts").fill("2027-03-01")
    page.locator("#campaign-ends").fill("2027-03-31")
    page.get_by_role("button", name="Plan a campaign").click()
    saved(page)
    expect(page.get_by_role("row", name=re.compile("Spring fair"))).to_contain_text("2,500")

    page.goto(crm.url + "/console/admin/targets")
    page.locator("#target-kind").select_option("team")
    page.locator("#target-owner").fill("north")
    page.locator("#target-period").fill("2027-Q1")
    page.locator("#target-amount").fill("90000")
    page.get_by_role("button", name="Set a target").click()
    saved(page)
    expect(page.get_by_role("row", name=re.compile("north"))).to_contain_text("90,000")


def test_the_password_link_is_reached_with_the_keyboard(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "mgr-mia")
    link = page.get_by_role("navigation").get_by_role("link", name="Your password")
    expect(link).to_be_visible()
    page.locator("body").focus()
    for _ in range(60):  # Tab through the header, as someone without a mouse does
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "/console/password":
            break
    else:
        pytest.fail("Tab never reached the password link")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/console/password$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password")
    current = page.get_by_role("navigation").get_by_role("link", name="Your password")
    expect(current).to_have_attribute("aria-current", "page")
