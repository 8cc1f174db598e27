"""The sales pipeline through HTTP: leads, opportunities, the pipeline, campaigns and targets,
with the access rules of reps and managers, read-your-writes and concurrent edits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from crm.events.sales import LeadConversionRequested
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.repository import CommandContext
from crm.sales.application.lead_commands import CompleteLeadConversion
from crm.sales.application.opportunity_commands import OpenConvertedOpportunity
from crm.sales.domain.leads import Lead, conversion_ids
from crm.sales.domain.opportunities import Opportunity
from tests.conftest import T0, Api, UserClient
from tests.support.customers import known_customers

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]

_customers = known_customers("cust-1", "c")

Users = Callable[..., UserClient]
EUR = "EUR"


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": EUR}


async def created(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def read(client: UserClient, url: str, position: int) -> dict[str, Any]:
    r = await client.get(url, params={"min_position": position})
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


async def eventually(
    client: UserClient, url: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The document at ``url`` once ``done`` holds for it (a process finishing on its own)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        r = await client.get(url)
        doc = dict(r.json()) if r.status_code == 200 else None
        if doc is not None and done(doc):
            return doc
        assert asyncio.get_running_loop().time() < deadline, doc
        await asyncio.sleep(0.02)


async def capture(client: UserClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Grace Hopper", "email": "grace@navy.example", "company": "Navy", **fields}
    return await created(await client.post("/leads", json=body))


async def open_opportunity(client: UserClient, **fields: Any) -> dict[str, Any]:
    body = {
        "customer_id": "cust-1",
        "name": "Compiler licences",
        "amount": eur("12000.00"),
        "expected_close_date": "2026-06-30",
        **fields,
    }
    return await created(await client.post("/opportunities", json=body))


async def test_capture_qualify_convert_answers_202_with_fixed_ids(as_user: Users) -> None:
    rep = as_user("rep-1", Role.SALES_REP)
    lead = await capture(rep, source="webinar", phone="+1 555 0100")
    assert lead["version"] == 0
    doc = await read(rep, f"/leads/{lead['id']}", lead["position"])
    assert (doc["status"], doc["owner_id"], doc["name"]) == ("open", "rep-1", "Grace Hopper")

    q = await created(await rep.post(f"/leads/{lead['id']}/qualify", json={"note": "budget"}), 200)
    body = {
        "opportunity_name": "Navy compilers",
        "amount": eur("50000"),
        "expected_close_date": "2026-09-30",
    }
    conv = await created(await rep.post(f"/leads/{lead['id']}/convert", json=body), 202)
    customer_id, opportunity_id = conversion_ids(lead["id"])
    assert (conv["customer_id"], conv["opportunity_id"]) == (customer_id, opportunity_id)
    assert conv["new_customer"] is True
    assert conv["position"] > q["position"]
    doc = await read(rep, f"/leads/{lead['id']}", conv["position"])
    # the conversion process (tests/integration/test_lead_conversion.py) may already be done
    assert doc["status"] in ("converting", "converted")
    assert (doc["customer_id"], doc["opportunity_id"]) == (customer_id, opportunity_id)
    # Let the process finish before repeating the request, so the repeat meets one state
    # whatever the timing: the process records exactly one event, the repeat none.
    done = await eventually(rep, f"/leads/{lead['id']}", lambda d: d["status"] == "converted")
    assert done["version"] == conv["version"] + 1
    again = await created(await rep.post(f"/leads/{lead['id']}/convert", json=body), 202)
    assert (again["version"], again["opportunity_id"]) == (done["version"], opportunity_id)
    other = await rep.post(f"/leads/{lead['id']}/convert", json={**body, "amount": eur("1")})
    assert other.status_code == 409
    assert other.json()["code"] == "lead_already_converted"
    qualify_again = await rep.post(f"/leads/{lead['id']}/qualify")
    assert qualify_again.status_code == 409
    assert qualify_again.json()["code"] in ("lead_converting", "lead_converted")


async def test_the_conversion_steps_run_as_the_system_and_repeat_safely(
    api: Api, as_user: Users, clock: ManualClock
) -> None:
    """The two commands the conversion process sends: as ``system``, on a rep's lead, twice."""
    rep = as_user("rep-1", Role.SALES_REP)
    lead = await capture(rep)
    await rep.post(f"/leads/{lead['id']}/qualify")
    body = {"opportunity_name": "Deal", "amount": eur("900"), "expected_close_date": "2026-05-01"}
    await created(await rep.post(f"/leads/{lead['id']}/convert", json=body), 202)

    runtime = api.platform.runtime
    bus = runtime.commands
    loaded = await bus.repository(Lead).load(lead["id"])
    request = loaded.state.conversion
    assert isinstance(request, LeadConversionRequested)
    ctx = CommandContext(
        actor="process:lead-conversion", role=SYSTEM_ROLE, tenant="default", now=clock.now()
    )

    opened = await bus.execute(OpenConvertedOpportunity(lead["id"], request), ctx)
    assert opened.stream_id == Opportunity.stream_id_for(request.opportunity_id)
    repeated = await bus.execute(OpenConvertedOpportunity(lead["id"], request), ctx)
    assert (repeated.stream_version, repeated.position) == (opened.stream_version, opened.position)

    complete = CompleteLeadConversion(lead["id"], request.customer_id, request.opportunity_id)
    done = await bus.execute(complete, ctx)
    redone = await bus.execute(complete, ctx)
    assert redone.stream_version == done.stream_version
    assert len(await runtime.store.read_stream(Lead.stream_id_for(lead["id"]))) == 4

    opp = await read(rep, f"/opportunities/{request.opportunity_id}", opened.position)
    assert (opp["owner_id"], opp["lead_id"], opp["stage"]) == ("rep-1", lead["id"], "prospecting")
    assert opp["amount"] == eur("900")
    doc = await read(rep, f"/leads/{lead['id']}", done.position)
    assert doc["status"] == "converted"


