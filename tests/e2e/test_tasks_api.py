"""Tasks through HTTP: a rep plans a call about her customer, is reminded before it is due and
told once it is overdue (once, however often the scheduler ticks), completes it as reached
with the next meeting planned in the same step; the call shows in the customer's timeline and
the meeting opens under the id the completion fixed. Who sees and plans which tasks, and the
4xx answers for what does not exist or is malformed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from icalendar import Calendar

from crm.activities.application.care import CareScheduler
from crm.activities.application.reminders import ReminderScheduler
from crm.activities.application.task_commands import derived_id
from crm.analytics.application.churn_commands import RecordAssessment
from crm.analytics.churn.assessment import Assessment
from crm.kernel.auth import Role
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.repository import CommandContext
from crm.platform.bootstrap import Platform
from tests.conftest import T0, Api, UserClient
from tests.support.reads import caught_up

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "activities")]

Users = Callable[..., UserClient]
DUE = T0 + timedelta(days=1)


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def customer_of(client: UserClient, owner: str) -> str:
    body = {"name": "Ada Lovelace", "email": f"ada-{uuid4().hex[:12]}@example.com"}
    return (await ok(await client.post("/customers", json={**body, "owner_id": owner}), 201))["id"]


def call(customer_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "call",
        "title": "Call Ada back about the renewal",
        "subject_kind": "customer",
        "subject_id": customer_id,
        "due_at": DUE.isoformat(),
        "remind_before_minutes": 30,
        **fields,
    }


async def read(client: UserClient, url: str, position: int, **params: Any) -> dict[str, Any]:
    r = await client.get(url, params={**params, "min_position": position})
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


async def test_a_call_is_planned_reminded_done_logged_and_followed_by_the_next_task(
    platform: Platform, as_user: Users
) -> None:
    boss, ana = as_user("boss"), as_user("ana", Role.SALES_REP)
    cid = await customer_of(boss, "ana")
    planned = await ok(await ana.post("/tasks", json=call(cid)), 201)
    task_id = planned["id"]
    doc = await read(ana, f"/tasks/{task_id}", planned["position"])
    assert doc["assignee_id"] == "ana"
    assert doc["status"] == "open"
    assert doc["customer_id"] == cid

    # the reminder 30 minutes before, then the overdue notice: each once
    scheduler = ReminderScheduler(platform.runtime)

    async def tick(at: Any) -> Any:
        await caught_up(platform, "activities_tasks")
        return await scheduler.tick(at)

    assert (await tick(DUE - timedelta(hours=1))).reminded == ()
    assert (await tick(DUE - timedelta(minutes=20))).reminded == (task_id,)
    assert (await tick(DUE - timedelta(minutes=10))).reminded == ()
    late = await tick(DUE + timedelta(minutes=5))
    assert late.overdue == (task_id,)
    assert (await tick(DUE + timedelta(minutes=6))).overdue == ()
    overdue = await ok(await ana.get("/tasks", params={"overdue": "true"}))
    assert [t["id"] for t in overdue["items"]] == [task_id]

    meeting = {"kind": "meeting", "title": "Demo", "due_at": (DUE + timedelta(days=7)).isoformat()}
    done = await ok(
        await ana.post(
            f"/tasks/{task_id}/complete",
            json={"outcome": "reached", "note": "wants a demo", "next": meeting},
        )
    )
    closed = await read(ana, f"/tasks/{task_id}", done["position"])
    assert closed["status"] == "done"
    assert closed["completions"][0]["outcome"] == "reached"

    # the customer context logs the call in the customer's timeline (a reaction)
    interaction_id = derived_id(task_id, "interaction:0")
    timeline = await eventually(ana, f"/customers/{cid}/interactions", bool)
    assert [(i["interaction_id"], i["channel"]) for i in timeline] == [(interaction_id, "call")]
    assert timeline[0]["logged_by"] == "process:customer.log-completed-task"
    assert timeline[0]["summary"] == "Call Ada back about the renewal — wants a demo"

    # and the next task opens under the id the completion fixed
    next_id = derived_id(task_id, "next:0")
    nxt = await eventually(ana, f"/tasks/{next_id}", bool)
    assert (nxt["kind"], nxt["title"], nxt["assignee_id"]) == ("meeting", "Demo", "ana")
    assert nxt["created_by"] == "ana"  # hers, though the process opened it: nobody to notify
    assert nxt["subject_id"] == cid
    mine = await ok(await ana.get("/tasks", params={"status": "open"}))
    assert [t["id"] for t in mine["items"]] == [next_id]


async def test_who_sees_and_plans_which_tasks(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER, team="north")
    ana = as_user("ana", Role.SALES_REP, team="north")
    bob = as_user("bob", Role.SALES_REP, team="south")
    analyst = as_user("ann", Role.ANALYST)
    ada, bea = await customer_of(boss, "ana"), await customer_of(boss, "bob")

    # a rep plans for herself only, about customers she may act on
    r = await ana.post("/tasks", json=call(ada, assignee_id="bob"))
    assert r.status_code == 403, r.text
    r = await ana.post("/tasks", json=call(bea))
    assert r.status_code == 422
    assert "subject_id" in r.text, r.text
    # a manager plans for anyone: the task joins the manager's team
    for_ana = await ok(await boss.post("/tasks", json=call(ada, assignee_id="ana")), 201)
    for_bob = await ok(await boss.post("/tasks", json=call(bea, assignee_id="bob")), 201)
    position = for_bob["position"]
    seen = await read(ana, "/tasks", position)
    assert [t["id"] for t in seen["items"]] == [for_ana["id"]]
    r = await bob.get(f"/tasks/{for_ana['id']}")
    assert r.status_code == 404  # another's task does not exist for him
    r = await bob.post(f"/tasks/{for_ana['id']}/complete", json={})
    assert r.status_code == 404
    team = await read(boss, "/tasks", position, sort="title")
    assert {t["id"] for t in team["items"]} == {for_ana["id"], for_bob["id"]}
    # an analyst reads, changes nothing
    assert len((await read(analyst, "/tasks", position))["items"]) == 2
    r = await analyst.post("/tasks", json=call(ada))
    assert r.status_code == 403
    # reassigned by the manager, the task is bob's now
    moved = await ok(
        await boss.post(f"/tasks/{for_ana['id']}/reassign", json={"assignee_id": "bob"})
    )
    assert (await read(bob, f"/tasks/{for_ana['id']}", moved["position"]))["assignee_id"] == "bob"
    r = await ana.post(f"/tasks/{for_bob['id']}/reassign", json={"assignee_id": "ana"})
    assert r.status_code == 404


async def test_bad_input_names_the_field_and_unknown_records_are_errors(as_user: Users) -> None:
    boss = as_user("boss")
    ada = await customer_of(boss, "ana")
    cases: list[tuple[dict[str, Any], str]] = [
        (call(str(uuid4())), "subject_id"),  # no such customer
        (call(ada, due_at="2026-03-03T10:00:00"), "due_at"),  # no time zone
        (call(ada, title=""), "title"),
        (call(ada, kind="telepathy"), "kind"),
        (call(ada, subject_kind="planet"), "subject_kind"),
        (call(ada, colour="red"), "colour"),
        (call(ada, kind="custom"), "custom_kind"),
        (call(ada, recurrence={"frequency": "weekly", "until": "2026-01-01"}), "recurrence.until"),
    ]
    for body, field in cases:
        r = await boss.post("/tasks", json=body)
        assert r.status_code == 422, (field, r.text)
        assert field in r.text, (field, r.text)
    assert (await boss.get("/tasks", params={"colour": "red"})).status_code in (400, 422)
    assert (await boss.get("/tasks", params={"sort": "colour"})).status_code in (400, 422)
    assert (await boss.get(f"/tasks/{uuid4()}")).status_code == 404
    r = await boss.post(f"/tasks/{uuid4()}/complete", json={})
    assert r.status_code == 404
    planned = await ok(await boss.post("/tasks", json=call(ada)), 201)
    await ok(await boss.post(f"/tasks/{planned['id']}/cancel", json={"reason": "no longer needed"}))
    r = await boss.post(f"/tasks/{planned['id']}/complete", json={})
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "task_cancelled"


async def eventually(client: UserClient, url: str, done: Callable[[Any], bool]) -> Any:
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        response = await client.get(url)
        body = None if response.status_code == 404 else response.json()
        if response.status_code in (200, 404) and body is not None and done(body):
            return body
        assert asyncio.get_running_loop().time() < deadline, (response.status_code, body)
        await asyncio.sleep(0.05)


@pytest.mark.contexts("customer", "activities", "analytics")
async def test_a_customer_whose_churn_risk_became_high_gets_one_retention_task(
    platform: Platform, as_user: Users
) -> None:
    boss, ana = as_user("boss"), as_user("ana", Role.SALES_REP)
    cid = await customer_of(boss, "ana")

    async def assess(score: int, level: str) -> None:
        verdict = Assessment.from_dict(
            {
                "score": score,
                "level": level,
                "p_alive": 0.1,
                "reasons": [{"code": "silence", "text": "no order for 9 months", "weight": 1.0}],
            }
        )
        ctx = CommandContext(
            actor="process:test",
            role=SYSTEM_ROLE,
            tenant="default",
            now=platform.runtime.clock.now(),
        )
        head = await platform.store.head_position()
        await platform.runtime.commands.execute(RecordAssessment(cid, verdict, head), ctx)

    await assess(85, "high")
    tasks = await eventually(
        ana, f"/tasks?kind=retention&customer_id={cid}", lambda page: page["total"] > 0
    )
    [task] = tasks["items"]
    assert (task["assignee_id"], task["priority"], task["reasons"]) == (
        "ana",
        "urgent",
        ["silence"],
    )
    assert task["status"] == "open"
    # the level going down and up again while the task is open opens no second one
    await assess(40, "medium")
    await assess(90, "high")
    await asyncio.sleep(0.5)
    again = await ok(
        await ana.get(
            "/tasks",
            params={"kind": "retention", "min_position": str(await platform.store.head_position())},
        )
    )
    assert [t["id"] for t in again["items"]] == [task["id"]]
    # a retention task records what came of the contact
    r = await ana.post(f"/tasks/{task['id']}/complete", json={"outcome": "done"})
    assert r.status_code == 422
    assert "outcome" in r.text
    await ok(await ana.post(f"/tasks/{task['id']}/complete", json={"outcome": "won_back"}))


async def test_the_calendar_shows_ones_tasks_by_time_and_as_an_ics_feed(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER, team="north")
    ana = as_user("ana", Role.SALES_REP, team="north")
    bob = as_user("bob", Role.SALES_REP, team="south")
    ada = await customer_of(boss, "ana")
    late = await ok(await ana.post("/tasks", json=call(ada, title="Late call")), 201)
    early = {"title": "Early call", "due_at": (DUE - timedelta(hours=3)).isoformat()}
    first = await ok(await ana.post("/tasks", json=call(ada, **early, duration_minutes=45)), 201)
    gone = await ok(await ana.post("/tasks", json=call(ada, title="Dropped")), 201)
    done = await ok(await ana.post(f"/tasks/{gone['id']}/cancel", json={}))
    window = {"from": T0.isoformat(), "to": (T0 + timedelta(days=7)).isoformat()}
    mine = await read(ana, "/calendar", done["position"], **window)
    assert [(e["kind"], e["title"]) for e in mine["items"]] == [
        ("task", "Early call"),
        ("task", "Late call"),
    ]
    end = datetime.fromisoformat(mine["items"][0]["end"])
    assert end == DUE - timedelta(hours=2, minutes=15)
    # her manager reads it; another rep may not
    team = await read(boss, "/calendar", done["position"], user_id="ana", **window)
    assert [e["id"] for e in team["items"]] == [first["id"], late["id"]]
    assert (await bob.get("/calendar", params={**window, "user_id": "ana"})).status_code == 403
    bad = await ana.get("/calendar", params={"from": window["to"], "to": window["from"]})
    assert bad.status_code == 422
    assert "to" in bad.text
    too_long = {"from": T0.isoformat(), "to": (T0 + timedelta(days=200)).isoformat()}
    assert (await ana.get("/calendar", params=too_long)).status_code == 422

    # the feed: a calendar app subscribes with the URL's key, no token
    url = (await ok(await ana.get("/calendar/feed")))["url"]
    feed = await api.client.get(url)
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(feed.content)
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"Early call", "Late call", "Dropped"}
    assert str(events["Dropped"]["status"]) == "CANCELLED"
    assert events["Early call"].decoded("dtstart") == DUE - timedelta(hours=3)
    [alarm] = events["Late call"].walk("VALARM")
    assert alarm.decoded("trigger") == -timedelta(minutes=30)
    forged = url.replace("/ana.ics", "/bob.ics")
    assert (await api.client.get(forged)).status_code == 404
    assert (await api.client.get(url[:-4] + "0000")).status_code == 404
    # a key with characters no key has is the same 404, not an error
    odd = url.split("?")[0] + "?key=%C3%A9" + "x" * 20
    assert (await api.client.get(odd)).status_code == 404


@pytest.mark.contexts("customer", "activities", "service-desk")
async def test_customer_care_opens_one_task_before_a_contract_ends(
    platform: Platform, as_user: Users
) -> None:
    boss, ana = as_user("boss"), as_user("ana", Role.SALES_REP)
    cid = await customer_of(boss, "ana")
    ends = (T0 + timedelta(days=20)).date()
    contract = {
        "customer_id": cid,
        "level": "basic",
        "starts_on": "2026-01-01",
        "ends_on": str(ends),
    }
    await ok(await boss.post("/contracts", json=contract), 201)
    rules = await ok(await ana.get("/care/rules"))
    assert {r["occasion"]: r["days_before"] for r in rules["rules"]} == {
        "contract_end": 30,
        "first_order_anniversary": 7,
    }
    runtime = platform.runtime
    await caught_up(platform, "activities_care_dates")
    care = CareScheduler(runtime)
    report = await care.tick(T0)
    [task_id] = report.opened
    assert (await care.tick(T0 + timedelta(hours=1))).opened == ()  # one task per occasion
    task = await eventually(ana, f"/tasks/{task_id}", bool)
    assert (task["kind"], task["assignee_id"], task["reasons"]) == ("call", "ana", ["contract_end"])
    assert task["title"].startswith("Customer care: service contract ends")
    assert datetime.fromisoformat(task["due_at"]).date() == ends

    # a rep may not change the rules; a manager may, and a disabled rule opens nothing
    off = {"rules": [{"occasion": "contract_end", "days_before": 30, "enabled": False}]}
    assert (await ana.put("/care/rules", json=off)).status_code == 403
    bad = await boss.put(
        "/care/rules", json={"rules": [{"occasion": "contract_end", "days_before": 99}]}
    )
    assert bad.status_code == 422
    assert "days_before" in bad.text
    await ok(await boss.put("/care/rules", json=off))
    bea = await customer_of(boss, "ana")
    await ok(await boss.post("/contracts", json={**contract, "customer_id": bea}), 201)
    await caught_up(platform, "activities_care_dates")
    assert (await care.tick(T0)).opened == ()
    on = {"rules": [{"occasion": "contract_end", "days_before": 30}]}
    await ok(await boss.put("/care/rules", json=on))
    [again] = (await care.tick(T0)).opened
    assert again != task_id
