"""Reads of field visits, from the visits read model.

Every role that may view the service desk reads visits; the visit's address, notes and report
are the customer's personal data, shown only to the roles that need them (the others see
:data:`~crm.kernel.redaction.REDACTED`: the kernel's one rule, with the fields of
:data:`~crm.service_desk.application.policy.VISIT_PERSONAL`). Visits are not filtered by support
group: a visit document does not carry its ticket's group (the technicians' planning is
shared by the groups), and what it shows of the customer is redacted by role, not group.
A visit of a customer whose personal data was erased shows those fields as erased, whoever
reads it (:mod:`crm.kernel.erasure`: the document may predate the erasure, and no event can
reach it by its key). The bookkeeping of holds (``holds``, ``stale_since``) is the
reconciliation's, not the API's: the document type leaves it out of the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from crm.events.visits import customer_subject
from crm.kernel.auth import Actor
from crm.kernel.directory import Customers, records_of
from crm.kernel.erasure import redact_erased
from crm.kernel.errors import NotFound
from crm.kernel.keys import KeyStore
from crm.kernel.read_store import Document, Page, Query, ReadStore
from crm.service_desk.application.policy import POLICY, VISIT_PERSONAL
from crm.service_desk.projections.visit_models import VISITS

SORTS = frozenset({"start", "scheduled_at", "updated_at"})


@dataclass(frozen=True)
class VisitFilter:
    technician_id: str | None = None
    ticket_id: str | None = None
    customer_id: str | None = None
    day: date | None = None
    status: str | None = None


def visit_subject(doc: Document) -> str | None:
    """The data subject of a visit's personal fields: its customer (None until the visit is
    recorded: a document of holds only has no personal data)."""
    customer_id = doc["customer_id"]
    return customer_subject(customer_id) if customer_id is not None else None


class VisitQueries:
    def __init__(
        self, read_store: ReadStore, keys: KeyStore, customers: Customers | None = None
    ) -> None:
        """``customers``: the desk's directory, through which the visits of a customer
        include those of the customers merged into them."""
        self.read_store = read_store
        self.keys = keys
        self.customers = customers

    async def _unerased(self, docs: list[Document]) -> list[Document]:
        return await redact_erased(self.keys, docs, visit_subject, VISIT_PERSONAL.paths)

    async def visit(self, actor: Actor, visit_id: str) -> Document:
        POLICY.visibility_filter(actor)  # Forbidden for a role that may not view the desk
        doc = await self.read_store.get(VISITS, visit_id)
        if doc is None or doc["tenant"] != actor.tenant or not doc["scheduled"]:
            raise NotFound(f"visit {visit_id} does not exist")
        [doc] = await self._unerased([doc])
        return VISIT_PERSONAL.shown_to(actor, doc)

    async def visits(
        self, actor: Actor, flt: VisitFilter, *, sort: str, limit: int, offset: int
    ) -> Page:
        POLICY.visibility_filter(actor)
        conditions: list[dict[str, Any]] = [{"tenant": actor.tenant}, {"scheduled": True}]
        for name in ("technician_id", "ticket_id", "status"):
            value = getattr(flt, name)
            if value is not None:
                conditions.append({name: value})
        conditions += await records_of(self.customers, actor.tenant, flt.customer_id)
        if flt.day is not None:
            conditions.append({"days": {"$contains": flt.day.isoformat()}})
        page = await self.read_store.find(
            VISITS,
            Query.all_of(conditions, sort=sort, limit=limit, offset=offset),
        )
        docs = await self._unerased(list(page.items))
        return Page(VISIT_PERSONAL.all_shown_to(actor, docs), page.total, page.limit, page.offset)
