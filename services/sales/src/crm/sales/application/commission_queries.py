"""Reads of commissions, filtered by what the actor may see: a rep their own entries and
statements, a manager with a team their team's (and their own), admins, managers without a
team, agents and analysts the tenant's. Plans are read by every role of sales (a rep may
know what pays them). The entries of a customer include those of the customers merged into
them (through the sales context's directory, where it is given)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.kernel.auth import Actor
from crm.kernel.directory import Customers, records_of
from crm.kernel.errors import NotFound
from crm.kernel.read_store import Document, Page, Query, ReadStore, equal_to, find_all, sort_order
from crm.kernel.tenancy import qualified
from crm.sales.application.policy import POLICY, SalesAction, scope_of
from crm.sales.projections.commission_models import ENTRIES, PLANS, STATEMENTS


@dataclass(frozen=True)
class EntryFilter:
    rep_id: str | None = None
    period: str | None = None
    statement_id: str | None = None
    order_id: str | None = None
    kind: str | None = None
    customer_id: str | None = None
    """The customer of the order the entry pays for (with those merged into them)."""


@dataclass(frozen=True)
class StatementFilter:
    rep_id: str | None = None
    period: str | None = None
    status: str | None = None


class CommissionQueries:
    def __init__(self, read_store: ReadStore, customers: Customers | None = None) -> None:
        self.read_store = read_store
        self.customers = customers

    def _visible(self, actor: Actor, conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        visible = POLICY.visibility_filter(actor)
        return [{"tenant": actor.tenant}, *conditions, *([visible] if visible else [])]

    async def _page(
        self, collection: str, conditions: list[dict[str, Any]], sort: str, limit: int, offset: int
    ) -> Page:
        return await self.read_store.find(
            collection, Query.all_of(conditions, sort=sort, limit=limit, offset=offset)
        )

    async def plan(self, actor: Actor, plan_id: str) -> Document:
        POLICY.authorize(actor, SalesAction.VIEW, what="commission plan")
        doc = await self.read_store.get(PLANS, plan_id)
        if doc is None or doc["tenant"] != actor.tenant:
            raise NotFound(f"commission plan {plan_id} does not exist")
        return doc

    async def plans(self, actor: Actor, *, limit: int, offset: int) -> Page:
        POLICY.authorize(actor, SalesAction.VIEW, what="commission plan")
        return await self._page(PLANS, [{"tenant": actor.tenant}], "name", limit, offset)

    async def _entry_conditions(self, actor: Actor, flt: EntryFilter) -> list[dict[str, Any]]:
        return self._visible(
            actor,
            [
                *equal_to(
                    owner_id=flt.rep_id,
                    period=flt.period,
                    statement_id=flt.statement_id,
                    order_id=flt.order_id,
                    kind=flt.kind,
                ),
                *await records_of(self.customers, actor.tenant, flt.customer_id),
            ],
        )

    async def entries(
        self, actor: Actor, flt: EntryFilter, *, sort: str, limit: int, offset: int
    ) -> Page:
        conditions = await self._entry_conditions(actor, flt)
        return await self._page(ENTRIES, conditions, sort, limit, offset)

    async def all_entries(self, actor: Actor, flt: EntryFilter, sort: str) -> list[Document]:
        flt_ = {"$and": await self._entry_conditions(actor, flt)}
        return await find_all(self.read_store, ENTRIES, flt_, sort=(sort_order(sort),))

    def _statement_conditions(self, actor: Actor, flt: StatementFilter) -> list[dict[str, Any]]:
        return self._visible(
            actor, equal_to(owner_id=flt.rep_id, period=flt.period, status=flt.status)
        )

    async def statements(
        self, actor: Actor, flt: StatementFilter, *, sort: str, limit: int, offset: int
    ) -> Page:
        conditions = self._statement_conditions(actor, flt)
        return await self._page(STATEMENTS, conditions, sort, limit, offset)

    async def all_statements(self, actor: Actor, flt: StatementFilter, sort: str) -> list[Document]:
        flt_ = {"$and": self._statement_conditions(actor, flt)}
        return await find_all(self.read_store, STATEMENTS, flt_, sort=(sort_order(sort),))

    async def statement(self, actor: Actor, statement_id: str) -> Document:
        doc = await self.read_store.get(STATEMENTS, qualified(actor.tenant, statement_id))
        if doc is None or doc["tenant"] != actor.tenant:
            raise NotFound(f"statement {statement_id} does not exist")
        scope = scope_of(doc["owner_id"], doc["team_id"])
        POLICY.authorize(actor, SalesAction.VIEW, what=f"statement {statement_id}", scope=scope)
        return doc
