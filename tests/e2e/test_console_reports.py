"""The console's work reports, retention report and care rules pages over HTTP: a rep reads
her week's figures (the day and month too, previous and next), submits her summary and plan,
her manager reads the team's week, opens her report and comments on it; the retention report
per rep and per reason in each reader's language; the care rules listed and saved, each
wrong value a 422 naming its field; every CSV equal to the API's for the same user; and the
access rules through the pages (another team's report, a rep naming someone else, an analyst
without forms, a rep refused the care form, no form without its token, unknown parameters)."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from crm.analytics.application.churn_commands import RecordAssessment
from crm.analytics.churn.assessment import Assessment
from crm.console.i18n import Translator
from crm.console.reports import field_label, form_field, period_of, rules_from_form
from crm.events.activities import CareOccasion, WorkPeriod
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.errors import InvalidCommand
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.repository import CommandContext
from tests.conftest import T0, Api
from tests.support.console import console_user, followed, own_client, sign_in
from tests.support.reads import caught_up

pytestmark = [pytest.mark.e2e]

WEEK = {"period": "week", "from": "2026-03-02", "to": "2026-03-08"}
"""T0 (Monday 2 March 2026) is in ISO week 2026-W10."""


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def figure(html: str, label: str) -> str:
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd class=\"num\">([^<]*)</dd>", html)
    assert found is not None, f"no figure {label!r}"
    return found.group(1)


@pytest.mark.contexts("customer", "sales", "activities")
async def test_a_rep_submits_her_week_and_her_manager_reads_the_team_and_comments(
    api: Api,
) -> None:
    for user, role, team_id in (
        ("ana", "sales_rep", "north"),
        ("bob", "sales_rep", "south"),
        ("boss", "manager", "north"),
        ("cy", "manager", "south"),
        ("ida", "analyst", None),
    ):
        await console_user(api, user, role, team=team_id)
    ana_api = api.as_user("ana", Role.SALES_REP, team="north")
    bob_api = api.as_user("bob", Role.SALES_REP, team="south")
    ada = (
        await ok(await ana_api.post("/customers", json={"name": "Ada", "owner_id": "ana"}), 201)
    )["id"]
    for channel in ("call", "call", "email"):
        said = {"channel": channel, "direction": "outbound", "summary": "talked"}
        await ok(await ana_api.post(f"/customers/{ada}/interactions", json=said), 201)
    await ok(await ana_api.post("/leads", json={"name": "Lead one"}), 201)
    await ok(await bob_api.post("/leads", json={"name": "Lead of Bob"}), 201)
    await caught_up(api.platform, "activities_work_days")

    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        week = await ana.get("/console/reports/work")
        assert week.status_code == 200, week.text
        assert "Weekly report" in week.text
        assert "Ana, 2026-W10" in week.text
        assert figure(week.text, "Calls") == "2"
        assert figure(week.text, "E-mails") == "1"
        assert figure(week.text, "Leads created") == "1"
        assert figure(week.text, "Opportunities won") == "0"
        assert figure(week.text, "Payments collected") == "—"
        assert 'href="/console/reports/work?period=2026-W09" rel="prev"' in week.text
        assert 'href="/console/reports/work?period=2026-W11" rel="next"' in week.text
        assert 'href="/console/reports/work?period=2026-03-02"' in week.text  # the day
        day = await ana.get("/console/reports/work?period=2026-03-02")
        assert "Daily report" in day.text
        assert figure(day.text, "Calls") == "2"
        month = await ana.get("/console/reports/work?period=2026-03")
        assert "Monthly report" in month.text
        assert figure(month.text, "Leads created") == "1"
        empty = await ana.get("/console/reports/work?period=2026-W09")
        assert figure(empty.text, "Calls") == "0"
        assert "Not submitted yet." in week.text
        assert "/reports/work/team" not in week.text  # a rep has no team view link
        assert "/comments" not in week.text  # no comment form on one's own report

        submitted = await ana.post(
            "/console/reports/work/2026-W10",
            data={"csrf": csrf, "summary": "Two calls with Ada", "plan": "Send Ada a quote"},
        )
        page = await followed(ana, submitted)
        assert "Report submitted." in page.text
        assert ">Two calls with Ada</textarea>" in page.text
        assert "Revision 1" in page.text
        assert "Change the report" in page.text
        body = await ok(await ana_api.get("/reports/work", params={**WEEK, "user_id": "ana"}))
        assert (body["items"][0]["summary"], body["items"][0]["plan"]) == (
            "Two calls with Ada",
            "Send Ada a quote",
        )

        mine = await ana.get("/console/reports/work/csv?period=2026-W10&person=ana")
        theirs = await ana_api.get(
            "/reports/work", params={**WEEK, "user_id": "ana", "format": "csv"}
        )
        assert mine.status_code == 200
        assert theirs.status_code == 200
        assert mine.text == theirs.text
        assert mine.headers["content-type"] == theirs.headers["content-type"]
        assert "Two calls with Ada" in mine.text

        # a rep reads her own only; the form needs its token; the period names the field
        assert (await ana.get("/console/reports/work?person=bob")).status_code == 403
        assert (await ana.get("/console/reports/work/csv?person=bob")).status_code == 403
        team = await ana.get("/console/reports/work/team?period=2026-W10")
        assert team.status_code == 200
        assert "person=bob" not in team.text
        no_token = await ana.post("/console/reports/work/2026-W10", data={"summary": "x"})
        assert no_token.status_code == 403
        wrong = await ana.get("/console/reports/work?period=2026-W60")
        assert wrong.status_code == 422
        assert "the period" in wrong.text
        bad = await ana.post("/console/reports/work/next-week", data={"csrf": csrf})
        assert bad.status_code == 422
        assert "the period" in bad.text
        unknown = await ana.get("/console/reports/work?colour=red")
        assert unknown.status_code == 422
        assert "colour" in unknown.text
        steal = await ana.post(
            "/console/reports/work/bob/2026-W10/comments", data={"csrf": csrf, "comment": "hi"}
        )
        assert steal.status_code in (403, 404)

    async with own_client(api) as boss:
        csrf = await sign_in(boss, "boss")
        team = await boss.get("/console/reports/work/team?period=2026-W10")
        assert team.status_code == 200
        assert "Team work reports, 2026-W10" in team.text
        assert 'href="/console/reports/work?period=2026-W10&amp;person=ana">Ana</a>' in team.text
        assert "person=bob" not in team.text  # another team's
        assert "submitted" in team.text
        csv_page = await boss.get("/console/reports/work/csv?period=2026-W10")
        boss_api = api.as_user("boss", Role.MANAGER, team="north")
        csv_api = await boss_api.get("/reports/work", params={**WEEK, "format": "csv"})
        assert csv_page.text == csv_api.text

        report = await boss.get("/console/reports/work?period=2026-W10&person=ana")
        assert "Two calls with Ada" in report.text
        assert "Send Ada a quote" in report.text
        assert '<textarea id="summary"' not in report.text  # not his to change
        assert 'action="/console/reports/work/ana/2026-W10/comments"' in report.text
        blank = await boss.post(
            "/console/reports/work/ana/2026-W10/comments", data={"csrf": csrf, "comment": " "}
        )
        assert blank.status_code == 422
        assert "the comment" in blank.text
        commented = await boss.post(
            "/console/reports/work/ana/2026-W10/comments",
            data={"csrf": csrf, "comment": "Good week, send the quote by Friday"},
        )
        page = await followed(boss, commented)
        assert "Comment added." in page.text
        assert "Good week, send the quote by Friday" in page.text
        body = await ok(await boss_api.get("/reports/work", params={**WEEK, "user_id": "ana"}))
        assert [(c["by"], c["comment"]) for c in body["items"][0]["comments"]] == [
            ("boss", "Good week, send the quote by Friday")
        ]
        not_submitted = await boss.get("/console/reports/work?period=2026-W09&person=ana")
        assert "/comments" not in not_submitted.text
        assert "A comment can be added once the report is submitted." in not_submitted.text

    async with own_client(api) as ana:
        await sign_in(ana, "ana")
        page = await ana.get("/console/reports/work?period=2026-W10")
        assert "Good week, send the quote by Friday" in page.text

    async with own_client(api) as cy:  # the south team's manager
        csrf = await sign_in(cy, "cy")
        assert (await cy.get("/console/reports/work?person=ana")).status_code == 404
        refused = await cy.post(
            "/console/reports/work/ana/2026-W10/comments", data={"csrf": csrf, "comment": "hm"}
        )
        assert refused.status_code == 404
        unsubmitted = await cy.post(
            "/console/reports/work/bob/2026-W10/comments", data={"csrf": csrf, "comment": "hm"}
        )
        assert unsubmitted.status_code == 404  # bob submitted nothing

    async with own_client(api) as ida:  # an analyst reads, without forms
        csrf = await sign_in(ida, "ida")
        report = await ida.get("/console/reports/work?period=2026-W10&person=ana")
        assert report.status_code == 200
        assert "Two calls with Ada" in report.text
        assert '<form method="post" action="/console/reports/work/' not in report.text
        own = await ida.get("/console/reports/work")
        assert "<textarea" not in own.text
        team = await ida.get("/console/reports/work/team?period=2026-W10")
        assert "person=ana" in team.text
        assert "person=bob" in team.text
        refused = await ida.post(
            "/console/reports/work/2026-W10", data={"csrf": csrf, "summary": "x"}
        )
        assert refused.status_code == 403


async def _warn(api: Api, clock: ManualClock, cid: str, *codes: str) -> str:
    """The customer's churn risk becomes high; the retention task it opened."""
    verdict = Assessment.from_dict(
        {
            "score": 85,
            "level": "high",
            "p_alive": 0.1,
            "reasons": [{"code": c, "text": c, "weight": 1.0} for c in codes],
        }
    )
    ctx = CommandContext(actor="process:test", role=SYSTEM_ROLE, tenant="default", now=clock.now())
    head = await api.platform.store.head_position()
    await api.platform.runtime.commands.execute(RecordAssessment(cid, verdict, head), ctx)
    admin = api.as_user("root", Role.ADMIN)
    for _ in range(200):
        page = await ok(await admin.get("/tasks", params={"kind": "retention", "customer_id": cid}))
        if page["total"]:
            return str(page["items"][0]["id"])
        await asyncio.sleep(0.05)
    raise AssertionError("no retention task opened")


