"""Reads of the tasks: one task, and the lists people work from (mine, my team's, a
customer's or a deal's, what is due in a window, what is overdue).

Every list is filtered by :data:`~crm.activities.application.policy.POLICY` first: a rep or an
agent reads the tasks assigned to them, a manager their team's and their own, an admin and an
analyst the tenant's. A task the actor may not see is answered 404, like one that never was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from crm.activities.application.policy import POLICY
from crm.activities.projections.task_models import TASKS, instant
from crm.kernel.access import Principal, Scope
from crm.kernel.auth import Actor
from crm.kernel.directory import Customers, records_of
from crm.kernel.errors import NotFound
from crm.kernel.read_store import Document, Page, Query, ReadStore, sort_order

SORTS = frozenset({"due_at", "scheduled_at", "closed_at", "title"})


@dataclass(frozen=True)
class TaskFilter:
    status: str | None = None
    assignee_id: str | None = None
    team_id: str | None = None
    customer_id: str | None = None
    subject_kind: str | None = None
    subject_id: str | None = None
    kind: str | None = None
    overdue: bool | None = None
    due_from: datetime | None = None
    due_before: datetime | None = None

    def conditions(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for name in (
            "status",
            "assignee_id",
            "team_id",
            "customer_id",
            "subject_kind",
            "subject_id",
            "kind",
            "overdue",
        ):
            value = getattr(self, name)
            if value is not None:
                out.append({name: value})
        if self.due_from is not None:
            out.append({"due_at": {"$gte": instant(self.due_from)}})
        if self.due_before is not None:
            out.append({"due_at": {"$lt": instant(self.due_before)}})
        return out


class TaskQueries:
    def __init__(self, read_store: ReadStore, customers: Customers | None = None) -> None:
        """``customers``: the context's directory, through which the tasks of a customer
        include those of the customers merged into them."""
        self.read_store = read_store
        self.customers = customers

    async def task(self, actor: Actor, task_id: str) -> Document:
        doc = await self.read_store.get(TASKS, task_id)
        who = Principal.of(actor)
        POLICY.visibility_filter(who)  # Forbidden for a role that may not read tasks at all
        if (
            doc is None
            or doc["tenant"] != actor.tenant
            or not POLICY.sees(who, Scope(owner_id=doc["owner_id"], team_id=doc["team_id"]))
        ):
            raise NotFound(f"task {task_id} does not exist")
        return doc

    async def tasks(
        self, actor: Actor, flt: TaskFilter, *, sort: str, limit: int, offset: int
    ) -> Page:
        conditions: list[dict[str, Any]] = [{"tenant": actor.tenant}]
        visible = POLICY.visibility_filter(actor)
        if visible:
            conditions.append(visible)
        conditions.extend(replace(flt, customer_id=None).conditions())
        customer = await records_of(self.customers, actor.tenant, flt.customer_id)
        conditions.extend(customer)
        field, direction = sort_order(sort)
        return await self.read_store.find(
            TASKS,
            Query(
                filter={"$and": conditions},
                sort=((field, direction), ("id", 1)),
                limit=limit,
                offset=offset,
            ),
        )
