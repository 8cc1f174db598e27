"""The sales and desk pages in a real browser: a rep captures, qualifies and converts a lead
and moves the opportunity it became (a second tab's stale move is shown as a conflict); a
manager reads the team's pipeline and the leads in Chinese; a rep cannot open another rep's
opportunity; an agent opens the ticket queue and a ticket. No request goes to another host
and no page has a JavaScript error (the ``watched`` fixture checks both)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from crm.console.i18n import Translator
from crm.kernel.auth import Role
from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]


def _reload_until_link(page: Page, name: str, tries: int = 150) -> None:
    """Reload until the page shows the link (the conversion process runs after the
    redirect: the lead reads "converting" until it has opened the opportunity)."""
    for _ in range(tries):
        if page.get_by_role("link", name=name, exact=True).count():
            return
        page.wait_for_timeout(200)
        page.reload()
    raise AssertionError(f"no link {name!r} on {page.url}")


def test_a_rep_qualifies_and_converts_a_lead_then_moves_its_opportunity(
    watched: Watched, crm: Crm
) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    page.get_by_role("link", name="Leads", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
    capture = page.get_by_role("region", name="Capture a lead")
    capture.get_by_label("Name", exact=True).fill("Hedy Lamarr")
    capture.get_by_label("Company").fill("Frequency Hopping Inc")
    capture.get_by_label("E-mail").fill("hedy@example.com")
    capture.get_by_label("Source").fill("trade fair")
    capture.get_by_role("button", name="Capture", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hedy Lamarr")
    expect(page.get_by_role("status")).to_have_text("Lead captured.")
    details = page.get_by_role("region", name="Lead", exact=True)
    expect(details).to_contain_text("open")
    expect(details).to_contain_text("Ana Silva")

    qualify = page.get_by_role("region", name="Qualify", exact=True)
    qualify.get_by_label("Note").fill("budget approved")
    qualify.get_by_role("button", name="Qualify the lead", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(details).to_contain_text("qualified")
    expect(details).to_contain_text("budget approved")

    convert = page.get_by_role("region", name="Convert into a customer and an opportunity")
    convert.get_by_label("Opportunity name").fill("Secure radio")
    convert.get_by_label("Amount").fill("80000.00")
    convert.get_by_label("Currency").select_option("EUR")
    close = (date.today() + timedelta(days=60)).isoformat()
    convert.get_by_label("Expected close date").fill(close)
    convert.get_by_role("button", name="Convert", exact=True).click()
    _reload_until_link(page, "Opportunity")
    expect(details).to_contain_text("converted")
    expect(details.get_by_role("link", name="Hedy Lamarr")).to_be_visible()
    details.get_by_role("link", name="Opportunity", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Secure radio")
    facts = page.get_by_role("region", name="Opportunity", exact=True)
    expect(facts).to_contain_text("€80,000.00")
    expect(facts).to_contain_text(re.compile(r"Next step\s*Qualification"))
    other = watched.context.new_page()  # the same opportunity, open in a second tab meanwhile
    other.goto(page.url)
    page.get_by_role("button", name="Move to Qualification").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(facts).to_contain_text(re.compile(r"Next step\s*Needs analysis"))
    expect(page.get_by_role("region", name="Stage history")).to_contain_text("Qualification")

    other.get_by_role("button", name="Move to Qualification").click()
    alert = other.get_by_role("alert")
    expect(alert).to_contain_text("Someone else changed this opportunity after you opened it")
    expect(alert).to_contain_text("in Qualification")

    page.get_by_role("link", name="Opportunities", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Opportunities")
    page.get_by_label("Stage").select_option("qualification")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("row", name=re.compile("Secure radio"))).to_contain_text("Ana Silva")


def test_a_manager_reads_the_teams_pipeline_and_the_leads_in_chinese(
    watched: Watched, crm: Crm
) -> None:
    page = watched.page
    sign_in(watched, crm, "mgr-wang")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("link", name="团队销售漏斗").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("团队销售漏斗")
    expect(page.get_by_text("团队 north")).to_be_visible()
    with crm.api("mgr-wang", Role.MANAGER, "north") as wang:
        answer = wang.get("/opportunities", params={"owner_id": "rep-ana", "status": "open"})
        answer.raise_for_status()
    open_amount = sum(Decimal(o["amount"]["amount"]) for o in answer.json()["items"])
    reps = page.get_by_role("region", name="按销售代表")
    expect(reps.get_by_role("row", name=re.compile("Ana Silva"))).to_contain_text(
        Translator("zh-CN").money(open_amount, "EUR")
    )
    expect(reps).to_contain_text("全部销售代表")
    stages = page.get_by_role("region", name="各阶段的进行中商机")
    expect(stages).to_contain_text("初步接触")
    page.get_by_role("link", name="线索", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("线索")
    expect(page.get_by_label("状态")).to_be_visible()
    page.get_by_role("link", name="商机", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("商机")
    expect(page.get_by_role("row", name=re.compile("Analytical engine"))).to_contain_text(
        "初步接触"
    )


def test_a_rep_cannot_open_another_reps_opportunity(watched: Watched, crm: Crm) -> None:
    with crm.api("rep-ben", Role.SALES_REP, "north") as ben:
        answer = ben.post(
            "/opportunities",
            json={
                "customer_id": crm.customers["Alan Turing"],
                "name": "Enigma break",
                "amount": {"amount": "9000.00", "currency": "EUR"},
                "expected_close_date": "2027-02-28",
            },
        )
        answer.raise_for_status()
        opportunity = answer.json()["id"]
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    found = page.goto(f"{crm.url}/console/opportunities/{opportunity}")
    assert found is not None
    assert found.status == 404
    expect(page.get_by_role("alert")).to_have_text(
        "This page does not exist, or you may not see it."
    )
    expect(page.locator("body")).not_to_contain_text("Enigma break")
    page.goto(f"{crm.url}/console/opportunities?status=all")
    expect(page.get_by_role("main")).not_to_contain_text("Enigma break")
    answer = page.goto(f"{crm.url}/console/team")
    assert answer is not None
    assert answer.status == 403


def test_an_agent_opens_the_ticket_queue_and_a_ticket(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "agent-ivy")
    page.get_by_role("link", name="Tickets", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ticket queue")
    row = page.get_by_role("row", name=re.compile("Compiler crashes on startup"))
    expect(row).to_contain_text("high")
    expect(row).to_contain_text("First response")
    row.get_by_role("link", name="Compiler crashes on startup").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compiler crashes on startup")
    details = page.get_by_role("region", name="Details")
    expect(details).to_contain_text("Since the last update the compiler will not start.")
    expect(details.get_by_role("link", name="Grace Hopper")).to_be_visible()
    expect(page.get_by_role("region", name="SLA", exact=True)).to_contain_text("First response")
    page.get_by_label("Comment", exact=True).fill("Looking into it")
    page.get_by_role("button", name="Add the comment").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_role("region", name="Conversation")).to_contain_text("Looking into it")


def test_a_customers_opportunity_and_sales_open_from_the_customer_page(
    watched: Watched, crm: Crm
) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    page.get_by_role("link", name="Customers", exact=True).click()
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    page.get_by_role("link", name="Quotes, orders and invoices").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Quotes, orders and invoices of Ada Lovelace"
    )
    expect(page.get_by_role("region", name="Invoices")).to_contain_text("No invoice.")
    page.get_by_role("link", name="Back to the customer").click()
    glance = page.get_by_role("region", name="At a glance")
    glance.get_by_role("link", name="Analytical engine").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytical engine")
    expect(page.get_by_role("region", name="Opportunity", exact=True)).to_contain_text(
        "Ada Lovelace"
    )


def test_a_rep_builds_a_quote_from_the_catalogue_and_the_customer_accepts_it(
    watched: Watched, crm: Crm
) -> None:
    """From the customer's sales page: a line picked from the catalogue with a discount, the
    domain's total, sent, the customer's acceptance recorded, the order placed and invoiced,
    the payment recorded; the customer's timeline then says so in plain words."""
    with crm.api("mgr-wang", Role.MANAGER, "north") as wang:
        product = {
            "sku": "LOOM-7",
            "name": "Jacquard loom",
            "list_price": {"amount": "4500.00", "currency": "EUR"},
        }
        wang.post("/products", json=product).raise_for_status()
        for _ in range(100):  # the new-quote page reads the catalogue's read model
            if wang.get("/products", params={"sku": "LOOM-7"}).json()["items"]:
                break
    page = watched.page
    grace = crm.customers["Grace Hopper"]
    sign_in(watched, crm, "rep-ana")
    page.goto(f"{crm.url}/console/customers/{grace}/sales")
    page.get_by_role("link", name="New quote", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New quote for Grace Hopper")
    page.get_by_label("Product", exact=True).select_option(
        label="LOOM-7 · Jacquard loom · €4,500.00"
    )
    page.get_by_label("Quantity", exact=True).fill("2")
    page.get_by_label("Discount (%)", exact=True).fill("5")
    page.get_by_role("button", name="Draft the quote", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Quote drafted.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Quote for Grace Hopper")
    lines = page.get_by_role("region", name="Lines", exact=True)
    expect(lines.get_by_role("row", name=re.compile("LOOM-7"))).to_contain_text("€8,550.00")
    expect(lines.locator("tfoot")).to_contain_text("€8,550.00")

    page.get_by_role("button", name="Send to the customer", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Quote sent.")
    page.get_by_role("button", name="The customer accepted", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The customer's acceptance is recorded.")
    page.get_by_role("button", name="Place the order from this quote", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Order for Grace Hopper")
    expect(page.get_by_role("status")).to_have_text("Order placed.")
    page.get_by_label("Invoice number", exact=True).fill("FP-2026-0042")
    page.get_by_role("button", name="Issue the invoice", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Invoice issued.")
    facts = page.get_by_role("region", name="Invoice", exact=True)
    expect(facts).to_contain_text(re.compile(r"Invoice number\s*FP-2026-0042"))
    expect(page.get_by_label("Amount (EUR)")).to_have_value("8550.00")
    page.get_by_label("Reference", exact=True).fill("WIRE-42")
    page.get_by_role("button", name="Record the payment", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Payment recorded.")
    expect(facts).to_contain_text(re.compile(r"Balance\s*€0.00"))
    expect(page.get_by_role("region", name="Payments")).to_contain_text("WIRE-42")

    page.get_by_role("link", name="Grace Hopper").first.click()
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("Payment received: €8,550.00")
    expect(timeline).to_contain_text("Quote accepted: €8,550.00")
    expect(timeline).to_contain_text("Order placed: €8,550.00")
    expect(timeline).to_contain_text("Ticket opened: Compiler crashes on startup")
    expect(timeline).to_contain_text("Registered by boss")  # a token user, not in the directory
    expect(timeline).to_contain_text("Tagged vip")  # given at registration