async def test_an_opportunity_moves_through_stages_at_the_clocks_time(
    as_user: Users, clock: ManualClock
) -> None:
    rep = as_user("rep-1", Role.SALES_REP)
    opp = await open_opportunity(rep)
    url = f"/opportunities/{opp['id']}"
    clock.advance(timedelta(days=2))
    await created(await rep.post(f"{url}/stage", json={"stage": "proposal"}), 200)
    clock.advance(timedelta(days=3))
    back = await created(await rep.post(f"{url}/stage", json={"stage": "qualification"}), 200)
    doc = await read(rep, url, back["position"])
    assert [(h["stage"], h["entered_at"], h.get("direction")) for h in doc["stage_history"]] == [
        ("prospecting", T0.isoformat(), None),
        ("proposal", (T0 + timedelta(days=2)).isoformat(), "forward"),
        ("qualification", (T0 + timedelta(days=5)).isoformat(), "backward"),
    ]
    assert (doc["stage"], doc["probability"], doc["entered_at"]) == (
        "qualification",
        20,
        (T0 + timedelta(days=5)).isoformat(),
    )
    assert doc["weighted_amount"] == eur("2400.00")

    clock.advance(timedelta(days=1))
    won = await created(await rep.post(f"{url}/win"), 200)
    doc = await read(rep, url, won["position"])
    assert (doc["status"], doc["stage"], doc["closed_at"]) == (
        "won",
        "won",
        (T0 + timedelta(days=6)).isoformat(),
    )
    closed = await rep.post(f"{url}/stage", json={"stage": "proposal"})
    assert closed.status_code == 409
    assert closed.json()["code"] == "opportunity_closed"
    assert (await rep.post(f"{url}/lose", json={"reason": "x"})).json()["code"] == (
        "opportunity_closed"
    )

    clock.advance(timedelta(days=1))
    reopened = await rep.post(f"{url}/reopen", json={"stage": "negotiation", "reason": "returned"})
    assert reopened.status_code == 200, reopened.text
    lost = await created(await rep.post(f"{url}/lose", json={"reason": "budget cut"}), 200)
    doc = await read(rep, url, lost["position"])
    assert (doc["status"], doc["lost_at_stage"], doc["lost_reason"]) == (
        "lost",
        "negotiation",
        "budget cut",
    )
    assert doc["weighted_amount"] == eur("0.00")
    assert (await rep.post(f"{url}/reopen", json={"stage": "won"})).status_code == 422
    lists = await rep.get(
        "/opportunities", params={"status": "lost", "min_position": lost["position"]}
    )
    assert [o["id"] for o in lists.json()["items"]] == [opp["id"]]


