"""The sales context's scheduled checks: invoices that fell overdue, quotes that expired.

Nothing happens in an event-sourced system without a command, and the passing of a date is
not one; so a scheduler asks the read models which invoices are past their due date with a
balance (issued, not yet marked overdue) and which sent quotes are past their validity, and
runs :meth:`Invoice.mark_overdue` and :meth:`Quote.expire` on each, as the system.

Each event is recorded once however many schedulers run and however often they restart:

1. every command runs on the context's command bus as the system, under an idempotency key
   per (aggregate, check, due date), so a second scheduler racing the first appends nothing
   (the store records the key with the events);
2. the domain's own no-op is the second guard: an invoice already marked, paid or void, a
   quote already answered, records nothing, which covers a read model that has not caught up
   with the last tick;
3. an append that meets a concurrent writer is retried on a fresh load by the bus, where 2
   applies.

A tick finds what the read models show at the time; whatever they have not caught up with
yet (or an error on one record) is found by the next tick.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm.kernel.clock import Clock
from crm.kernel.reactor import system_context
from crm.kernel.read_store import Document, find_all
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.kernel.scheduling import tick_forever
from crm.sales.application.invoice_commands import MarkInvoiceOverdue
from crm.sales.application.quote_commands import ExpireQuote
from crm.sales.domain.quotes import today
from crm.sales.projections.order_models import INVOICES, QUOTES

log = logging.getLogger(__name__)

ACTOR = "process:sales-scheduler"
PAGE = 200


@dataclass(frozen=True)
class TickReport:
    """What one tick did: the ids it recorded an event for, and those it found with nothing
    to record (already done by another scheduler, or by an earlier tick)."""

    now: datetime
    invoices_overdue: tuple[str, ...] = ()
    quotes_expired: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    failed: tuple[str, ...] = field(default=())


class SalesScheduler:
    def __init__(self, runtime: Runtime, *, page_size: int = PAGE) -> None:
        self.runtime = runtime
        self.read_store = runtime.read_store
        self.page_size = page_size

    @staticmethod
    def context(tenant: str, now: datetime, key: str) -> CommandContext:
        """The system acting for the check, under the check's idempotency key."""
        return system_context(ACTOR, tenant, now, key)

    async def _due(self, collection: str, flt: dict[str, Any]) -> list[Document]:
        """Every document matching ``flt`` now, across tenants."""
        return await find_all(self.read_store, collection, flt, page_size=self.page_size)

    async def _check(self, doc: Document, key: str, command: object, now: datetime) -> bool | None:
        """Run ``command`` for ``doc`` as the system under ``key``: whether it recorded
        anything, or None if it failed (the next tick tries again)."""
        try:
            outcome = await self.runtime.commands.run(
                command, self.context(doc["tenant"], now, key)
            )
        except Exception:
            log.exception("scheduled check %s failed; the next tick tries again", key)
            return None
        return outcome.recorded

    async def tick(self, now: datetime) -> TickReport:
        as_of = today(now).isoformat()
        overdue: list[str] = []
        expired: list[str] = []
        unchanged: list[str] = []
        failed: list[str] = []

        async def check(doc: Document, key: str, command: object, into: list[str]) -> None:
            recorded = await self._check(doc, key, command, now)
            (failed if recorded is None else into if recorded else unchanged).append(doc["id"])

        invoices = await self._due(
            INVOICES, {"status": "issued", "overdue": False, "due_date": {"$lt": as_of}}
        )
        for doc in invoices:
            key = f"scheduler:invoice-overdue:{doc['id']}:{doc['due_date']}"
            await check(doc, key, MarkInvoiceOverdue(doc["id"]), overdue)

        quotes = await self._due(QUOTES, {"status": "sent", "valid_until": {"$lt": as_of}})
        for doc in quotes:
            key = f"scheduler:quote-expiry:{doc['id']}:{doc['valid_until']}"
            await check(doc, key, ExpireQuote(doc["id"]), expired)

        return TickReport(now, tuple(overdue), tuple(expired), tuple(unchanged), tuple(failed))

    async def run(self, clock: Clock, interval: float) -> None:
        """Tick every ``interval`` seconds, forever (cancel the task to stop it)."""
        await tick_forever("sales", self.tick, clock, interval, _summary)


def _summary(report: TickReport) -> tuple[dict[str, int], str | None]:
    recorded = len(report.invoices_overdue) + len(report.quotes_expired)
    due = {"recorded": recorded, "unchanged": len(report.unchanged), "failed": len(report.failed)}
    line = (
        f"{len(report.invoices_overdue)} invoices overdue, "
        f"{len(report.quotes_expired)} quotes expired"
    )
    return due, line if recorded else None
