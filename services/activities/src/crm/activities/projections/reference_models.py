"""The ``activities_references`` read model: the leads, opportunities and tickets a task may be
about, learnt from the sales and service desk events (whose they are, which customer), so a
task names a record that exists in its tenant; and the customers, in the context's own
:class:`~crm.kernel.directory.CustomerDirectory`.

One document per record, keyed ``<kind>:<id>``. In one process it reads the shared store; as
separate services the activities worker feeds it from the sales and service desk topics.
"""

from __future__ import annotations

from typing_extensions import TypedDict

from crm.events import EventEnvelope
from crm.events.sales import LeadCaptured, OpportunityOpened, OpportunityOwnerReassigned
from crm.events.service_desk import TicketAssigned, TicketOpened, TicketReassigned
from crm.kernel.directory import CustomerDirectory
from crm.kernel.handlers import DocKey, Handlers
from crm.kernel.read_store import CollectionSpec

REFERENCES = "activities_references"
CUSTOMER_DIRECTORY = CustomerDirectory("activities_customer_directory")
"""The customers activities knows of: whom a task may be about."""


class ReferenceDoc(TypedDict):
    id: str
    """``<kind>:<record id>``"""
    kind: str
    tenant: str
    owner_id: str | None
    """The lead's or opportunity's owner, the ticket's agent."""
    team_id: str | None
    customer_id: str | None


on: Handlers[ReferenceDoc] = Handlers()

KIND_OF_CATEGORY = {"lead": "lead", "opportunity": "opportunity", "ticket": "ticket"}


def _key(envelope: EventEnvelope) -> DocKey:
    kind = KIND_OF_CATEGORY[envelope.category]
    return (REFERENCES, f"{kind}:{envelope.stream_id.partition('-')[2]}")


def _new(key: DocKey, envelope: EventEnvelope, **fields: str | None) -> ReferenceDoc:
    return ReferenceDoc(
        id=key[1],
        kind=key[1].partition(":")[0],
        tenant=envelope.tenant,
        owner_id=fields.get("owner_id"),
        team_id=fields.get("team_id"),
        customer_id=fields.get("customer_id"),
    )


@on(LeadCaptured)
def lead(
    key: DocKey, doc: ReferenceDoc | None, e: LeadCaptured, env: EventEnvelope
) -> ReferenceDoc:
    return _new(key, env, owner_id=e.owner_id, team_id=e.team_id)


@on(OpportunityOpened)
def opportunity(
    key: DocKey, doc: ReferenceDoc | None, e: OpportunityOpened, env: EventEnvelope
) -> ReferenceDoc:
    return _new(key, env, owner_id=e.owner_id, team_id=e.team_id, customer_id=e.customer_id)


@on(OpportunityOwnerReassigned)
def opportunity_owner(
    key: DocKey, doc: ReferenceDoc | None, e: OpportunityOwnerReassigned, env: EventEnvelope
) -> ReferenceDoc | None:
    if doc is None:
        return None
    new = doc.copy()
    new["owner_id"] = e.owner_id
    if e.team_id is not None:
        new["team_id"] = e.team_id
    return new


@on(TicketOpened)
def ticket(
    key: DocKey, doc: ReferenceDoc | None, e: TicketOpened, env: EventEnvelope
) -> ReferenceDoc:
    return _new(key, env, customer_id=e.customer_id)


@on(TicketAssigned, TicketReassigned)
def ticket_agent(
    key: DocKey,
    doc: ReferenceDoc | None,
    e: TicketAssigned | TicketReassigned,
    env: EventEnvelope,
) -> ReferenceDoc | None:
    if doc is None:
        return None
    new = doc.copy()
    new["owner_id"] = e.agent_id
    return new


class ReferencesProjection:
    name = REFERENCES
    version = 1
    collections = (CollectionSpec(REFERENCES),)
    event_types = on.event_types
    categories = frozenset(KIND_OF_CATEGORY)
    evolve = staticmethod(on.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (_key(envelope),)


REFERENCES_PROJECTION = ReferencesProjection()
