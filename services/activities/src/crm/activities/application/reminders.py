"""The reminder scheduler: records, for every open task whose time came, the reminder before
its due time and the notice once the due time passed.

The passing of a time is not a command, so the scheduler asks the tasks read model which tasks
may have something to record (``check_at``, indexed: a tick reads only what is due, whatever
the number of open tasks) and runs :class:`CheckTaskReminders` on each as the system. Each fact
is recorded once however many schedulers run and however often they restart: the aggregate
remembers per (occurrence, due time) what it recorded, each append carries an idempotency key
naming the facts, and an append that meets a concurrent writer is retried on a fresh load by
the command bus (the same three rules as the service desk's scheduler).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from crm.activities.application.task_commands import CheckTaskReminders
from crm.activities.domain.tasks import Task
from crm.activities.projections.task_models import TASKS, instant
from crm.events.activities import TaskOverdue, TaskReminderDue
from crm.kernel.clock import Clock
from crm.kernel.context import Job
from crm.kernel.event_store import Idempotency
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.read_store import find_all
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.kernel.scheduling import tick_forever

log = logging.getLogger(__name__)

ACTOR = "process:activities-reminders"
CONCURRENT_CHECKS = 16


@dataclass(frozen=True)
class ReminderReport:
    now: datetime
    reminded: tuple[str, ...] = ()
    overdue: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


def _key(task: Task) -> Idempotency:
    facts = ";".join(
        f"{e.event_type}/{e.occurrence}/{instant(e.due_at)}"
        for e in task.changes
        if isinstance(e, TaskReminderDue | TaskOverdue)
    )
    name = f"reminders:{task.id}:{facts}"
    return Idempotency(name, hashlib.sha256(name.encode()).hexdigest())


class ReminderScheduler:
    def __init__(self, runtime: Runtime, *, page_size: int = 200) -> None:
        self.runtime = runtime
        self.page_size = page_size

    async def tick(self, now: datetime) -> ReminderReport:
        due = await find_all(
            self.runtime.read_store,
            TASKS,
            {"check_at": {"$lte": instant(now)}},
            sort=(("check_at", 1), ("id", 1)),
            page_size=self.page_size,
        )
        gate = asyncio.Semaphore(CONCURRENT_CHECKS)

        async def check(task_id: str, tenant: str) -> tuple[str, ...] | None:
            ctx = CommandContext(actor=ACTOR, role=SYSTEM_ROLE, tenant=tenant, now=now)
            async with gate:
                try:
                    outcome = await self.runtime.commands.run(
                        CheckTaskReminders(task_id), ctx, idempotency_for=_key
                    )
                except Exception:
                    log.exception("reminder check of task %s failed; next tick retries", task_id)
                    return None
            changes = outcome.aggregate.changes if outcome.recorded else ()
            return tuple(e.event_type for e in changes)

        results = await asyncio.gather(*(check(d["id"], d["tenant"]) for d in due))
        reminded: list[str] = []
        overdue: list[str] = []
        failed: list[str] = []
        for doc, recorded in zip(due, results, strict=True):
            if recorded is None:
                failed.append(doc["id"])
                continue
            if TaskReminderDue.event_type in recorded:
                reminded.append(doc["id"])
            if TaskOverdue.event_type in recorded:
                overdue.append(doc["id"])
        return ReminderReport(now, tuple(reminded), tuple(overdue), tuple(failed))

    async def run(self, clock: Clock, interval: float) -> None:
        """Tick every ``interval`` seconds until cancelled (a cut-short check is repeated by
        the next tick, recording nothing twice)."""
        await tick_forever("activities-reminders", self.tick, clock, interval, _summary)


def _summary(report: ReminderReport) -> tuple[dict[str, int], str | None]:
    recorded = len(report.reminded) + len(report.overdue)
    due = {"recorded": recorded, "failed": len(report.failed)}
    line = (
        f"{len(report.reminded)} reminded, {len(report.overdue)} overdue, "
        f"{len(report.failed)} failed"
    )
    return due, line if recorded or report.failed else None


def reminder_job(runtime: Runtime) -> Job:
    scheduler = ReminderScheduler(runtime)
    return lambda: scheduler.run(runtime.clock, runtime.scheduler_interval_seconds)
