"""The reconciliation of technicians' days: releases holds no visit refers to, once booked
more than ``grace`` ago (a visit command that died between its appends leaves one; see
:mod:`crm.service_desk.application.visit_commands`).

The visits read model says which visits have such holds (``stale_since``); the decision is
taken on the event store, by :class:`ReleaseStaleHolds` (sent on the command bus like any
command) with the current state of every visit holding a slot that day, so a read model
lagging behind never releases a hold a visit needs. ``grace`` must exceed how long a command
can take between its first and last append.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crm.kernel.clock import Clock
from crm.kernel.context import Job
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.read_store import find_all
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.service_desk.application.visit_commands import ReleaseStaleHolds
from crm.service_desk.domain.visits import STALE_AFTER, technician_day_id
from crm.service_desk.projections.visit_models import VISITS, iso

log = logging.getLogger(__name__)

ACTOR = "process:visit-reconciler"
PAGE = 200


@dataclass(frozen=True)
class ReconcileReport:
    now: datetime
    released: tuple[str, ...] = ()
    """The day streams where a stale hold was released."""
    failed: tuple[str, ...] = ()


class StaleHoldReconciler:
    def __init__(self, runtime: Runtime, *, grace: timedelta = STALE_AFTER) -> None:
        self.runtime = runtime
        self.grace = grace

    async def release_stale(self, now: datetime) -> ReconcileReport:
        cutoff = iso(now - self.grace)
        docs = await find_all(
            self.runtime.read_store,
            VISITS,
            {"stale_since": {"$lt": cutoff}},
            sort=(("stale_since", 1),),
            page_size=PAGE,
        )
        days: dict[str, tuple[str, ReleaseStaleHolds]] = {}
        for doc in docs:
            for hold in doc["holds"]:
                day = date.fromisoformat(hold["day"])
                day_id = technician_day_id(doc["tenant"], hold["technician_id"], day)
                days.setdefault(
                    day_id,
                    (doc["tenant"], ReleaseStaleHolds(hold["technician_id"], day, self.grace)),
                )
        released: list[str] = []
        failed: list[str] = []
        for day_id, (tenant, command) in days.items():
            ctx = CommandContext(actor=ACTOR, role=SYSTEM_ROLE, tenant=tenant, now=now)
            try:
                if (await self.runtime.commands.run(command, ctx)).recorded:
                    released.append(day_id)
            except Exception:
                log.exception("stale holds of %s: not released; the next run tries again", day_id)
                failed.append(day_id)
        return ReconcileReport(now, tuple(released), tuple(failed))

    async def run(self, clock: Clock, interval: float) -> None:
        """Reconcile every ``interval`` seconds, forever (cancel the task to stop it)."""
        while True:
            try:
                report = await self.release_stale(clock.now())
            except Exception:
                log.exception("visit reconciliation failed; retrying in %s s", interval)
            else:
                if report.released:
                    log.info("released stale holds in %d technician days", len(report.released))
            await asyncio.sleep(interval)


def reconciler(runtime: Runtime, *, grace: timedelta = STALE_AFTER) -> StaleHoldReconciler:
    return StaleHoldReconciler(runtime, grace=grace)


def release_stale_job(runtime: Runtime) -> Job:
    """The reconciliation as a background job of the context."""
    job = reconciler(runtime)
    return lambda: job.run(runtime.clock, runtime.scheduler_interval_seconds)
