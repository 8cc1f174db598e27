"""The reminder scheduler records each task's reminder and overdue notice once, whatever runs
it: two schedulers ticking at once in one process, a scheduler of a second process on the same
store (a replica that reads the read model the first one maintains), and processes restarted
in between, on a controlled clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from crm.activities.application.reminders import ACTOR, ReminderScheduler
from crm.activities.application.task_commands import ScheduleTask
from crm.activities.domain.tasks import TaskPlan
from crm.activities.projections.reference_models import CUSTOMER_DIRECTORY
from crm.activities.projections.task_models import TASKS_PROJECTION
from crm.events.activities import SubjectKind, TaskKind
from crm.kernel.clock import ManualClock
from crm.kernel.repository import CommandContext
from crm.kernel.settings import Settings
from crm.platform.bootstrap import Platform, context_named, open_platform
from tests.conftest import T0
from tests.support.customers import register_customer
from tests.support.reads import caught_up

DUE = T0 + timedelta(days=1)
TASKS = 12


@asynccontextmanager
async def running(
    settings: Settings, clock: ManualClock, *, projections: bool = True
) -> AsyncIterator[Platform]:
    """A platform process on ``settings``' data (its reminder job not started: the test
    ticks); ``projections``: it maintains the tasks read model too."""
    contexts = (context_named("customer"), context_named("activities"))
    platform = open_platform(settings, clock=clock, contexts=contexts)
    try:
        if projections:
            await platform.start_projections([TASKS_PROJECTION, CUSTOMER_DIRECTORY])
        yield platform
    finally:
        await platform.close()


async def recorded(platform: Platform, task_ids: list[str]) -> Counter[tuple[str, str]]:
    """What the reminder scheduler recorded: per (task, event type)."""
    counted: Counter[tuple[str, str]] = Counter()
    for tid in task_ids:
        for e in await platform.store.read_stream(f"task-{tid}"):
            if e.actor == ACTOR:
                counted[(tid, e.event_type)] += 1
    return counted


async def tick_all(platform: Platform, *schedulers: ReminderScheduler) -> list[str]:
    """Every scheduler ticks at once, once the tasks read model is caught up; the tasks each
    recorded something for (reminded or overdue), all together."""
    await caught_up(platform, TASKS_PROJECTION.name)
    now = platform.runtime.clock.now()
    reports = await asyncio.gather(*(s.tick(now) for s in schedulers))
    assert all(r.failed == () for r in reports)
    return [tid for r in reports for tid in (*r.reminded, *r.overdue)]


async def test_each_reminder_once_across_restarts_and_two_schedulers(
    settings: Settings, clock: ManualClock
) -> None:
    ids: list[str] = []
    async with running(settings, clock) as p1:
        cid = await register_customer(p1, owner_id="ana")
        ctx = CommandContext(actor="boss", role="manager", tenant="default", now=clock.now())
        for n in range(TASKS):
            plan = TaskPlan(
                kind=TaskKind.CALL,
                title=f"Call {n}",
                due_at=DUE + timedelta(minutes=n % 3),
                assignee_id="ana",
                remind_before_minutes=30,
            )
            outcome = await p1.runtime.commands.execute(
                ScheduleTask(plan, SubjectKind.CUSTOMER, cid), ctx
            )
            ids.append(outcome.stream_id.partition("-")[2])

        clock.set(DUE - timedelta(hours=1))  # nothing due yet
        assert await tick_all(p1, ReminderScheduler(p1.runtime)) == []
        # 20 minutes before: two schedulers of this process, and one of a second process on
        # the same store, at once; each reminder is recorded by exactly one of them
        clock.set(DUE - timedelta(minutes=20))
        async with running(settings, clock, projections=False) as replica:
            schedulers = (
                ReminderScheduler(p1.runtime),
                ReminderScheduler(p1.runtime, page_size=5),
                ReminderScheduler(replica.runtime),
            )
            done = await tick_all(p1, *schedulers)
            assert sorted(done) == sorted(ids)
            assert await tick_all(p1, *schedulers) == []

    # restarted: nothing is recorded again, the overdue notices once each
    clock.set(DUE - timedelta(minutes=10))
    async with running(settings, clock) as p2:
        assert (
            await tick_all(p2, ReminderScheduler(p2.runtime), ReminderScheduler(p2.runtime)) == []
        )
        clock.set(DUE + timedelta(minutes=5))
        async with running(settings, clock, projections=False) as replica:
            done = await tick_all(
                p2, ReminderScheduler(p2.runtime), ReminderScheduler(replica.runtime)
            )
            assert sorted(done) == sorted(ids)

    clock.set(DUE + timedelta(hours=2))
    async with running(settings, clock) as p3:
        assert await tick_all(p3, ReminderScheduler(p3.runtime)) == []
        counted = await recorded(p3, ids)
        expected = Counter(
            {
                (tid, kind): 1
                for tid in ids
                for kind in ("activities.task.reminder_due", "activities.task.overdue")
            }
        )
        assert counted == expected
