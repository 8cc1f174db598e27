"""The console's tasks, notifications and calendar pages over HTTP: a rep plans a call from
the customer page, finds it in My tasks (filtered, overdue highlighted once its time has
passed), completes it as reached with the next meeting planned in the same step, and the
call shows in the customer's timeline; reschedule and cancel; the bell counts the
notification a manager's assignment raised, in the reader's language, and goes down as she
marks it (or all) read; the preferences form; the calendar's week and the feed's address;
and the access rules through the pages (another rep's task is the 404 page, a rep naming
someone else is refused, an analyst reads without forms, a form without its token is
refused, a value the page does not know is a 422 naming it)."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar

from crm.activities.application.calendar import Entry
from crm.console.tasks import from_form, iso_week, week_days, week_name, window_bounds
from crm.kernel.clock import ManualClock
from crm.kernel.errors import InvalidCommand
from tests.conftest import Api
from tests.support.console import (
    UUID,
    console_user,
    csrf_of,
    followed,
    own_client,
    sign_in,
    until_shown,
)

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "activities")]


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _customer(api: Api, owner: str, name: str = "Ada Lovelace") -> str:
    boss = api.as_user("boss")
    body = {"name": name, "email": f"{name.split()[0].lower()}@example.com", "owner_id": owner}
    return (await ok(await boss.post("/customers", json=body), 201))["id"]


def _plan(csrf: str, customer_id: str, **fields: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "customer_id": customer_id,
        "kind": "call",
        "title": "Call Ada back about the renewal",
        "due_at": "2026-03-03T10:00",
        "priority": "high",
        "remind_before_minutes": "30",
        **fields,
    }


async def test_a_rep_plans_a_call_from_the_customer_page_and_completes_it_with_a_next_meeting(
    api: Api,
) -> None:
    await console_user(api, "ana", "sales_rep", team="north")
    cid = await _customer(api, "ana")
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        customer = await ana.get(f"/console/customers/{cid}")
        assert f'href="/console/tasks/new?customer={cid}"' in customer.text
        form = await ana.get(f"/console/tasks/new?customer={cid}")
        assert form.status_code == 200
        assert f'<option value="{cid}" selected>Ada Lovelace</option>' in form.text
        assert 'value="2026-03-03T09:00"' in form.text  # a day ahead, in the user's zone (UTC)

        planned = await ana.post("/console/tasks", data=_plan(csrf, cid))
        page = await followed(ana, planned)
        task = planned.headers["location"].split("?")[0]
        assert re.fullmatch(f"/console/tasks/{UUID}", task)
        assert "Task planned." in page.text
        assert "Call Ada back about the renewal" in page.text
        assert f'href="/console/customers/{cid}">Ada Lovelace</a>' in page.text
        assert "3 Mar 2026, 10:00:00" in page.text

        mine = await ana.get("/console/tasks")
        assert "Call Ada back about the renewal" in mine.text
        assert "1 tasks" in mine.text
        assert 'class="overdue"' not in mine.text
        assert "No task matches." in (await ana.get("/console/tasks?window=overdue")).text
        assert "No task matches." in (await ana.get("/console/tasks?kind=meeting")).text
        listed = await ana.get("/console/tasks?kind=call&window=week&status=open")
        assert "Call Ada back about the renewal" in listed.text

        clock = api.platform.runtime.clock
        assert isinstance(clock, ManualClock)
        clock.advance(timedelta(days=2))  # past its due time: highlighted
        late = await ana.get("/console/tasks")
        assert 'class="overdue"' in late.text
        assert (
            "Call Ada back about the renewal"
            in (await ana.get("/console/tasks?window=overdue")).text
        )

        completed = await ana.post(
            f"{task}/complete",
            data={
                "csrf": csrf,
                "outcome": "reached",
                "note": "wants a demo",
                "next_kind": "meeting",
                "next_title": "Demo for Ada",
                "next_due_at": "2026-03-10T15:00",
            },
        )
        page = await followed(ana, completed)
        assert "Saved." in page.text
        assert ">done<" in page.text
        assert "Reached" in page.text
        assert "wants a demo" in page.text
        assert f"{task}/complete" not in page.text  # closed: no forms
        nxt = re.search(f'href="(/console/tasks/{UUID})">The next task<', page.text)
        assert nxt is not None
        meeting = await until_shown(ana, nxt.group(1), "Demo for Ada")
        assert "Meeting" in meeting.text
        assert "10 Mar 2026, 15:00:00" in meeting.text
        timeline = await until_shown(ana, f"/console/customers/{cid}", "wants a demo")
        assert "Call" in timeline.text
        mine = await until_shown(ana, "/console/tasks", "Demo for Ada")
        assert "Call Ada back about the renewal" not in mine.text  # done: not open
        done = await ana.get("/console/tasks?status=done")
        assert "Call Ada back about the renewal" in done.text


async def test_a_task_is_rescheduled_and_cancelled(api: Api) -> None:
    await console_user(api, "ana", "sales_rep", team="north")
    cid = await _customer(api, "ana")
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        planned = await ana.post("/console/tasks", data=_plan(csrf, cid, kind="email"))
        await followed(ana, planned)
        task = planned.headers["location"].split("?")[0]
        moved = await ana.post(
            f"{task}/reschedule", data={"csrf": csrf, "due_at": "2026-03-05T16:30"}
        )
        page = await followed(ana, moved)
        assert "5 Mar 2026, 16:30:00" in page.text
        bad = await ana.post(f"{task}/reschedule", data={"csrf": csrf, "due_at": "Thursday"})
        assert bad.status_code == 422
        assert "the due time" in bad.text
        cancelled = await ana.post(f"{task}/cancel", data={"csrf": csrf, "reason": "duplicate"})
        page = await followed(ana, cancelled)
        assert ">cancelled<" in page.text
        assert "duplicate" in page.text
        listed = await ana.get("/console/tasks?status=cancelled")
        assert "Call Ada back about the renewal" in listed.text


async def test_the_bell_counts_unread_notifications_in_the_readers_language(api: Api) -> None:
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "lin", "sales_rep", team="north", locale="zh-CN")
    await console_user(api, "boss", "manager", team="north")
    cid = await _customer(api, "ana")
    async with own_client(api) as ana, own_client(api) as boss, own_client(api) as lin:
        csrf = await sign_in(ana, "ana")
        assert "0 unread" in (await ana.get("/console/tasks")).text
        boss_csrf = await sign_in(boss, "boss")
        form = await boss.get(f"/console/tasks/new?customer={cid}")
        assert '<option value="ana"' in form.text  # a manager plans for the team's people
        for title, whom in (("Visit Ada", "ana"), ("Send Ada the quote", "ana"), ("Lin's", "lin")):
            planned = await boss.post(
                "/console/tasks",
                data=_plan(boss_csrf, cid, title=title, kind="visit", assignee_id=whom),
            )
            await followed(boss, planned)
        page = await until_shown(ana, "/console/notifications", "2 unread")
        assert page.text.count('">A task was assigned to you</a>') == 2
        assert "Task assigned" in page.text
        assert "<span>Visit Ada</span>" in page.text  # the task's own title beside it
        assert "<span>Send Ada the quote</span>" in page.text
        mark = re.findall(f'action="(/console/notifications/{UUID}/read)"', page.text)
        assert len(mark) == 2
        read = await ana.post(mark[0], data={"csrf": csrf})
        page = await followed(ana, read)
        assert "Marked as read." in page.text
        assert "1 unread" in page.text
        unread = await ana.get("/console/notifications?read=unread")
        assert len(re.findall(f"/console/notifications/{UUID}/read", unread.text)) == 1
        everything = await ana.post("/console/notifications/read", data={"csrf": csrf})
        page = await followed(ana, everything)
        assert "0 unread" in page.text
        assert "No notification." in (await ana.get("/console/notifications?read=unread")).text

        await sign_in(lin, "lin")
        page = await until_shown(lin, "/console/notifications", "1 条未读")
        assert '">有一项任务分配给您</a>' in page.text
        assert "任务已分配" in page.text
        assert "A task was assigned to you" not in page.text
        assert "我的任务" in page.text
        assert "日程" in page.text


async def test_notification_preferences_are_saved_and_checked(api: Api) -> None:
    await console_user(api, "ana", "sales_rep", team="north")
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        saved = await ana.post(
            "/console/notifications/preferences",
            data={
                "csrf": csrf,
                "email": "ana@example.com",
                "email_enabled": "true",
                "quiet_start": "22:00",
                "quiet_end": "07:00",
                "time_zone": "Asia/Shanghai",
                "muted": ["quote_expired", "sla_warning"],
            },
        )
        page = await followed(ana, saved)
        assert "Preferences saved." in page.text
        assert 'value="ana@example.com"' in page.text
        assert 'value="22:00"' in page.text
        assert '<option value="Asia/Shanghai" selected>' in page.text
        assert 'value="quote_expired" checked' in page.text
        assert 'value="task_due" checked' not in page.text
        # the pages now show and read times in Shanghai's time
        assert "Times are in Asia/Shanghai." in (await ana.get("/console/tasks")).text
        wrong = await ana.post(
            "/console/notifications/preferences", data={"csrf": csrf, "time_zone": "Mars/Base"}
        )
        assert wrong.status_code == 422
        assert "the time zone" in wrong.text
        bad = await ana.post(
            "/console/notifications/preferences", data={"csrf": csrf, "email": "not an address"}
        )
        assert bad.status_code == 422
        assert "E-mail" in bad.text
        muted = await ana.post(
            "/console/notifications/preferences", data={"csrf": csrf, "muted": "weather"}
        )
        assert muted.status_code == 422


async def test_the_calendar_week_shows_ones_tasks_and_the_feeds_address(api: Api) -> None:
    await console_user(api, "ana", "sales_rep", team="north")
    cid = await _customer(api, "ana")
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        await followed(ana, await ana.post("/console/tasks", data=_plan(csrf, cid)))
        week = await ana.get("/console/calendar")  # T0 is Monday 2 March 2026: week 10
        assert "Week 2026-W10" in week.text
        assert "Call Ada back about the renewal" in week.text
        assert "10:00–10:30" in week.text
        assert 'href="/console/calendar?week=2026-W11"' in week.text
        later = await ana.get("/console/calendar?week=2026-W11")
        assert "Call Ada back about the renewal" not in later.text
        assert later.text.count("Nothing planned.") == 7
        feed = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', week.text)
        assert feed is not None
        url = urlsplit(feed.group(1).replace("&amp;", "&"))
        assert url.path == "/calendar/feeds/default/ana.ics"
        api_feed = await ok(await api.as_user("ana", "sales_rep").get("/calendar/feed"))
        assert api_feed["url"] == f"{url.path}?{url.query}"
        ics = await ana.get(f"{url.path}?{url.query}")
        assert ics.status_code == 200
        summaries = [str(e["SUMMARY"]) for e in Calendar.from_ical(ics.content).walk("VEVENT")]
        assert summaries == ["Call Ada back about the renewal"]
        assert 'src="/console/static/console.js"' in week.text
        script = await ana.get("/console/static/console.js")
        assert script.status_code == 200
        assert "data-copy" in script.text
        wrong = await ana.get("/console/calendar?week=2026-13")
        assert wrong.status_code == 422
        assert "the week" in wrong.text


async def test_the_task_pages_keep_the_access_rules(api: Api) -> None:
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "ben", "sales_rep", team="north")
    await console_user(api, "boss", "manager", team="north")
    await console_user(api, "ivy", "analyst")
    cid = await _customer(api, "ana")
    async with own_client(api) as ana, own_client(api) as ben, own_client(api) as boss:
        csrf = await sign_in(ana, "ana")
        planned = await ana.post("/console/tasks", data=_plan(csrf, cid))
        await followed(ana, planned)
        task = planned.headers["location"].split("?")[0]

        await sign_in(ben, "ben")
        other = await ben.get(task)
        assert other.status_code == 404
        assert "Call Ada back" not in other.text
        assert "0 unread" in other.text  # the error page keeps the bell
        assert "Call Ada back" not in (await ben.get("/console/tasks?status=all")).text
        refused = await ben.get("/console/tasks?person=ana")
        assert refused.status_code == 403
        assert (await ben.get("/console/calendar?person=ana")).status_code == 403
        ben_csrf = csrf_of((await ben.get("/console/tasks")).text)
        steal = await ben.post(f"{task}/cancel", data={"csrf": ben_csrf})
        assert steal.status_code == 404
        not_ben = await ben.post("/console/tasks", data=_plan(ben_csrf, cid, assignee_id="ana"))
        assert not_ben.status_code in (403, 422), not_ben.text

        await sign_in(boss, "boss")
        team = await boss.get("/console/tasks?person=ana")
        assert "Call Ada back about the renewal" in team.text
        assert '<option value="ana" selected>' in team.text
        assert "Call Ada back" in (await boss.get("/console/tasks?person=all")).text
        assert "Call Ada back" not in (await boss.get("/console/tasks")).text  # his own
        assert "Call Ada back" in (await boss.get("/console/calendar?person=ana")).text

        no_token = await ana.post(f"{task}/cancel", data={"reason": "x"})
        assert no_token.status_code == 403
        unknown = await ana.get("/console/tasks?colour=red")
        assert unknown.status_code == 422
        assert "colour" in unknown.text
        kind = await ana.get("/console/tasks?kind=dance")
        assert kind.status_code == 422
        assert "Please check Kind" in kind.text
        missing = await ana.get("/console/tasks/new?customer=00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404
        nowhere = await ana.post(
            "/console/tasks", data=_plan(csrf, "00000000-0000-4000-8000-000000000000")
        )
        assert nowhere.status_code == 422
        assert "the customer" in nowhere.text
        assert (
            await ana.get("/console/tasks/00000000-0000-4000-8000-000000000000")
        ).status_code == 404

    async with own_client(api) as ivy:
        await sign_in(ivy, "ivy")
        read = await ivy.get(task)
        assert read.status_code == 200
        assert "Your role reads tasks but does not work them." in read.text
        assert f"{task}/complete" not in read.text
        assert (await ivy.get("/console/tasks/new")).status_code == 403


def test_weeks_windows_and_form_times_are_read_in_the_users_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    assert iso_week("2026-W10", date(2026, 1, 1)) == date(2026, 3, 2)
    assert iso_week(None, date(2026, 3, 5)) == date(2026, 3, 2)
    assert iso_week("2020-W53", date(2026, 1, 1)) == date(2020, 12, 28)
    for wrong in ("2026-W54", "2026-10", "26-W10", "2026-W1x"):
        with pytest.raises(InvalidCommand) as refused:
            iso_week(wrong, date(2026, 1, 1))
        assert refused.value.field == "week"
    assert week_name(date(2026, 12, 28)) == "2026-W53"
    moment = from_form("2026-03-03T10:00", shanghai, "due_at")
    assert moment == datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    with pytest.raises(InvalidCommand):
        from_form("tomorrow", shanghai, "due_at")
    now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # already the 3rd in Shanghai
    start, end = window_bounds("today", now, shanghai)
    assert start == datetime(2026, 3, 3, tzinfo=shanghai)
    assert end is not None
    assert end - start == timedelta(days=1)
    assert window_bounds("overdue", now, shanghai) == (None, now)
    assert window_bounds("any", now, shanghai) == (None, None)
    late = Entry("task", "t", "Late call", now, now + timedelta(minutes=30), "open", None)
    days = week_days(date(2026, 3, 2), [late], shanghai)
    assert [len(d.entries) for d in days] == [0, 1, 0, 0, 0, 0, 0]
    assert week_days(date(2026, 3, 2), [late], UTC)[0].entries == [late]
