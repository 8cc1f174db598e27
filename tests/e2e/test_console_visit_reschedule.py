"""Field visits rescheduled from a technician's day in the console, over HTTP.

An agent moves a visit to another day, time and length with a reason: the day it is on now
shows it with where it was before, the day it left no longer does, and the slot it left is
free for another booking; a visit handed to another technician shows on their day and frees
the first one's. The technician's overlap rule holds: a move onto another visit of the same
technician is the 409 page naming that visit's time, in English and Chinese, with nothing
moved; a time already begun is refused too. Refusals: no CSRF token, a rep (403), an unknown
visit (404), a length out of range (422 naming it), a completed visit (409)."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from crm.kernel.clock import ManualClock
from tests.conftest import Api
from tests.support.console import console_user, followed, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "service-desk")]

DAY, NEXT = "2026-03-03", "2026-03-04"


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def book(api: Api, ticket: dict[str, Any], tech: str, start: str, end: str) -> str:
    body = {
        "ticket_id": ticket["id"],
        "customer_id": ticket["customer_id"],
        "technician_id": tech,
        "start": f"{DAY}T{start}:00+00:00",
        "end": f"{DAY}T{end}:00+00:00",
        "address": f"{start} Elm Street",
    }
    booked = await ok(await api.as_user("boss", "manager").post("/visits", json=body), 201)
    await visit(api, booked["id"])  # the pages read the model as it is
    return str(booked["id"])


async def a_ticket(api: Api) -> dict[str, Any]:
    boss = api.as_user("boss", "manager")
    customer = await ok(await boss.post("/customers", json={"name": "Ada Lovelace"}), 201)
    body = {
        "customer_id": customer["id"],
        "kind": "service_request",
        "channel": "phone",
        "priority": "normal",
        "subject": "Boiler",
        "description": "It knocks",
    }
    opened = await ok(await boss.post("/tickets", json=body), 201)
    return {"id": opened["id"], "customer_id": customer["id"]}


def move(
    csrf: str, tech: str, day: str, start: str, minutes: int = 60, **kw: str
) -> dict[str, str]:
    return {
        "csrf": csrf,
        "technician_id": tech,
        "day": day,
        "start": start,
        "minutes": str(minutes),
        **kw,
    }


async def visit(api: Api, visit_id: str) -> dict[str, Any]:
    """The visit's document once the read model has every write so far."""
    head = await api.platform.runtime.store.head_position()
    url = f"/visits/{visit_id}"
    return await ok(await api.as_user("boss", "manager").get(url, params={"min_position": head}))


