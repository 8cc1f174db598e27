"""Work reports (日报 / 周报 / 月报) through HTTP, on a scripted day with exact figures: a rep's
calls, e-mails and meeting, a call task done and another gone overdue, leads, deals advanced,
won and lost, a quote sent, an order placed and two payments; another team's rep and an agent
beside her. The same figures per day, ISO week and month, in JSON and CSV, after a rebuild
too; who reads whose; the rep's summary and plan, commented on by her manager; and the 4xx
answers for bad or unknown input."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from crm.activities.application.reminders import ReminderScheduler
from crm.activities.projections.work_models import WORK_DAYS_PROJECTION
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.projection import rebuild
from crm.platform.bootstrap import Platform
from tests.conftest import T0, Api, UserClient
from tests.support.reads import caught_up

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.contexts("customer", "sales", "service-desk", "activities"),
]

Users = Callable[..., UserClient]
CHANNELS = ("call", "email", "meeting", "visit", "chat")
ZERO = {
    "tasks_done": 0,
    "tasks_overdue": 0,
    "leads_created": 0,
    "leads_qualified": 0,
    "opportunities_advanced": 0,
    "opportunities_won": 0,
    "opportunities_lost": 0,
    "quotes_sent": 0,
    "orders_placed": 0,
    "payments_recorded": 0,
    "tickets_resolved": 0,
}


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def figures(row: dict[str, Any]) -> dict[str, Any]:
    """A row's figures, the interactions that are not zero only."""
    out = {k: row[k] for k in ZERO}
    out["interactions"] = {c: n for c, n in row["interactions"].items() if n}
    out["payments_amount"] = row["payments_amount"]
    return out


def expect(interactions: dict[str, int] | None = None, **counts: Any) -> dict[str, Any]:
    amounts = counts.pop("payments_amount", {})
    return {**ZERO, **counts, "interactions": interactions or {}, "payments_amount": amounts}


async def settle(platform: Platform) -> int:
    return await caught_up(platform, "activities_tasks", "activities_work_days")


async def report(client: UserClient, position: int, **params: Any) -> dict[str, Any]:
    r = await client.get("/reports/work", params={**params, "min_position": position})
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


def by_row(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["period"], r["user_id"]): r for r in body["items"]}


async def scripted_day(platform: Platform, as_user: Users, clock: ManualClock) -> int:
    """Monday 2 March 2026 (ISO week 10), and a call on Tuesday; the store position after."""
    boss = as_user("boss", Role.MANAGER, team="north")
    ana = as_user("ana", Role.SALES_REP, team="north")
    bob = as_user("bob", Role.SALES_REP, team="south")
    ann = as_user("ann", Role.AGENT)
    product = {"sku": "W-1", "name": "Widget", "list_price": eur("10.00")}
    await ok(await boss.post("/products", json=product), 201)
    ada = (await ok(await ana.post("/customers", json={"name": "Ada", "owner_id": "ana"}), 201))[
        "id"
    ]

    def said(channel: str, **more: Any) -> dict[str, Any]:
        return {"channel": channel, "direction": "outbound", "summary": "talked", **more}

    # interactions: a call this morning, an e-mail now, and Sunday's meeting logged today
    path = f"/customers/{ada}/interactions"
    await ok(await ana.post(path, json=said("call", occurred_at="2026-03-02T08:30:00Z")), 201)
    await ok(await ana.post(path, json=said("email")), 201)
    await ok(await ana.post(path, json=said("meeting", occurred_at="2026-03-01T16:00:00Z")), 201)

    # two leads, one qualified
    lead = await ok(await ana.post("/leads", json={"name": "Lead one"}), 201)
    await ok(await ana.post("/leads", json={"name": "Lead two"}), 201)
    await ok(await ana.post(f"/leads/{lead['id']}/qualify", json={}))

    # two deals: one moved forward and won, one lost
    deal = {
        "customer_id": ada,
        "name": "Widgets",
        "amount": eur("1000.00"),
        "expected_close_date": "2026-06-30",
    }
    won = await ok(await ana.post("/opportunities", json=deal), 201)
    lost = await ok(await ana.post("/opportunities", json={**deal, "name": "Gadgets"}), 201)
    await ok(await ana.post(f"/opportunities/{won['id']}/stage", json={"stage": "qualification"}))
    await ok(await ana.post(f"/opportunities/{won['id']}/win"))
    await ok(await ana.post(f"/opportunities/{lost['id']}/lose", json={"reason": "price"}))

    # a quote sent; an order placed, invoiced and paid in two parts (exact decimals)
    lines = [{"sku": "W-1", "quantity": "2"}]
    quote = {"customer_id": ada, "currency": "EUR", "valid_until": "2026-03-31", "lines": lines}
    sent = await ok(await ana.post("/quotes", json=quote), 201)
    await ok(await ana.post(f"/quotes/{sent['id']}/send", json={}))
    order = {"customer_id": ada, "currency": "EUR", "lines": lines}
    placed = await ok(await ana.post("/orders", json=order), 201)
    invoice = await ok(await ana.post("/invoices", json={"order_id": placed["id"]}), 201)
    for amount in ("0.10", "0.20"):
        payment = {"invoice_id": invoice["id"], "amount": eur(amount)}
        await ok(await ana.post("/payments", json=payment), 201)

    # a call task done (it is the call logged in the customer's timeline: counted once), and
    # another that goes overdue
    task = {"kind": "call", "title": "Call Ada", "subject_kind": "customer", "subject_id": ada}
    due = (T0 + timedelta(hours=1)).isoformat()
    done = await ok(await ana.post("/tasks", json={**task, "due_at": due}), 201)
    await ok(await ana.post(f"/tasks/{done['id']}/complete", json={"outcome": "reached"}))
    await ok(await ana.post("/tasks", json={**task, "title": "Call Ada again", "due_at": due}), 201)
    await settle(platform)
    late = await ReminderScheduler(platform.runtime).tick(T0 + timedelta(hours=2))
    assert len(late.overdue) == 1

    # another team's rep: a lead and a call; an agent resolves a ticket
    bea = (await ok(await bob.post("/customers", json={"name": "Bea", "owner_id": "bob"}), 201))[
        "id"
    ]
    await ok(await bob.post("/leads", json={"name": "Lead of Bob"}), 201)
    await ok(await bob.post(f"/customers/{bea}/interactions", json=said("call")), 201)
    ticket = {
        "customer_id": ada,
        "kind": "service_request",
        "channel": "phone",
        "priority": "normal",
        "subject": "Widget",
        "description": "it squeaks",
    }
    tid = (await ok(await ann.post("/tickets", json=ticket), 201))["id"]
    await ok(await ann.post(f"/tickets/{tid}/assign", json={"agent_id": "ann", "group_id": "g1"}))
    await ok(await ann.post(f"/tickets/{tid}/resolve", json={"resolution": "oiled"}))

    # Tuesday: one more call
    clock.advance(timedelta(days=1))
    await ok(await ana.post(path, json=said("call")), 201)
    return await settle(platform)


