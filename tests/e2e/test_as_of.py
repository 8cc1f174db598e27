"""``as_of`` on the 360° view and the customer list: what happened by then, as recorded by
then. A later change is not in an answer as of before it; an interaction imported later
about an earlier day is left out of an answer as of a moment before it was recorded, and in
one after; an erased customer stays erased in the past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.analytics.application.churn_commands import RecordAssessment
from crm.analytics.churn.assessment import Assessment
from crm.customer.application.customer_commands import LogInteraction
from crm.events import ERASED
from crm.events.customer import Channel
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.repository import CommandContext
from crm.platform.bootstrap import Platform
from tests.conftest import Api
from tests.support.reads import caught_up, moment

pytestmark = pytest.mark.contexts("customer", "analytics")


async def test_as_of_answers_what_was_known_then(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    clock.set(datetime.now(UTC))
    boss = api.as_user("boss", Role.MANAGER)
    r = await boss.post(
        "/customers", json={"name": "Ada", "email": "ada@example.com", "region": "EU"}
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    before_registering = clock.now() - timedelta(days=2)
    await caught_up(platform, "customer_360")
    registered = await moment()

    r = await boss.patch(f"/customers/{cid}", json={"region": "CN"})
    assert r.status_code == 200, r.text
    # an interaction of last week, imported now: happened before `registered`, recorded after
    ctx = CommandContext(
        actor="boss",
        role="manager",
        tenant="default",
        now=clock.now(),
        occurred_at=clock.now() - timedelta(days=1),
    )
    logged = LogInteraction(cid, channel=Channel.CALL, summary="Ada called")
    await platform.runtime.commands.execute(logged, ctx)
    await caught_up(platform, "customer_360")
    imported = await moment()

    async def view(as_of: datetime | None) -> dict:
        params = {} if as_of is None else {"as_of": as_of.isoformat()}
        r = await boss.get(f"/analytics/customers/{cid}/360", params=params)
        assert r.status_code == 200, r.text
        return dict(r.json())

    then = await view(registered)
    assert (then["name"], then["region"]) == ("Ada", "EU")
    assert then["interactions"]["count"] == 0  # recorded after `registered`
    later = await view(imported)
    assert later["region"] == "CN"
    assert later["interactions"]["count"] == 1  # happened earlier, recorded by then
    assert (await view(None))["region"] == "CN"
    r = await boss.get(
        f"/analytics/customers/{cid}/360", params={"as_of": before_registering.isoformat()}
    )
    assert r.status_code == 404  # not a customer yet

    async def listed(as_of: datetime, region: str) -> list[str]:
        params = {"as_of": as_of.isoformat(), "region": region}
        r = await boss.get("/analytics/customers", params=params)
        assert r.status_code == 200, r.text
        return [row["id"] for row in r.json()["items"]]

    assert await listed(registered, "EU") == [cid]
    assert await listed(registered, "CN") == []
    assert await listed(imported, "CN") == [cid]
    r = await boss.get(
        "/analytics/customers", params={"as_of": registered.isoformat(), "format": "csv"}
    )
    assert r.status_code == 200
    assert ",EU," in r.text

    # erased stays erased, in the past too (the key is gone)
    admin = api.as_user("root", Role.ADMIN)
    assert (await admin.post(f"/customers/{cid}/erase")).status_code == 200
    await caught_up(platform, "customer_360")
    assert (await view(registered))["name"] == ERASED


async def test_as_of_must_be_a_moment_with_a_time_zone(api: Api) -> None:
    boss = api.as_user("boss")
    for bad in ("yesterday", "2026-03-01T10:00:00"):
        r = await boss.get("/analytics/customers", params={"as_of": bad})
        assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["query", "as_of"])
    r = await boss.get("/analytics/churn/warnings", params={"as_of": "2026-03-01T10:00:00Z"})
    assert (r.status_code, r.json()["items"]) == (200, [])


@pytest.mark.contexts("customer", "analytics", "service-desk")
async def test_the_past_360_view_of_one_customer_follows_their_tickets_streams(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    """The replay for one customer keeps the streams their events began (a ticket's later
    events do not name the customer): as of a moment after everything, it equals the live
    view; as of before the resolution, the ticket is still open."""
    clock.set(datetime.now(UTC))
    boss = api.as_user("boss", Role.MANAGER)
    cid = (await boss.post("/customers", json={"name": "Ada"})).json()["id"]
    other = (await boss.post("/customers", json={"name": "Bea"})).json()["id"]
    body = {"kind": "complaint", "channel": "phone", "priority": "high", "subject": "Box"}
    for who in (cid, other):
        r = await boss.post("/tickets", json={**body, "customer_id": who, "description": "x"})
        assert r.status_code == 201, r.text
    mine = await boss.post("/tickets", json={**body, "customer_id": cid, "description": "y"})
    ticket = mine.json()["id"]
    await caught_up(platform, "customer_360")
    opened = await moment()
    r = await boss.post(f"/tickets/{ticket}/assign", json={"agent_id": "ann"})
    assert r.status_code == 200, r.text
    r = await boss.post(f"/tickets/{ticket}/resolve", json={"resolution": "swapped"})
    assert r.status_code == 200, r.text
    await caught_up(platform, "customer_360")
    resolved = await moment()

    async def view(as_of: datetime | None) -> dict:
        params = {} if as_of is None else {"as_of": as_of.isoformat()}
        r = await boss.get(f"/analytics/customers/{cid}/360", params=params)
        assert r.status_code == 200, r.text
        return dict(r.json())

    live, now_then = await view(None), await view(resolved)
    assert live["tickets"] == now_then["tickets"]
    assert live["tickets"]["open"] == 1
    assert (await view(opened))["tickets"]["open"] == 2


async def test_the_churn_warnings_as_of_a_moment_are_the_assessments_recorded_by_then(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    """A customer warned high, then assessed low: the warnings as of between still list
    them, with the reason of then; now they do not."""
    clock.set(datetime.now(UTC))
    boss = api.as_user("boss", Role.MANAGER)
    cid = (await boss.post("/customers", json={"name": "Ada"})).json()["id"]

    async def assess(score: int, level: str, reason: str) -> None:
        verdict = Assessment.from_dict(
            {
                "score": score,
                "level": level,
                "p_alive": 0.5,
                "reasons": [{"code": "silence", "text": reason, "weight": 1.0}],
            }
        )
        ctx = CommandContext(
            actor="process:test", role=SYSTEM_ROLE, tenant="default", now=clock.now()
        )
        head = await platform.store.head_position()
        await platform.runtime.commands.execute(RecordAssessment(cid, verdict, head), ctx)
        await caught_up(platform, "customer_360")

    await assess(85, "high", "no order for 9 months")
    warned = await moment()
    await assess(10, "low", "ordered again")

    async def warnings(as_of: datetime | None) -> list[tuple[str, list[str]]]:
        params = {} if as_of is None else {"as_of": as_of.isoformat()}
        r = await boss.get("/analytics/churn/warnings", params=params)
        assert r.status_code == 200, r.text
        return [(w["customer_id"], [x["text"] for x in w["reasons"]]) for w in r.json()["items"]]

    assert await warnings(warned) == [(cid, ["no order for 9 months"])]
    assert await warnings(None) == []
