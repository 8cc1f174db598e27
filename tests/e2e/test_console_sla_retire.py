"""SLA policies and business calendars retired from the settings page and over the API.

A manager retires the premium policy: a ticket opened under it keeps its targets, a new
ticket of a premium customer gets the default policy; the tenant's last policy is a 409 that
retires nothing; a calendar a policy in force names is a 409, once no policy names it it is
retired and no policy may name it again. Refusals: no CSRF token (403), a rep or an agent
(403), an unknown policy or calendar (404), a policy id that is no level (422); the same
rules over the API (``POST /sla/policies/{id}/retire``, ``POST /calendars/{id}/retire``)."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm.kernel.auth import Role
from tests.conftest import Api
from tests.support.console import console_user, followed, own_client, sign_in
from tests.support.customers import known_customers

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales", "service-desk")]

_customers = known_customers("c-gold")

MINUTES = {
    f"{p}_{k}": str(n)
    for p, n in (("low", 480), ("normal", 240), ("high", 60), ("urgent", 15))
    for k in ("first_response", "resolution")
}


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def calendar(client: httpx.AsyncClient, csrf: str, calendar_id: str) -> None:
    defined = await client.post(
        "/console/admin/sla/calendars",
        data={
            "csrf": csrf,
            "calendar_id": calendar_id,
            "name": f"{calendar_id} office",
            "time_zone": "Europe/Berlin",
            "weekdays": ["0", "1", "2", "3", "4"],
            "start": "08:00",
            "end": "16:00",
        },
    )
    await followed(client, defined)


async def policy(
    client: httpx.AsyncClient, csrf: str, level: str, name: str, calendar_id: str
) -> httpx.Response:
    defined = await client.post(
        "/console/admin/sla/policies",
        data={"csrf": csrf, "level": level, "name": name, "calendar_id": calendar_id, **MINUTES},
    )
    return await followed(client, defined)


async def listed(api: Api, what: str) -> list[str]:
    page = await ok(await api.as_user("boss", Role.ADMIN).get(what))
    return sorted(str(doc["id"]) for doc in page["items"])


async def open_ticket(api: Api) -> dict[str, Any]:
    agent = api.as_user("ivy", Role.AGENT)
    body = {
        "customer_id": "c-gold",
        "kind": "service_request",
        "channel": "phone",
        "priority": "urgent",
        "subject": "Down",
        "description": "Nothing works.",
    }
    opened = await ok(await agent.post("/tickets", json=body), 201)
    got = await agent.get(f"/tickets/{opened['id']}", params={"min_position": opened["position"]})
    return dict(await ok(got))


async def test_a_manager_retires_a_policy_and_open_tickets_keep_it(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    boss = api.as_user("boss", Role.ADMIN)
    contract = {"customer_id": "c-gold", "level": "premium", "starts_on": "2026-01-01"}
    await ok(await boss.post("/contracts", json=contract), 201)
    async with own_client(api) as mgr:
        csrf = await sign_in(mgr, "mgr")
        await calendar(mgr, csrf, "berlin")
        await policy(mgr, csrf, "default", "Everyone", "berlin")
        page = await policy(mgr, csrf, "premium", "Premium care", "berlin")
        assert "Retire the policy Premium care" in page.text
        before = await open_ticket(api)
        assert before["sla"]["policy_id"] == "premium"

        retired = await mgr.post("/console/admin/sla/policies/premium/retire", data={"csrf": csrf})
        assert retired.status_code == 303, retired.text
        page = await followed(mgr, retired)
        assert "Saved." in page.text
        assert "Premium care" not in page.text
        assert await listed(api, "/sla/policies") == ["default"]
        unknown = await boss.get("/sla/policies/premium")
        assert unknown.status_code == 404

        kept = await ok(await api.as_user("ivy", Role.AGENT).get(f"/tickets/{before['id']}"))
        assert kept["sla"] == before["sla"]  # the open ticket keeps the premium targets
        assert kept["sla_targets"] == before["sla_targets"]
        after = await open_ticket(api)
        assert (after["sla"]["policy_id"], after["sla"]["policy_name"]) == ("default", "Everyone")

        # the last policy in force stays: a 409 page in the reader's words, nothing retired
        last = await mgr.post("/console/admin/sla/policies/default/retire", data={"csrf": csrf})
        assert last.status_code == 409
        assert "last SLA policy" in last.text
        assert await listed(api, "/sla/policies") == ["default"]

        # defined again, the level's policy applies anew
        again = await policy(mgr, csrf, "premium", "Premium again", "berlin")
        assert "Premium again" in again.text
        assert (await open_ticket(api))["sla"]["policy_name"] == "Premium again"


async def test_a_calendar_is_retired_once_no_policy_names_it(api: Api) -> None:
    await console_user(api, "mgr", "manager", locale="zh-CN")
    async with own_client(api) as mgr:
        csrf = await sign_in(mgr, "mgr")
        await calendar(mgr, csrf, "berlin")
        await calendar(mgr, csrf, "paris")
        page = await policy(mgr, csrf, "default", "Everyone", "berlin")
        assert "停用日历 berlin office" in page.text

        in_use = await mgr.post("/console/admin/sla/calendars/berlin/retire", data={"csrf": csrf})
        assert in_use.status_code == 409
        assert "仍按此日历计时" in in_use.text
        assert "默认（无合同）" in in_use.text  # the policy named in the reader's words
        assert await listed(api, "/calendars") == ["berlin", "paris"]

        await policy(mgr, csrf, "default", "Everyone", "paris")  # revised to name another
        retired = await mgr.post("/console/admin/sla/calendars/berlin/retire", data={"csrf": csrf})
        page = await followed(mgr, retired)
        assert "berlin office" not in page.text
        assert await listed(api, "/calendars") == ["paris"]

        # no policy may name it again, and its id is not defined again
        named = await mgr.post(
            "/console/admin/sla/policies",
            data={"csrf": csrf, "level": "basic", "name": "B", "calendar_id": "berlin", **MINUTES},
        )
        assert named.status_code == 409
        assert "berlin" in named.text
        redefined = await mgr.post(
            "/console/admin/sla/calendars",
            data={
                "csrf": csrf,
                "calendar_id": "berlin",
                "name": "berlin office",
                "time_zone": "Europe/Berlin",
                "weekdays": ["0", "1", "2", "3", "4"],
                "start": "08:00",
                "end": "16:00",
            },
        )
        assert redefined.status_code == 409
        assert await listed(api, "/sla/policies") == ["default"]


async def test_retiring_is_refused_without_csrf_for_other_roles_and_unknown_ids(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    await console_user(api, "ana", "sales_rep")
    await console_user(api, "ivy", "agent", team="support")
    async with own_client(api) as mgr, own_client(api) as ana, own_client(api) as ivy:
        csrf = await sign_in(mgr, "mgr")
        await calendar(mgr, csrf, "berlin")
        await policy(mgr, csrf, "default", "Everyone", "berlin")
        await policy(mgr, csrf, "basic", "Basic", "berlin")

        no_token = await mgr.post("/console/admin/sla/policies/basic/retire", data={})
        assert no_token.status_code == 403
        wrong_token = await mgr.post(
            "/console/admin/sla/calendars/berlin/retire", data={"csrf": "x"}
        )
        assert wrong_token.status_code == 403
        for client, user in ((ana, "ana"), (ivy, "ivy")):
            token = await sign_in(client, user)
            refused = await client.post(
                "/console/admin/sla/policies/basic/retire", data={"csrf": token}
            )
            assert refused.status_code == 403, user
        assert await listed(api, "/sla/policies") == ["basic", "default"]

        missing = await mgr.post("/console/admin/sla/policies/premium/retire", data={"csrf": csrf})
        assert missing.status_code == 404
        no_calendar = await mgr.post(
            "/console/admin/sla/calendars/nowhere/retire", data={"csrf": csrf}
        )
        assert no_calendar.status_code == 404
        not_a_level = await mgr.post("/console/admin/sla/policies/gold/retire", data={"csrf": csrf})
        assert not_a_level.status_code == 422
        assert "policy_id" in not_a_level.text
        assert await listed(api, "/sla/policies") == ["basic", "default"]


async def test_the_api_retires_as_the_console_does(api: Api) -> None:
    boss = api.as_user("boss", Role.ADMIN)
    hours = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
    for cid in ("berlin", "spare"):
        body = {"id": cid, "name": cid, "time_zone": "Europe/Berlin", "hours": hours}
        await ok(await boss.post("/calendars", json=body), 201)
    targets = {
        p: {"first_response_minutes": 15, "resolution_minutes": 60}
        for p in ("low", "normal", "high", "urgent")
    }
    for level in (None, "standard"):
        body = {"level": level, "name": f"P {level}", "calendar_id": "berlin", "targets": targets}
        await ok(await boss.post("/sla/policies", json=body), 201)

    rep = api.as_user("ana", Role.SALES_REP)
    assert (await rep.post("/sla/policies/standard/retire")).status_code == 403
    assert (await rep.post("/calendars/spare/retire")).status_code == 403
    assert (await boss.post("/sla/policies/premium/retire")).status_code == 404
    assert (await boss.post("/calendars/nowhere/retire")).status_code == 404
    bad = await boss.post("/sla/policies/gold/retire")
    assert bad.status_code == 422
    assert "policy_id" in bad.text

    stranger = api.as_user("root", Role.ADMIN, tenant="other")  # its own streams only
    assert (await stranger.post("/sla/policies/standard/retire")).status_code == 404
    assert (await stranger.post("/calendars/spare/retire")).status_code == 404

    manager = api.as_user("mia", Role.MANAGER)
    await ok(await manager.post("/sla/policies/standard/retire"))
    await ok(await manager.post("/sla/policies/standard/retire"))  # again: records nothing
    last = await boss.post("/sla/policies/default/retire")
    assert last.status_code == 409
    assert last.json()["code"] == "last_policy"
    in_use = await boss.post("/calendars/berlin/retire")
    assert in_use.status_code == 409
    assert in_use.json()["code"] == "calendar_in_use"
    done = await ok(await boss.post("/calendars/spare/retire"))
    listed_after = await boss.get("/calendars", params={"min_position": done["position"]})
    assert [c["id"] for c in (await ok(listed_after))["items"]] == ["berlin"]


async def test_a_retired_policy_defined_again_is_created_anew(api: Api) -> None:
    """``POST /sla/policies`` answers 201 whenever the call defines the level's policy: the
    first time and again after it was retired; 200 for a revision or the same terms."""
    boss = api.as_user("boss", Role.ADMIN)
    hours = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
    body = {"id": "berlin", "name": "Berlin", "time_zone": "Europe/Berlin", "hours": hours}
    await ok(await boss.post("/calendars", json=body), 201)
    targets = {
        p: {"first_response_minutes": 15, "resolution_minutes": 60}
        for p in ("low", "normal", "high", "urgent")
    }
    default = {"level": None, "name": "Everyone", "calendar_id": "berlin", "targets": targets}
    await ok(await boss.post("/sla/policies", json=default), 201)
    premium = {"level": "premium", "name": "Premium", "calendar_id": "berlin", "targets": targets}
    first = await boss.post("/sla/policies", json=premium)
    assert (first.status_code, first.headers["Location"]) == (201, "/sla/policies/premium")
    same = await boss.post("/sla/policies", json=premium)
    assert same.status_code == 200, same.text
    assert "Location" not in same.headers
    await ok(await boss.post("/sla/policies/premium/retire"))

    again = await boss.post("/sla/policies", json={**premium, "name": "Premium again"})
    assert (again.status_code, again.headers["Location"]) == (201, "/sla/policies/premium")
    answer = again.json()
    assert (answer["id"], answer["version"]) == ("premium", 2)  # the third event: 0, 1, 2
    doc = await ok(
        await boss.get("/sla/policies/premium", params={"min_position": answer["position"]})
    )
    assert (doc["name"], doc["revision"]) == ("Premium again", 1)
    revised = await boss.post("/sla/policies", json={**premium, "name": "Premium revised"})
    assert revised.status_code == 200, revised.text
    assert "Location" not in revised.headers
