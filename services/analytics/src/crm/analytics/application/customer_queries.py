"""Reads over the 360° view: one customer, the customer list, churn warnings and the churn
analysis, each filtered by what the actor may see (:mod:`.policy`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar, cast

from crm.analytics.application.customer_view import (
    Customer360View,
    CustomerRow,
    WarningRow,
    customer_row,
    view,
    warning_row,
)
from crm.analytics.application.merges import combined
from crm.analytics.application.policy import (
    CUSTOMER_PERSONAL,
    churn_report_reader,
    customer_reader,
    customer_scope,
)
from crm.analytics.application.reports.churn import churn_report, retention_section
from crm.analytics.projections.customer_360_models import CUSTOMERS, Customer360Doc
from crm.analytics.projections.opportunity_models import OPPORTUNITIES, OpportunityDoc
from crm.analytics.projections.retention_models import RETENTION
from crm.analytics.projections.ticket_models import TICKETS, TicketDoc
from crm.kernel.auth import Actor
from crm.kernel.directory import refuse_if_merged
from crm.kernel.errors import InvalidCommand, NotFound
from crm.kernel.read_store import Document, ReadStore, find_all
from crm.kernel.read_store import Query as ReadQuery

PAGE = 500
R = TypeVar("R")
SORTS = {
    "spend": "spend_sort",
    "risk": "churn.score",
    "last_order": "orders.last_at",
    "registered": "registered_at",
    "orders": "orders.count",
}
"""The list's sort keys and the fields of ``customer_360`` they sort by."""


@dataclass(frozen=True)
class CustomerFilter:
    risk: str | None = None
    segment: str | None = None
    value_tier: str | None = None
    owner_id: str | None = None
    region: str | None = None
    tag: str | None = None
    min_spend: Decimal | None = None
    max_spend: Decimal | None = None


@dataclass(frozen=True)
class Rows(Generic[R]):
    """A page of rows and the total of rows matching."""

    items: list[R]
    total: int


class CustomerQueries:
    def __init__(self, read_store: ReadStore) -> None:
        self.read_store = read_store

    async def _all(self, collection: str, flt: Mapping[str, Any]) -> list[Document]:
        return await find_all(self.read_store, collection, flt, page_size=PAGE)

    async def customer_360(self, actor: Actor, customer_id: str, now: datetime) -> Customer360View:
        """The customer's 360° view with their tickets and opportunities joined and the
        windows computed as of ``now``."""
        customer_reader(actor)
        doc = await self.read_store.get(CUSTOMERS, customer_id)
        scope = customer_scope(actor)
        if doc is None or any(doc.get(k) != v for k, v in scope.items()):
            raise NotFound(f"no customer {customer_id}")
        refuse_if_merged(customer_id, doc, "/analytics/customers/{}/360")
        ids = [customer_id, *(doc.get("absorbed") or ())]
        flt = {"tenant": actor.tenant, "customer_id": {"$in": ids}}
        tickets = cast(list[TicketDoc], await self._all(TICKETS, flt))
        opportunities = cast(list[OpportunityDoc], await self._all(OPPORTUNITIES, flt))
        whole = await self._with_merged(cast(Customer360Doc, doc))
        shown = view(whole, tickets, opportunities, now)
        return CUSTOMER_PERSONAL.shown_to(actor, shown)

    async def customers(
        self, actor: Actor, wanted: CustomerFilter, *, sort: str, limit: int, offset: int
    ) -> Rows[CustomerRow]:
        """Customers with their 360° key figures (:data:`CUSTOMER_COLUMNS`)."""
        customer_reader(actor)
        field = sort.removeprefix("-")
        if field not in SORTS:
            raise InvalidCommand("sort", f"must be one of {sorted(SORTS)}, '-' for descending")
        flt: dict[str, Any] = {**customer_scope(actor), "merged_into": None}
        if wanted.owner_id is not None:
            if "owner_id" in flt and flt["owner_id"] != wanted.owner_id:
                return Rows[CustomerRow]([], 0)
            flt["owner_id"] = wanted.owner_id
        for key, value in (
            ("churn.level", wanted.risk),
            ("segment", wanted.segment),
            ("value_tier", wanted.value_tier),
            ("region", wanted.region),
        ):
            if value is not None:
                flt[key] = value
        if wanted.tag is not None:
            flt["tags"] = {"$contains": wanted.tag}
        spend: dict[str, float] = {}
        if wanted.min_spend is not None:
            spend["$gte"] = float(wanted.min_spend)
        if wanted.max_spend is not None:
            spend["$lte"] = float(wanted.max_spend)
        if spend:
            flt["spend_sort"] = spend
        direction = -1 if sort.startswith("-") else 1
        page = await self.read_store.find(
            CUSTOMERS,
            ReadQuery(filter=flt, sort=((SORTS[field], direction),), limit=limit, offset=offset),
        )
        docs = [await self._with_merged(d) for d in cast(list[Customer360Doc], page.items)]
        rows = [customer_row(doc) for doc in docs]
        return Rows(CUSTOMER_PERSONAL.all_shown_to(actor, rows), page.total)

    async def _with_merged(self, doc: Customer360Doc) -> Customer360Doc:
        """A survivor's document with the figures of those merged into it added."""
        if not doc.get("absorbed"):
            return doc
        merged = []
        for merged_id in doc.get("absorbed") or ():
            found = await self.read_store.get(CUSTOMERS, merged_id)
            if found is not None and found["tenant"] == doc["tenant"]:
                merged.append(cast(Customer360Doc, found))
        return combined(doc, merged)

    async def churn_warnings(
        self, actor: Actor, level: str | None, owner_id: str | None, *, limit: int, offset: int
    ) -> Rows[WarningRow]:
        """Customers at medium or high churn risk (or ``level``), highest score first; not
        those merged into another (their survivor is assessed on the history of both)."""
        customer_reader(actor)
        flt: dict[str, Any] = {**customer_scope(actor), "merged_into": None}
        flt["churn.level"] = level if level is not None else {"$in": ["medium", "high"]}
        if owner_id is not None and flt.setdefault("owner_id", owner_id) != owner_id:
            flt["owner_id"] = {"$in": []}
        page = await self.read_store.find(
            CUSTOMERS,
            ReadQuery(filter=flt, sort=(("churn.score", -1),), limit=limit, offset=offset),
        )
        docs = cast(list[Customer360Doc], page.items)
        rows = [warning_row(doc) for doc in docs]
        return Rows(CUSTOMER_PERSONAL.all_shown_to(actor, rows), page.total)

    async def churn_report(
        self, actor: Actor, period_from: str | None, period_to: str | None
    ) -> dict[str, Any]:
        """The churn analysis of the tenant's customers between two months."""
        churn_report_reader(actor)
        assessed = {"tenant": actor.tenant, "churn.level": {"$exists": True}}
        docs = await self._all(CUSTOMERS, assessed)
        opportunities = await self._all(OPPORTUNITIES, {"tenant": actor.tenant})
        report = churn_report(docs, opportunities, period_from, period_to)
        warnings = await self._all(RETENTION, {"tenant": actor.tenant})
        return {**report, "retention": retention_section(warnings, period_from, period_to)}