async def test_concurrent_edits_of_one_opportunity_all_land(as_user: Users, api: Api) -> None:
    rep = as_user("rep-1", Role.SALES_REP)
    opp = await open_opportunity(rep)
    url = f"/opportunities/{opp['id']}"
    stages = ["qualification", "needs_analysis", "proposal", "negotiation"]
    answers = await asyncio.gather(
        *(rep.post(f"{url}/stage", json={"stage": s}) for s in stages),
        rep.patch(url, json={"amount": eur("15000.00")}),
        rep.patch(url, json={"expected_close_date": "2026-07-31"}),
    )
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    versions = sorted(a.json()["version"] for a in answers)
    assert versions == [1, 2, 3, 4, 5, 6]
    stream = await api.platform.runtime.store.read_stream(Opportunity.stream_id_for(opp["id"]))
    assert len(stream) == 7
    doc = await read(rep, url, max(a.json()["position"] for a in answers))
    assert [h["stage"] for h in doc["stage_history"][1:]] == [
        e.payload["to_stage"] for e in stream if e.event_type.endswith("stage_changed")
    ]
    assert sorted(h["stage"] for h in doc["stage_history"][1:]) == sorted(stages)
    assert (doc["amount"], doc["expected_close_date"]) == (eur("15000.00"), "2026-07-31")


async def test_if_match_refuses_a_stale_patch(as_user: Users) -> None:
    rep = as_user("rep-1", Role.SALES_REP)
    opp = await open_opportunity(rep)
    url = f"/opportunities/{opp['id']}"
    got = await rep.get(url, params={"min_position": opp["position"]})
    assert got.headers["ETag"] == '"0"'
    ok = await rep.patch(url, json={"amount": eur("13000")}, headers={"If-Match": '"0"'})
    assert ok.status_code == 200, ok.text
    stale = await rep.patch(url, json={"amount": eur("14000")}, headers={"If-Match": '"0"'})
    assert stale.status_code == 409
    assert (stale.json()["code"], stale.json()["actual_version"]) == ("version_conflict", 1)
    assert (await rep.patch(url, json={}, headers={"If-Match": '"1"'})).status_code == 422
    currency = await rep.patch(url, json={"amount": {"amount": "1", "currency": "USD"}})
    assert (currency.status_code, currency.json()["code"]) == (409, "currency_fixed")


async def test_a_stage_move_at_a_pinned_version_is_refused_once_someone_else_moved_it(
    as_user: Users, api: Api
) -> None:
    """Two people saw the card at version 0: the first move lands, the second (If-Match 0)
    is refused by the store, and nothing of it is recorded."""
    rep, manager = as_user("rep-1", Role.SALES_REP), as_user("mgr-1", Role.MANAGER)
    opp = await open_opportunity(rep)
    url = f"/opportunities/{opp['id']}/stage"
    first = await manager.post(url, json={"stage": "proposal"}, headers={"If-Match": '"0"'})
    assert (first.status_code, first.json()["version"]) == (200, 1), first.text
    second = await rep.post(url, json={"stage": "qualification"}, headers={"If-Match": '"0"'})
    assert second.status_code == 409, second.text
    assert (second.json()["code"], second.json()["actual_version"]) == ("version_conflict", 1)
    same = await rep.post(url, json={"stage": "proposal"}, headers={"If-Match": '"0"'})
    assert same.status_code == 409, same.text  # to where the other left it: still stale
    stream = await api.platform.runtime.store.read_stream(Opportunity.stream_id_for(opp["id"]))
    assert [e.payload.get("to_stage") for e in stream[1:]] == ["proposal"]
    at_one = await rep.post(url, json={"stage": "qualification"}, headers={"If-Match": "1"})
    assert (at_one.status_code, at_one.json()["version"]) == (200, 2), at_one.text
    bad = await rep.post(url, json={"stage": "proposal"}, headers={"If-Match": "two"})
    assert (bad.status_code, "If-Match" in bad.text) == (422, True)


