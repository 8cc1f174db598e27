"""The service desk's scheduled checks: SLA targets due soon or breached, complaint follow-ups
due or overdue.

The passing of a due time is not a command, so a scheduler asks the tickets read model which
tickets may have something to record (the model keeps, indexed, the earliest due time still
to warn about, still to report breached, and the follow-up's next step: see
:mod:`crm.service_desk.projections.ticket_models`) and runs :meth:`Ticket.check_sla` and
:meth:`Ticket.check_follow_up` on each, as the system (``process:service-desk-scheduler``).

Each warning, breach, reminder and escalation is recorded once however many schedulers run
and however often they restart:

1. the domain remembers per (target, cycle) what it warned about and reported breached, and
   per follow-up whether it reminded and escalated: a check on a fresh load repeats nothing
   (this covers a read model that has not caught up with the last tick);
2. each append runs under an idempotency key naming the facts it records -- (ticket, check,
   event, target, cycle, due time) -- so a second scheduler that loaded the same version and
   computed the same facts appends nothing (the store answers with the first append);
3. an append that meets a concurrent writer (an agent, another scheduler at another ``now``)
   is retried on a fresh load, where 1 applies.

Each check is a command (:class:`CheckSla`, :class:`CheckFollowUp`) sent on the runtime's
command bus like any other; the bus builds the key of 2 from the ticket after the check
(``idempotency_for``) and retries as in 3.

A tick handles what the read model shows at the time; what it has not caught up with yet,
or a check that failed, is found by the next tick.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm.events import DomainEvent
from crm.events.service_desk import (
    FollowUpDue,
    FollowUpOverdueEscalated,
    SlaBreached,
    SlaWarning,
)
from crm.kernel.clock import Clock
from crm.kernel.context import Job
from crm.kernel.event_store import Idempotency
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.read_store import Document, find_all
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.kernel.scheduling import tick_forever
from crm.service_desk.application.ticket_commands import CheckFollowUp, CheckSla
from crm.service_desk.domain.tickets import Ticket
from crm.service_desk.projections.ticket_models import TICKETS, instant

log = logging.getLogger(__name__)

ACTOR = "process:service-desk-scheduler"
PAGE = 200
CONCURRENT_CHECKS = 16
"""Due tickets checked at once: their appends share the store's commits (group commit)."""
DEFAULT_WARN_BEFORE = timedelta(minutes=30)


@dataclass(frozen=True)
class TickReport:
    """What one tick recorded, as ticket ids per kind of fact (a ticket appears once per fact
    recorded), the tickets it found with nothing to record, and those whose check failed."""

    now: datetime
    warned: tuple[str, ...] = ()
    breached: tuple[str, ...] = ()
    reminded: tuple[str, ...] = ()
    escalated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()

    @property
    def recorded(self) -> int:
        return len(self.warned) + len(self.breached) + len(self.reminded) + len(self.escalated)


def _fact(event: DomainEvent) -> str:
    """What an event records, as a part of an idempotency key."""
    match event:
        case SlaWarning() | SlaBreached():
            return f"{event.event_type}/{event.target.value}/{event.cycle}/{instant(event.due_at)}"
        case FollowUpDue() | FollowUpOverdueEscalated():
            return f"{event.event_type}/{instant(event.due_at)}"
    return event.event_type


