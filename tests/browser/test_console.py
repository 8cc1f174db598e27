# ruff: noqa: RUF001  (the Chinese texts are meant, full-width comma included)
"""The console in a real browser: sign-in in both languages, a rep's day, read-your-writes,
the access rules and the CSRF check, the pipeline board; with no request to another host
and no JavaScript error on any page (the ``watched`` fixture checks both)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from crm.kernel.auth import Role
from tests.browser.conftest import PASSWORD, Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]


def test_a_rep_signs_in_sees_my_day_and_opens_their_customer(watched: Watched, crm: Crm) -> None:
    page = watched.page
    page.goto(crm.url + "/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("Tenant")).to_have_value("default")
    sign_in(watched, crm, "rep-ana")
    expect(page.get_by_role("heading", level=1)).to_have_text("Good day, Ana Silva")
    opportunities = page.get_by_role("region", name="My open opportunities")
    expect(opportunities.get_by_role("row", name=re.compile("Analytical engine"))).to_contain_text(
        "€125,000.00"
    )
    expect(opportunities).to_contain_text("Move to Qualification")
    mine = page.get_by_role("region", name="My customers", exact=True)
    expect(mine).to_contain_text("Grace Hopper")
    expect(mine).not_to_contain_text("Alan Turing")
    opportunities.get_by_role("link", name="Analytical engine").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(page.get_by_role("region", name="Profile", exact=True)).to_contain_text("Ana Silva")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.goto(crm.url + "/console/customers")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))


def test_a_manager_reads_it_in_chinese_and_switches_to_english(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "mgr-wang")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，王珊")
    expect(page.get_by_role("navigation", name="主导航")).to_contain_text("客户")
    page.get_by_role("link", name="客户", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("客户")
    expect(page.get_by_text("共 3 位客户")).to_be_visible()
    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="切换").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    page.get_by_role("link", name="My day").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Good day, 王珊")
    page.get_by_label("Language").select_option("zh-CN")
    page.get_by_role("button", name="Change").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，王珊")


def test_a_registered_customer_is_shown_at_once(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    page.get_by_role("link", name="Customers", exact=True).click()
    page.get_by_role("link", name="New customer").click()
    page.get_by_label("Name", exact=True).fill("Katherine Johnson")
    page.get_by_label("Company").fill("NASA")
    page.get_by_label("E-mail").fill("katherine@example.com")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Katherine Johnson")
    expect(page.get_by_role("status")).to_have_text("Customer registered.")
    page.get_by_label("Summary").fill("First call: wants a demo")
    page.get_by_role("button", name="Log", exact=True).click()
    expect(page.get_by_role("region", name="Log an interaction")).to_contain_text(
        "First call: wants a demo"
    )
    page.get_by_role("link", name="Customers", exact=True).click()
    page.get_by_label("Search name, company, e-mail or phone").fill("nasa")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("row", name=re.compile("Katherine Johnson"))).to_contain_text(
        "Ana Silva"
    )


def test_a_rep_cannot_open_another_reps_customer(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    answer = page.goto(f"{crm.url}/console/customers/{crm.customers['Alan Turing']}")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("alert")).to_have_text(
        "This page does not exist, or you may not see it."
    )
    expect(page.locator("body")).not_to_contain_text("Alan Turing")


def test_a_form_posted_without_its_token_is_refused(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    expect(page.get_by_role("heading", level=1)).to_have_text("Good day, Ana Silva")
    for token in (None, "forged"):
        form = {"name": "Mallory", "kind": "person"} | ({"csrf": token} if token else {})
        answer = page.request.post(f"{crm.url}/console/customers", form=form, max_redirects=0)
        assert answer.status == 403
        assert "The form expired or did not come from this site" in answer.text()
    page.goto(f"{crm.url}/console/customers?q=Mallory")
    expect(page.get_by_text("No customer matches.")).to_be_visible()


def test_a_wrong_password_is_refused_and_five_lock_the_account(watched: Watched, crm: Crm) -> None:
    page = watched.page
    for _ in range(5):
        sign_in(watched, crm, "locked-lu", "wrong password")
        expect(page.get_by_role("alert")).to_be_visible()
    sign_in(watched, crm, "locked-lu", PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("locked")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))


def test_moving_a_card_is_the_stage_command_and_a_stale_move_is_a_conflict(
    watched: Watched, crm: Crm, browser: Browser
) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ben")
    with crm.api("rep-ben", Role.SALES_REP, "north") as ben:
        ben.post(
            "/opportunities",
            json={
                "customer_id": crm.customers["Alan Turing"],
                "name": "Bombe",
                "amount": {"amount": "5000.00", "currency": "EUR"},
                "expected_close_date": "2027-01-31",
            },
        ).raise_for_status()
    page.get_by_role("link", name="Pipeline").click()
    # the same board open meanwhile in a browser without JavaScript: a live board would
    # update itself (tests/browser/test_console_live.py), this one stays as it was loaded
    stale = browser.new_context(java_script_enabled=False)
    other = stale.new_page()
    other.goto(crm.url + "/console/sign-in")
    other.locator("#user_id").fill("rep-ben")
    other.locator("#password").fill(PASSWORD)
    other.locator("form[action='/console/sign-in'] button[type=submit]").click()
    other.goto(page.url)

    def card(p: Page, stage: str) -> Locator:
        column = p.get_by_role("region", name=re.compile(f"^{stage}"))
        return column.get_by_role("article").filter(has_text="Bombe")

    card(page, "Prospecting").get_by_role("button", name="Move to Qualification").click()
    expect(page.get_by_role("status")).to_have_text("Moved.")
    expect(card(page, "Qualification")).to_be_visible()
    expect(card(page, "Prospecting")).to_have_count(0)
    card(other, "Prospecting").get_by_role("button", name="Move to Qualification").click()
    alert = other.get_by_role("alert")
    expect(alert).to_contain_text("Someone else moved or changed “Bombe”")
    expect(alert).to_contain_text("it is now in Qualification. Nothing was moved")
    # the board under it shows where the card is now
    expect(card(other, "Qualification")).to_be_visible()
    stale.close()


def test_an_admin_adds_a_user_who_signs_in_and_is_signed_out_once_deactivated(
    watched: Watched, crm: Crm, browser: Browser
) -> None:
    page = watched.page
    sign_in(watched, crm, "admin-ada")
    page.get_by_role("link", name="Users").click()
    add = page.get_by_role("region", name="Add a user")
    add.get_by_label("User name").fill("rep-nia")
    add.get_by_label("Display name").fill("Nia Novak")
    add.get_by_label("Role", exact=True).select_option("sales_rep")
    add.get_by_label("Team or support group").select_option("north")
    add.get_by_label("Password").fill("nia's own password")
    add.get_by_role("button", name="Add a user").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    row = page.get_by_role("row", name=re.compile("rep-nia"))
    expect(row.get_by_label("Change role: Nia Novak")).to_have_value("sales_rep")
    expect(row.get_by_label("Team of Nia Novak")).to_have_value("north")
    expect(row).to_contain_text("active")

    nia = browser.new_context()
    try:
        theirs = nia.new_page()
        theirs.goto(crm.url + "/")
        theirs.locator("#user_id").fill("rep-nia")
        theirs.locator("#password").fill("nia's own password")
        theirs.get_by_role("button", name="Sign in").click()
        expect(theirs.get_by_role("heading", level=1)).to_have_text("Good day, Nia Novak")
        row.get_by_role("button", name="Deactivate: Nia Novak").click()
        expect(page.get_by_role("row", name=re.compile("rep-nia"))).to_contain_text("deactivated")
        theirs.get_by_role("link", name="Customers", exact=True).click()
        expect(theirs).to_have_url(re.compile(r"/console/sign-in"))
    finally:
        nia.close()


def test_only_admins_see_the_users_page(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    expect(page.get_by_role("navigation")).not_to_contain_text("Users")
    answer = page.goto(crm.url + "/console/users")
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("alert")).to_have_text("Your role may not do this.")


def test_an_agent_sees_their_tickets_by_sla_due_time(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "agent-ivy")
    tickets = page.get_by_role("region", name="My tickets by SLA due time")
    row = tickets.get_by_role("row", name=re.compile("Compiler crashes on startup"))
    expect(row).to_contain_text("high")
    expect(row).to_contain_text("assigned")
    expect(page.get_by_role("region", name="My open opportunities")).to_have_count(0)


def test_my_day_shows_what_changed_since_the_last_sign_in(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    page.get_by_role("button", name="Sign out").click()
    with crm.api("rep-ana", Role.SALES_REP, "north") as ana:
        grace = crm.customers["Grace Hopper"]
        ana.post(f"/customers/{grace}/tags", json={"tag": "navy"}).raise_for_status()
    sign_in(watched, crm, "rep-ana")
    changed = page.get_by_role("region", name=re.compile("^Changed since you last signed in"))
    expect(changed).to_contain_text("Grace Hopper")
    expect(changed).not_to_contain_text("Ada Lovelace")
