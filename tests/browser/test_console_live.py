"""Live pages in a real browser: the pipeline board, the ticket queue and a customer's page
change when someone else's command lands, without a reload (a marker set on the window
survives); a user typing on the page is not interrupted, but told, and shown the changes
when they ask; the stream follows the page's own access rules."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from crm.kernel.auth import Role
from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]


def mark(page: Page) -> None:
    """A mark on the window that a reload would lose; and wait for the stream to open."""
    page.evaluate("window.__notReloaded = true")
    # open: the server answered, so its subscription starts at the head as it was before
    expect(page.locator("main[data-live-open=true]")).to_have_count(1)


def not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


def test_the_board_shows_a_card_moved_by_someone_else(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    page.goto(crm.url + "/console/pipeline")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipeline")
    with crm.api("rep-ana", Role.SALES_REP, "north") as ana:
        found = ana.get("/opportunities", params={"status": "open"}).json()["items"]
        (opp,) = [o for o in found if o["name"] == "Analytical engine"]
        stages = [s["name"] for s in ana.get("/pipeline").json()["stages"]]
        target = stages[stages.index(opp["stage"]) + 1]
        card = page.locator("article.opp", has_text="Analytical engine")
        expect(card).to_have_count(1)
        before = card.locator("xpath=ancestor::section").get_attribute("aria-labelledby")
        mark(page)
        ana.post(f"/opportunities/{opp['id']}/stage", json={"stage": target}).raise_for_status()
    expect(card.locator("xpath=ancestor::section")).not_to_have_attribute(
        "aria-labelledby", before or "", timeout=10_000
    )
    column = page.locator("section.column", has=card)
    heading = column.get_by_role("heading", level=2)
    expect(heading).to_contain_text(re.compile(target.replace("_", " "), re.I))
    not_reloaded(page)


def test_the_queue_shows_a_new_ticket(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "agent-ivy")
    page.goto(crm.url + "/console/tickets")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ticket queue")
    mark(page)
    with crm.api("agent-ivy", Role.AGENT, "support") as ivy:
        ivy.post(
            "/tickets",
            json={
                "customer_id": crm.customers["Alan Turing"],
                "kind": "inquiry",
                "channel": "email",
                "priority": "normal",
                "subject": "Enigma settings for tomorrow",
                "description": "Which rotor order?",
            },
        ).raise_for_status()
    expect(page.get_by_role("link", name="Enigma settings for tomorrow")).to_be_visible(
        timeout=10_000
    )
    not_reloaded(page)


def test_a_customers_page_changes_but_never_under_the_users_fingers(
    watched: Watched, crm: Crm
) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    page.goto(f"{crm.url}/console/customers/{crm.customers['Grace Hopper']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    profile = page.get_by_role("region", name="Profile", exact=True)
    mark(page)
    with crm.api("boss", Role.ADMIN) as admin:
        customer = crm.customers["Grace Hopper"]
        admin.post(f"/customers/{customer}/tags", json={"tag": "cobol"}).raise_for_status()
        expect(profile).to_contain_text("cobol", timeout=10_000)
        not_reloaded(page)
        expect(page.locator("#live-notice")).to_be_hidden()

        # typing: the page is not swapped under the user, who is told instead
        field = page.locator("main textarea, main input[type=text]").first
        field.fill("half-written note")
        admin.post(f"/customers/{customer}/tags", json={"tag": "navy"}).raise_for_status()
    notice = page.locator("#live-notice")
    expect(notice).to_be_visible(timeout=10_000)
    expect(notice).to_contain_text("This page has changed since you opened it.")
    expect(profile).not_to_contain_text("navy")
    assert field.input_value() == "half-written note"
    notice.get_by_role("button", name="Show the changes").click()
    expect(profile).to_contain_text("navy")
    expect(notice).to_be_hidden()
    not_reloaded(page)


def test_the_stream_follows_the_pages_access_rules(watched: Watched, crm: Crm) -> None:
    page = watched.page
    anas = crm.customers["Ada Lovelace"]
    signed_out = page.request.get(f"{crm.url}/console/live/customer?id={anas}")
    assert signed_out.status == 401
    sign_in(watched, crm, "rep-ben")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # another rep's customer: the page is a 404, and so is its stream
    assert page.request.get(f"{crm.url}/console/live/customer?id={anas}").status == 404
    assert page.request.get(f"{crm.url}/console/live/board").status == 404
    assert page.request.get(f"{crm.url}/console/live/customer").status == 422
