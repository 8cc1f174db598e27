"""Field visits through HTTP: a technician is never double-booked, even by concurrent requests;
rescheduling holds the new slot before it frees the old one; a hold left by a command that
died half-way blocks the slot until the reconciliation releases it; the visit's address and
report are shown only to the roles that need them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl
from uuid import uuid4

import pytest

from crm.events.service_desk import TicketChannel, TicketKind, TicketPriority
from crm.events.visits import TimeSlot
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.event_store import Idempotency
from crm.kernel.projection import wait_until
from crm.kernel.repository import CommandContext, Repository
from crm.platform.bootstrap import Platform
from crm.service_desk.application.policy import REDACTED
from crm.service_desk.application.visit_commands import visit_id_for
from crm.service_desk.application.visit_reconciler import reconciler
from crm.service_desk.domain.calendar import DEFAULT_CALENDAR
from crm.service_desk.domain.sla import DEFAULT_POLICY
from crm.service_desk.domain.tickets import Ticket
from crm.service_desk.domain.visits import STALE_AFTER, TechnicianDay
from crm.service_desk.projections.visit_models import VISITS_PROJECTION
from tests.conftest import Api, UserClient
from tests.support.customers import known_customers, register_customer

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("service-desk")]

_customers = known_customers("cust-1", "cust-2")

Users = Callable[..., UserClient]
DAY = "2026-03-03"


def at(hhmm: str, day: str = DAY) -> str:
    return f"{day}T{hhmm}:00+00:00"


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def read(client: UserClient, url: str, position: int) -> dict[str, Any]:
    path, _, query = url.partition("?")
    r = await client.get(path, params=[*parse_qsl(query), ("min_position", str(position))])
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


def system(platform: Platform, tenant: str = "default") -> CommandContext:
    return CommandContext(
        actor="tester", role="agent", tenant=tenant, now=platform.runtime.clock.now()
    )


async def open_ticket(
    platform: Platform, customer_id: str = "cust-1", group: str | None = None
) -> str:
    """A ticket opened through its aggregate (the ticket routes are tested on their own)."""
    return await open_ticket_of(platform, "default", customer_id, group)


async def open_ticket_of(
    platform: Platform, tenant: str, customer_id: str = "cust-1", group: str | None = None
) -> str:
    """A ticket of ``tenant``, opened through its aggregate."""
    runtime = platform.runtime
    ticket = Ticket.create(str(uuid4()))
    ticket.open(
        customer_id=customer_id,
        kind=TicketKind.SERVICE_REQUEST,
        channel=TicketChannel.PHONE,
        priority=TicketPriority.NORMAL,
        subject="Boiler makes noise",
        description="Mrs Doe, 3 Elm Street, says the boiler knocks at night",
        now=runtime.clock.now(),
        policy=DEFAULT_POLICY,
        calendar=DEFAULT_CALENDAR,
    )
    if group is not None:
        ticket.assign(group_id=group)
    await Repository(runtime.store, runtime.codec, Ticket).save(ticket, system(platform, tenant))
    return ticket.id


def visit_body(ticket_id: str, start: str, end: str, tech: str = "tech-1") -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "customer_id": "cust-1",
        "technician_id": tech,
        "start": start,
        "end": end,
        "address": "3 Elm Street, Springfield",
        "notes": "ring twice",
    }


async def holds(
    platform: Platform, tech: str, day: str = DAY, tenant: str = "default"
) -> list[tuple[str, str, str]]:
    runtime = platform.runtime
    repo = Repository(runtime.store, runtime.codec, TechnicianDay)
    state = (await repo.load(f"{tenant}:{tech}:{day}")).state
    return sorted(
        (h.visit_id, h.slot.start.strftime("%H:%M"), h.slot.end.strftime("%H:%M"))
        for h in state.holds
    )


async def test_schedule_read_filter_and_redact(api: Api, as_user: Users) -> None:
    boss, analyst = as_user("boss"), as_user("ann", Role.ANALYST)
    ticket = await open_ticket(api.platform)
    created = await boss.post("/visits", json=visit_body(ticket, at("09:00"), at("10:30")))
    visit = await ok(created, 201)
    assert created.headers["Location"] == f"/visits/{visit['id']}"

    shown = await read(boss, f"/visits/{visit['id']}", visit["position"])
    assert shown["address"] == "3 Elm Street, Springfield"
    assert (shown["status"], shown["technician_id"], shown["days"]) == (
        "scheduled",
        "tech-1",
        [DAY],
    )
    assert (shown["start"], shown["end"]) == (at("09:00"), at("10:30"))
    assert "holds" not in shown
    hidden = await read(analyst, f"/visits/{visit['id']}", visit["position"])
    assert (hidden["address"], hidden["notes"]) == (REDACTED, REDACTED)
    assert hidden["customer_id"] == "cust-1"

    # Another technician the same time, and the first one the next day.
    await ok(
        await boss.post("/visits", json=visit_body(ticket, at("09:00"), at("10:00"), "t2")), 201
    )
    later = visit_body(ticket, at("09:00", "2026-03-04"), at("10:00", "2026-03-04"))
    last = await ok(await boss.post("/visits", json=later), 201)
    listed = await read(boss, f"/visits?technician_id=tech-1&day={DAY}", last["position"])
    assert [v["id"] for v in listed["items"]] == [visit["id"]]
    assert (await read(boss, f"/visits?ticket_id={ticket}", last["position"]))["total"] == 3
    by_tech = await read(analyst, "/visits?technician_id=tech-1&sort=-start", last["position"])
    assert [v["start"] for v in by_tech["items"]] == [at("09:00", "2026-03-04"), at("09:00")]
    assert all(v["address"] == REDACTED for v in by_tech["items"])
    assert (await read(boss, "/visits?status=completed", last["position"]))["total"] == 0


async def test_refusals(api: Api, as_user: Users) -> None:
    boss = as_user("boss")
    ticket = await open_ticket(api.platform)
    naive = visit_body(ticket, "2026-03-03T09:00:00", "2026-03-03T10:00:00")
    r = await boss.post("/visits", json=naive)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "slot", "start"]
    past = await boss.post(
        "/visits", json=visit_body(ticket, at("08:00", "2026-03-01"), at("09:00", "2026-03-01"))
    )
    assert (past.status_code, past.json()["code"]) == (409, "slot_in_past")
    wrong = {**visit_body(ticket, at("09:00"), at("10:00")), "customer_id": "cust-2"}
    r = await boss.post("/visits", json=wrong)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "customer_id"]
    r = await boss.post("/visits", json=visit_body(str(uuid4()), at("09:00"), at("10:00")))
    assert r.status_code == 404
    rep = as_user("rep", Role.SALES_REP)
    r = await rep.post("/visits", json=visit_body(ticket, at("09:00"), at("10:00")))
    assert r.status_code == 403
    # An agent of another support group does not see the group's ticket.
    grouped = await open_ticket(api.platform, group="field")
    other = as_user("agent-2", Role.AGENT, team="billing")
    r = await other.post("/visits", json=visit_body(grouped, at("09:00"), at("10:00")))
    assert r.status_code == 404
    mine = as_user("agent-1", Role.AGENT, team="field")
    await ok(await mine.post("/visits", json=visit_body(grouped, at("09:00"), at("10:00"))), 201)
    # Nothing refused above left a hold behind.
    assert len(await holds(api.platform, "tech-1")) == 1


async def test_concurrent_overlapping_requests_book_the_technician_once(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss")
    ticket = await open_ticket(api.platform)
    # Each pair overlaps: every slot contains 10:15-11:00.
    slots = [
        (at(f"{9 + i // 4:02d}:{15 * (i % 4):02d}"), at(f"{11 + i // 4:02d}:{15 * (i % 4):02d}"))
        for i in range(6)
    ]
    answers = await asyncio.gather(
        *(boss.post("/visits", json=visit_body(ticket, s, e)) for s, e in slots)
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in answers]
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {
        "technician_double_booked"
    }
    winner = next(r.json() for r in answers if r.status_code == 201)
    assert [h[0] for h in await holds(api.platform, "tech-1")] == [winner["id"]]
    listed = await read(boss, f"/visits?technician_id=tech-1&day={DAY}", winner["position"])
    assert [v["id"] for v in listed["items"]] == [winner["id"]]


async def test_technicians_of_two_tenants_with_the_same_id_do_not_block_each_other(
    api: Api, as_user: Users
) -> None:
    """Technician ids are the tenant's own: each tenant's ``tech-1`` has its own days, so both
    tenants book the same slot; within a tenant the slot is still taken, and cancelling in
    one tenant leaves the other's hold alone."""
    boss_a, boss_b = as_user("boss", tenant="acme"), as_user("boss", tenant="globex")
    await register_customer(api.platform, "cust-a", tenant="acme")
    await register_customer(api.platform, "cust-b", tenant="globex")
    ticket_a = await open_ticket_of(api.platform, "acme", "cust-a")
    ticket_b = await open_ticket_of(api.platform, "globex", "cust-b")
    body_a = {**visit_body(ticket_a, at("09:00"), at("10:00")), "customer_id": "cust-a"}
    body_b = {**visit_body(ticket_b, at("09:00"), at("10:00")), "customer_id": "cust-b"}
    a = await ok(await boss_a.post("/visits", json=body_a), 201)
    b = await ok(await boss_b.post("/visits", json=body_b), 201)
    later = {**visit_body(ticket_a, at("09:30"), at("10:30")), "customer_id": "cust-a"}
    again = await boss_a.post("/visits", json=later)
    assert (again.status_code, again.json()["code"]) == (409, "technician_double_booked")
    assert await holds(api.platform, "tech-1", tenant="acme") == [(a["id"], "09:00", "10:00")]
    assert await holds(api.platform, "tech-1", tenant="globex") == [(b["id"], "09:00", "10:00")]

    cancelled = await ok(await boss_b.post(f"/visits/{b['id']}/cancel", json={"reason": "no"}))
    assert await holds(api.platform, "tech-1", tenant="globex") == []
    assert await holds(api.platform, "tech-1", tenant="acme") == [(a["id"], "09:00", "10:00")]
    url = f"/visits?technician_id=tech-1&day={DAY}&status=scheduled"
    assert [v["id"] for v in (await read(boss_a, url, cancelled["position"]))["items"]] == [a["id"]]
    assert (await read(boss_b, url, cancelled["position"]))["total"] == 0


