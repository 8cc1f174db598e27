"""The value monitor: publishes each customer's value tier (``GET /analytics/value``) as an
event, ``analytics.value_tier.changed`` on ``valuetier-<customer id>``, when it moves, so the
other contexts know who is valuable without computing CLV themselves (customer care's "no
contact for N days for a valuable customer" reads it).

Once a day (the first tick of each UTC day, and again after a restart; a tenant whose first
customer arrives later in the day is valued the next day), it values
each tenant's customers as the route does (:meth:`ValueQueries.valued`, the tenant's policy and
its value currency) and records every customer's tier through the command bus as the system;
the :class:`~crm.analytics.domain.value.CustomerValueTier` aggregate records only a change, so
restarts and several monitors record each change once. A tenant whose value cannot be
assessed (too little history: ``value_model_unavailable``) is skipped for the day, logged; a
customer no longer valued (orders in another currency) keeps their last published tier.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from crm.analytics.application.value_queries import ValueQueries
from crm.analytics.domain.value import CustomerValueTier
from crm.analytics.projections.customer_360_models import CUSTOMERS
from crm.events.analytics import ValueTier
from crm.kernel.clock import Clock
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import RuleViolated
from crm.kernel.reactor import system_context
from crm.kernel.read_store import find_all
from crm.kernel.runtime import Runtime
from crm.kernel.scheduling import tick_forever

log = logging.getLogger(__name__)

ACTOR = "process:value-monitor"


@dataclass(frozen=True, slots=True)
class RecordValueTier:
    customer_id: str
    tier: ValueTier


def value_tier_commands() -> CommandTable[CustomerValueTier]:
    t = CommandTable(CustomerValueTier, id_field="customer_id")
    t.on(
        RecordValueTier,
        Expect.ANY,
        None,
        lambda agg, cmd, ctx: agg.record(cmd.tier, ctx.now),
        attempts=3,
    )
    return t


@dataclass(frozen=True)
class ValueTickReport:
    recorded: tuple[str, ...] = ()
    """The customers whose tier changed (and was recorded)."""
    skipped: tuple[str, ...] = ()
    """The tenants that could not be valued."""


class ValueTierMonitor:
    def __init__(self, runtime: Runtime, queries: ValueQueries | None = None) -> None:
        self.runtime = runtime
        self.queries = queries or ValueQueries(runtime)
        self._done: dict[str, date] = {}
        """Per tenant, the UTC day this monitor last valued it."""
        self._round_on: date | None = None
        """The UTC day of this monitor's last complete round (no read until the next day)."""

    async def _tenants(self) -> Sequence[str]:
        docs = await find_all(self.runtime.read_store, CUSTOMERS, {})
        return sorted({d["tenant"] for d in docs})

    async def tick(self, now: datetime) -> ValueTickReport:
        recorded: list[str] = []
        skipped: list[str] = []
        today = now.date()
        if self._round_on == today:
            return ValueTickReport()
        for tenant in await self._tenants():
            if self._done.get(tenant) == today:
                continue
            try:
                valued = await self.queries.valued(tenant, now)
            except RuleViolated as e:
                log.info("value monitor: %s not valued today: %s", tenant, e)
                skipped.append(tenant)
                self._done[tenant] = today
                continue
            for row in valued.rows:
                command = RecordValueTier(row["customer_id"], ValueTier(row["tier"]))
                key = f"valuetier:{row['customer_id']}:{today}:{row['tier']}"
                outcome = await self.runtime.commands.run(
                    command, system_context(ACTOR, tenant, now, key)
                )
                if outcome.recorded:
                    recorded.append(row["customer_id"])
            self._done[tenant] = today
        self._round_on = today
        return ValueTickReport(tuple(recorded), tuple(skipped))

    async def run(self, clock: Clock, interval: float) -> None:
        await tick_forever("analytics-value", self.tick, clock, interval, _summary)


def _summary(report: ValueTickReport) -> tuple[dict[str, int], str | None]:
    line = f"{len(report.recorded)} value tiers changed" if report.recorded else None
    return {"recorded": len(report.recorded)}, line
