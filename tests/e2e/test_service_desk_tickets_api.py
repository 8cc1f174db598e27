"""The ticket half of the service desk over HTTP, on the real platform: a complaint of a
premium customer from opening through assignment, escalation, the breach of its
first-response target (the clock is moved by hand and the scheduler's tick called
directly), resolution with a knowledge-base article, satisfaction and the follow-up
reminder; plus 409s with their reason, 422s naming the field, redaction by role and
support-group visibility."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest

from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.repository import CommandContext
from crm.platform.bootstrap import Platform
from crm.service_desk.application.article_commands import DraftArticle, PublishArticle
from crm.service_desk.application.policy import REDACTED
from crm.service_desk.application.scheduler import ACTOR, ServiceDeskScheduler
from tests.conftest import Api, UserClient
from tests.support.customers import known_customers

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("service-desk")]

_customers = known_customers("c-1", "c-2", "c-5")
_acme = known_customers("acme-c1", tenant="acme")
_globex = known_customers("globex-c1", tenant="globex")

TARGETS = {
    "urgent": {"first_response_minutes": 15, "resolution_minutes": 120},
    "high": {"first_response_minutes": 30, "resolution_minutes": 240},
    "normal": {"first_response_minutes": 60, "resolution_minutes": 480},
    "low": {"first_response_minutes": 120, "resolution_minutes": 960},
}


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def read(client: UserClient, url: str, position: int) -> dict[str, Any]:
    path, _, query = url.partition("?")
    r = await client.get(path, params=[*parse_qsl(query), ("min_position", str(position))])
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


async def events(platform: Platform, ticket_id: str, event_type: str) -> list[Any]:
    stream = await platform.store.read_stream(f"ticket-{ticket_id}")
    return [e for e in stream if e.event_type == f"service_desk.ticket.{event_type}"]


async def configure(boss: UserClient) -> int:
    """A Berlin support calendar, a premium policy counting in it, a premium contract for
    customer c-1; c-2 has no contract. Returns the last position."""
    calendar = {
        "id": "eu-support",
        "name": "EU support hours",
        "time_zone": "Europe/Berlin",
        "hours": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(5)],
        "holidays": ["2026-12-25"],
    }
    await ok(await boss.post("/calendars", json=calendar), 201)
    policy = {
        "level": "premium",
        "name": "Premium",
        "targets": TARGETS,
        "calendar_id": "eu-support",
        "follow_up_days": 2,
        "follow_up_escalation_days": 1,
    }
    defined = await ok(await boss.post("/sla/policies", json=policy), 201)
    contract = {"customer_id": "c-1", "level": "premium", "starts_on": "2026-03-01"}
    signed = await ok(await boss.post("/contracts", json=contract), 201)
    assert signed["id"] == "c-1"
    return max(defined["position"], signed["position"])


async def open_ticket(client: UserClient, customer: str = "c-1", **fields: Any) -> str:
    body = {
        "customer_id": customer,
        "kind": "complaint",
        "channel": "phone",
        "priority": "high",
        "subject": "Invoice charged twice",
        "description": "Mrs Example, +49 30 1234567, was charged twice in March.",
        **fields,
    }
    r = await client.post("/tickets", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/tickets/{r.json()['id']}"
    return str(r.json()["id"])


async def test_a_premium_complaint_from_opening_to_follow_up(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    boss = api.as_user("boss", Role.MANAGER)
    ann = api.as_user("ann", Role.AGENT, team="group-a")
    await configure(boss)
    scheduler = ServiceDeskScheduler(platform.runtime)

    body = {
        "customer_id": "c-1",
        "kind": "complaint",
        "channel": "phone",
        "priority": "high",
        "subject": "Invoice charged twice",
        "description": "Mrs Example, +49 30 1234567, was charged twice in March.",
    }
    opened = await ok(await ann.post("/tickets", json=body), 201)
    tid = opened["id"]
    ticket = await read(ann, f"/tickets/{tid}", opened["position"])
    assert (ticket["status"], ticket["kind"], ticket["priority"]) == ("new", "complaint", "high")
    assert ticket["sla"]["policy_id"] == "premium"
    assert ticket["sla"]["calendar_id"] == "eu-support"
    # Monday 09:00 UTC is 10:00 in Berlin, inside the hours: 30 business minutes later.
    assert ticket["sla"]["first_response_due"] == "2026-03-02T09:30:00.000000+00:00"
    assert ticket["sla"]["resolution_due"] == "2026-03-02T13:00:00.000000+00:00"
    assert ticket["breached"] is False

    await ok(
        await ann.post(f"/tickets/{tid}/assign", json={"agent_id": "ann", "group_id": "group-a"})
    )
    escalated = await ok(
        await ann.post(f"/tickets/{tid}/escalate", json={"reason": "billing must look at it"})
    )
    note = await ok(
        await ann.post(
            f"/tickets/{tid}/comment", json={"body": "asked billing internally", "public": False}
        )
    )
    assert note["position"] > escalated["position"]

    # 09:05: the first response is due within 30 minutes -> one warning, no breach.
    clock.set(datetime(2026, 3, 2, 9, 5, tzinfo=UTC))
    await read(ann, f"/tickets/{tid}", note["position"])
    warned = await scheduler.tick(clock.now())
    assert (warned.warned, warned.breached, warned.failed) == ((tid,), (), ())

    # 09:31: an internal note is not a response -> the first-response target is breached.
    clock.set(datetime(2026, 3, 2, 9, 31, tzinfo=UTC))
    [warning] = await events(platform, tid, "sla_warning")
    await read(ann, f"/tickets/{tid}", warning.position)
    report = await scheduler.tick(clock.now())
    assert (report.breached, report.failed) == ((tid,), ())
    again = await scheduler.tick(clock.now())  # the read model may not show the breach yet
    assert again.breached == ()
    breaches = await events(platform, tid, "sla_breached")
    assert len(breaches) == 1
    assert breaches[0].actor == ACTOR
    assert breaches[0].payload["target"] == "first_response"

    ticket = await read(ann, f"/tickets/{tid}", breaches[0].position)
    assert ticket["breached"] is True
    assert (ticket["status"], ticket["tier"]) == ("in_progress", 2)
    [first_response] = [t for t in ticket["sla_targets"] if t["target"] == "first_response"]
    assert first_response["breached_at"] == "2026-03-02T09:31:00.000000+00:00"
    listed = await read(ann, "/tickets?breached=true", breaches[0].position)
    assert [t["id"] for t in listed["items"]] == [tid]
    assert (await read(ann, "/tickets?breached=false", breaches[0].position))["items"] == []

    # Resolution with a published knowledge-base article.
    article_id = "a1b2c3d4-0000-4000-8000-000000000001"
    ctx = CommandContext(actor="ann", role="agent", tenant="default", now=clock.now())
    bus = platform.runtime.commands
    draft = DraftArticle(
        title="Double charge",
        problem="charged twice",
        solution="refund the second charge",
        article_id=article_id,
    )
    await bus.execute(draft, ctx)
    await bus.execute(PublishArticle(article_id), ctx)
    await ok(
        await ann.post(
            f"/tickets/{tid}/comment", json={"body": "We refund you today.", "public": True}
        )
    )
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    resolved = await ok(
        await ann.post(
            f"/tickets/{tid}/resolve",
            json={"resolution": "second charge refunded", "kb_article_id": article_id},
        )
    )

    # A transition not allowed from the current state: 409 with the reason.
    refused = await ann.post(f"/tickets/{tid}/escalate", json={"reason": "again"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "ticket_resolved"
    assert "is resolved; cannot escalate" in refused.json()["message"]

    scored = await ok(
        await ann.post(
            f"/tickets/{tid}/satisfaction", json={"score": 4, "comment": "Thanks, Mrs Example"}
        )
    )
    twice = await ann.post(f"/tickets/{tid}/satisfaction", json={"score": 5})
    assert (twice.status_code, twice.json()["code"]) == (409, "satisfaction_already_recorded")

    ticket = await read(ann, f"/tickets/{tid}", scored["position"])
    assert ticket["status"] == "resolved"
    assert ticket["resolved_with_article_id"] == article_id
    assert ticket["kb_article_ids"] == [article_id]
    assert ticket["satisfaction"]["score"] == 4
    assert ticket["follow_up"]["due_at"] == "2026-03-04T10:00:00.000000+00:00"
    assert [c["public"] for c in ticket["comments"]] == [False, True]
    assert ticket["first_response_at"] is not None
    assert resolved["position"] < scored["position"]

    # The follow-up: nothing before it is due, one reminder once it is, whatever the ticks.
    clock.set(datetime(2026, 3, 4, 9, 59, tzinfo=UTC))
    assert (await scheduler.tick(clock.now())).reminded == ()
    clock.set(datetime(2026, 3, 4, 10, 1, tzinfo=UTC))
    reminder = await scheduler.tick(clock.now())
    assert (reminder.reminded, reminder.escalated) == ((tid,), ())
    assert (await ServiceDeskScheduler(platform.runtime).tick(clock.now())).reminded == ()
    [due] = await events(platform, tid, "follow_up_due")
    ticket = await read(ann, f"/tickets/{tid}", due.position)
    assert ticket["follow_up"]["reminded_at"] == "2026-03-04T10:01:00.000000+00:00"

    followed = await ok(
        await ann.post(f"/tickets/{tid}/follow-up", json={"note": "Called Mrs Example: happy"})
    )
    await read(ann, f"/tickets/{tid}", followed["position"])
    clock.set(datetime(2026, 3, 6, 12, 0, tzinfo=UTC))  # past the escalation: recorded, so none
    late = await scheduler.tick(clock.now())
    assert (late.reminded, late.escalated, late.breached) == ((), (), ())
    assert len(await events(platform, tid, "follow_up_due")) == 1
    assert await events(platform, tid, "follow_up_overdue_escalated") == []
    assert len(await events(platform, tid, "sla_breached")) == 1

    closed = await ok(await ann.post(f"/tickets/{tid}/close"))
    ticket = await read(ann, f"/tickets/{tid}", closed["position"])
    assert ticket["status"] == "closed"
    assert ticket["follow_up"]["note"] == "Called Mrs Example: happy"

    # Redaction: an analyst reads the ticket without the customer's personal data.
    analyst = api.as_user("ada", Role.ANALYST)
    seen = await read(analyst, f"/tickets/{tid}", closed["position"])
    assert seen["description"] == REDACTED
    assert {c["body"] for c in seen["comments"]} == {REDACTED}
    assert seen["satisfaction"] == {**ticket["satisfaction"], "comment": REDACTED}
    assert seen["follow_up"]["note"] == REDACTED
    assert (seen["subject"], seen["resolution"]) == (ticket["subject"], ticket["resolution"])
    listed = await read(analyst, "/tickets?customer_id=c-1", closed["position"])
    assert [t["description"] for t in listed["items"]] == [REDACTED]
    assert ticket["description"].startswith("Mrs Example")
    assert "Mrs Example" not in str(seen)
    denied = await analyst.post(f"/tickets/{tid}/reopen", json={"reason": "x"})
    assert denied.status_code == 403


async def test_contract_level_selects_the_policy_and_the_default_applies_without_one(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    boss = api.as_user("boss", Role.MANAGER)
    await configure(boss)
    premium = await ok(
        await boss.post(
            "/tickets",
            json={
                "customer_id": "c-1",
                "kind": "inquiry",
                "channel": "email",
                "priority": "urgent",
                "subject": "How do I export?",
                "description": "Question",
            },
        ),
        201,
    )
    plain = await ok(
        await boss.post(
            "/tickets",
            json={
                "customer_id": "c-2",
                "kind": "inquiry",
                "channel": "email",
                "priority": "urgent",
                "subject": "How do I export?",
                "description": "Question",
            },
        ),
        201,
    )
    a = await read(boss, f"/tickets/{premium['id']}", plain["position"])
    b = await read(boss, f"/tickets/{plain['id']}", plain["position"])
    assert (a["sla"]["policy_id"], a["sla"]["first_response_minutes"]) == ("premium", 15)
    assert (b["sla"]["policy_id"], b["sla"]["calendar_id"]) == ("default", "default")
    assert b["sla"]["first_response_minutes"] == 30

    # The contract ends: the next ticket of c-1 gets the default policy.
    ended = await ok(await boss.post("/contracts/c-1/end", json={"reason": "cancelled"}))
    contract = await read(boss, "/contracts/c-1", ended["position"])
    assert (contract["active"], contract["level"]) == (False, "premium")
    listed = await read(boss, "/contracts?active=false", ended["position"])
    assert [c["customer_id"] for c in listed["items"]] == ["c-1"]
    again = await boss.post("/contracts/c-1/change", json={"level": "basic"})
    assert (again.status_code, again.json()["code"]) == (409, "contract_ended")
    later = await ok(
        await boss.post(
            "/tickets",
            json={
                "customer_id": "c-1",
                "kind": "inquiry",
                "channel": "web",
                "priority": "low",
                "subject": "Another question",
                "description": "Question",
            },
        ),
        201,
    )
    c = await read(boss, f"/tickets/{later['id']}", later["position"])
    assert c["sla"]["policy_id"] == "default"

    # Revising a policy answers 200 and applies to tickets opened afterwards.
    revised = await boss.post(
        "/sla/policies",
        json={
            "level": "premium",
            "name": "Premium v2",
            "targets": {
                **TARGETS,
                "urgent": {"first_response_minutes": 10, "resolution_minutes": 60},
            },
            "calendar_id": "eu-support",
        },
    )
    assert revised.status_code == 200, revised.text
    policy = await read(boss, "/sla/policies/premium", revised.json()["position"])
    assert (policy["revision"], policy["targets"]["urgent"]["first_response_minutes"]) == (2, 10)
    assert a["sla"]["first_response_minutes"] == 15
    policies = await read(boss, "/sla/policies", revised.json()["position"])
    assert [p["id"] for p in policies["items"]] == ["premium"]
    calendars = await read(boss, "/calendars", revised.json()["position"])
    assert [(c["id"], c["time_zone"]) for c in calendars["items"]] == [
        ("eu-support", "Europe/Berlin")
    ]


async def test_unknown_values_are_refused_naming_the_field(api: Api) -> None:
    boss = api.as_user("boss", Role.MANAGER)
    body = {
        "customer_id": "c-1",
        "kind": "complaint",
        "channel": "phone",
        "priority": "asap",
        "subject": "s",
        "description": "d",
    }
    r = await boss.post("/tickets", json=body)
    assert r.status_code == 422
    assert ["body", "priority"] in [e["loc"] for e in r.json()["detail"]]
    r = await boss.post("/tickets", json={**body, "priority": "low", "channel": "fax"})
    assert r.status_code == 422
    assert ["body", "channel"] in [e["loc"] for e in r.json()["detail"]]
    r = await boss.get("/tickets?status=pending")
    assert r.status_code == 422
    assert ["query", "status"] in [e["loc"] for e in r.json()["detail"]]
    policy = {"level": "gold", "name": "Gold", "targets": TARGETS}
    r = await boss.post("/sla/policies", json=policy)
    assert r.status_code == 422
    assert ["body", "level"] in [e["loc"] for e in r.json()["detail"]]
    r = await boss.post(
        "/sla/policies", json={**policy, "level": None, "targets": {"high": TARGETS["high"]}}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "targets"]
    r = await boss.post(
        "/calendars",
        json={
            "name": "x",
            "time_zone": "Mars/Olympus",
            "hours": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
        },
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "time_zone"]
    r = await boss.post("/sla/policies", json={**policy, "level": "basic", "calendar_id": "nope"})
    assert (r.status_code, r.json()["code"]) == (409, "calendar_missing")
    ticket = await open_ticket(boss)
    r = await boss.post(f"/tickets/{ticket}/satisfaction", json={"score": 6})
    assert r.status_code == 422
    assert ["body", "score"] in [e["loc"] for e in r.json()["detail"]]
    r = await boss.post(
        f"/tickets/{ticket}/resolve", json={"resolution": "done", "kb_article_id": "no-such"}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "kb_article_id"]
    r = await boss.post(f"/tickets/{ticket}/resolve", json={"resolution": "done"})
    assert (r.status_code, r.json()["code"]) == (409, "ticket_not_assigned")
    rep = api.as_user("rita", Role.SALES_REP)
    assert (await rep.post("/tickets", json={**body, "priority": "low"})).status_code == 403


async def test_an_agent_sees_the_tickets_of_their_group_only(api: Api) -> None:
    boss = api.as_user("boss", Role.MANAGER)
    ann = api.as_user("ann", Role.AGENT, team="group-a")
    bob = api.as_user("bob", Role.AGENT, team="group-b")
    free = api.as_user("fay", Role.AGENT)  # no group: sees every ticket
    a_ticket = await open_ticket(boss)
    b_ticket = await open_ticket(boss)
    queued = await open_ticket(boss)
    await ok(await boss.post(f"/tickets/{a_ticket}/assign", json={"group_id": "group-a"}))
    last = await ok(await boss.post(f"/tickets/{b_ticket}/assign", json={"group_id": "group-b"}))

    await read(boss, "/tickets", last["position"])
    assert (await bob.get(f"/tickets/{a_ticket}")).status_code == 404
    assert (
        await bob.post(f"/tickets/{a_ticket}/comment", json={"body": "hi", "public": True})
    ).status_code == 404
    mine = await read(bob, "/tickets?sort=opened_at", last["position"])
    assert {t["id"] for t in mine["items"]} == {b_ticket, queued}  # the unassigned queue too
    theirs = await read(ann, f"/tickets/{a_ticket}", last["position"])
    assert theirs["description"].startswith("Mrs Example")  # agents see personal data
    everyone = await read(free, "/tickets", last["position"])
    assert everyone["total"] == 3

    # Reassigning a ticket to another group moves it out of sight.
    moved = await ok(
        await ann.post(
            f"/tickets/{a_ticket}/assign", json={"group_id": "group-b", "reason": "billing"}
        )
    )
    await read(bob, f"/tickets/{a_ticket}", moved["position"])
    assert (await ann.get(f"/tickets/{a_ticket}")).status_code == 404
    filtered = await read(boss, "/tickets?group_id=group-b&sort=-priority_rank", moved["position"])
    assert {t["id"] for t in filtered["items"]} == {a_ticket, b_ticket}


async def test_a_low_score_reopens_a_complaint_for_review_with_a_new_target(
    api: Api, clock: ManualClock
) -> None:
    ann = api.as_user("ann", Role.AGENT)
    tid = await open_ticket(ann, customer="c-5")
    await ok(await ann.post(f"/tickets/{tid}/assign", json={"agent_id": "ann"}))
    clock.set(datetime(2026, 3, 2, 9, 20, tzinfo=UTC))
    await ok(await ann.post(f"/tickets/{tid}/resolve", json={"resolution": "refunded"}))
    clock.set(datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    scored = await ok(await ann.post(f"/tickets/{tid}/satisfaction", json={"score": 1}))
    ticket = await read(ann, f"/tickets/{tid}", scored["position"])
    assert (ticket["status"], ticket["cycle"], ticket["follow_up"]) == ("assigned", 1, None)
    assert ticket["reopens"][0]["for_review"] is True
    # The default policy, high priority: 480 business minutes from 11:00 Monday.
    assert ticket["sla"]["resolution_due"] == "2026-03-03T11:00:00.000000+00:00"

    refused = await ann.post(f"/tickets/{tid}/reopen", json={"reason": "again"})
    assert (refused.status_code, refused.json()["code"]) == (409, "ticket_assigned")
    assert "cannot reopen" in refused.json()["message"]
    await ok(await ann.post(f"/tickets/{tid}/resolve", json={"resolution": "refunded twice"}))
    reopened = await ok(await ann.post(f"/tickets/{tid}/reopen", json={"reason": "still wrong"}))
    ticket = await read(ann, f"/tickets/{tid}", reopened["position"])
    assert (ticket["status"], ticket["cycle"]) == ("assigned", 2)
    assert [t["cycle"] for t in ticket["sla_targets"] if t["target"] == "resolution"] == [0, 1, 2]


async def test_each_tenant_defines_its_own_premium_policy_and_calendar(api: Api) -> None:
    """Policy and calendar ids are the tenant's own (a level, a chosen id): two tenants both
    define ``premium`` and a calendar ``eu-support`` with different terms, and each premium
    customer's ticket gets its own tenant's."""
    acme = api.as_user("boss", Role.MANAGER, tenant="acme")
    globex = api.as_user("boss", Role.MANAGER, tenant="globex")
    zones = {"acme": "Europe/Berlin", "globex": "America/New_York"}
    first_response = {"acme": 15, "globex": 45}
    positions = []
    for tenant, boss in (("acme", acme), ("globex", globex)):
        calendar = {
            "id": "eu-support",
            "name": f"{tenant} support hours",
            "time_zone": zones[tenant],
            "hours": [{"weekday": d, "start": "00:00", "end": "00:00"} for d in range(7)],
        }
        r = await boss.post("/calendars", json=calendar)
        assert (r.status_code, r.headers["Location"]) == (201, "/calendars/eu-support"), r.text
        targets = {
            **TARGETS,
            "high": {"first_response_minutes": first_response[tenant], "resolution_minutes": 240},
        }
        policy = {
            "level": "premium",
            "name": f"{tenant} premium",
            "targets": targets,
            "calendar_id": "eu-support",
        }
        r = await boss.post("/sla/policies", json=policy)
        assert (r.status_code, r.headers["Location"]) == (201, "/sla/policies/premium"), r.text
        assert r.json()["id"] == "premium"
        contract = {"customer_id": f"{tenant}-c1", "level": "premium", "starts_on": "2026-03-01"}
        await ok(await boss.post("/contracts", json=contract), 201)
        positions.append(
            await ok(
                await boss.post(
                    "/tickets",
                    json={
                        "customer_id": f"{tenant}-c1",
                        "kind": "inquiry",
                        "channel": "email",
                        "priority": "high",
                        "subject": "Export?",
                        "description": "Question",
                    },
                ),
                201,
            )
        )
    # 09:00 UTC Monday, round-the-clock calendars: due after the tenant's own minutes.
    for (tenant, boss), opened in zip((("acme", acme), ("globex", globex)), positions, strict=True):
        ticket = await read(boss, f"/tickets/{opened['id']}", positions[-1]["position"])
        sla = ticket["sla"]
        assert (sla["policy_id"], sla["policy_name"], sla["calendar_id"]) == (
            "premium",
            f"{tenant} premium",
            "eu-support",
        )
        assert sla["first_response_minutes"] == first_response[tenant]
        assert sla["first_response_due"] == (
            f"2026-03-02T09:{first_response[tenant]:02d}:00.000000+00:00"
        )
        shown = await read(boss, "/sla/policies/premium", positions[-1]["position"])
        assert (shown["id"], shown["name"]) == ("premium", f"{tenant} premium")
        assert shown["targets"]["high"]["first_response_minutes"] == first_response[tenant]
        listed = await read(boss, "/sla/policies", positions[-1]["position"])
        assert [p["id"] for p in listed["items"]] == ["premium"]
        calendar = await read(boss, "/calendars/eu-support", positions[-1]["position"])
        assert (calendar["id"], calendar["time_zone"]) == ("eu-support", zones[tenant])
    # Revising one tenant's policy leaves the other's alone.
    revised = await acme.post(
        "/sla/policies",
        json={
            "level": "premium",
            "name": "acme premium v2",
            "targets": TARGETS,
            "calendar_id": "eu-support",
        },
    )
    assert revised.status_code == 200, revised.text
    other = await read(globex, "/sla/policies/premium", revised.json()["position"])
    assert (other["name"], other["revision"]) == ("globex premium", 1)
    # A tenant without the calendar cannot name it, whoever else has one by that id.
    lone = api.as_user("boss", Role.MANAGER, tenant="initech")
    missing = await lone.post(
        "/sla/policies",
        json={
            "level": "premium",
            "name": "x",
            "targets": TARGETS,
            "calendar_id": "eu-support",
        },
    )
    assert (missing.status_code, missing.json()["code"]) == (409, "calendar_missing")
    assert (await lone.get("/sla/policies/premium")).status_code == 404
