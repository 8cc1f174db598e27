"""The console's calendar by day, week and month and a manager's team calendar, planning a
task from a lead's, an opportunity's and a ticket's page, recurring tasks and reassigning,
over HTTP: what each view shows (a call, a meeting, a care date's task, a field visit, each
linking to its record), its previous/next/today links, whose calendar a role may open (a rep
not another's nor a team's, a manager only their own team's and its people's), and each new
form's happy path and refusals (no token, a value the page does not know, a record that does
not exist, a person one may not give tasks to)."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from crm.activities.application.calendar import Entry
from crm.activities.application.task_commands import ScheduleTask
from crm.activities.domain.tasks import TaskPlan
from crm.console.tasks import month_weeks, period, recurrence_of, shifted
from crm.console.users import system_context
from crm.events.activities import Frequency, SubjectKind, TaskKind
from crm.kernel.auth import Role
from crm.kernel.errors import InvalidCommand
from tests.conftest import Api
from tests.support.console import UUID, console_user, csrf_of, followed, own_client, sign_in
from tests.support.reads import caught_up

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.contexts("customer", "sales", "service-desk", "activities"),
]

EUR = {"amount": "1000.00", "currency": "EUR"}


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _records(api: Api) -> dict[str, str]:
    """Ana's customer, lead and opportunity; a ticket of agent Tom with his field visit on
    Tuesday 3 March 2026 (T0 is Monday 2 March, 09:00 UTC)."""
    rep = api.as_user("ana", Role.SALES_REP, team="north")
    agent = api.as_user("tom", Role.AGENT, team="north")
    cid = (await ok(await rep.post("/customers", json={"name": "Ada", "owner_id": "ana"}), 201))[
        "id"
    ]
    lead = (await ok(await rep.post("/leads", json={"name": "Grace Lead"}), 201))["id"]
    deal = {"customer_id": cid, "name": "Boiler deal", "amount": EUR}
    deal["expected_close_date"] = "2026-06-30"
    opp = (await ok(await rep.post("/opportunities", json=deal), 201))["id"]
    ticket = {
        "customer_id": cid,
        "kind": "service_request",
        "channel": "phone",
        "priority": "normal",
        "subject": "Boiler knocks",
        "description": "it knocks",
    }
    tid = (await ok(await agent.post("/tickets", json=ticket), 201))["id"]
    await ok(await agent.post(f"/tickets/{tid}/assign", json={"agent_id": "tom", "group_id": "g"}))
    visit = {
        "ticket_id": tid,
        "customer_id": cid,
        "technician_id": "tom",
        "start": "2026-03-03T14:00:00+00:00",
        "end": "2026-03-03T15:00:00+00:00",
        "address": "3 Elm Street",
    }
    vid = (await ok(await agent.post("/visits", json=visit), 201))["id"]
    await caught_up(api.platform, "activities_references", "activities_visits")
    return {"customer": cid, "lead": lead, "opportunity": opp, "ticket": tid, "visit": vid}


def _plan(csrf: str, **fields: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "kind": "call",
        "title": "Call Ada",
        "due_at": "2026-03-03T10:00",
        **fields,
    }


async def _people(api: Api) -> None:
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "ben", "sales_rep", team="north")
    await console_user(api, "tom", "agent", team="north")
    await console_user(api, "boss", "manager", team="north")
    await console_user(api, "sam", "sales_rep", team="south")
    await console_user(api, "sue", "manager", team="south")
    await console_user(api, "root", "admin")
    await console_user(api, "lin", "manager", team="north", locale="zh-CN")


async def test_the_calendar_by_day_week_and_month_and_the_team_calendar(api: Api) -> None:
    await _people(api)
    ids = await _records(api)
    runtime = api.platform.runtime
    care = ScheduleTask(
        TaskPlan(
            kind=TaskKind.CALL,
            title="Ada's birthday",
            due_at=datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
            assignee_id="ana",
        ),
        SubjectKind.CUSTOMER,
        ids["customer"],
        origin="care:birthday:2026-03-04",
        team_id="north",
    )
    await runtime.commands.execute(care, system_context("default", runtime.clock.now()))
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        await followed(
            ana, await ana.post("/console/tasks", data=_plan(csrf, customer_id=ids["customer"]))
        )
        meeting = _plan(csrf, customer_id=ids["customer"], kind="meeting", title="Demo for Ada")
        await followed(
            ana, await ana.post("/console/tasks", data={**meeting, "due_at": "2026-03-20T15:00"})
        )

        day = await ana.get("/console/calendar?view=day&date=2026-03-03")
        assert day.status_code == 200, day.text
        assert "Call Ada" in day.text
        assert "Demo for Ada" not in day.text
        assert day.text.count("Nothing planned.") == 0
        assert (
            'href="/console/calendar?view=day&amp;date=2026-03-02" rel="prev">Previous day'
            in day.text
        )
        assert (
            'href="/console/calendar?view=day&amp;date=2026-03-04" rel="next">Next day' in day.text
        )
        assert 'href="/console/calendar?view=day&amp;date=2026-03-02">Today' in day.text
        task_link = re.search(rf'<a href="/console/tasks/({UUID})">Call Ada</a>', day.text)
        assert task_link is not None
        assert "Ada&#39;s birthday" not in day.text  # the next day's

        week = await ana.get("/console/calendar")
        assert "Week 2026-W10" in week.text
        assert "Call Ada" in week.text
        assert "Ada&#39;s birthday" in week.text
        assert '<span class="badge">Care date</span>' in week.text
        assert '<span class="badge">Call</span>' in week.text
        assert "Demo for Ada" not in week.text
        assert 'href="/console/calendar?week=2026-W11" rel="next"' in week.text

        month = await ana.get("/console/calendar?view=month&date=2026-03-17")
        assert month.status_code == 200
        assert "Month 2026-03" in month.text
        assert "Call Ada" in month.text
        assert "Demo for Ada" in month.text
        assert '<span class="badge">Meeting</span>' in month.text
        assert month.text.count("<tr>") == 1 + 6  # the heading and weeks 9 to 14
        assert 'href="/console/calendar?view=month&amp;date=2026-02-01" rel="prev"' in month.text
        assert 'href="/console/calendar?view=month&amp;date=2026-04-01" rel="next"' in month.text
        assert 'href="/console/calendar?view=day&amp;date=2026-03-20">20</a>' in month.text
        april = await ana.get("/console/calendar?view=month&date=2026-04-01")
        assert "Call Ada" not in april.text
        assert "Demo for Ada" not in april.text

        # a rep sees neither a team's nor another person's calendar
        assert (await ana.get("/console/calendar?team=north")).status_code == 403
        assert (await ana.get("/console/calendar?person=ben")).status_code == 403
        wrong_view = await ana.get("/console/calendar?view=year")
        assert wrong_view.status_code == 422
        assert "the view" in wrong_view.text
        wrong_day = await ana.get("/console/calendar?view=day&date=3%20March")
        assert wrong_day.status_code == 422
        assert "the day" in wrong_day.text
        assert (await ana.get("/console/calendar?colour=red")).status_code == 422

    async with own_client(api) as tom:
        await sign_in(tom, "tom")
        mine = await tom.get("/console/calendar?view=day&date=2026-03-03")
        assert f'href="/console/tickets/{ids["ticket"]}">the ticket</a>' in mine.text
        assert "Field visit" in mine.text
        assert "Call Ada" not in mine.text

    async with own_client(api) as boss:
        await sign_in(boss, "boss")
        team = await boss.get("/console/calendar?team=north")
        assert team.status_code == 200, team.text
        assert "team north" in team.text
        assert "Call Ada" in team.text
        assert "Ada&#39;s birthday" in team.text
        assert f'href="/console/tickets/{ids["ticket"]}">the ticket</a>' in team.text
        assert "· Ana</span>" in team.text
        assert "· Tom</span>" in team.text
        assert 'href="/console/calendar?week=2026-W11&amp;team=north" rel="next"' in team.text
        assert 'id="feed-url"' not in team.text  # the feed is one's own only
        team_month = await boss.get("/console/calendar?view=month&team=north")
        assert "Call Ada" in team_month.text
        assert (
            "Call Ada"
            in (await boss.get("/console/calendar?person=ana&view=day&date=2026-03-03")).text
        )
        assert (await boss.get("/console/calendar?team=south")).status_code == 403
        assert (await boss.get("/console/calendar?person=sam")).status_code == 403
        both = await boss.get("/console/calendar?team=north&person=ana")
        assert both.status_code == 422
        assert "the team" in both.text

    async with own_client(api) as sue:
        await sign_in(sue, "sue")
        assert (await sue.get("/console/calendar?team=north")).status_code == 403
        south = await sue.get("/console/calendar?team=south")
        assert south.status_code == 200
        assert "Call Ada" not in south.text

    async with own_client(api) as lin:
        await sign_in(lin, "lin")
        zh = await lin.get("/console/calendar?view=month&team=north")
        assert zh.status_code == 200, zh.text
        for text in (
            "上个月",
            "本月",
            "下个月",
            ">月</a>",
            "团队 north",
            "客户关怀",
            "上门服务",
            "周一",
        ):
            assert text in zh.text, text
        assert "Ada&#39;s birthday" in zh.text

    async with own_client(api) as root:
        await sign_in(root, "root")
        assert "Call Ada" in (await root.get("/console/calendar?team=north")).text
        assert (await root.get("/console/calendar?team=nowhere")).status_code == 404
        assert (await root.get("/console/calendar?person=nobody")).status_code == 404


async def test_a_task_is_planned_from_a_lead_an_opportunity_and_a_ticket(api: Api) -> None:
    await _people(api)
    ids = await _records(api)
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        for kind in ("lead", "opportunity"):
            record = await ana.get(
                f"/console/{'leads' if kind == 'lead' else 'opportunities'}/{ids[kind]}"
            )
            link = f"/console/tasks/new?subject_kind={kind}&amp;subject_id={ids[kind]}"
            assert f'href="{link}">Plan a task</a>' in record.text
            form = await ana.get(link.replace("&amp;", "&"))
            assert form.status_code == 200, form.text
            assert f'name="subject_kind" value="{kind}"' in form.text
            assert 'name="customer_id"' not in form.text
            name = "Grace Lead" if kind == "lead" else "Boiler deal"
            assert name in form.text
            data = _plan(csrf, subject_kind=kind, subject_id=ids[kind], title=f"About {name}")
            planned = await ana.post("/console/tasks", data=data)
            page = await followed(ana, planned)
            assert f"About {name}" in page.text
            page_of = "leads" if kind == "lead" else "opportunities"
            assert f'href="/console/{page_of}/{ids[kind]}"' in page.text

        no_id = await ana.get("/console/tasks/new?subject_kind=lead")
        assert no_id.status_code == 422
        assert (
            await ana.get(
                "/console/tasks/new?subject_kind=lead&subject_id=00000000-0000-4000-8000-000000000000"
            )
        ).status_code == 404
        nowhere = await ana.post(
            "/console/tasks",
            data=_plan(
                csrf, subject_kind="lead", subject_id="00000000-0000-4000-8000-000000000000"
            ),
        )
        assert nowhere.status_code == 422
        assert "does not exist" in nowhere.text
        missing = await ana.post("/console/tasks", data=_plan(csrf, subject_kind="opportunity"))
        assert missing.status_code == 422
        assert "the opportunity the task is about" in missing.text
        wrong_kind = await ana.post(
            "/console/tasks", data=_plan(csrf, subject_kind="invoice", subject_id=ids["lead"])
        )
        assert wrong_kind.status_code == 422
        assert "what it is about" in wrong_kind.text
        no_token = await ana.post(
            "/console/tasks",
            data={
                k: v
                for k, v in _plan(csrf, subject_kind="lead", subject_id=ids["lead"]).items()
                if k != "csrf"
            },
        )
        assert no_token.status_code == 403

    async with own_client(api) as tom:
        csrf = await sign_in(tom, "tom")
        ticket = await tom.get(f"/console/tickets/{ids['ticket']}")
        link = f"/console/tasks/new?subject_kind=ticket&amp;subject_id={ids['ticket']}"
        assert f'href="{link}">Plan a task</a>' in ticket.text
        form = await tom.get(link.replace("&amp;", "&"))
        assert "Boiler knocks" in form.text
        data = _plan(csrf, subject_kind="ticket", subject_id=ids["ticket"], title="Bring the part")
        page = await followed(tom, await tom.post("/console/tasks", data=data))
        assert "Bring the part" in page.text
        assert f'href="/console/tickets/{ids["ticket"]}"' in page.text


async def test_a_recurring_task_is_planned_and_reassigned_from_its_page(api: Api) -> None:
    await _people(api)
    ids = await _records(api)
    async with own_client(api) as boss, own_client(api) as ana, own_client(api) as ben:
        csrf = await sign_in(boss, "boss")
        form = await boss.get(f"/console/tasks/new?customer={ids['customer']}")
        assert '<option value="weekly">week</option>' in form.text
        data = _plan(
            csrf,
            customer_id=ids["customer"],
            title="Weekly check-in",
            assignee_id="ana",
            frequency="weekly",
            interval="2",
            until="2026-04-30",
        )
        planned = await boss.post("/console/tasks", data=data)
        page = await followed(boss, planned)
        task = planned.headers["location"].split("?")[0]
        assert "Every 2 × week, until 30 Apr 2026" in page.text
        assert 'action="' + task + '/reassign"' in page.text
        assert '<option value="ana" selected>Ana</option>' in page.text
        assert '<option value="sam"' not in page.text  # another team's rep

        refused = [
            ({"until": "soon"}, "the last day"),
            ({"until": "2026-03-01"}, "the last day"),
            ({"frequency": "yearly"}, "how often"),
            ({"frequency": "", "until": "2026-04-30"}, "how often"),
            ({"interval": "0"}, "the interval"),
        ]
        for fields, label in refused:
            wrong = await boss.post("/console/tasks", data={**data, **fields})
            assert wrong.status_code == 422, (fields, wrong.text)
            assert label in wrong.text, fields

        ana_csrf = await sign_in(ana, "ana")
        assert "Weekly check-in" in (await ana.get(task)).text
        assert 'action="' + task + '/reassign"' not in (await ana.get(task)).text
        assert (
            await ana.post(f"{task}/reassign", data={"csrf": ana_csrf, "assignee_id": "ben"})
        ).status_code == 403

        other_team = await boss.post(f"{task}/reassign", data={"csrf": csrf, "assignee_id": "sam"})
        assert other_team.status_code == 422
        assert "whom it is for" in other_team.text
        assert (await boss.post(f"{task}/reassign", data={"assignee_id": "ben"})).status_code == 403
        moved = await boss.post(f"{task}/reassign", data={"csrf": csrf, "assignee_id": "ben"})
        page = await followed(boss, moved)
        assert re.search(r"<dt>For</dt><dd>Ben</dd>", page.text)

        await sign_in(ben, "ben")
        assert "Weekly check-in" in (await ben.get(task)).text
        assert (await ana.get(task)).status_code == 404

        ben_csrf = csrf_of((await ben.get(task)).text)
        done = await ben.post(f"{task}/complete", data={"csrf": ben_csrf, "outcome": "done"})
        page = await followed(ben, done)
        assert "17 Mar 2026" in page.text  # the next occurrence, two weeks on
        assert "<dt>Occurrence</dt><dd>2</dd>" in page.text


def test_periods_their_shifts_the_month_grid_and_the_recurrence_read_from_the_form() -> None:
    assert period("day", date(2026, 3, 4)) == (date(2026, 3, 4), date(2026, 3, 5))
    assert period("week", date(2026, 3, 4)) == (date(2026, 3, 2), date(2026, 3, 9))
    assert period("month", date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 3, 1))
    assert period("month", date(2026, 12, 31)) == (date(2026, 12, 1), date(2027, 1, 1))
    assert shifted("month", date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert shifted("month", date(2026, 12, 1), 1) == date(2027, 1, 1)
    assert shifted("week", date(2026, 3, 2), 1) == date(2026, 3, 9)
    assert shifted("day", date(2026, 2, 28), 1) == date(2026, 3, 1)
    at = datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
    late = Entry("task", "t", "late", at, at, "open", None)
    weeks = month_weeks(date(2026, 2, 1), [late], UTC)
    assert [len(w) for w in weeks] == [7] * 5  # 26 Jan to 1 Mar
    assert weeks[0][0].day == date(2026, 1, 26)
    assert weeks[-1][-1].day == date(2026, 3, 1)
    assert weeks[4][5].entries == [late]
    from zoneinfo import ZoneInfo

    shanghai = month_weeks(date(2026, 2, 1), [late], ZoneInfo("Asia/Shanghai"))
    assert shanghai[4][6].entries == [late]  # 1 March there
    assert recurrence_of("", 1, "") is None
    r = recurrence_of("monthly", 3, "2026-12-31")
    assert r is not None
    assert r.frequency is Frequency.MONTHLY
    assert (r.interval, r.until) == (3, date(2026, 12, 31))
    for args, field in ((("weekly", 1, "31/12"), "until"), (("hourly", 1, ""), "frequency")):
        with pytest.raises(InvalidCommand) as refused:
            recurrence_of(*args)
        assert refused.value.field == field