MONDAY_ANA = expect(
    {"call": 2, "email": 1},
    tasks_done=1,
    tasks_overdue=1,
    leads_created=2,
    leads_qualified=1,
    opportunities_advanced=1,
    opportunities_won=1,
    opportunities_lost=1,
    quotes_sent=1,
    orders_placed=1,
    payments_recorded=2,
    payments_amount={"EUR": "0.30"},
)


async def test_the_figures_of_a_scripted_day_per_day_week_and_month(
    platform: Platform, api: Api, as_user: Users, clock: ManualClock
) -> None:
    position = await scripted_day(platform, as_user, clock)
    admin = as_user("adm", Role.ADMIN)

    days = await report(admin, position, period="day", **{"from": "2026-03-01", "to": "2026-03-03"})
    assert (days["period"], days["from"], days["to"]) == ("day", "2026-03-01", "2026-03-03")
    rows = by_row(days)
    assert sorted(rows) == [
        ("2026-03-01", "ana"),
        ("2026-03-02", "ana"),
        ("2026-03-02", "ann"),
        ("2026-03-02", "bob"),
        ("2026-03-03", "ana"),
    ]
    assert figures(rows[("2026-03-01", "ana")]) == expect({"meeting": 1})
    assert figures(rows[("2026-03-02", "ana")]) == MONDAY_ANA
    assert figures(rows[("2026-03-02", "bob")]) == expect({"call": 1}, leads_created=1)
    assert figures(rows[("2026-03-02", "ann")]) == expect(tickets_resolved=1)
    assert figures(rows[("2026-03-03", "ana")]) == expect({"call": 1})
    assert [rows[("2026-03-02", u)]["team_id"] for u in ("ana", "bob", "ann")] == [
        "north",
        "south",
        None,
    ]

    # a week is the ISO week (Monday to Sunday): Sunday's meeting is in week 9
    weeks = await report(
        admin, position, period="week", **{"from": "2026-03-04", "to": "2026-03-04"}
    )
    assert (weeks["from"], weeks["to"]) == ("2026-03-02", "2026-03-08")
    week = by_row(weeks)
    ana_week = MONDAY_ANA | {"interactions": {"call": 3, "email": 1}}
    assert figures(week[("2026-W10", "ana")]) == ana_week
    assert (week[("2026-W10", "ana")]["start"], week[("2026-W10", "ana")]["end"]) == (
        "2026-03-02",
        "2026-03-08",
    )
    months = await report(
        admin, position, period="month", **{"from": "2026-03-01", "to": "2026-03-31"}
    )
    month = by_row(months)
    assert figures(month[("2026-03", "ana")]) == MONDAY_ANA | {
        "interactions": {"call": 3, "email": 1, "meeting": 1}
    }
    assert sorted(month) == [("2026-03", "ana"), ("2026-03", "ann"), ("2026-03", "bob")]

    # CSV says what JSON says, cell for cell
    r = await admin.get(
        "/reports/work",
        params={"period": "day", "from": "2026-03-01", "to": "2026-03-03", "format": "csv"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert len(table) == len(days["items"])
    for line, row in zip(table, days["items"], strict=True):
        flat = {k: v for k, v in row.items() if not isinstance(v, dict) and k != "comments"}
        for key, value in flat.items():
            assert line[key] == ("" if value is None else str(value)), key
        for channel in CHANNELS:
            assert line[f"interactions.{channel}"] == str(row["interactions"][channel])
        assert line["payments_amount.EUR"] == row["payments_amount"].get("EUR", "0")

    # rebuilt from the events, the read model holds the same figures
    runtime = platform.runtime
    await rebuild(WORK_DAYS_PROJECTION, runtime.store, runtime.read_store, runtime.codec)
    again = await report(
        admin, position, period="day", **{"from": "2026-03-01", "to": "2026-03-03"}
    )
    assert again == days


async def test_who_reads_whose_work_and_the_summary_commented_by_the_manager(
    platform: Platform, api: Api, as_user: Users, clock: ManualClock
) -> None:
    position = await scripted_day(platform, as_user, clock)
    boss = as_user("boss", Role.MANAGER, team="north")
    sue = as_user("sue", Role.MANAGER, team="south")
    ana = as_user("ana", Role.SALES_REP, team="north")
    bob = as_user("bob", Role.SALES_REP, team="south")
    ann = as_user("ann", Role.AGENT)
    analyst = as_user("al", Role.ANALYST)
    week = {"period": "week", "from": "2026-03-02", "to": "2026-03-08"}

    async def users(client: UserClient, **params: Any) -> list[str]:
        return [r["user_id"] for r in (await report(client, position, **week, **params))["items"]]

    assert await users(ana) == ["ana"]
    assert await users(bob) == ["bob"]
    assert await users(ann) == ["ann"]
    assert await users(boss) == ["ana"]  # her team's (the agent has no team, bob is south's)
    assert await users(sue) == ["bob"]
    assert await users(analyst) == ["ana", "ann", "bob"]
    assert await users(boss, user_id="ana") == ["ana"]
    r = await boss.get("/reports/work", params={**week, "user_id": "bob"})
    assert r.status_code == 404, r.text
    r = await ana.get("/reports/work", params={**week, "user_id": "bob"})
    assert r.status_code == 403, r.text
    r = await analyst.get("/reports/work", params={**week, "user_id": "nobody"})
    assert r.status_code == 404, r.text

    # the rep's own summary and plan; her manager comments on it
    text = {"summary": "Won Widgets; Ada is happy", "plan": "Follow up on Gadgets"}
    r = await bob.put("/reports/work/ana/2026-W10", json=text)
    assert r.status_code == 403, r.text
    r = await boss.post("/reports/work/ana/2026-W10/comments", json={"comment": "Well done"})
    assert r.status_code == 404, r.text  # not submitted yet
    await ok(await ana.put("/reports/work/ana/2026-W10", json=text))
    r = await bob.post("/reports/work/ana/2026-W10/comments", json={"comment": "Nice"})
    assert r.status_code == 403, r.text
    r = await sue.post("/reports/work/ana/2026-W10/comments", json={"comment": "Nice"})
    assert r.status_code == 404, r.text  # another team's manager
    r = await ana.post("/reports/work/ana/2026-W10/comments", json={"comment": "Me"})
    assert r.status_code == 403, r.text
    commented = await ok(
        await boss.post("/reports/work/ana/2026-W10/comments", json={"comment": "Well done"}), 201
    )
    row = (await report(ana, commented["position"], **week))["items"][0]
    assert (row["summary"], row["plan"], row["revision"]) == (text["summary"], text["plan"], 1)
    assert [(c["by"], c["comment"], c["on_revision"]) for c in row["comments"]] == [
        ("boss", "Well done", 1)
    ]
    r = await ana.get("/reports/work", params={**week, "format": "csv"})
    line = next(csv.DictReader(io.StringIO(r.text)))
    assert (line["summary"], line["comments"]) == (text["summary"], "boss: Well done")

    # a day's report of a day with no figures shows on its own
    day = await ok(
        await ana.put("/reports/work/ana/2026-03-05", json={"summary": "Training", "plan": ""})
    )
    days = await report(
        ana, day["position"], period="day", **{"from": "2026-03-05", "to": "2026-03-05"}
    )
    assert [(r["period"], r["summary"], r["tasks_done"]) for r in days["items"]] == [
        ("2026-03-05", "Training", 0)
    ]


async def test_bad_input_is_refused_naming_the_field(
    platform: Platform, api: Api, as_user: Users
) -> None:
    ana = as_user("ana", Role.SALES_REP, team="north")
    good = {"period": "day", "from": "2026-03-01", "to": "2026-03-03"}

    async def refused(response: Any, field: str, status: int = 422) -> None:
        assert response.status_code == status, response.text
        assert field in response.text, response.text

    await refused(await ana.get("/reports/work", params={**good, "period": "year"}), "period")
    await refused(await ana.get("/reports/work", params={**good, "from": "2026-02-30"}), "from")
    await refused(await ana.get("/reports/work", params={**good, "to": "2026-02-28"}), "to")
    await refused(await ana.get("/reports/work", params={**good, "to": "2029-01-01"}), "to")
    await refused(await ana.get("/reports/work", params={**good, "team": "north"}), "team")
    await refused(await ana.get("/reports/work", params={**good, "format": "xml"}), "format")
    await refused(await ana.get("/reports/work", params={**good, "zone": "Mars/Olympus"}), "zone")
    await refused(await ana.get("/reports/work", params={"period": "day"}), "from")
    far = {"period": "week", "from": "9999-12-30", "to": "9999-12-31"}
    await refused(await ana.get("/reports/work", params=far), "from")
    body = {"summary": "s", "plan": "p"}
    await refused(await ana.put("/reports/work/ana/2026-W54", json=body), "period")
    await refused(await ana.put("/reports/work/ana/2026-13", json=body), "period")
    await refused(await ana.put("/reports/work/ana/tuesday", json=body), "period")
    await refused(await ana.put("/reports/work/ana/2026-W10", json={**body, "mood": 1}), "mood")
    await refused(
        await ana.put("/reports/work/ana/2026-W10", json={"summary": " ", "plan": ""}), "summary"
    )
    await refused(
        await ana.post("/reports/work/ana/2026-W10/comments", json={"comment": ""}), "comment"
    )


async def test_work_counts_on_its_day_in_the_zone_asked_for(
    platform: Platform, as_user: Users
) -> None:
    """Four calls on the UTC day of 1 March 2026: in Shanghai (UTC+8) the last three were on
    the 2nd; in Kolkata (UTC+5:30) only the one at 18:30 UTC, its midnight. The same after a
    rebuild."""
    ana = as_user("ana", Role.SALES_REP, team="north")
    ada = (await ok(await ana.post("/customers", json={"name": "Ada", "owner_id": "ana"}), 201))[
        "id"
    ]
    for at in ("15:45", "17:00", "18:15", "18:30"):
        body = {
            "channel": "call",
            "direction": "outbound",
            "summary": "talked",
            "occurred_at": f"2026-03-01T{at}:00Z",
        }
        await ok(await ana.post(f"/customers/{ada}/interactions", json=body), 201)
    position = await settle(platform)
    days = {"period": "day", "from": "2026-03-01", "to": "2026-03-02"}

    async def calls(**zone: str) -> dict[str, int]:
        found = await report(ana, position, **days, **zone)
        assert found["zone"] == zone.get("zone", "UTC")
        return {r["period"]: r["interactions"]["call"] for r in found["items"]}

    async def all_zones() -> None:
        assert await calls() == {"2026-03-01": 4}
        assert await calls(zone="UTC") == {"2026-03-01": 4}
        assert await calls(zone="Asia/Shanghai") == {"2026-03-01": 1, "2026-03-02": 3}
        assert await calls(zone="Asia/Kolkata") == {"2026-03-01": 3, "2026-03-02": 1}
        # Sunday 1 March is ISO week 9, Monday the 2nd week 10
        weeks = {"period": "week", "from": "2026-03-01", "to": "2026-03-02"}
        week = await report(ana, position, **weeks, zone="Asia/Shanghai")
        assert [(r["period"], r["interactions"]["call"]) for r in week["items"]] == [
            ("2026-W09", 1),
            ("2026-W10", 3),
        ]
        # in a zone behind UTC (UTC-10) every call was on the 1st
        honolulu = await report(ana, position, **days, zone="Pacific/Honolulu")
        assert [(r["period"], r["interactions"]["call"]) for r in honolulu["items"]] == [
            ("2026-03-01", 4)
        ]

    await all_zones()
    runtime = platform.runtime
    await rebuild(WORK_DAYS_PROJECTION, runtime.store, runtime.read_store, runtime.codec)
    await all_zones()
