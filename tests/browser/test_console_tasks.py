"""The tasks, notifications and calendar pages in a real browser: a rep plans a call from the
customer page, finds it in My tasks, completes it with the next meeting planned in the same
step, and the customer's timeline shows the call, then plans a monthly task from an
opportunity's page and finds it on today in the month's calendar; the bell's count goes down
when she reads the notification a manager's assignment raised; the manager's pages and
calendar in Chinese, with the feed's address copied by its button. No request goes to another
host and no page has a JavaScript error (the ``watched`` fixture checks both)."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from crm.kernel.auth import Role
from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]


def _reload_until(page: Page, text: str, tries: int = 150) -> None:
    """Reload until the main part shows ``text`` (a process finishing after the redirect)."""
    for _ in range(tries):
        if text in page.locator("main").inner_text():
            return
        page.wait_for_timeout(200)
        page.reload()
    raise AssertionError(f"{page.url} never showed {text!r}")


def test_a_rep_plans_a_call_from_the_customer_page_and_completes_it_with_a_meeting(
    watched: Watched, crm: Crm
) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    page.get_by_role("link", name="Customers", exact=True).click()
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    page.get_by_role("link", name="Plan a task").click()

    plan = page.get_by_role("region", name="Plan a task")
    expect(plan.get_by_label("Customer")).to_have_value(crm.customers["Ada Lovelace"])
    plan.get_by_label("Kind", exact=True).select_option("call")
    plan.get_by_label("Title", exact=True).fill("Call Ada about the engine")
    plan.get_by_label("Priority").select_option("high")
    plan.get_by_role("button", name="Plan", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Task planned.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Call Ada about the engine")

    page.get_by_role("link", name="My tasks", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My tasks")
    row = page.get_by_role("row", name=re.compile("Call Ada about the engine"))
    expect(row).to_contain_text("Call")
    expect(row).to_contain_text("high")
    row.get_by_role("link", name="Call Ada about the engine").click()

    complete = page.get_by_role("region", name="Complete")
    complete.get_by_label("Outcome").select_option("reached")
    complete.get_by_label("Note", exact=True).fill("wants a demo of the engine")
    complete.get_by_label("Next task's kind").select_option("meeting")
    complete.get_by_label("Next task's title").fill("Engine demo for Ada")
    complete.get_by_role("button", name="Complete the task").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    done = page.get_by_role("region", name="Done so far")
    expect(done).to_contain_text("Reached")
    expect(done).to_contain_text("wants a demo of the engine")

    page.get_by_role("link", name="My tasks", exact=True).click()
    _reload_until(page, "Engine demo for Ada")
    expect(page.get_by_role("row", name=re.compile("Engine demo for Ada"))).to_contain_text(
        "Meeting"
    )
    expect(page.get_by_role("main")).not_to_contain_text("Call Ada about the engine")

    page.get_by_role("link", name="Customers", exact=True).click()
    page.get_by_role("link", name="Ada Lovelace").click()
    _reload_until(page, "wants a demo of the engine")

    # a task planned from the opportunity's page, then found in the month's calendar
    main_nav = page.get_by_role("navigation", name="Main")
    main_nav.get_by_role("link", name="Opportunities", exact=True).click()
    page.get_by_role("link", name="Analytical engine").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytical engine")
    page.get_by_role("link", name="Plan a task").click()
    plan = page.get_by_role("region", name="Plan a task")
    expect(plan).to_contain_text("Opportunity: Analytical engine")
    expect(plan.get_by_label("Customer")).to_have_count(0)
    plan.get_by_label("Kind", exact=True).select_option("send_quote")
    plan.get_by_label("Title", exact=True).fill("Quote the analytical engine")
    noon = datetime.now(UTC).strftime("%Y-%m-%dT12:00")  # today, in her zone (UTC)
    plan.get_by_label(re.compile("^Due at")).fill(noon)
    plan.get_by_label("Repeat", exact=True).select_option("monthly")
    plan.get_by_role("button", name="Plan", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Task planned.")
    details = page.get_by_role("region", name="Task", exact=True)
    expect(details.get_by_role("link", name="Opportunity")).to_be_visible()
    expect(details).to_contain_text("Every 1 × month, until cancelled")

    main_nav.get_by_role("link", name="Calendar", exact=True).click()
    page.get_by_role("navigation", name="Views").get_by_role("link", name="Month").click()
    expect(page).to_have_url(re.compile(r"/console/calendar\?view=month&date=\d{4}-\d{2}-\d{2}"))
    _reload_until(page, "Quote the analytical engine")
    month = page.get_by_role("table")
    entry = month.get_by_role("link", name="Quote the analytical engine")
    expect(entry).to_be_visible()
    expect(month.locator("td.today")).to_contain_text("Quote the analytical engine")
    page.get_by_role("link", name="Next month").click()
    expect(page.get_by_role("main")).not_to_contain_text("Quote the analytical engine")
    page.get_by_role("link", name="This month").click()
    page.get_by_role("link", name="Quote the analytical engine").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quote the analytical engine")


def test_the_bell_count_goes_down_when_she_reads_a_notification(watched: Watched, crm: Crm) -> None:
    due = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    with crm.api("mgr-wang", Role.MANAGER, "north") as wang:
        wang.post(
            "/tasks",
            json={
                "kind": "visit",
                "title": "Visit Grace",
                "subject_kind": "customer",
                "subject_id": crm.customers["Grace Hopper"],
                "due_at": due,
                "assignee_id": "rep-ana",
            },
        ).raise_for_status()
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    bell = page.get_by_role("link", name=re.compile(r"^Notifications \d+ unread$"))
    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    _reload_until(page, "A task was assigned to you")
    unread = int(re.sub(r"\D", "", bell.inner_text()))
    assert unread >= 1
    page.get_by_role("button", name="Mark as read: A task was assigned to you").first.click()
    expect(page.get_by_role("status")).to_have_text("Marked as read.")
    expect(bell).to_contain_text(f"{unread - 1} unread")
    expect(page.get_by_role("main")).to_contain_text(f"{unread - 1} unread")
    page.get_by_role("link", name="A task was assigned to you").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Visit Grace|Engine demo"))


def test_the_managers_tasks_and_calendar_in_chinese_with_the_feed_copied(
    watched: Watched, crm: Crm
) -> None:
    due = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    with crm.api("mgr-wang", Role.MANAGER, "north") as wang:
        wang.post(
            "/tasks",
            json={
                "kind": "visit",
                "title": "Visit Grace about the compiler",
                "subject_kind": "customer",
                "subject_id": crm.customers["Grace Hopper"],
                "due_at": due,
                "assignee_id": "rep-ana",
            },
        ).raise_for_status()
    watched.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=crm.url)
    page = watched.page
    sign_in(watched, crm, "mgr-wang")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("link", name="我的任务", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的任务")
    expect(page.get_by_label("谁的任务")).to_be_visible()
    page.get_by_label("谁的任务").select_option("rep-ana")
    page.get_by_role("button", name="显示").click()
    _reload_until(page, "Visit Grace about the compiler")
    row = page.get_by_role("row", name=re.compile("Visit Grace about the compiler"))
    expect(row).to_contain_text("拜访")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="日程").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("日程")
    feed = page.get_by_role("region", name="日历订阅（iCalendar）")
    address = feed.get_by_label("订阅地址")
    expect(address).to_have_value(re.compile(r"/calendar/feeds/default/mgr-wang\.ics\?key="))
    feed.get_by_role("button", name="复制").click()
    expect(feed.get_by_role("status")).to_have_text("已复制。")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == address.input_value()
    page.get_by_role("link", name="下一周").click()
    expect(page).to_have_url(re.compile(r"/console/calendar\?week=\d{4}-W\d{2}"))