@pytest.mark.contexts("customer", "activities", "analytics")
async def test_the_retention_report_per_rep_and_reason_in_each_readers_language(
    api: Api, clock: ManualClock
) -> None:
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "bob", "sales_rep", team="north")
    await console_user(api, "chief", "admin", locale="zh-CN")
    admin = api.as_user("root", Role.ADMIN)
    customers: list[str] = []
    for owner in ("ana", "ana", "bob"):
        body = {"name": "Ada Lovelace", "email": f"ada-{len(customers)}@example.com"}
        answer = await admin.post("/customers", json={**body, "owner_id": owner})
        customers.append((await ok(answer, 201))["id"])
    t1 = await _warn(api, clock, customers[0], "complaints")
    t2 = await _warn(api, clock, customers[1], "complaints", "no_contact")
    await _warn(api, clock, customers[2], "no_contact")
    clock.set(T0 + timedelta(hours=4))
    ana_api = api.as_user("ana", Role.SALES_REP, team="north")
    await ok(await ana_api.post(f"/tasks/{t1}/complete", json={"outcome": "won_back"}))
    clock.set(T0 + timedelta(hours=6))
    await ok(await ana_api.post(f"/tasks/{t2}/complete", json={"outcome": "lost"}))
    await caught_up(api.platform, "activities_retention")
    window = "from=2026-03-02&to=2026-03-02"

    async with own_client(api) as ana:
        await sign_in(ana, "ana")
        page = await ana.get(f"/console/reports/retention?{window}")
        assert page.status_code == 200, page.text
        assert "Retention report" in page.text
        rows = re.findall(r"<tr><th scope=\"row\"[^>]*>([^<]*)</th>(.*?)</tr>", page.text, re.S)
        cells = {name: re.findall(r'class="num"[^>]*>([^<]*)<', rest) for name, rest in rows}
        assert cells["Ana"] == ["2", "2", "5", "1", "1"]  # warned, contacted, median h, kept, lost
        assert "Bob" not in cells  # a rep reads her own warnings
        assert cells["Complained recently"] == ["2", "2", "5", "1", "1"]
        assert cells["No contact for a long time"] == ["1", "1", "6", "0", "1"]
        mine = await ana.get(f"/console/reports/retention/csv?{window}")
        api_csv = await ana_api.get(
            "/reports/retention", params={"from": "2026-03-02", "to": "2026-03-02", "format": "csv"}
        )
        assert mine.status_code == 200
        assert mine.text == api_csv.text
        assert "rep,ana," in mine.text
        wrong = await ana.get("/console/reports/retention?from=2026-03-05&to=2026-03-01")
        assert wrong.status_code == 422
        assert "the last day" in wrong.text
        assert (await ana.get("/console/reports/retention?from=soon")).status_code == 422
        outside = await ana.get("/console/reports/retention?from=2026-04-01&to=2026-04-30")
        assert "No churn warning in these days." in outside.text

    async with own_client(api) as chief:  # an admin reads everyone's, in Chinese
        await sign_in(chief, "chief")
        page = await chief.get(f"/console/reports/retention?{window}")
        assert "挽留报告" in page.text
        assert "按销售" in page.text
        assert "按原因" in page.text
        assert "近期有投诉" in page.text
        assert "长时间没有联系" in page.text
        rows = re.findall(r"<tr><th scope=\"row\"[^>]*>([^<]*)</th>(.*?)</tr>", page.text, re.S)
        cells = {name: re.findall(r'class="num"[^>]*>([^<]*)<', rest) for name, rest in rows}
        assert cells["Bob"] == ["1", "0", "—", "0", "0"]
        assert cells["合计"] == ["3", "2", "5", "1", "1"]
        admin_csv = await api.as_user("chief", Role.ADMIN).get(
            "/reports/retention", params={"from": "2026-03-02", "to": "2026-03-02", "format": "csv"}
        )
        assert (await chief.get(f"/console/reports/retention/csv?{window}")).text == admin_csv.text
        assert "rep,bob," in admin_csv.text
        assert "rep,ana," in admin_csv.text


