"""Group ``reminders``: the activities context's reminder scheduler over many open tasks.

A platform of the customer and activities contexts (SQLite stores in a scratch directory on a
real disk, every projection running, its jobs not ticking on their own) holds N open tasks
(100 000; 2 000 with ``--quick``), planned through the command bus as a manager would, 64 at
a time. Of them, ``DUE`` (1 000; 20) were due a minute before ``now``, the others next month.
Then

- **the tick with work**: one :meth:`ReminderScheduler.tick` at ``now``: it asks the tasks read
  model for what is due (``check_at``, indexed) and records each due task's overdue notice
  (asserted: exactly ``DUE`` of them, none failed); figures: its time, and that time per due
  task;
- **the peer**: the same tick at the same ``now`` once those notices are recorded and the read
  model caught up, so nothing is due: the cost of asking whatever the number of open tasks.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.measure import Plan, Results, Step, scratch_dir
from crm.activities.application.reminders import ReminderScheduler
from crm.activities.application.task_commands import ScheduleTask
from crm.activities.domain.tasks import TaskPlan
from crm.activities.projections.task_models import TASKS_PROJECTION
from crm.customer.application.customer_commands import RegisterCustomer
from crm.customer.domain.customer import Profile
from crm.events.activities import SubjectKind, TaskKind
from crm.events.customer import CustomerKind
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.projection import wait_until
from crm.kernel.repository import CommandContext
from crm.kernel.settings import Settings
from crm.platform.bootstrap import context_named, ensure_first_tenant, open_platform

GROUP = "reminders"
SECRET = "bench-secret-" + "r" * 40
WRITERS = 64
IDLE_TICKS = 10
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def declare(results: Results) -> None:
    g = GROUP
    idle = f"{g}.tick_idle_ms"
    results.figure(f"{g}.tick_due_ms", "reminder tick, 1 % of open tasks due", "ms", peers=(idle,))
    results.figure(f"{g}.per_due_task_ms", "reminder tick: time per due task", "ms")
    results.figure(idle, "reminder tick, same tasks, nothing due", "ms")
    results.figure(f"{g}.plan_tasks", "tasks planned through the bus, 64 at a time", "tasks/s")


async def repetition(d: Path, n: int, due: int, step: Step, results: Results) -> None:
    clock = ManualClock(NOW - timedelta(hours=1))
    settings = Settings(data_dir=d / "data", secret=SECRET, scheduler_interval_seconds=3600)
    contexts = (context_named("customer"), context_named("activities"))
    platform = open_platform(settings, clock=clock, contexts=contexts)
    try:
        await ensure_first_tenant(platform)
        await platform.start_projections(None)
        boss = CommandContext(actor="boss", role=Role.MANAGER, tenant="default", now=clock.now())
        bus = platform.runtime.commands
        profile = Profile(kind=CustomerKind.COMPANY, name="Bench Ltd", email="bench@example.com")
        cid = "00000000-0000-4000-8000-000000000001"
        await bus.execute(RegisterCustomer(profile, owner_id="ana", customer_id=cid), boss)
        step(f"reminders: planning {n} tasks, {due} due")
        queue = iter(range(n))

        async def writer() -> None:
            for i in queue:
                at = NOW - timedelta(minutes=1) if i < due else NOW + timedelta(days=30)
                plan = TaskPlan(TaskKind.CALL, f"call {i}", at, "ana", remind_before_minutes=0)
                await bus.execute(ScheduleTask(plan, SubjectKind.CUSTOMER, cid), boss)

        start = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(WRITERS)))
        results.figures[f"{GROUP}.plan_tasks"].samples.append(n / (time.perf_counter() - start))

        async def settle() -> None:
            head = await platform.store.head_position()
            _, caught_up = await wait_until(
                platform.read_store,
                TASKS_PROJECTION.name,
                head,
                120.0,
                store=platform.store,
                categories=TASKS_PROJECTION.categories,
            )
            assert caught_up, "the tasks read model did not catch up"

        await settle()
        scheduler = ReminderScheduler(platform.runtime)
        step(f"reminders: tick over {n} open tasks, {due} due")
        start = time.perf_counter()
        report = await scheduler.tick(NOW)
        seconds = time.perf_counter() - start
        assert not report.failed, report.failed[:3]
        assert len(report.overdue) == due, (len(report.overdue), due)
        results.figures[f"{GROUP}.tick_due_ms"].samples.append(seconds * 1000)
        results.figures[f"{GROUP}.per_due_task_ms"].samples.append(seconds * 1000 / due)

        await settle()
        idle: list[float] = []
        for _ in range(IDLE_TICKS):
            start = time.perf_counter()
            again = await scheduler.tick(NOW)
            idle.append(time.perf_counter() - start)
            assert again.overdue == again.reminded == again.failed == (), again
        results.figures[f"{GROUP}.tick_idle_ms"].samples.append(sum(idle) / len(idle) * 1000)
    finally:
        await platform.stop_projections()
        await platform.close()


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    n = plan.size(100_000, 2_000)
    due = n // 100
    for rep in range(plan.repetitions):
        with scratch_dir("reminders") as d:
            step(f"reminders, repetition {rep + 1}/{plan.repetitions}")
            await repetition(d / "r", n, due, step, results)
