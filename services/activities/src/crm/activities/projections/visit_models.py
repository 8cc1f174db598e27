"""The ``activities_visits`` read model: the service desk's field visits as the calendar shows
them (who goes, when, to which customer and ticket), from ``service_desk.visit.*``. No
personal data: the address and notes stay in the service desk's own model.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from crm.activities.projections.task_models import instant
from crm.events import EventEnvelope
from crm.events.visits import VisitCancelled, VisitCompleted, VisitRescheduled, VisitScheduled
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.read_store import CollectionSpec, Index

VISITS = "activities_visits"


class VisitDoc(TypedDict):
    id: str
    tenant: Annotated[str, Field(exclude=True)]
    technician_id: str
    customer_id: str
    ticket_id: str
    start: str
    end: str
    status: str
    """scheduled | completed | cancelled"""


on: Handlers[VisitDoc] = Handlers()


@on(VisitScheduled)
def scheduled(key: DocKey, doc: VisitDoc | None, e: VisitScheduled, env: EventEnvelope) -> VisitDoc:
    return VisitDoc(
        id=key[1],
        tenant=env.tenant,
        technician_id=e.technician_id,
        customer_id=e.customer_id,
        ticket_id=e.ticket_id,
        start=instant(e.slot.start),
        end=instant(e.slot.end),
        status="scheduled",
    )


@on(VisitRescheduled)
def rescheduled(
    key: DocKey, doc: VisitDoc | None, e: VisitRescheduled, env: EventEnvelope
) -> VisitDoc | None:
    if doc is None:
        return None
    return {
        **doc,
        "technician_id": e.technician_id,
        "start": instant(e.slot.start),
        "end": instant(e.slot.end),
    }


@on(VisitCancelled, VisitCompleted)
def closed(
    key: DocKey, doc: VisitDoc | None, e: VisitCancelled | VisitCompleted, env: EventEnvelope
) -> VisitDoc | None:
    if doc is None:
        return None
    return {**doc, "status": "cancelled" if isinstance(e, VisitCancelled) else "completed"}


class VisitsProjection:
    name = VISITS
    version = 1
    collections = (CollectionSpec(VISITS, (Index(("tenant", "technician_id", "start")),)),)
    event_types = on.event_types
    categories = frozenset({"visit"})
    evolve = staticmethod(on.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(VISITS, envelope),)


VISITS_PROJECTION = VisitsProjection()
