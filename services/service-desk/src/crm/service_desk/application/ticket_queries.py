"""Reads of the ticket half, from its read models, filtered by what the actor may see.

Tickets: an agent (or a manager) of a support group sees that group's tickets, their own and
the unassigned queue; a ticket they may not see is answered as if it did not exist. Roles
that do not need the customer's personal data (sales reps, analysts) get the documents with
those fields redacted (:data:`~crm.service_desk.application.policy.TICKET_PERSONAL`, by the
kernel's one rule: :mod:`crm.kernel.redaction`). A ticket of a customer whose personal data
was erased shows those fields as erased, whoever reads it (:mod:`crm.kernel.erasure`: the
document may predate the erasure, and no event can reach it by its key). SLA policies,
calendars and contracts hold no personal data: every role of the tenant reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.events.visits import customer_subject
from crm.kernel.auth import Actor
from crm.kernel.custom_fields import personal_custom
from crm.kernel.directory import Customers, records_of
from crm.kernel.erasure import redact_erased
from crm.kernel.errors import NotFound
from crm.kernel.keys import KeyStore
from crm.kernel.read_store import Document, Page, Query, ReadStore, equal_to
from crm.kernel.redaction import PersonalFields
from crm.service_desk.application.policy import POLICY, TICKET_PERSONAL, DeskAction, scope_of
from crm.service_desk.domain.tenancy import qualified
from crm.service_desk.projections.ticket_models import (
    CALENDARS,
    CONTRACTS,
    SLA_POLICIES,
    TICKETS,
)


@dataclass(frozen=True)
class TicketFilter:
    status: str | None = None
    priority: str | None = None
    kind: str | None = None
    channel: str | None = None
    agent_id: str | None = None
    group_id: str | None = None
    customer_id: str | None = None
    breached: bool | None = None
    statuses: tuple[str, ...] | None = None
    """Any of these statuses (the console's queue: the ones still being worked)."""
    unassigned: bool = False
    """Only the tickets no agent has (the queue's "unassigned only")."""
    custom: tuple[dict[str, Any], ...] = ()
    """Conditions on the ticket's custom fields (:func:`.custom_filters`)."""


@dataclass(frozen=True)
class ContractFilter:
    customer_id: str | None = None
    level: str | None = None
    active: bool | None = None


def ticket_subject(doc: Document) -> str:
    """The data subject of a ticket's personal fields: its customer (see the events)."""
    return customer_subject(doc["customer_id"])


class TicketQueries:
    def __init__(
        self, read_store: ReadStore, keys: KeyStore, customers: Customers | None = None
    ) -> None:
        """``customers``: the desk's directory, through which the tickets and contracts of a
        customer include those of the customers merged into them."""
        self.read_store = read_store
        self.keys = keys
        self.customers = customers

    async def _unerased(self, docs: list[Document]) -> list[Document]:
        """``docs`` with the personal data of erased customers read as erased, and each as
        shown to ``actor`` (a personal custom value is the customer's contact data)."""
        custom = personal_custom(docs)
        paths = (*TICKET_PERSONAL.paths, *custom)
        return await redact_erased(self.keys, docs, ticket_subject, paths)

    def _shown(self, actor: Actor, docs: list[Document]) -> list[Document]:
        shown = TICKET_PERSONAL.all_shown_to(actor, docs)
        if custom := personal_custom(docs):
            shown = PersonalFields(contact=custom).all_shown_to(actor, shown)
        return shown

    async def _find(
        self, collection: str, conditions: list[dict[str, Any]], sort: str, limit: int, offset: int
    ) -> Page:
        return await self.read_store.find(
            collection, Query.all_of(conditions, sort=sort, limit=limit, offset=offset)
        )

    async def _get(
        self, actor: Actor, collection: str, what: str, id: str, *, key: str | None = None
    ) -> Document:
        """The document ``id`` (stored under ``key``, when that differs: the tenant-qualified
        id of a policy, calendar or contract) if it is the actor's tenant's."""
        doc = await self.read_store.get(collection, key or id)
        if doc is None or doc["tenant"] != actor.tenant:
            raise NotFound(f"{what} {id} does not exist")
        return doc

    # -- tickets -------------------------------------------------------------------------------

    async def ticket(self, actor: Actor, ticket_id: str) -> Document:
        doc = await self._get(actor, TICKETS, "ticket", ticket_id)
        scope = scope_of(doc["group_id"], doc["agent_id"])
        POLICY.authorize(actor, DeskAction.VIEW, what=f"ticket {ticket_id}", scope=scope)
        [doc] = self._shown(actor, await self._unerased([doc]))
        return doc

    async def tickets(
        self, actor: Actor, flt: TicketFilter, *, sort: str, limit: int, offset: int
    ) -> Page:
        visible = POLICY.visibility_filter(actor)
        conditions: list[dict[str, Any]] = [
            {"tenant": actor.tenant},
            *([visible] if visible else []),
            *equal_to(
                status=flt.status,
                priority=flt.priority,
                kind=flt.kind,
                channel=flt.channel,
                agent_id=flt.agent_id,
                group_id=flt.group_id,
                breached=flt.breached,
            ),
            *await records_of(self.customers, actor.tenant, flt.customer_id),
            *([{"status": {"$in": list(flt.statuses)}}] if flt.statuses else []),
            *([{"agent_id": None}] if flt.unassigned else []),
            *flt.custom,
        ]
        page = await self._find(TICKETS, conditions, sort, limit, offset)
        items = self._shown(actor, await self._unerased(list(page.items)))
        return Page(items, page.total, page.limit, page.offset)

    # -- configuration -------------------------------------------------------------------------

    def _view(self, actor: Actor, what: str) -> None:
        POLICY.authorize(actor, DeskAction.VIEW, what=what)

    async def policy(self, actor: Actor, policy_id: str) -> Document:
        self._view(actor, "SLA policy")
        key = qualified(actor.tenant, policy_id)
        return await self._get(actor, SLA_POLICIES, "SLA policy", policy_id, key=key)

    async def policies(self, actor: Actor, *, limit: int, offset: int) -> Page:
        self._view(actor, "SLA policy")
        return await self._find(SLA_POLICIES, [{"tenant": actor.tenant}], "id", limit, offset)

    async def calendar(self, actor: Actor, calendar_id: str) -> Document:
        self._view(actor, "calendar")
        key = qualified(actor.tenant, calendar_id)
        return await self._get(actor, CALENDARS, "calendar", calendar_id, key=key)

    async def calendars(self, actor: Actor, *, limit: int, offset: int) -> Page:
        self._view(actor, "calendar")
        return await self._find(CALENDARS, [{"tenant": actor.tenant}], "name", limit, offset)

    async def contract(self, actor: Actor, customer_id: str) -> Document:
        self._view(actor, "contract")
        key = qualified(actor.tenant, customer_id)
        return await self._get(actor, CONTRACTS, "the contract of customer", customer_id, key=key)

    async def contracts(
        self, actor: Actor, flt: ContractFilter, *, limit: int, offset: int
    ) -> Page:
        self._view(actor, "contract")
        conditions = [
            {"tenant": actor.tenant},
            *equal_to(level=flt.level, active=flt.active),
            *await records_of(self.customers, actor.tenant, flt.customer_id),
        ]
        return await self._find(CONTRACTS, conditions, "customer_id", limit, offset)