@pytest.mark.contexts("customer", "activities")
async def test_the_care_rules_are_listed_saved_and_refused_naming_the_field(api: Api) -> None:
    await console_user(api, "root", "admin")
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "wang", "manager", team="east", locale="zh-CN")
    rules = {
        "rules.0.occasion": "birthday",
        "rules.0.days_before": "1",
        "rules.0.task_kind": "email",
        "rules.0.enabled": "true",
        "rules.1.occasion": "after_purchase",
        "rules.1.days": "7",
        "rules.1.days_before": "0",
        "rules.1.task_kind": "call",
        "rules.1.enabled": "true",
        "rules.1.template_en": "Hello {customer_name}: {days} days since the order.",
        "rules.1.template_zh": "{customer_name}您好：下单已{days}天。",
        "rules.2.occasion": "",  # a blank row: no rule
        "rules.3.occasion": "no_contact",
        "rules.3.days": "60",
        "rules.3.task_kind": "meeting",
    }
    async with own_client(api) as root:
        csrf = await sign_in(root, "root")
        page = await root.get("/console/care")
        assert page.status_code == 200, page.text
        assert "Customer care rules" in page.text
        assert '<option value="contract_end" selected>Service contract ends</option>' in page.text
        assert 'name="rules.6.occasion"' in page.text  # two rules and five blank rows
        saved = await root.post(
            "/console/care",
            data={"csrf": csrf, "time_zone": "Asia/Shanghai", "pool_team_id": "east", **rules},
        )
        page = await followed(root, saved)
        assert "Care rules saved." in page.text
        assert 'value="Asia/Shanghai"' in page.text
        assert "Hello {customer_name}: {days} days since the order." in page.text
        body = await ok(await api.as_user("root", Role.ADMIN).get("/care/rules"))
        assert (body["time_zone"], body["pool_team_id"]) == ("Asia/Shanghai", "east")
        assert [
            (r["occasion"], r["days_before"], r["days"], r["task_kind"], r["enabled"])
            for r in body["rules"]
        ] == [
            ("birthday", 1, None, "email", True),
            ("after_purchase", 0, 7, "call", True),
            ("no_contact", 0, 60, "meeting", False),
        ]
        assert body["rules"][1]["template_zh"] == "{customer_name}您好：下单已{days}天。"

        for change, field in (
            ({"rules.1.days": ""}, "rules.1.days"),  # after a purchase: how many days
            ({"rules.0.days_before": "99"}, "rules.0.days_before"),
            ({"rules.1.template_en": "Hi {name}"}, "rules.1.template_en"),
            ({"rules.0.task_kind": "dance"}, "rules.0.task_kind"),
            ({"rules.3.occasion": "birthday"}, "rules.3.occasion"),  # named twice (form row 4)
            ({"time_zone": "Mars/Olympus"}, "time_zone"),
            ({"colour": "red"}, "colour"),
        ):
            sent = {"csrf": csrf, "time_zone": "UTC", **rules, **change}
            refused = await root.post("/console/care", data=sent)
            assert refused.status_code == 422, (change, refused.text)
            alert = re.search(r'<p class="notice error" role="alert">([^<]*)</p>', refused.text)
            assert alert is not None, change
            assert field in alert.group(1), (change, alert.group(1))
            if field != "colour":  # the form again, the named field marked, the input kept
                assert re.search(f'id="{re.escape(field)}"[^>]*aria-invalid="true"', refused.text)
            kept = "Hi {name}" if "rules.1.template_en" in change else rules["rules.1.template_en"]
            assert f">{kept}</textarea>" in refused.text
        unchanged = await ok(await api.as_user("root", Role.ADMIN).get("/care/rules"))
        assert unchanged == body
        no_token = await root.post("/console/care", data={"time_zone": "UTC", **rules})
        assert no_token.status_code == 403

    async with own_client(api) as wang:  # a manager may set them too (the command's rule)
        csrf = await sign_in(wang, "wang")
        page = await wang.get("/console/care")
        assert "客户关怀规则" in page.text
        assert "保存规则" in page.text
        assert "生日" in page.text
        assert 'href="/console/care"' in page.text  # in the navigation
        saved = await wang.post("/console/care", data={"csrf": csrf, "time_zone": "UTC", **rules})
        assert "关怀规则已保存。" in (await followed(wang, saved)).text

    async with own_client(api) as ana:  # a rep reads them, without the form
        csrf = await sign_in(ana, "ana")
        page = await ana.get("/console/care")
        assert page.status_code == 200
        assert "Birthday" in page.text
        assert "Managers and admins change these rules." in page.text
        assert 'action="/console/care"' not in page.text
        assert 'href="/console/care"' not in page.text  # not in a rep's navigation
        refused = await ana.post("/console/care", data={"csrf": csrf, "time_zone": "UTC", **rules})
        assert refused.status_code == 403
        wrong = {"csrf": csrf, "time_zone": "UTC", **rules, "rules.0.days_before": "99"}
        invalid = await ana.post("/console/care", data=wrong)  # the error page, no form for her
        assert invalid.status_code == 422
        assert 'action="/console/care"' not in invalid.text


