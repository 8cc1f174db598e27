"""The console's settings pages over HTTP: an admin moves a user to another team; a manager
renames a pipeline stage, changes its probability, adds and removes one (a form from a page
older than the pipeline is a 409 that changes nothing); plans, launches and ends a campaign;
sets and revises a target; defines a business calendar and an SLA policy on it; every change
read back from the context's own API. Access: a rep, an agent or an analyst gets the 403
page and a form they post anyway is refused; a manager of a team sets their team's targets
only; no form goes through without its CSRF token; a wrong field is a 422 naming it."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import Api
from tests.support.console import console_user, followed, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales", "service-desk")]


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def version_of(html: str) -> str:
    found = re.search(r'name="version" value="(-?\d+)"', html)
    assert found is not None
    return found.group(1)


async def test_a_manager_edits_the_pipeline_stages(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    async with own_client(api) as mgr:
        csrf = await sign_in(mgr, "mgr")
        page = await mgr.get("/console/admin/stages")
        assert page.status_code == 200, page.text
        assert "The default stages (not configured yet)." in page.text
        old = version_of(page.text)
        saved = await mgr.post(
            "/console/admin/stages/1",
            data={"csrf": csrf, "name": "discovery", "probability": "25", "version": old},
        )
        page = await followed(mgr, saved)
        assert "Saved." in page.text
        pipeline = await ok(await api.as_user("mgr").get("/pipeline"))
        assert [(s["name"], s["probability"]) for s in pipeline["stages"]][:3] == [
            ("prospecting", 10),
            ("discovery", 25),
            ("needs_analysis", 40),
        ]
        # the same form from the page as it was: a conflict, nothing changes
        stale = await mgr.post(
            "/console/admin/stages/0",
            data={"csrf": csrf, "name": "first", "probability": "5", "version": old},
        )
        assert stale.status_code == 409
        assert "someone changed it after you opened the page" in stale.text
        assert (await ok(await api.as_user("mgr").get("/pipeline")))["stages"][0]["name"] == (
            "prospecting"
        )

        current = version_of(page.text)
        added = await mgr.post(
            "/console/admin/stages",
            data={"csrf": csrf, "name": "trial", "probability": "70", "version": current},
        )
        page = await followed(mgr, added)
        names = [s["name"] for s in (await ok(await api.as_user("mgr").get("/pipeline")))["stages"]]
        assert names[-3:] == ["trial", "won", "lost"]
        gone = await mgr.post(
            f"/console/admin/stages/{names.index('trial')}/remove",
            data={"csrf": csrf, "version": version_of(page.text)},
        )
        await followed(mgr, gone)
        names = [s["name"] for s in (await ok(await api.as_user("mgr").get("/pipeline")))["stages"]]
        assert "trial" not in names

        wrong = await mgr.post(
            "/console/admin/stages/0",
            data={"csrf": csrf, "name": "x", "probability": "150", "version": current},
        )
        assert wrong.status_code == 422
        assert "Please check Probability" in wrong.text
        no_token = await mgr.post(
            "/console/admin/stages/0", data={"name": "x", "probability": "5", "version": current}
        )
        assert no_token.status_code == 403


async def test_campaigns_and_targets(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    await console_user(api, "north", "manager", team="north")
    async with own_client(api) as mgr, own_client(api) as north:
        csrf = await sign_in(mgr, "mgr")
        planned = await mgr.post(
            "/console/admin/campaigns",
            data={
                "csrf": csrf,
                "name": "Spring webinar",
                "channel": "webinar",
                "budget": "5000.00",
                "currency": "EUR",
                "starts_on": "2026-04-01",
                "ends_on": "2026-04-30",
            },
        )
        page = await followed(mgr, planned)
        assert "Spring webinar" in page.text
        assert "€5,000.00" in page.text
        [campaign] = (await ok(await api.as_user("mgr").get("/campaigns")))["items"]
        assert campaign["status"] == "planned"
        launched = await mgr.post(
            f"/console/admin/campaigns/{campaign['id']}/launch", data={"csrf": csrf}
        )
        page = await followed(mgr, launched)
        assert ">active<" in page.text
        ended = await mgr.post(
            f"/console/admin/campaigns/{campaign['id']}/end",
            data={"csrf": csrf, "reason": "budget spent"},
        )
        page = await followed(mgr, ended)
        assert "budget spent" in page.text
        assert (await ok(await api.as_user("mgr").get(f"/campaigns/{campaign['id']}")))[
            "status"
        ] == "ended"
        bad = await mgr.post(
            "/console/admin/campaigns",
            data={
                "csrf": csrf,
                "name": "x",
                "channel": "pigeon",
                "budget": "1",
                "starts_on": "2026-04-01",
                "ends_on": "2026-04-30",
            },
        )
        assert bad.status_code == 422
        assert "Please check Channel" in bad.text

        set_ = await mgr.post(
            "/console/admin/targets",
            data={
                "csrf": csrf,
                "owner_kind": "rep",
                "owner_id": "ana",
                "period": "2026-Q2",
                "amount": "100000",
                "currency": "EUR",
            },
        )
        page = await followed(mgr, set_)
        assert "€100,000.00" in page.text
        [target] = (await ok(await api.as_user("mgr").get("/targets")))["items"]
        revised = await mgr.post(
            f"/console/admin/targets/{target['id']}",
            data={"csrf": csrf, "amount": "120000", "currency": "EUR", "reason": "new hire"},
        )
        page = await followed(mgr, revised)
        assert "€120,000.00" in page.text
        assert "revised 1 times" in page.text
        doc = await ok(await api.as_user("mgr").get(f"/targets/{target['id']}"))
        assert doc["amount"] == {"amount": "120000", "currency": "EUR"}
        wrong = await mgr.post(
            "/console/admin/targets",
            data={
                "csrf": csrf,
                "owner_kind": "rep",
                "owner_id": "ana",
                "period": "2026-Q9",
                "amount": "1",
            },
        )
        assert wrong.status_code == 422
        assert "period" in wrong.text

        # a manager of a team sets that team's targets only, as over the API
        north_csrf = await sign_in(north, "north")
        other = await north.post(
            "/console/admin/targets",
            data={
                "csrf": north_csrf,
                "owner_kind": "team",
                "owner_id": "south",
                "period": "2026-Q2",
                "amount": "1000",
            },
        )
        assert other.status_code == 403


async def test_an_sla_calendar_and_policy(api: Api) -> None:
    await console_user(api, "ada", "admin", locale="zh-CN")
    async with own_client(api) as ada:
        csrf = await sign_in(ada, "ada")
        page = await ada.get("/console/admin/sla")
        assert page.status_code == 200, page.text
        assert "SLA 策略和工作日历" in page.text
        defined = await ada.post(
            "/console/admin/sla/calendars",
            data={
                "csrf": csrf,
                "calendar_id": "berlin",
                "name": "Berlin office",
                "time_zone": "Europe/Berlin",
                "weekdays": ["0", "1", "2", "3", "4"],
                "start": "08:00",
                "end": "16:00",
                "holidays": "2026-12-25, 2026-12-26",
            },
        )
        page = await followed(ada, defined)
        assert "Berlin office" in page.text
        assert "周一 08:00–16:00" in page.text
        calendar = await ok(await api.as_user("ada", "admin").get("/calendars/berlin"))
        assert calendar["holidays"] == ["2026-12-25", "2026-12-26"]
        assert [h["weekday"] for h in calendar["hours"]] == [0, 1, 2, 3, 4]

        minutes = {
            f"{p}_{k}": str(n)
            for p, n in (("low", 480), ("normal", 240), ("high", 60), ("urgent", 15))
            for k in ("first_response", "resolution")
        }
        policy = await ada.post(
            "/console/admin/sla/policies",
            data={
                "csrf": csrf,
                "level": "premium",
                "name": "Premium care",
                "calendar_id": "berlin",
                **minutes,
            },
        )
        page = await followed(ada, policy)
        assert "Premium care" in page.text
        assert "首次响应 15 分钟" in page.text
        [doc] = (await ok(await api.as_user("ada", "admin").get("/sla/policies")))["items"]
        assert (doc["level"], doc["calendar_id"]) == ("premium", "berlin")
        assert doc["targets"]["urgent"]["first_response_minutes"] == 15

        no_days = await ada.post(
            "/console/admin/sla/calendars",
            data={
                "csrf": csrf,
                "name": "x",
                "time_zone": "Europe/Berlin",
                "start": "08:00",
                "end": "16:00",
            },
        )
        assert no_days.status_code == 422
        assert "工作日" in no_days.text
        bad_zone = await ada.post(
            "/console/admin/sla/calendars",
            data={
                "csrf": csrf,
                "name": "x",
                "time_zone": "Mars/Olympus",
                "weekdays": ["0"],
                "start": "08:00",
                "end": "16:00",
            },
        )
        assert bad_zone.status_code == 422
        unknown_calendar = await ada.post(
            "/console/admin/sla/policies",
            data={"csrf": csrf, "level": "basic", "name": "B", "calendar_id": "nope", **minutes},
        )
        body = {
            "level": "basic",
            "name": "B",
            "calendar_id": "nope",
            "targets": {
                p: {"first_response_minutes": 15, "resolution_minutes": 60}
                for p in ("low", "normal", "high", "urgent")
            },
        }
        over_api = await api.as_user("ada", "admin").post("/sla/policies", json=body)
        assert over_api.status_code >= 400
        assert unknown_calendar.status_code == over_api.status_code  # as the command answers
        assert "nope" in unknown_calendar.text
        assert len((await ok(await api.as_user("ada", "admin").get("/sla/policies")))["items"]) == 1


async def test_an_admin_moves_a_user_to_another_team(api: Api) -> None:
    await console_user(api, "ada", "admin")
    await console_user(api, "ana", "sales_rep", team="north")
    async with own_client(api) as ada:
        csrf = await sign_in(ada, "ada")
        page = await ada.get("/console/admin/teams")
        assert re.search(r"<h2[^>]*>north", page.text)
        created = await ada.post(
            "/console/admin/teams", data={"csrf": csrf, "team_id": "south", "name": "south"}
        )
        await followed(ada, created)
        moved = await ada.post(
            "/console/admin/teams/members/ana", data={"csrf": csrf, "team": "south"}
        )
        page = await followed(ada, moved)
        assert re.search(r"<h2[^>]*>south", page.text)
        assert not re.search(r"<h2[^>]*>north", page.text)
        assert "Sales rep" in page.text or "sales rep" in page.text.lower()
        missing = await ada.post(
            "/console/admin/teams/members/nobody", data={"csrf": csrf, "team": "south"}
        )
        assert missing.status_code == 422


async def test_who_may_open_the_settings(api: Api) -> None:
    await console_user(api, "ana", "sales_rep")
    await console_user(api, "ivy", "agent", team="support")
    await console_user(api, "sue", "analyst")
    await console_user(api, "mgr", "manager")
    async with (
        own_client(api) as ana,
        own_client(api) as ivy,
        own_client(api) as sue,
        own_client(api) as mgr,
    ):
        tokens = {u: await sign_in(c, u) for c, u in ((ana, "ana"), (ivy, "ivy"), (sue, "sue"))}
        await sign_in(mgr, "mgr")
        for client in (ana, ivy, sue):
            for path in ("", "/stages", "/campaigns", "/targets", "/sla", "/teams"):
                answer = await client.get(f"/console/admin{path}")
                assert answer.status_code == 403, (path, answer.text)
        refused = await ana.post(
            "/console/admin/stages",
            data={"csrf": tokens["ana"], "name": "x", "probability": "5", "version": "-1"},
        )
        assert refused.status_code == 403
        assert (await ok(await api.as_user("mgr").get("/pipeline")))["configured"] is False
        refused = await ivy.post(
            "/console/admin/campaigns",
            data={
                "csrf": tokens["ivy"],
                "name": "x",
                "channel": "email",
                "budget": "1",
                "starts_on": "2026-04-01",
                "ends_on": "2026-04-30",
            },
        )
        assert refused.status_code == 403
        index = await mgr.get("/console/admin")
        assert 'href="/console/admin/stages"' in index.text
        assert 'href="/console/admin/sla"' in index.text
        assert 'href="/console/admin/teams"' not in index.text  # users are the admins'
        assert (await mgr.get("/console/admin/teams")).status_code == 403
        home = await mgr.get("/console/")
        assert 'href="/console/admin"' in home.text
        assert 'href="/console/admin"' not in (await ana.get("/console/")).text
        unknown = await mgr.get("/console/admin/campaigns?colour=red")
        assert unknown.status_code == 422