class ServiceDeskScheduler:
    def __init__(
        self,
        runtime: Runtime,
        warn_before: timedelta = DEFAULT_WARN_BEFORE,
        *,
        page_size: int = PAGE,
    ) -> None:
        self.runtime = runtime
        self.read_store = runtime.read_store
        self.warn_before = warn_before
        self.page_size = page_size

    async def _due(self, flt: dict[str, object], sort: str) -> list[Document]:
        """Every ticket matching ``flt`` now, across tenants, earliest due first."""
        return await find_all(
            self.read_store, TICKETS, flt, sort=((sort, 1),), page_size=self.page_size
        )

    async def _check(
        self, doc: Document, check: str, now: datetime, command: CheckSla | CheckFollowUp
    ) -> tuple[DomainEvent, ...]:
        """Run the check; what it appended (() if nothing, or if another scheduler recorded
        the same facts first)."""

        def key(ticket: Ticket) -> Idempotency:
            facts = ";".join(_fact(e) for e in ticket.changes)
            name = f"scheduler:{check}:{ticket.id}:{facts}"
            return Idempotency(name, hashlib.sha256(name.encode()).hexdigest())

        ctx = CommandContext(actor=ACTOR, role=SYSTEM_ROLE, tenant=doc["tenant"], now=now)
        outcome = await self.runtime.commands.run(command, ctx, idempotency_for=key)
        return outcome.aggregate.changes if outcome.recorded else ()

    async def tick(self, now: datetime) -> TickReport:
        warned: list[str] = []
        breached: list[str] = []
        reminded: list[str] = []
        escalated: list[str] = []
        unchanged: list[str] = []
        failed: list[str] = []

        gate = asyncio.Semaphore(CONCURRENT_CHECKS)

        async def check(
            doc: Document, name: str, command: CheckSla | CheckFollowUp
        ) -> Sequence[DomainEvent] | None:
            async with gate:
                try:
                    return await self._check(doc, name, now, command)
                except Exception:
                    log.exception(
                        "%s check of ticket %s failed; next tick retries", name, doc["id"]
                    )
                    return None

        def account(doc: Document, recorded: Sequence[DomainEvent] | None) -> None:
            if recorded is None:
                failed.append(doc["id"])
                return
            if not recorded:
                unchanged.append(doc["id"])
            for event in recorded:
                match event:
                    case SlaWarning():
                        warned.append(doc["id"])
                    case SlaBreached():
                        breached.append(doc["id"])
                    case FollowUpDue():
                        reminded.append(doc["id"])
                    case FollowUpOverdueEscalated():
                        escalated.append(doc["id"])

        # due tickets are checked concurrently (each is its own stream), so the store can
        # commit their appends together; the report keeps the order they were found in
        sla = await self._due(
            {
                "$or": [
                    {"sla_breach_check_at": {"$lte": instant(now)}},
                    {"sla_warn_check_at": {"$lte": instant(now + self.warn_before)}},
                ]
            },
            "opened_at",
        )
        outcomes = await asyncio.gather(
            *(check(doc, "sla", CheckSla(doc["id"], self.warn_before)) for doc in sla)
        )
        for doc, recorded in zip(sla, outcomes, strict=True):
            account(doc, recorded)
        follow_ups = await self._due(
            {"follow_up_check_at": {"$lte": instant(now)}}, "follow_up_check_at"
        )
        outcomes = await asyncio.gather(
            *(check(doc, "follow-up", CheckFollowUp(doc["id"])) for doc in follow_ups)
        )
        for doc, recorded in zip(follow_ups, outcomes, strict=True):
            account(doc, recorded)
        return TickReport(
            now,
            tuple(warned),
            tuple(breached),
            tuple(reminded),
            tuple(escalated),
            tuple(unchanged),
            tuple(failed),
        )

    async def run(self, clock: Clock, interval: float) -> None:
        """Tick every ``interval`` seconds, forever (cancel the task to stop it: a check cut
        short is repeated by the next tick, and rules 1-3 keep it from recording twice)."""
        await tick_forever("service-desk", self.tick, clock, interval, _summary)


def _summary(report: TickReport) -> tuple[dict[str, int], str | None]:
    due = {
        "recorded": report.recorded,
        "unchanged": len(report.unchanged),
        "failed": len(report.failed),
    }
    line = (
        f"{len(report.warned)} warnings, {len(report.breached)} breaches, "
        f"{len(report.reminded)} reminders, {len(report.escalated)} escalations, "
        f"{len(report.failed)} failed"
    )
    return due, line if report.recorded or report.failed else None


def scheduler_job(runtime: Runtime) -> Job:
    """The scheduler as a background job of the context, ticking every
    ``runtime.scheduler_interval_seconds``."""
    scheduler = ServiceDeskScheduler(runtime)
    return lambda: scheduler.run(runtime.clock, runtime.scheduler_interval_seconds)