def test_periods_are_named_by_their_keys_and_rules_read_from_the_form() -> None:
    from datetime import date

    week = period_of(None, date(2026, 3, 4))
    assert (week.kind, week.key, week.start, week.end) == (
        WorkPeriod.WEEK,
        "2026-W10",
        date(2026, 3, 2),
        date(2026, 3, 8),
    )
    assert (week.previous, week.following) == ("2026-W09", "2026-W11")
    assert week.of(WorkPeriod.MONTH) == "2026-03"
    assert week.of(WorkPeriod.DAY) == "2026-03-02"
    year_end = period_of("2026-12", date(2026, 3, 4))
    assert (year_end.previous, year_end.following) == ("2026-11", "2027-01")
    assert period_of("2027-01-01", date(2026, 3, 4)).previous == "2026-12-31"
    for wrong in ("2026-W54", "2026-13", "tomorrow", "0001-01-01"):
        with pytest.raises(InvalidCommand) as e:
            period_of(wrong, date(2026, 3, 4))
        assert e.value.field == "period"
    assert field_label(Translator("en"), "rules.1.days").startswith("Rule 2, Days after")
    assert (
        field_label(Translator("zh-CN"), "time_zone")
        == "时区（IANA，例如 Asia/Shanghai） (time_zone)"
    )
    sent = {
        "rules.0.occasion": "birthday",
        "rules.1.occasion": "",
        "rules.2.occasion": "anniversary",
    }
    assert form_field(sent, "rules.1.days") == "rules.2.days"
    assert form_field(sent, "time_zone") == "time_zone"
    rules = rules_from_form(
        {"rules.0.occasion": "", "rules.1.occasion": "birthday", "rules.1.enabled": "true"}
    )
    assert [(r.occasion, r.days_before, r.enabled) for r in rules] == [
        (CareOccasion.BIRTHDAY, 0, True)
    ]
    with pytest.raises(InvalidCommand) as e:
        rules_from_form({"rules.0.occasion": "birthday", "rules.0.days_before": "x"})
    assert e.value.field == "rules.0.days_before"