async def test_concurrent_adjacent_slots_all_succeed(api: Api, as_user: Users) -> None:
    boss = as_user("boss")
    ticket = await open_ticket(api.platform)
    slots = [(at(f"{9 + i:02d}:00"), at(f"{10 + i:02d}:00")) for i in range(6)]
    answers = await asyncio.gather(
        *(boss.post("/visits", json=visit_body(ticket, s, e)) for s, e in slots)
    )
    assert [r.status_code for r in answers] == [201] * 6, [r.text for r in answers]
    assert sorted((h[1], h[2]) for h in await holds(api.platform, "tech-1")) == [
        (f"{9 + i:02d}:00", f"{10 + i:02d}:00") for i in range(6)
    ]


async def test_reschedule_holds_the_new_slot_before_freeing_the_old(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss")
    ticket = await open_ticket(api.platform)
    a = await ok(await boss.post("/visits", json=visit_body(ticket, at("09:00"), at("10:00"))), 201)
    b = await ok(await boss.post("/visits", json=visit_body(ticket, at("11:00"), at("12:00"))), 201)

    taken = await boss.post(
        f"/visits/{a['id']}/reschedule", json={"start": at("11:30"), "end": at("12:30")}
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "technician_double_booked")
    other = {k: taken.json()[k] for k in ("technician_id", "visit_id", "start", "end")}
    assert other == {
        "technician_id": "tech-1",
        "visit_id": b["id"],
        "start": at("11:00"),
        "end": at("12:00"),
    }
    assert await holds(api.platform, "tech-1") == sorted(
        [(a["id"], "09:00", "10:00"), (b["id"], "11:00", "12:00")]
    )
    blocked = await boss.post("/visits", json=visit_body(ticket, at("09:30"), at("10:00")))
    assert blocked.status_code == 409  # a's old slot is still a's

    # Moving by half an hour overlaps its own slot: a visit never conflicts with itself.
    moved = await ok(
        await boss.post(
            f"/visits/{a['id']}/reschedule",
            json={"start": at("09:30"), "end": at("10:30"), "reason": "customer asked"},
        )
    )
    assert await holds(api.platform, "tech-1") == sorted(
        [(a["id"], "09:30", "10:30"), (b["id"], "11:00", "12:00")]
    )
    c = await ok(await boss.post("/visits", json=visit_body(ticket, at("09:00"), at("09:30"))), 201)
    shown = await read(boss, f"/visits/{a['id']}", moved["position"])
    assert (shown["start"], shown["reschedules"][0]["start"]) == (at("09:30"), at("09:00"))
    assert shown["reschedules"][0]["reason"] == "customer asked"

    # To another technician: tech-1's slot is free for someone else.
    await ok(
        await boss.post(
            f"/visits/{a['id']}/reschedule",
            json={"technician_id": "tech-2", "start": at("09:30"), "end": at("10:30")},
        )
    )
    assert await holds(api.platform, "tech-2") == [(a["id"], "09:30", "10:30")]
    d = await ok(await boss.post("/visits", json=visit_body(ticket, at("09:30"), at("10:30"))), 201)
    assert {h[0] for h in await holds(api.platform, "tech-1")} == {b["id"], c["id"], d["id"]}


async def test_cancel_frees_complete_records_the_report(
    api: Api, as_user: Users, clock: ManualClock
) -> None:
    boss, rep = as_user("boss"), as_user("rep", Role.SALES_REP)
    ticket = await open_ticket(api.platform)
    a = await ok(await boss.post("/visits", json=visit_body(ticket, at("09:00"), at("10:00"))), 201)
    await ok(await boss.post(f"/visits/{a['id']}/cancel", json={"reason": "fixed remotely"}))
    assert await holds(api.platform, "tech-1") == []
    again = await boss.post(f"/visits/{a['id']}/cancel", json={"reason": "fixed remotely"})
    assert again.status_code == 200
    b = await ok(await boss.post("/visits", json=visit_body(ticket, at("09:00"), at("10:00"))), 201)

    early = await boss.post(f"/visits/{b['id']}/complete", json={"report": "done"})
    assert (early.status_code, early.json()["code"]) == (409, "visit_not_started")
    clock.advance(timedelta(days=1, minutes=30))
    report = "Replaced the pump; Mrs Doe's dog was nervous"
    done = await ok(await boss.post(f"/visits/{b['id']}/complete", json={"report": report}))
    shown = await read(boss, f"/visits/{b['id']}", done["position"])
    assert (shown["status"], shown["report"]) == ("completed", report)
    assert (await read(rep, f"/visits/{b['id']}", done["position"]))["report"] == REDACTED
    late = await boss.post(f"/visits/{b['id']}/cancel", json={"reason": "oops"})
    assert (late.status_code, late.json()["code"]) == (409, "visit_completed")
    assert [h[0] for h in await holds(api.platform, "tech-1")] == [b["id"]]
    cancelled = await read(boss, f"/visits?status=cancelled&ticket_id={ticket}", done["position"])
    assert [v["id"] for v in cancelled["items"]] == [a["id"]]


async def test_a_slot_over_midnight_is_held_in_both_days(api: Api, as_user: Users) -> None:
    boss = as_user("boss")
    ticket = await open_ticket(api.platform)
    night = await ok(
        await boss.post(
            "/visits",
            json=visit_body(ticket, "2026-03-03T23:00:00+01:00", at("01:00", "2026-03-04")),
        ),
        201,
    )
    morning = visit_body(ticket, at("00:30", "2026-03-04"), at("02:00", "2026-03-04"))
    assert (await boss.post("/visits", json=morning)).status_code == 409
    shown = await read(boss, f"/visits/{night['id']}", night["position"])
    assert shown["days"] == [DAY, "2026-03-04"]
    assert shown["start"] == at("22:00")
    assert [h[0] for h in await holds(api.platform, "tech-1", DAY)] == [night["id"]]
    assert [h[0] for h in await holds(api.platform, "tech-1", "2026-03-04")] == [night["id"]]

    # Refused by its second day, a request releases what it held in its first.
    late = visit_body(ticket, at("23:30", "2026-03-04"), at("00:30", "2026-03-05"), "tech-2")
    blocker = visit_body(ticket, at("00:00", "2026-03-05"), at("01:00", "2026-03-05"), "tech-2")
    await ok(await boss.post("/visits", json=blocker), 201)
    refused = await boss.post("/visits", json=late)
    assert (refused.status_code, refused.json()["code"]) == (409, "technician_double_booked")
    assert await holds(api.platform, "tech-2", "2026-03-04") == []
    assert len(await holds(api.platform, "tech-2", "2026-03-05")) == 1


async def test_retried_request_and_stale_holds(
    api: Api, as_user: Users, clock: ManualClock
) -> None:
    boss = as_user("boss")
    platform = api.platform
    runtime = platform.runtime
    ticket = await open_ticket(platform)
    body = visit_body(ticket, at("09:00"), at("10:00"))

    # A request that died after booking the day, before recording the visit...
    key = "visit-req-1"
    ctx = system(platform)
    crashed = CommandContext(
        actor="boss",
        role="manager",
        tenant="default",
        now=ctx.now,
        idempotency=Idempotency(f"default:boss:{key}", "-"),
    )
    visit_id = visit_id_for(crashed)
    days = Repository(runtime.store, runtime.codec, TechnicianDay)
    day = TechnicianDay.create(f"default:tech-1:{DAY}")
    slot = TimeSlot(
        start=datetime(2026, 3, 3, 9, tzinfo=UTC), end=datetime(2026, 3, 3, 10, tzinfo=UTC)
    )
    day.book(visit_id=visit_id, ticket_id=ticket, slot=slot, now=ctx.now)
    await days.save(day, ctx)
    # ... blocks the slot for everyone else, and is completed by the same request again.
    assert (await boss.post("/visits", json=body)).status_code == 409
    retried = await ok(await boss.post("/visits", json=body, headers={"Idempotency-Key": key}), 201)
    assert retried["id"] == visit_id
    replay = await boss.post("/visits", json=body, headers={"Idempotency-Key": key})
    assert replay.json() == retried
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await holds(platform, "tech-1") == [(visit_id, "09:00", "10:00")]

    # A hold no visit refers to (a request that died and was never retried) ...
    orphan = str(uuid4())
    day = await days.load(f"default:tech-1:{DAY}")
    lost = TimeSlot(
        start=datetime(2026, 3, 3, 11, tzinfo=UTC), end=datetime(2026, 3, 3, 12, tzinfo=UTC)
    )
    day.book(visit_id=orphan, ticket_id=ticket, slot=lost, now=ctx.now)
    appended = await days.save(day, ctx)
    assert (
        await boss.post("/visits", json=visit_body(ticket, at("11:00"), at("12:00")))
    ).status_code == 409
    await wait_until(runtime.read_store, VISITS_PROJECTION.name, appended.position, 5.0)
    job = reconciler(runtime)
    # ... is kept during the grace period (its command may still be running) ...
    assert (await job.release_stale(clock.now() + STALE_AFTER / 2)).released == ()
    # ... and released after it; the visit's own hold stays.
    report = await job.release_stale(clock.now() + STALE_AFTER * 2)
    assert report.released == (f"default:tech-1:{DAY}",)
    assert await holds(platform, "tech-1") == [(visit_id, "09:00", "10:00")]
    await ok(await boss.post("/visits", json=visit_body(ticket, at("11:00"), at("12:00"))), 201)
    assert (await job.release_stale(clock.now() + STALE_AFTER * 2)).released == ()