async def test_an_agent_moves_a_visit_and_the_overlap_rule_holds(api: Api) -> None:
    ticket = await a_ticket(api)
    morning = await book(api, ticket, "ivy", "10:00", "11:00")
    afternoon = await book(api, ticket, "ivy", "13:00", "14:00")
    await console_user(api, "ivy", "agent")
    await console_user(api, "kim", "agent", locale="zh-CN")
    async with own_client(api) as ivy, own_client(api) as kim:
        csrf = await sign_in(ivy, "ivy")
        day = await ivy.get("/console/visits", params={"day": DAY})
        assert day.text.count("Reschedule</summary>") == 2
        assert f'action="/console/visits/{morning}/reschedule"' in day.text
        assert f'value="{DAY}"' in day.text
        assert 'name="start" type="time" required value="10:00"' in day.text
        assert 'name="minutes" type="number" min="15" max="720" step="15" required value="60"' in (
            day.text
        )

        # onto her own afternoon visit: refused, saying which one, nothing moved
        overlap = await ivy.post(
            f"/console/visits/{morning}/reschedule", data=move(csrf, "ivy", DAY, "13:30")
        )
        assert overlap.status_code == 409
        assert "Ivy already has a visit on 3 Mar 2026 from 13:00 to 14:00 (UTC)" in overlap.text
        assert "Nothing was booked or moved" in overlap.text
        assert (await visit(api, morning))["start"] == f"{DAY}T10:00:00+00:00"

        # to the next morning, for an hour and a half, with a reason
        moved = await ivy.post(
            f"/console/visits/{morning}/reschedule",
            data=move(csrf, "ivy", NEXT, "09:00", 90, reason="The customer is away"),
        )
        assert moved.status_code == 303
        assert moved.headers["location"].startswith(
            f"/console/visits?technician=ivy&day={NEXT}&min_position="
        )
        page = await followed(ivy, moved)
        assert "Saved." in page.text
        assert "09:00–10:30" in page.text
        assert "Moved from 3 Mar 2026, 10:00–11:00 (Ivy) · The customer is away" in page.text
        left = await ivy.get("/console/visits", params={"day": DAY})
        assert "10:00–11:00" not in left.text
        assert "13:00–14:00" in left.text
        doc = await visit(api, morning)
        assert (doc["start"], doc["end"]) == (f"{NEXT}T09:00:00+00:00", f"{NEXT}T10:30:00+00:00")
        assert doc["reschedules"][0]["reason"] == "The customer is away"
        await book(api, ticket, "ivy", "10:00", "11:00")  # the slot it left is free again

        # the afternoon visit handed to Kim: on her day now, Ivy's afternoon free
        handed = await ivy.post(
            f"/console/visits/{afternoon}/reschedule", data=move(csrf, "kim", DAY, "13:00")
        )
        page = await followed(ivy, handed)
        assert "13:00–14:00 · Kim" in page.text
        await book(api, ticket, "ivy", "13:00", "14:00")

        # Kim, reading Chinese, cannot put another visit onto it
        kim_csrf = await sign_in(kim, "kim")
        other = await book(api, ticket, "kim", "15:00", "16:00")
        refused = await kim.post(
            f"/console/visits/{other}/reschedule", data=move(kim_csrf, "kim", DAY, "12:30")
        )
        assert refused.status_code == 409
        assert "Kim 在 2026年3月3日 13:00–14:00（UTC）已有上门服务" in refused.text
        assert "本次未预约、未改期" in refused.text
        assert (await visit(api, other))["start"] == f"{DAY}T15:00:00+00:00"


async def test_refusals_of_a_reschedule(api: Api, clock: ManualClock) -> None:
    ticket = await a_ticket(api)
    booked = await book(api, ticket, "ivy", "10:00", "11:00")
    await console_user(api, "ivy", "agent")
    await console_user(api, "ana", "sales_rep")
    url = f"/console/visits/{booked}/reschedule"
    async with own_client(api) as ivy, own_client(api) as ana:
        csrf = await sign_in(ivy, "ivy")
        assert (
            await ivy.post(url, data={**move(csrf, "ivy", NEXT, "09:00"), "csrf": ""})
        ).status_code == 403
        ana_csrf = await sign_in(ana, "ana")
        assert (await ana.post(url, data=move(ana_csrf, "ivy", NEXT, "09:00"))).status_code == 403
        day = await ana.get("/console/visits", params={"day": DAY, "technician": "ivy"})
        assert "/reschedule" not in day.text  # a rep reads the day without forms
        unknown = "/console/visits/00000000-0000-0000-0000-000000000000/reschedule"
        assert (await ivy.post(unknown, data=move(csrf, "ivy", NEXT, "09:00"))).status_code == 404
        too_long = await ivy.post(url, data=move(csrf, "ivy", NEXT, "09:00", 900))
        assert too_long.status_code == 422
        assert "minutes" in too_long.text.lower()
        past = await ivy.post(url, data=move(csrf, "ivy", "2026-03-01", "09:00"))
        assert past.status_code == 409
        assert "That time has already begun" in past.text
        assert (await visit(api, booked))["start"] == f"{DAY}T10:00:00+00:00"

        clock.advance(timedelta(days=2))  # the visit took place
        page = await ivy.get("/console/visits", params={"day": DAY})
        [done_url] = re.findall(rf"/console/visits/{booked}/complete", page.text)
        done = await ivy.post(done_url, data={"csrf": csrf, "report": "Fixed"})
        await followed(ivy, done)
        completed = await ivy.post(url, data=move(csrf, "ivy", "2026-03-10", "09:00"))
        assert completed.status_code == 409