@pytest.mark.contexts("customer", "sales", "activities")
async def test_a_reps_daily_report_counts_the_days_of_her_time_zone(api: Api) -> None:
    """Ana lives in Shanghai (UTC+8): her call at 17:00 UTC on 1 March was at 01:00 on her
    2 March, and her daily report of the 2nd counts it, saying whose days they are."""
    await console_user(api, "ana", "sales_rep", team="north")
    ana_api = api.as_user("ana", Role.SALES_REP, team="north")
    ada = (
        await ok(await ana_api.post("/customers", json={"name": "Ada", "owner_id": "ana"}), 201)
    )["id"]
    said = {
        "channel": "call",
        "direction": "outbound",
        "summary": "talked",
        "occurred_at": "2026-03-01T17:00:00Z",
    }
    await ok(await ana_api.post(f"/customers/{ada}/interactions", json=said), 201)
    await caught_up(api.platform, "activities_work_days")
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        utc = await ana.get("/console/reports/work?period=2026-03-01")
        assert figure(utc.text, "Calls") == "1"
        assert "(days in UTC)" in utc.text
        saved = await ana.post(
            "/console/notifications/preferences",
            data={"csrf": csrf, "time_zone": "Asia/Shanghai"},
        )
        assert saved.status_code == 303, saved.text
        first = await ana.get("/console/reports/work?period=2026-03-01")
        assert figure(first.text, "Calls") == "0"
        second = await ana.get("/console/reports/work?period=2026-03-02")
        assert figure(second.text, "Calls") == "1"
        assert "(days in Asia/Shanghai)" in second.text
        csv_day = await ana.get("/console/reports/work/csv?period=2026-03-02")
        assert csv_day.status_code == 200, csv_day.text
        (row,) = csv.DictReader(io.StringIO(csv_day.text))
        assert (row["period"], row["interactions.call"]) == ("2026-03-02", "1")  # her day