async def test_win_lose_and_reopen_at_a_pinned_version_are_refused_once_it_changed(
    as_user: Users, api: Api
) -> None:
    """A close or a reopening at a version someone else has moved on from is a 409 that
    records nothing; at the current version it lands."""
    rep, manager = as_user("rep-1", Role.SALES_REP), as_user("mgr-1", Role.MANAGER)
    opp = await open_opportunity(rep)
    base = f"/opportunities/{opp['id']}"
    moved = await manager.post(f"{base}/stage", json={"stage": "proposal"})
    assert moved.status_code == 200, moved.text
    stale_win = await rep.post(f"{base}/win", headers={"If-Match": '"0"'})
    assert (stale_win.status_code, stale_win.json()["actual_version"]) == (409, 1)
    stale_loss = await rep.post(f"{base}/lose", json={"reason": "price"}, headers={"If-Match": "0"})
    assert (stale_loss.status_code, stale_loss.json()["code"]) == (409, "version_conflict")
    stream = await api.platform.runtime.store.read_stream(Opportunity.stream_id_for(opp["id"]))
    assert len(stream) == 2
    lost = await rep.post(f"{base}/lose", json={"reason": "price"}, headers={"If-Match": "1"})
    assert (lost.status_code, lost.json()["version"]) == (200, 2), lost.text
    again = {"stage": "proposal", "reason": "back"}
    stale_reopen = await manager.post(f"{base}/reopen", json=again, headers={"If-Match": "1"})
    assert stale_reopen.status_code == 409, stale_reopen.text
    reopened = await manager.post(f"{base}/reopen", json=again, headers={"If-Match": "2"})
    assert reopened.status_code == 200, reopened.text
    bad = await rep.post(f"{base}/win", headers={"If-Match": "latest"})
    assert (bad.status_code, "If-Match" in bad.text) == (422, True)


async def test_a_rep_sees_and_changes_only_their_own_records(as_user: Users) -> None:
    alice, bob = as_user("alice", Role.SALES_REP), as_user("bob", Role.SALES_REP)
    lead = await capture(alice)
    opp = await open_opportunity(alice)
    assert (await read(alice, f"/leads/{lead['id']}", lead["position"]))["owner_id"] == "alice"
    assert (await bob.get(f"/leads/{lead['id']}")).status_code == 404
    assert (await bob.post(f"/leads/{lead['id']}/qualify")).status_code == 404
    assert (await bob.get(f"/opportunities/{opp['id']}")).status_code == 404
    assert (await bob.post(f"/opportunities/{opp['id']}/win")).status_code == 404
    listed = await bob.get("/leads", params={"min_position": lead["position"]})
    assert listed.json()["total"] == 0
    for_bob = await alice.post("/leads", json={"name": "X", "owner_id": "bob"})
    assert for_bob.status_code == 403
    reassign = await alice.patch(f"/opportunities/{opp['id']}", json={"owner_id": "bob"})
    assert reassign.status_code == 403

    boss = as_user("boss", Role.MANAGER)
    moved = await created(
        await boss.patch(f"/opportunities/{opp['id']}", json={"owner_id": "bob"}), 200
    )
    assert (await read(bob, f"/opportunities/{opp['id']}", moved["position"]))["owner_id"] == "bob"
    assert (await alice.get(f"/opportunities/{opp['id']}")).status_code == 404
    assert (
        await as_user("ana", Role.ANALYST).post("/leads", json={"name": "Y"})
    ).status_code == 403


async def test_a_managers_team_does_not_see_another_teams_records(as_user: Users) -> None:
    x, y = as_user("mx", Role.MANAGER, team="x"), as_user("my", Role.MANAGER, team="y")
    lead = await capture(x, owner_id="rep-x")
    assert (await y.get(f"/leads/{lead['id']}")).status_code == 404
    assert (await y.post(f"/leads/{lead['id']}/qualify")).status_code == 404
    assert (await y.get("/leads", params={"min_position": lead["position"]})).json()["total"] == 0
    assert (await as_user("admin", Role.ADMIN).get(f"/leads/{lead['id']}")).status_code == 200


