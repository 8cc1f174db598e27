"""Each role's day clicked through in a real browser from sign-in, in both languages (issue
12's proof): a rep reading Chinese moves their card on the pipeline board and sees the
funnel's count of the stage go up; an agent finds a knowledge-base article on a complaint's
page, resolves the complaint with it and, switched to Chinese, records the customer's
satisfaction; a manager goes through My day, the team's pipeline and the churn warnings in
Chinese and again in English. Every text looked for is the console's catalogue's
(:class:`Translator`), so the test follows the catalogue. No request goes to another host
and no page has a JavaScript error (the ``watched`` fixture checks both)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from crm.console.i18n import Translator
from crm.kernel.auth import Role
from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]

EN = Translator("en")
ZH = Translator("zh-CN")
REP = "rep-mei"
REP_NAME = "Mei Lin"
CARD = "Radium supply"
ARTICLE = "Compiler will not start after an update"
OTHER_ARTICLE = "Printer toner runs out"
TICKET = "Compiler crashes on startup"  # the conftest's complaint, Ivy's
MANAGER_NAME = "王珊"


@dataclass(frozen=True)
class Day:
    crm: Crm
    article_id: str


@pytest.fixture(scope="module")
def day(crm: Crm) -> Day:
    """A rep who reads Chinese with a customer and an opportunity in prospecting; two
    published articles (one about the complaint's problem); four complaints of Alan Turing's
    (a churn warning for the manager)."""
    crm.add_users((REP, REP_NAME, "sales_rep", "north", "zh-CN"))
    with crm.api("boss", Role.ADMIN) as admin:
        answer = admin.post(
            "/customers",
            json={"name": "Marie Curie", "email": "marie@example.com", "owner_id": REP},
        )
        answer.raise_for_status()
        marie = answer.json()["id"]
    with crm.api(REP, Role.SALES_REP, "north") as mei:
        mei.post(
            "/opportunities",
            json={
                "customer_id": marie,
                "name": CARD,
                "amount": {"amount": "42000.00", "currency": "EUR"},
                "expected_close_date": (date.today() + timedelta(days=40)).isoformat(),
            },
        ).raise_for_status()
    with crm.api("agent-ivy", Role.AGENT, "support") as ivy:
        ids = {}
        for title, problem, solution in (
            (
                ARTICLE,
                "The compiler crashes at startup since the last update.",
                "Clear the compiler cache, then reinstall the update.",
            ),
            (OTHER_ARTICLE, "The printer stops printing.", "Replace the toner cartridge."),
        ):
            answer = ivy.post(
                "/kb/articles", json={"title": title, "problem": problem, "solution": solution}
            )
            answer.raise_for_status()
            ids[title] = answer.json()["id"]
            ivy.post(f"/kb/articles/{ids[title]}/publish").raise_for_status()
        for n in range(4):
            ivy.post(
                "/tickets",
                json={
                    "customer_id": crm.customers["Alan Turing"],
                    "kind": "complaint",
                    "channel": "phone",
                    "priority": "high",
                    "subject": f"The tape jams ({n})",
                    "description": "It halts.",
                },
            ).raise_for_status()
    return Day(crm, ids[ARTICLE])


def _reload_until(page: Page, done: Callable[[], bool], what: str, tries: int = 150) -> None:
    """Reload until ``done()`` (a read model, or the churn monitor, follows the events)."""
    for _ in range(tries):
        if done():
            return
        page.wait_for_timeout(200)
        page.reload()
    raise AssertionError(f"{page.url} never showed {what}")


def _switch_language(page: Page, now: Translator, to: str) -> None:
    """The header's language form, labelled in the language the page is in now."""
    page.get_by_label(now("language")).select_option(to)
    page.get_by_role("button", name=now("change"), exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", to)


def _entered(page: Page, t: Translator, stage: str) -> int:
    """The funnel's "entered" count of ``stage``, read from its table by the column's header
    (and checked against the chart's bar of the same stage)."""
    stages = page.get_by_role("region", name=t("table.stages"), exact=True)
    headers = [h.strip() for h in stages.get_by_role("columnheader").all_inner_texts()]
    column = headers.index(t("col.entered"))
    row = stages.get_by_role("row").filter(
        has=page.get_by_role("cell", name=t.stage(stage), exact=True)
    )
    value = int(row.get_by_role("cell").nth(column).inner_text().strip())
    chart = page.get_by_role("img", name=t("chart.entered"))
    bar = chart.locator("g.chart-row").filter(has_text=t.stage(stage)).locator("rect.chart-bar")
    assert bar.get_attribute("data-value") == str(value)
    return value


def _open_funnel(page: Page, t: Translator) -> None:
    page.get_by_role("link", name=t("nav.analytics"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("analytics.title"))
    page.get_by_role("link", name=t("analytics.funnel"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("analytics.funnel"))


def _column(page: Page, t: Translator, stage: str) -> Locator:
    """A column of the pipeline board, named by its stage and its count: "资格确认 (1)"."""
    return page.get_by_role("region", name=re.compile("^" + re.escape(t.stage(stage)) + r"\s*\("))


def test_a_rep_in_chinese_moves_their_card_and_sees_the_funnel_count_go_up(
    watched: Watched, day: Day
) -> None:
    page, t = watched.page, ZH
    sign_in(watched, day.crm, REP)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("my_day.greeting", name=REP_NAME))
    _open_funnel(page, t)
    _reload_until(page, lambda: _entered(page, t, "prospecting") == 1, "the card entered")
    before = _entered(page, t, "qualification")

    page.get_by_role("link", name=t("nav.pipeline"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("pipeline.title"))
    card = _column(page, t, "prospecting").get_by_role("article").filter(has_text=CARD)
    move = t("move_to", stage=t.stage("qualification"))
    card.get_by_role("button", name=move, exact=True).click()
    expect(page.get_by_role("status")).to_have_text(t("pipeline.moved"))
    expect(_column(page, t, "qualification")).to_contain_text(CARD)
    expect(_column(page, t, "prospecting")).not_to_contain_text(CARD)

    _open_funnel(page, t)
    _reload_until(
        page, lambda: _entered(page, t, "qualification") == before + 1, "the move counted"
    )
    assert _entered(page, t, "prospecting") == 1  # entered once, counted once


def test_an_agent_resolves_a_complaint_with_an_article_then_records_satisfaction_in_chinese(
    watched: Watched, day: Day
) -> None:
    page, t = watched.page, EN
    sign_in(watched, day.crm, "agent-ivy")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name=t("nav.tickets"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("tickets.title"))
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=TICKET, exact=True))
    expect(row).to_contain_text(t("kind.complaint"))
    row.get_by_role("link", name=TICKET, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TICKET)

    resolve = page.get_by_role("region", name=t("ticket.resolve"), exact=True)
    resolve.get_by_label(t("kb.search")).fill("compiler crashes after the update")
    resolve.get_by_role("button", name=t("kb.search_button"), exact=True).click()
    expect(resolve.get_by_label(t("kb.search"))).to_have_value("compiler crashes after the update")
    article = resolve.get_by_label(t("ticket.article"))
    expect(article).to_have_value(day.article_id)  # the best hit, chosen
    options = article.locator("option").all_inner_texts()
    assert ARTICLE in options
    assert OTHER_ARTICLE not in options  # the search kept only what matches
    resolve.get_by_label(t("ticket.resolution")).fill("Cleared the cache and reinstalled.")
    resolve.get_by_role("button", name=t("ticket.resolve_button"), exact=True).click()

    expect(page.get_by_role("status")).to_have_text(t("customer.saved"))
    details = page.get_by_role("region", name=t("ticket.details"), exact=True)
    expect(details).to_contain_text(t("status.resolved"))
    expect(details).to_contain_text("Cleared the cache and reinstalled.")
    linked = page.get_by_role("region", name=t("ticket.articles"), exact=True)
    expect(linked.get_by_role("listitem").filter(has_text=ARTICLE)).to_contain_text(
        t("ticket.resolved_with")
    )
    expect(page.get_by_role("region", name=t("ticket.resolve"), exact=True)).to_have_count(0)

    _switch_language(page, t, "zh-CN")
    t = ZH
    expect(page.get_by_role("heading", level=1)).to_have_text(TICKET)  # the same page
    after = page.get_by_role("region", name=t("ticket.after"), exact=True)
    after.get_by_label(t("ticket.satisfaction"), exact=True).select_option(
        label=t("ticket.score", score=4)
    )
    after.get_by_label(t("ticket.customer_said")).fill("很快就解决了")
    after.get_by_role("button", name=t("ticket.record_satisfaction"), exact=True).click()
    expect(page.get_by_role("status")).to_have_text(t("customer.saved"))
    details = page.get_by_role("region", name=t("ticket.details"), exact=True)
    expect(details).to_contain_text(t("status.resolved"))
    expect(details).to_contain_text(t("ticket.score", score=4) + " · 很快就解决了")
    expect(after.get_by_role("button", name=t("ticket.record_satisfaction"))).to_have_count(0)
    with day.crm.api("agent-ivy", Role.AGENT, "support") as ivy:
        tickets = ivy.get("/tickets", params={"status": "resolved"}).json()["items"]
    [resolved] = [k for k in tickets if k["subject"] == TICKET]
    assert resolved["resolved_with_article_id"] == day.article_id
    assert resolved["satisfaction"]["score"] == 4
    _switch_language(page, t, "en")  # as Ivy found it


def _a_managers_day(page: Page, t: Translator) -> None:
    """My day, the team's pipeline and the churn warnings, in the language of ``t``."""
    page.get_by_role("link", name=t("nav.my_day"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("my_day.greeting", name=MANAGER_NAME)
    )
    opportunities = page.get_by_role("region", name=t("my_day.opportunities"), exact=True)
    expect(opportunities.get_by_role("row", name=re.compile("Analytical engine"))).to_contain_text(
        t.stage("prospecting")
    )
    expect(opportunities.get_by_role("row", name=re.compile(CARD))).to_contain_text(
        t.money("42000.00", "EUR")
    )
    # a manager's are the team's customers: not "my customers"
    at_risk = page.get_by_role("region", name=t("my_day.at_risk_all"), exact=True)
    _reload_until(
        page, lambda: at_risk.get_by_role("link", name="Alan Turing").count() > 0, "the warning"
    )

    page.get_by_role("link", name=t("nav.team"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("team.title"))
    expect(page.get_by_text(t("team.team", team="north"))).to_be_visible()
    reps = page.get_by_role("region", name=t("team.by_rep"), exact=True)
    expect(reps.get_by_role("row", name=re.compile("Ana Silva"))).to_contain_text(
        t.money("125000.00", "EUR")
    )
    expect(reps.get_by_role("row", name=re.compile(REP_NAME))).to_contain_text(
        t.money("42000.00", "EUR")
    )

    page.get_by_role("link", name=t("nav.analytics"), exact=True).click()
    page.get_by_role("link", name=t("analytics.churn"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("analytics.churn"))
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Alan Turing"))
    expect(row).to_contain_text(t("reason.complaints"))
    expect(row).to_contain_text("Ben Okafor")  # the owner, by name


def test_a_managers_day_in_chinese_then_in_english(watched: Watched, day: Day) -> None:
    page = watched.page
    sign_in(watched, day.crm, "mgr-wang")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    _a_managers_day(page, ZH)
    _switch_language(page, ZH, "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(EN("analytics.churn"))
    _a_managers_day(page, EN)
    _switch_language(page, EN, "zh-CN")  # as Wang found it
