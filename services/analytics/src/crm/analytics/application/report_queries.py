"""Reads of the funnel and the reports: each checks the actor (:mod:`.policy`), loads the
tenant's documents of the read models it counts and runs its engine (:mod:`.reports`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

from crm.analytics.application.policy import funnel_scope, report_reader, service_scope
from crm.analytics.application.reports.campaigns import campaigns_report
from crm.analytics.application.reports.customers import customers_report
from crm.analytics.application.reports.funnel import funnel_report
from crm.analytics.application.reports.revenue import revenue_report
from crm.analytics.application.reports.rfm import rfm_report
from crm.analytics.application.reports.service import service_report
from crm.analytics.projections import funnel_models as f
from crm.analytics.projections import report_models as r
from crm.kernel.auth import Actor
from crm.kernel.errors import InvalidCommand
from crm.kernel.read_store import Document, ReadStore, find_all

PAGE = 1000


@dataclass(frozen=True)
class FunnelFilter:
    start: date | None = None
    end: date | None = None
    owner_id: str | None = None
    team_id: str | None = None
    campaign_id: str | None = None
    source: str | None = None
    """The leads' source (an opportunity's source is its lead's)."""


class ReportQueries:
    def __init__(self, read_store: ReadStore) -> None:
        self.read_store = read_store

    async def _load(self, collection: str, tenant: str) -> list[Document]:
        """Every document of the tenant in ``collection``, without the store's own fields."""
        docs = await find_all(self.read_store, collection, {"tenant": tenant}, page_size=PAGE)
        return [{k: v for k, v in d.items() if not k.startswith("_")} for d in docs]

    async def funnel(self, actor: Actor, wanted: FunnelFilter) -> dict[str, Any]:
        owner_id, team_id = funnel_scope(actor, wanted.owner_id, wanted.team_id)
        if wanted.start is not None and wanted.end is not None and wanted.start > wanted.end:
            raise InvalidCommand("from", "must not be after to")
        opportunities, leads, targets, invoices = await asyncio.gather(
            self._load(f.OPPORTUNITIES, actor.tenant),
            self._load(f.LEADS, actor.tenant),
            self._load(f.TARGETS, actor.tenant),
            self._load(f.INVOICES, actor.tenant),
        )
        return funnel_report(
            opportunities=opportunities,
            leads=leads,
            targets=targets,
            invoices=invoices,
            pipeline=await self.read_store.get(f.PIPELINES, actor.tenant),
            start=wanted.start,
            end=wanted.end,
            owner_id=owner_id,
            team_id=team_id,
            campaign_id=wanted.campaign_id,
            source=wanted.source,
        )

    async def customers(self, actor: Actor, first: str | None, last: str) -> dict[str, Any]:
        report_reader(actor)
        return customers_report(await self._load(r.CUSTOMERS, actor.tenant), first, last)

    async def rfm(self, actor: Actor, as_of: date, currency: str) -> dict[str, Any]:
        report_reader(actor)
        return rfm_report(await self._load(r.CUSTOMERS, actor.tenant), as_of, currency)

    async def revenue(self, actor: Actor, first: str | None, last: str | None) -> dict[str, Any]:
        report_reader(actor)
        return revenue_report(await self._load(r.REVENUE, actor.tenant), first, last)

    async def campaigns(self, actor: Actor) -> dict[str, Any]:
        report_reader(actor)
        campaigns, leads, opportunities = await asyncio.gather(
            self._load(r.CAMPAIGNS, actor.tenant),
            self._load(f.LEADS, actor.tenant),
            self._load(f.OPPORTUNITIES, actor.tenant),
        )
        return campaigns_report(campaigns, leads, opportunities)

    async def service(
        self, actor: Actor, first: str | None, last: str | None, group_id: str | None = None
    ) -> dict[str, Any]:
        group = service_scope(actor, group_id)
        tickets = await self._load(r.TICKETS, actor.tenant)
        if group is not None:
            tickets = [t for t in tickets if t.get("group_id") == group]
        return service_report(tickets, first, last)
