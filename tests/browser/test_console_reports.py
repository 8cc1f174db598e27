"""The work reports in a real browser: a rep opens her weekly report from the navigation and
submits her summary of the week and her plan for the next; her manager, who reads Chinese,
opens the team's week, opens her report from it and comments on it; the rep reads the
comment on her report. No request goes to another host and no page has a JavaScript error
(the ``watched`` fixture checks both)."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Crm, Watched, needs_chromium, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser, needs_chromium]

SUMMARY = "Met Ada about the analytical engine"
PLAN = "Send Ada the quote for the engine"
COMMENT = "很好，周五前把报价发出去"


def test_a_rep_submits_her_weeks_summary_and_her_manager_comments_on_it(
    watched: Watched, crm: Crm
) -> None:
    page = watched.page
    sign_in(watched, crm, "rep-ana")
    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Weekly report")
    expect(page.get_by_role("link", name="Team work reports")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"\(days in [A-Za-z_/]+\)"))).to_be_visible()  # her zone
    report = page.get_by_role("region", name="Summary and plan")
    expect(report).to_contain_text("Not submitted yet.")
    report.get_by_label("Summary of the period").fill(SUMMARY)
    report.get_by_label("Plan for the next period").fill(PLAN)
    report.get_by_role("button", name="Submit the report").click()
    expect(page.get_by_role("status")).to_have_text("Report submitted.")
    expect(report).to_contain_text("Revision 1")
    expect(report.get_by_label("Summary of the period")).to_have_value(SUMMARY)
    week = page.get_by_role("heading", level=2).first.inner_text()  # "Ana Silva, 2026-W49"
    page.get_by_role("button", name="Sign out").click()

    sign_in(watched, crm, "mgr-wang")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("link", name="报告", exact=True).click()
    page.get_by_role("link", name="团队工作报告").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("团队工作报告")
    expect(page.get_by_text(re.compile(r"（[A-Za-z_/]+ 时区的日）"))).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Ana Silva")
    expect(row).to_contain_text("已提交")
    row.get_by_role("link", name="Ana Silva").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("周报")
    expect(page.get_by_role("heading", level=2).first).to_have_text(
        week.replace(", ", "，")  # the same person and week, in Chinese punctuation
    )
    summary = page.get_by_role("region", name="总结与计划")
    expect(summary).to_contain_text(SUMMARY)
    expect(summary).to_contain_text(PLAN)
    comments = page.get_by_role("region", name="批注")
    expect(comments).to_contain_text("暂无批注。")
    comments.get_by_label("批注").fill(COMMENT)
    comments.get_by_role("button", name="添加批注").click()
    expect(page.get_by_role("status")).to_have_text("批注已添加。")
    expect(page.get_by_role("region", name="批注")).to_contain_text(COMMENT)
    expect(page.get_by_role("region", name="批注")).to_contain_text("王珊")
    page.get_by_role("button", name="退出登录").click()

    sign_in(watched, crm, "rep-ana")
    page.get_by_role("link", name="Reports", exact=True).click()
    comments = page.get_by_role("region", name="Comments")
    expect(comments).to_contain_text(COMMENT)
    expect(comments).to_contain_text("王珊")
    expect(comments.get_by_role("button", name="Add the comment")).to_have_count(0)
