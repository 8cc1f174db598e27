"""Customer care's rules for the days after a purchase or a resolved complaint and for a
valuable customer nobody spoke to, on a controlled clock in the tenant's time zone
(Asia/Shanghai, 8 hours ahead of UTC): each opens one task on the tenant's day, its notes the
rule's message template rendered in English and Chinese with the customer's name; a pool
customer's care or retention task goes to the queue of the tenant's pool team, whose managers
see it; erasing the
customer erases the name in the task's notes; bad templates and time zones are refused naming
the field."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from crm.activities.application.care import CareScheduler, care_task_id
from crm.activities.projections.care_models import CARE_DATES
from crm.analytics.application.churn_commands import RecordAssessment
from crm.analytics.application.value_tiers import RecordValueTier
from crm.analytics.churn.assessment import Assessment
from crm.events import ERASED
from crm.events.activities import CareOccasion, TaskScheduled
from crm.events.analytics import ValueTier
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.context import BoundedContext
from crm.kernel.reactor import system_context
from crm.platform.bootstrap import Platform, context_named
from tests.conftest import T0, Api
from tests.support.reads import caught_up

pytestmark = [pytest.mark.e2e]

AFTER_PURCHASE_EN = "Hello {customer_name}: {days} days since the order, on {date}."
AFTER_PURCHASE_ZH = "{customer_name}您好：下单已{days}天（{date}）。"  # noqa: RUF001
RULES = {
    "time_zone": "Asia/Shanghai",
    "pool_team_id": "east",
    "rules": [
        {
            "occasion": "after_purchase",
            "days": 7,
            "template_en": AFTER_PURCHASE_EN,
            "template_zh": AFTER_PURCHASE_ZH,
        },
        {"occasion": "after_complaint", "days": 3, "task_kind": "call"},
        {"occasion": "no_contact", "days": 30, "task_kind": "meeting"},
    ],
}


@pytest.fixture
def contexts(request: pytest.FixtureRequest) -> tuple[BoundedContext, ...]:
    """The contexts a test names (``@pytest.mark.contexts``, else the five of the first
    story), their schedulers ticked by hand."""
    marker = request.node.get_closest_marker("contexts")
    names = marker.args if marker else ("customer", "sales", "service-desk", "activities")
    return tuple(replace(context_named(n), jobs=None) for n in (*names, "analytics"))


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def task_scheduled(platform: Platform, task_id: str) -> TaskScheduled:
    stored = await platform.store.read_stream(f"task-{task_id}")
    first = (await platform.runtime.codec.decode(stored))[0]
    assert isinstance(first, TaskScheduled)
    return first


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def test_care_after_a_purchase_a_complaint_and_a_long_silence(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    boss = api.as_user("boss", Role.MANAGER)
    admin = api.as_user("root", Role.ADMIN)
    ana = api.as_user("ana", Role.SALES_REP)
    agent = api.as_user("ann", Role.AGENT, team="group-a")

    # refused: an unknown placeholder, a format spec, an unknown zone, days missing
    bad = {"rules": [{"occasion": "after_purchase", "days": 7, "template_en": "Hi {name}"}]}
    r = await boss.put("/care/rules", json=bad)
    assert r.status_code == 422
    assert "rules.0.template_en" in r.text
    assert "{name}" in r.text
    bad = {"rules": [{"occasion": "after_purchase", "days": 7, "template_zh": "{days:>4}"}]}
    r = await boss.put("/care/rules", json=bad)
    assert r.status_code == 422
    assert "rules.0.template_zh" in r.text
    r = await boss.put("/care/rules", json={**RULES, "time_zone": "Mars/Olympus"})
    assert r.status_code == 422
    assert "time_zone" in r.text
    r = await boss.put("/care/rules", json={"rules": [{"occasion": "after_complaint"}]})
    assert r.status_code == 422
    assert "rules.0.days" in r.text
    r = await ana.put("/care/rules", json=RULES)
    assert r.status_code == 403
    await ok(await boss.put("/care/rules", json=RULES))
    shown = await ok(await ana.get("/care/rules"))
    assert (shown["time_zone"], shown["pool_team_id"]) == ("Asia/Shanghai", "east")
    assert shown["rules"][0]["template_en"] == AFTER_PURCHASE_EN

    product = {"sku": "BOX", "name": "Box", "list_price": {"amount": "100", "currency": "EUR"}}
    await ok(await boss.post("/products", json=product), 201)

    async def customer(name: str, owner: str | None) -> str:
        body = {"name": name, **({"owner_id": owner} if owner else {})}
        return str((await ok(await boss.post("/customers", json=body), 201))["id"])

    ada = await customer("Ada Lovelace", "ana")  # orders on 2 March (Shanghai)
    bob = await customer("Bob Byte", None)  # in the pool; a complaint resolved on 2 March
    cleo = await customer("Cleo Chen", "ana")  # valuable, never contacted since 2 March
    dan = await customer("Dan Du", "ana")  # valuable, called on 22 March
    eve = await customer("Eve Ek", "ana")  # not valuable, never contacted
    order = {"customer_id": ada, "currency": "EUR", "lines": [{"sku": "BOX", "quantity": "1"}]}
    await ok(await ana.post("/orders", json=order), 201)
    ticket = {
        "customer_id": bob,
        "kind": "complaint",
        "channel": "phone",
        "priority": "high",
        "subject": "Wrong box delivered",
        "description": "The box was blue",
    }
    tid = (await ok(await agent.post("/tickets", json=ticket), 201))["id"]
    assign = {"agent_id": "ann", "group_id": "group-a"}
    await ok(await agent.post(f"/tickets/{tid}/assign", json=assign))
    await ok(await agent.post(f"/tickets/{tid}/resolve", json={"resolution": "Swapped"}))
    for who, tier in ((cleo, ValueTier.HIGH), (dan, ValueTier.HIGH), (eve, ValueTier.MEDIUM)):
        ctx = system_context("process:value-monitor", "default", T0, f"test:{who}")
        await platform.runtime.commands.run(RecordValueTier(who, tier), ctx)
    clock.set(at(2026, 3, 22, 3))
    call = {"channel": "call", "direction": "outbound", "summary": "Checked in"}
    await ok(await boss.post(f"/customers/{dan}/interactions", json=call), 201)
    await caught_up(platform, CARE_DATES, "activities_consents")

    care = CareScheduler(platform.runtime)

    def task(occasion: CareOccasion, cid: str, on: str) -> str:
        return care_task_id("default", occasion, cid, datetime.fromisoformat(on).date())

    # 4 March, 17:00 in Shanghai: the complaint's 3 days end tomorrow; the order's 7 days later
    assert (await care.tick(at(2026, 3, 4, 9))).opened == ()
    # 5 March in Shanghai: Bob's follow-up, in the pool team's queue
    bob_task = task(CareOccasion.AFTER_COMPLAINT, bob, "2026-03-05")
    assert (await care.tick(at(2026, 3, 5, 1))).opened == (bob_task,)
    # 8 March 23:00 UTC is 9 March 07:00 in Shanghai: Ada's 7 days are over there already
    assert (await care.tick(at(2026, 3, 8, 15, 59))).opened == ()
    ada_task = task(CareOccasion.AFTER_PURCHASE, ada, "2026-03-09")
    assert (await care.tick(at(2026, 3, 8, 23))).opened == (ada_task,)
    assert (await care.tick(at(2026, 3, 8, 23, 30))).opened == ()  # once
    # 1 April in Shanghai (31 March 16:00 UTC): Cleo's 30 days of silence; Dan was called
    cleo_task = task(CareOccasion.NO_CONTACT, cleo, "2026-04-01")
    assert (await care.tick(at(2026, 3, 31, 15, 59))).opened == ()
    report = await care.tick(at(2026, 3, 31, 16))
    assert report.opened == (cleo_task,)
    assert (await CareScheduler(platform.runtime).tick(at(2026, 4, 10, 2))).opened == ()

    head = await caught_up(platform, "activities_tasks")
    q = {"min_position": str(head)}
    mine = await ok(await ana.get(f"/tasks/{ada_task}", params=q))
    assert mine["assignee_id"] == "ana"
    assert mine["due_at"].startswith("2026-03-09T01:00")  # 09:00 in Shanghai
    assert mine["reasons"] == ["after_purchase"]
    assert mine["notes"] == (
        "Hello Ada Lovelace: 7 days since the order, on 2026-03-09.\n\n"
        "Ada Lovelace您好：下单已7天（2026-03-09）。"  # noqa: RUF001
    )
    silent = await ok(await ana.get(f"/tasks/{cleo_task}", params=q))
    assert silent["kind"] == "meeting"
    assert "Cleo Chen" in silent["notes"]
    assert "30" in silent["notes"]
    assert "高价值客户 Cleo Chen 已 30 天无人联系" in silent["notes"]

    # the pool customer's task: the east team's queue, its managers see it, others do not
    east = api.as_user("meg", Role.MANAGER, team="east")
    west = api.as_user("wes", Role.MANAGER, team="west")
    queued = await ok(await east.get(f"/tasks/{bob_task}", params=q))
    assert (queued["assignee_id"], queued["team_id"]) == (None, "east")
    assert "Bob Byte" in queued["notes"]
    assert (await west.get(f"/tasks/{bob_task}", params=q)).status_code == 404
    assert (await ana.get(f"/tasks/{bob_task}", params=q)).status_code == 404

    # erased: the name in the notes is gone with the customer's key, and from the read model
    assert "Ada Lovelace" in ((await task_scheduled(platform, ada_task)).notes or "")
    await ok(await admin.post(f"/customers/{ada}/erase", json={"reason": "asked"}))
    assert (await task_scheduled(platform, ada_task)).notes == ERASED
    await caught_up(platform, CARE_DATES)
    doc = await platform.read_store.get(CARE_DATES, ada)
    assert doc is not None
    assert doc["name"] is None


@pytest.mark.contexts("customer", "activities")
async def test_birthdays_and_anniversaries_on_the_tenants_day_29_february_included(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    """Los Angeles, 8 hours behind UTC: a birthday on 29 February falls on the 28th in 2027
    and on the 29th in 2028, from midnight there; an anniversary a day ahead."""
    boss = api.as_user("boss", Role.MANAGER)
    rules = {
        "time_zone": "America/Los_Angeles",
        "rules": [
            {"occasion": "birthday", "days_before": 0, "task_kind": "email"},
            {"occasion": "anniversary", "days_before": 1, "template_en": "{occasion}: {date}"},
        ],
    }
    await ok(await boss.put("/care/rules", json=rules))
    body = {"name": "Lea Leap", "owner_id": "ana", "birthday": "1992-02-29"}
    lea = str((await ok(await boss.post("/customers", json=body), 201))["id"])
    body = {"name": "Wen Wed", "owner_id": "ana", "anniversary": "2010-03-05"}
    wen = str((await ok(await boss.post("/customers", json=body), 201))["id"])
    await caught_up(platform, CARE_DATES, "activities_consents")
    care = CareScheduler(platform.runtime)

    def task(occasion: CareOccasion, cid: str, on: str) -> str:
        return care_task_id("default", occasion, cid, datetime.fromisoformat(on).date())

    assert (await care.tick(at(2027, 2, 28, 7, 59))).opened == ()  # 27 Feb, 23:59 there
    born_2027 = task(CareOccasion.BIRTHDAY, lea, "2027-02-28")
    assert (await care.tick(at(2027, 2, 28, 8))).opened == (born_2027,)
    assert (await care.tick(at(2027, 3, 4, 7, 59))).opened == ()
    wed = task(CareOccasion.ANNIVERSARY, wen, "2027-03-05")
    assert (await care.tick(at(2027, 3, 4, 8))).opened == (wed,)
    assert (await care.tick(at(2028, 2, 28, 20))).opened == ()  # leap year: the 29th
    born_2028 = task(CareOccasion.BIRTHDAY, lea, "2028-02-29")
    assert (await care.tick(at(2028, 2, 29, 8))).opened == (born_2028,)
    assert (await care.tick(at(2028, 2, 29, 9))).opened == ()

    head = await caught_up(platform, "activities_tasks")
    ana = api.as_user("ana", Role.SALES_REP)
    q = {"min_position": str(head)}
    card = await ok(await ana.get(f"/tasks/{born_2028}", params=q))
    assert card["kind"] == "email"
    assert card["due_at"].startswith("2028-02-29T17:00")  # 09:00 in Los Angeles
    assert card["notes"] == (
        "Lea Leap has a birthday on 2028-02-29: send our wishes.\n\n"
        "Lea Leap 的生日是 2028-02-29，请送上祝福。"  # noqa: RUF001
    )
    note = (await ok(await ana.get(f"/tasks/{wed}", params=q)))["notes"]
    assert note.startswith("anniversary: 2027-03-05\n\n")


@pytest.mark.contexts("customer", "activities")
async def test_a_pool_customers_retention_task_goes_to_the_pool_teams_queue(
    api: Api, platform: Platform
) -> None:
    boss = api.as_user("boss", Role.MANAGER)
    await ok(await boss.put("/care/rules", json={"rules": [], "pool_team_id": "east"}))
    pooled = str((await ok(await boss.post("/customers", json={"name": "Pia Pool"}), 201))["id"])
    verdict = Assessment.from_dict(
        {
            "score": 70,
            "level": "high",
            "p_alive": 0.2,
            "reasons": [{"code": "silence", "text": "no order for 9 months", "weight": 1.0}],
        }
    )
    ctx = system_context("process:test", "default", T0, f"test:churn:{pooled}")
    head = await platform.store.head_position()
    await platform.runtime.commands.run(RecordAssessment(pooled, verdict, head), ctx)
    east = api.as_user("meg", Role.MANAGER, team="east")
    west = api.as_user("wes", Role.MANAGER, team="west")
    wanted = {"kind": "retention", "customer_id": pooled}
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        head = await caught_up(platform, "activities_tasks")
        page = await ok(await east.get("/tasks", params={**wanted, "min_position": str(head)}))
        if page["total"]:
            break
        assert asyncio.get_running_loop().time() < deadline, "no retention task opened"
        await asyncio.sleep(0.05)
    [task] = page["items"]
    assert (task["assignee_id"], task["team_id"], task["reasons"]) == (None, "east", ["silence"])
    assert (await ok(await west.get("/tasks", params=wanted)))["total"] == 0
    assert (await west.get(f"/tasks/{task['id']}")).status_code == 404
    # the east manager hands it out
    await ok(await east.post(f"/tasks/{task['id']}/reassign", json={"assignee_id": "ana"}))
