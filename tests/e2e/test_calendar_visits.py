"""Field visits (the service desk's bookings) in the technician's calendar and iCalendar feed,
next to their tasks: booked, moved to another time and to another technician, cancelled
(left out, or shown as cancelled on asking), and only the technician's own calendar shows
them (another agent's is a 403)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from crm.kernel.auth import Role
from crm.platform.bootstrap import Platform
from tests.conftest import T0, Api, UserClient
from tests.support.reads import caught_up

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "service-desk", "activities")]

Users = Callable[..., UserClient]
START = T0 + timedelta(days=1)  # 3 March 2026, 09:00 UTC
WINDOW = {"from": T0.isoformat(), "to": (T0 + timedelta(days=7)).isoformat()}


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def test_visits_show_in_the_technicians_calendar_and_feed(
    api: Api, platform: Platform, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER)
    desk = as_user("ann", Role.AGENT, team="g1")
    tech1, tech2 = as_user("tech-1", Role.AGENT), as_user("tech-2", Role.AGENT)
    body = {"name": "Ada Lovelace", "owner_id": "ana"}
    cid = (await ok(await boss.post("/customers", json=body), 201))["id"]
    ticket = {
        "customer_id": cid,
        "kind": "service_request",
        "channel": "phone",
        "priority": "normal",
        "subject": "Boiler",
        "description": "it knocks",
    }
    tid = (await ok(await desk.post("/tickets", json=ticket), 201))["id"]
    await ok(await desk.post(f"/tickets/{tid}/assign", json={"group_id": "g1"}))
    booking = {
        "ticket_id": tid,
        "customer_id": cid,
        "technician_id": "tech-1",
        "start": START.isoformat(),
        "end": (START + timedelta(hours=2)).isoformat(),
        "address": "3 Elm Street",
    }
    visit = (await ok(await desk.post("/visits", json=booking), 201))["id"]
    task = {
        "kind": "call",
        "title": "Call Ada before the visit",
        "subject_kind": "customer",
        "subject_id": cid,
        "due_at": (START - timedelta(hours=1)).isoformat(),
    }
    call = (await ok(await tech1.post("/tasks", json=task), 201))["id"]

    async def calendar(who: UserClient, **params: str) -> list[dict[str, Any]]:
        head = await caught_up(platform, "activities_tasks", "activities_visits")
        query = {**WINDOW, "min_position": str(head), **params}
        return list((await ok(await who.get("/calendar", params=query)))["items"])

    items = await calendar(tech1)
    assert [(e["kind"], e["id"]) for e in items] == [("task", call), ("visit", visit)]
    seen = items[1]
    assert (seen["title"], seen["status"], seen["customer_id"]) == (
        "Field visit / 上门服务",
        "scheduled",
        cid,
    )
    assert (seen["subject_kind"], seen["subject_id"]) == ("ticket", tid)
    assert datetime.fromisoformat(seen["start"]) == START
    assert datetime.fromisoformat(seen["end"]) == START + timedelta(hours=2)
    assert [e["kind"] for e in await calendar(tech2)] == []
    r = await tech2.get("/calendar", params={**WINDOW, "user_id": "tech-1"})
    assert r.status_code == 403

    # the feed carries the visit too
    url = (await ok(await tech1.get("/calendar/feed")))["url"]
    cal = Calendar.from_ical((await api.client.get(url)).content)
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"Call Ada before the visit", "Field visit / 上门服务"}
    assert events["Field visit / 上门服务"].decoded("dtstart") == START
    assert events["Field visit / 上门服务"].decoded("dtend") == START + timedelta(hours=2)

    # moved two days later: the calendar follows; then handed to tech-2
    later = START + timedelta(days=2)
    moved = {"start": later.isoformat(), "end": (later + timedelta(hours=1)).isoformat()}
    await ok(await desk.post(f"/visits/{visit}/reschedule", json=moved))
    [_, seen] = await calendar(tech1)
    assert datetime.fromisoformat(seen["start"]) == later
    await ok(
        await desk.post(f"/visits/{visit}/reschedule", json={**moved, "technician_id": "tech-2"})
    )
    assert [e["kind"] for e in await calendar(tech1)] == ["task"]
    assert [(e["kind"], e["id"]) for e in await calendar(tech2)] == [("visit", visit)]

    # cancelled: gone, unless asked for
    await ok(await desk.post(f"/visits/{visit}/cancel", json={"reason": "fixed by phone"}))
    assert await calendar(tech2) == []
    [gone] = await calendar(tech2, cancelled="true")
    assert (gone["id"], gone["status"]) == (visit, "cancelled")
