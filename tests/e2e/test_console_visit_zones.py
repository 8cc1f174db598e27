"""Field visits entered and shown in the user's time zone (their notification preferences'),
not UTC, on the desk's pages, in English and Chinese.

Agents in Shanghai (UTC+8) book a visit at 07:00 on 4 March from the ticket page: it is
stored at 23:00 UTC on 3 March, listed on their 4 March (a local day that spans two UTC days),
its reschedule form starts from the local day and time; an overlap is told in their zone;
a move to 06:30 on 5 March lands on that local day and leaves 4 March; a user without a zone
reads the same visits in UTC."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import Api
from tests.support.console import console_user, csrf_of, followed, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "service-desk", "activities")]

ZONE = "Asia/Shanghai"


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def visits_of(api: Api, ticket_id: str) -> list[dict[str, Any]]:
    head = await api.platform.runtime.store.head_position()
    page = await ok(
        await api.as_user("boss", "manager").get(
            "/visits", params={"ticket_id": ticket_id, "min_position": head}
        )
    )
    return list(page["items"])


async def in_shanghai(client: httpx.AsyncClient, csrf: str) -> None:
    saved = await client.post(
        "/console/notifications/preferences", data={"csrf": csrf, "time_zone": ZONE}
    )
    assert saved.status_code == 303, saved.text


def slots(html: str) -> list[str]:
    return re.findall(r"<h2>(\d\d:\d\d–\d\d:\d\d) ·", html)


async def test_visits_are_booked_moved_and_shown_in_the_users_zone(api: Api) -> None:
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
    ticket = (await ok(await boss.post("/tickets", json=body), 201))["id"]
    await console_user(api, "ivy", "agent")
    await console_user(api, "kim", "agent", locale="zh-CN")
    await console_user(api, "una", "agent")  # no zone of her own: UTC
    async with own_client(api) as ivy, own_client(api) as kim, own_client(api) as una:
        csrf = await sign_in(ivy, "ivy")
        await in_shanghai(ivy, csrf)
        await in_shanghai(kim, await sign_in(kim, "kim"))
        await sign_in(una, "una")

        page = await ivy.get(f"/console/tickets/{ticket}")
        assert f"Start ({ZONE})" in page.text
        booked = await ivy.post(
            f"/console/tickets/{ticket}/visits",
            data={"csrf": csrf, "technician_id": "ivy", "day": "2026-03-04", "start": "07:00",
                  "minutes": "60", "address": "3 Elm Street"},
        )  # fmt: skip
        page = await followed(ivy, booked)
        (first,) = await visits_of(api, ticket)
        assert first["start"] == "2026-03-03T23:00:00+00:00"  # 07:00 in Shanghai
        assert "day=2026-03-04" in page.text  # the ticket's visits link to the local day

        day = await ivy.get("/console/visits", params={"day": "2026-03-04"})
        assert slots(day.text) == ["07:00–08:00"]
        assert f"Times are in {ZONE}." in day.text
        assert 'name="day" type="date" required value="2026-03-04"' in day.text
        assert 'name="start" type="time" required value="07:00"' in day.text
        assert slots((await ivy.get("/console/visits", params={"day": "2026-03-03"})).text) == []
        # a user in UTC: the same visit at 23:00 on 3 March
        utc = await una.get("/console/visits", params={"technician": "ivy", "day": "2026-03-03"})
        assert slots(utc.text) == ["23:00–00:00"]
        assert "Times are in UTC." in utc.text

        # another visit of ivy's at 09:00-10:00 in Shanghai (01:00-02:00 UTC), over the API
        other = {
            "ticket_id": ticket,
            "customer_id": customer["id"],
            "technician_id": "ivy",
            "start": "2026-03-04T01:00:00+00:00",
            "end": "2026-03-04T02:00:00+00:00",
            "address": "9 Elm Street",
        }
        await ok(await boss.post("/visits", json=other), 201)
        await visits_of(api, ticket)
        day = await ivy.get("/console/visits", params={"day": "2026-03-04"})
        assert slots(day.text) == ["07:00–08:00", "09:00–10:00"]

        move = {"csrf": csrf, "technician_id": "ivy", "day": "2026-03-04", "start": "09:30",
                "minutes": "60"}  # fmt: skip
        overlap = await ivy.post(f"/console/visits/{first['id']}/reschedule", data=move)
        assert overlap.status_code == 409
        assert f"Ivy already has a visit on 4 Mar 2026 from 09:00 to 10:00 ({ZONE})" in (
            overlap.text
        )
        kim_csrf = csrf_of((await kim.get("/console/visits?technician=ivy&day=2026-03-04")).text)
        overlap = await kim.post(
            f"/console/visits/{first['id']}/reschedule", data={**move, "csrf": kim_csrf}
        )
        assert overlap.status_code == 409
        assert f"Ivy 在 2026年3月4日 09:00–10:00（{ZONE}）已有上门服务" in overlap.text

        # to 06:30 on 5 March in Shanghai: 22:30 UTC on 4 March
        moved = await ivy.post(
            f"/console/visits/{first['id']}/reschedule",
            data={**move, "day": "2026-03-05", "start": "06:30", "reason": "away"},
        )
        assert moved.status_code == 303, moved.text
        assert "day=2026-03-05" in moved.headers["location"]
        page = await followed(ivy, moved)
        assert slots(page.text) == ["06:30–07:30"]
        assert "Moved from 4 Mar 2026, 07:00–08:00 (Ivy)" in page.text
        starts = sorted(v["start"] for v in await visits_of(api, ticket))
        assert starts == ["2026-03-04T01:00:00+00:00", "2026-03-04T22:30:00+00:00"]
        day = await ivy.get("/console/visits", params={"day": "2026-03-04"})
        assert slots(day.text) == ["09:00–10:00"]  # the UTC day holds both: the local one not

        # in Chinese, in the zone
        page = await kim.get("/console/visits", params={"technician": "ivy", "day": "2026-03-05"})
        assert slots(page.text) == ["06:30–07:30"]
        assert f"时间按 {ZONE} 显示。" in page.text
        assert f"开始时间（{ZONE}）" in page.text
        assert "原定 2026年3月4日 07:00–08:00（Ivy）" in page.text