async def test_a_manager_sees_their_teams_records(as_user: Users) -> None:
    x, y = as_user("mx", Role.MANAGER, team="x"), as_user("my", Role.MANAGER, team="y")
    rep_x = as_user("rep-x", Role.SALES_REP, team="x")
    lead = await capture(rep_x)
    doc = await read(x, f"/leads/{lead['id']}", lead["position"])
    assert (doc["owner_id"], doc["team_id"]) == ("rep-x", "x")
    assert (await x.post(f"/leads/{lead['id']}/qualify")).status_code == 200
    assert (await y.get(f"/leads/{lead['id']}")).status_code == 404
    opp = await open_opportunity(rep_x)
    listed = await x.get("/opportunities", params={"min_position": opp["position"]})
    assert [o["id"] for o in listed.json()["items"]] == [opp["id"]]
    assert (await y.get("/opportunities")).json()["total"] == 0
    steal = await y.patch(f"/opportunities/{opp['id']}", json={"owner_id": "rep-y"})
    assert steal.status_code == 404


async def test_bad_input_names_the_field(as_user: Users) -> None:
    rep = as_user("rep-1", Role.SALES_REP)
    floats = await rep.post(
        "/opportunities",
        json={
            "customer_id": "c",
            "name": "n",
            "amount": {"amount": 12.5, "currency": "EUR"},
            "expected_close_date": "2026-06-30",
        },
    )
    assert floats.status_code == 422
    assert floats.json()["detail"][0]["loc"][:2] == ["body", "amount"]
    zero = await rep.post(
        "/opportunities",
        json={
            "customer_id": "c",
            "name": "n",
            "amount": eur("0"),
            "expected_close_date": "2026-06-30",
        },
    )
    assert (zero.status_code, zero.json()["detail"][0]["loc"]) == (422, ["body", "amount"])
    opp = await open_opportunity(rep)
    stage = await rep.post(f"/opportunities/{opp['id']}/stage", json={"stage": "nowhere"})
    assert (stage.status_code, stage.json()["detail"][0]["loc"]) == (422, ["body", "stage"])
    lead = await rep.post("/leads", json={"name": "N", "emial": "typo@example.com"})
    assert lead.status_code == 422
    assert "emial" in lead.json()["message"]
    sort = await rep.get("/opportunities", params={"sort": "secret"})
    assert (sort.status_code, sort.json()["detail"][0]["loc"]) == (422, ["query", "sort"])
    assert (await rep.get("/leads/not-a-uuid")).status_code == 422


async def test_a_configured_pipeline_drives_the_stages(api: Api, as_user: Users) -> None:
    rep = as_user("rep-1", Role.SALES_REP)

    async def put(stages: list[dict[str, Any]], role: Role = Role.MANAGER) -> Any:
        headers = api.headers("boss" if role is Role.MANAGER else "rep-1", role)
        return await api.client.put("/pipeline", json={"stages": stages}, headers=headers)

    default = await rep.get("/pipeline")
    assert (default.json()["configured"], default.json()["stages"][0]["name"]) == (
        False,
        "prospecting",
    )
    stages = [
        {"name": "discovery", "probability": 15},
        {"name": "pilot", "probability": 50},
        {"name": "signed", "probability": 100, "outcome": "won"},
        {"name": "dropped", "probability": 0, "outcome": "lost"},
    ]
    assert (await put(stages, Role.SALES_REP)).status_code == 403
    configured = await created(await put(stages), 200)
    same = await created(await put(stages), 200)
    assert same["version"] == configured["version"] == 0
    bad = await put(stages[:2])
    assert (bad.status_code, bad.json()["detail"][0]["loc"]) == (422, ["body", "stages"])
    view = (await rep.get("/pipeline")).json()
    assert [s["name"] for s in view["stages"]] == ["discovery", "pilot", "signed", "dropped"]

    opp = await open_opportunity(rep, stage="pilot")
    doc = await read(rep, f"/opportunities/{opp['id']}", opp["position"])
    assert (doc["stage"], doc["probability"], doc["weighted_amount"]) == (
        "pilot",
        50,
        eur("6000.00"),
    )
    old = await rep.post(f"/opportunities/{opp['id']}/stage", json={"stage": "proposal"})
    assert old.status_code == 422
    won = await created(await rep.post(f"/opportunities/{opp['id']}/win"), 200)
    assert (await read(rep, f"/opportunities/{opp['id']}", won["position"]))["stage"] == "signed"


