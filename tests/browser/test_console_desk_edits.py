"""The knowledge base's edit and retire forms and a visit's rescheduling, in a real browser.

An agent opens a published article from the knowledge base, edits it and publishes the new
version, which the search then finds; a second tab still showing the old version sends its
edit and is told plainly that someone changed the article meanwhile, its text kept in the
form. A manager reading Chinese retires the article; the agent's search no longer finds it.
An agent opens a ticket's visit on its day, tries to move it onto her other visit (refused,
saying which), then moves it to the next morning; that day shows it with where it was. No
request goes to another host and no page has a JavaScript error (``watched``)."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from crm.kernel.auth import Role
from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]

DAY = (datetime.now(UTC) + timedelta(days=3)).date()
NEXT = DAY + timedelta(days=1)


@pytest.fixture(scope="module", autouse=True)
def desk(crm: Crm) -> None:
    """A published article, and a ticket of Ada's with two visits of Ivy's on ``DAY``."""
    with crm.api("boss", Role.MANAGER) as boss:
        article = {
            "title": "Boiler knocks at night",
            "problem": "The heating knocks after midnight.",
            "solution": "Bleed the radiators.",
            "tags": ["heating"],
        }
        drafted = boss.post("/kb/articles", json=article)
        drafted.raise_for_status()
        boss.post(f"/kb/articles/{drafted.json()['id']}/publish").raise_for_status()
        ticket = boss.post(
            "/tickets",
            json={
                "customer_id": crm.customers["Ada Lovelace"],
                "kind": "service_request",
                "channel": "phone",
                "priority": "normal",
                "subject": "Boiler service",
                "description": "Yearly service",
            },
        )
        ticket.raise_for_status()
        crm.customers["ticket"] = ticket.json()["id"]
        for start, end, address in (
            ("10:00", "11:00", "1 Elm Street"),
            ("13:00", "14:00", "2 Oak Road"),
        ):
            boss.post(
                "/visits",
                json={
                    "ticket_id": ticket.json()["id"],
                    "customer_id": crm.customers["Ada Lovelace"],
                    "technician_id": "agent-ivy",
                    "start": f"{DAY}T{start}:00+00:00",
                    "end": f"{DAY}T{end}:00+00:00",
                    "address": address,
                },
            ).raise_for_status()


def saved(page: Page) -> None:
    expect(page.get_by_role("status")).to_have_text(re.compile("Saved.|已保存"))


def test_an_article_is_edited_a_stale_tab_told_and_the_article_retired(
    watched: Watched, crm: Crm
) -> None:
    page = watched.page
    sign_in(watched, crm, "agent-ivy")
    page.get_by_role("navigation").get_by_role("link", name="Knowledge base").click()
    page.get_by_role("link", name="Boiler knocks at night").first.click()
    article_url = page.url
    stale = watched.context.new_page()  # a second tab, opened before the edit
    stale.goto(article_url)

    page.get_by_text("Edit the article").click()
    page.get_by_role("textbox", name="Solution").fill(
        "Bleed the radiators, then top up the pressure."
    )
    page.get_by_label("Tags (comma-separated)").fill("heating, Boiler")
    page.get_by_role("button", name="Save as version 2").click()
    saved(page)
    expect(page.get_by_role("main")).to_contain_text(
        "Searches find version 1; version 2 is not published yet."
    )
    page.get_by_role("button", name="Publish version 2").click()
    saved(page)
    page.get_by_role("navigation").get_by_role("link", name="Knowledge base").click()
    page.get_by_label("Search the articles").fill("pressure")
    page.get_by_role("button", name="Search", exact=True).click()
    hits = page.get_by_role("region", name=re.compile("Articles matching"))
    expect(hits.get_by_role("link", name="Boiler knocks at night")).to_be_visible()

    # the tab still at version 1: its edit is refused, its text kept
    stale.get_by_text("Edit the article").click()
    stale.get_by_role("textbox", name="Solution").fill("Call the plumber.")
    stale.get_by_role("button", name="Save as version 2").click()
    expect(stale.get_by_role("alert")).to_contain_text(
        "you edited version 1, it is now at version 2. Nothing was saved."
    )
    expect(stale.get_by_role("textbox", name="Solution")).to_have_value("Call the plumber.")
    expect(stale.locator("#solution + p")).to_have_text(
        "Bleed the radiators, then top up the pressure."
    )
    stale.close()

    # a manager who reads Chinese retires it
    manager = watched.context.browser.new_context(locale="zh-CN")  # type: ignore[union-attr]
    try:
        wang = manager.new_page()
        wang.on("pageerror", lambda error: watched.errors.append(str(error)))
        wang.on(
            "request",
            lambda r: None if r.url.startswith(crm.url + "/") else watched.foreign.append(r.url),
        )
        wang.goto(crm.url + "/")
        wang.locator("#user_id").fill("mgr-wang")
        wang.locator("#password").fill("correct horse battery")
        wang.locator("form[action='/console/sign-in'] button[type=submit]").click()
        wang.goto(article_url)
        wang.get_by_text("停用文章").click()
        wang.get_by_label("原因（可选）").fill("换了新锅炉")
        wang.get_by_label("停用后搜索将找不到此文章，且不能再编辑或发布").check()
        wang.get_by_role("button", name="停用「Boiler knocks at night」").click()
        expect(wang.get_by_role("status")).to_be_visible()
        note = wang.get_by_role("note")
        expect(note).to_contain_text("停用：搜索不再显示此文章，也不能再编辑或发布。")
        expect(note).to_contain_text("原因：换了新锅炉")
        expect(wang.get_by_text("编辑文章")).to_have_count(0)
    finally:
        manager.close()

    page.reload()
    expect(page.get_by_role("region", name=re.compile("Articles matching"))).to_contain_text(
        "No published article matches."
    )
    page.goto(article_url)
    expect(page.get_by_role("note")).to_contain_text("searches no longer find this article")
    expect(page.get_by_text("Edit the article")).to_have_count(0)


def test_an_agent_reschedules_a_visit_and_is_refused_an_overlap(watched: Watched, crm: Crm) -> None:
    page = watched.page
    sign_in(watched, crm, "agent-ivy")
    page.goto(crm.url + f"/console/tickets/{crm.customers['ticket']}")
    page.get_by_role("region", name="Field visits").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Visits on")
    first = page.get_by_role("listitem").filter(has_text="1 Elm Street")
    expect(first).to_contain_text("10:00–11:00")

    first.get_by_text("Reschedule").click()
    first.get_by_label("Start (UTC)").fill("13:30")
    first.get_by_role("button", name="Move the visit").click()
    expect(page.get_by_role("alert")).to_contain_text("Ivy Chen already has a visit on")
    expect(page.get_by_role("alert")).to_contain_text("from 13:00 to 14:00 (UTC)")
    page.go_back()

    first = page.get_by_role("listitem").filter(has_text="1 Elm Street")
    first.get_by_text("Reschedule").click()
    first.get_by_label("Day").fill(NEXT.isoformat())
    first.get_by_label("Start (UTC)").fill("09:00")
    first.get_by_label("Minutes").fill("90")
    first.get_by_label("Reason (optional)").fill("The customer is away")
    first.get_by_role("button", name="Move the visit").click()
    saved(page)
    moved = page.get_by_role("listitem").filter(has_text="1 Elm Street")
    expect(moved).to_contain_text("09:00–10:30")
    expect(moved).to_contain_text("Moved from")
    expect(moved).to_contain_text("10:00–11:00 (Ivy Chen) · The customer is away")
    page.get_by_role("link", name="Previous day").click()
    expect(page.get_by_role("main")).not_to_contain_text("1 Elm Street")
    expect(page.get_by_role("main")).to_contain_text("2 Oak Road")


def test_a_manager_reads_and_books_visits_in_her_time_zone(watched: Watched, crm: Crm) -> None:
    """Wang (Chinese) chooses Shanghai's time in her preferences: Ivy's 13:00 UTC visit on
    ``DAY`` reads 21:00 on the visits page, the forms name the zone, and a visit she books
    for 08:00 on the next day from the ticket page is at 08:00 on that day (00:00 UTC)."""
    page = watched.page
    sign_in(watched, crm, "mgr-wang")
    page.goto(crm.url + "/console/notifications/preferences")
    zone = page.get_by_label("时区")
    before = zone.input_value()
    zone.select_option("Asia/Shanghai")
    page.get_by_role("button", name="保存设置").click()
    expect(page.get_by_role("status")).to_have_text("设置已保存。")
    try:
        page.goto(crm.url + f"/console/visits?technician=agent-ivy&day={DAY}")
        expect(page.get_by_role("main")).to_contain_text("时间按 Asia/Shanghai 显示。")
        oak = page.get_by_role("listitem").filter(has_text="2 Oak Road")
        expect(oak).to_contain_text("21:00–22:00")
        oak.get_by_text("改期", exact=True).click()
        expect(oak.get_by_label("开始时间（Asia/Shanghai）")).to_have_value("21:00")

        page.goto(crm.url + f"/console/tickets/{crm.customers['ticket']}")
        booking = page.get_by_role("region", name="上门服务")
        booking.get_by_label("日期").fill(NEXT.isoformat())
        booking.get_by_label("开始时间（Asia/Shanghai）").fill("08:00")
        booking.get_by_label("地址").fill("8 Pine Lane")
        booking.get_by_role("button", name="预约上门").click()
        saved(page)
        page.goto(crm.url + f"/console/visits?day={NEXT}")
        pine = page.get_by_role("listitem").filter(has_text="8 Pine Lane")
        expect(pine).to_contain_text("08:00–09:00")
    finally:
        page.goto(crm.url + "/console/notifications/preferences")
        page.get_by_label("时区").select_option(before)
        page.get_by_role("button", name="保存设置").click()
        expect(page.get_by_role("status")).to_have_text("设置已保存。")