async def test_campaigns_are_planned_launched_and_ended(as_user: Users, clock: ManualClock) -> None:
    boss, rep = as_user("boss", Role.MANAGER), as_user("rep-1", Role.SALES_REP)
    body = {
        "name": "Spring webinar",
        "channel": "webinar",
        "budget": eur("5000"),
        "starts_on": "2026-03-01",
        "ends_on": "2026-03-31",
    }
    assert (await rep.post("/campaigns", json=body)).status_code == 403
    campaign = await created(await boss.post("/campaigns", json=body))
    url = f"/campaigns/{campaign['id']}"
    assert (await boss.post(f"{url}/end")).json()["code"] == "campaign_planned"
    launched = await created(await boss.post(f"{url}/launch"), 200)
    doc = await read(rep, url, launched["position"])
    assert (doc["status"], doc["launched_at"], doc["budget"]) == (
        "active",
        T0.isoformat(),
        eur("5000"),
    )
    lead = await capture(rep, campaign_id=campaign["id"])
    clock.advance(timedelta(days=3))
    ended = await created(await boss.post(f"{url}/end", json={"reason": "done"}), 200)
    doc = await read(rep, url, ended["position"])
    assert (doc["status"], doc["end_reason"]) == ("ended", "done")
    listed = await rep.get(
        "/campaigns", params={"status": "ended", "min_position": ended["position"]}
    )
    assert [c["id"] for c in listed.json()["items"]] == [campaign["id"]]
    attributed = await rep.get(
        "/leads", params={"campaign_id": campaign["id"], "min_position": lead["position"]}
    )
    assert [x["id"] for x in attributed.json()["items"]] == [lead["id"]]


async def test_targets_are_set_by_managers_and_seen_by_their_reps(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER, team="north")
    alice = as_user("alice", Role.SALES_REP, team="north")
    bob = as_user("bob", Role.SALES_REP, team="south")
    rep_target = {
        "owner_kind": "rep",
        "owner_id": "alice",
        "period": "2026-Q2",
        "amount": eur("100000"),
    }
    assert (await alice.post("/targets", json=rep_target)).status_code == 403
    t = await created(await boss.post("/targets", json=rep_target))
    assert t["id"] == "rep-alice-2026-Q2"
    again = await created(await boss.post("/targets", json=rep_target))
    assert again["version"] == t["version"]
    different = await boss.post("/targets", json={**rep_target, "amount": eur("1")})
    assert (different.status_code, different.json()["code"]) == (409, "target_already_set")
    south = await boss.post(
        "/targets", json={**rep_target, "owner_kind": "team", "owner_id": "south"}
    )
    assert south.status_code == 403
    team = await created(
        await boss.post(
            "/targets",
            json={**rep_target, "owner_kind": "team", "owner_id": "north", "period": "2026-04"},
        )
    )
    revised = await created(
        await boss.patch(f"/targets/{t['id']}", json={"amount": eur("120000"), "reason": "growth"}),
        200,
    )
    seen = await alice.get(
        "/targets", params={"min_position": max(team["position"], revised["position"])}
    )
    by_id = {x["id"]: x for x in seen.json()["items"]}
    assert set(by_id) == {"rep-alice-2026-Q2", "team-north-2026-04"}
    assert by_id["rep-alice-2026-Q2"]["amount"] == eur("120000")
    assert by_id["rep-alice-2026-Q2"]["revisions"][0]["previous_amount"] == eur("100000")
    assert (await bob.get("/targets")).json()["total"] == 0
    assert (await bob.get(f"/targets/{t['id']}")).status_code == 404
    assert (await boss.get("/targets")).json()["total"] == 2
