"""``analytics_tickets``: one document per ticket, part of the ``customer_360`` projection
(see :mod:`crm.analytics.projections.customer_360_models`).

``resolved``, ``closed``, ``reopened`` and ``sla_breached`` do not name the customer, so a
ticket is its own document (customer from ``opened``): status, kind, resolution time and SLA
breaches. The 360° view joins them to the customer at query time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from typing_extensions import TypedDict

from crm.events import EventEnvelope
from crm.events.service_desk import (
    SlaBreached,
    TicketClosed,
    TicketOpened,
    TicketReopened,
    TicketResolved,
)
from crm.kernel.handlers import DocKey, Handlers
from crm.kernel.read_store import CollectionSpec, Index

TICKETS = "analytics_tickets"
BREACHES = 20


class Breach(TypedDict):
    target: str
    due_at: str
    detected_at: str


class TicketDoc(TypedDict):
    id: str
    tenant: str
    customer_id: str | None
    kind: str | None
    priority: str | None
    channel: str | None
    status: Literal["open", "resolved", "closed"]
    opened_at: str | None
    resolved_at: str | None
    closed_at: str | None
    resolution_hours: float | None
    reopened: int
    breaches: list[Breach]
    """The latest :data:`BREACHES` SLA breaches, oldest first."""
    position: int
    """The store position of the last event applied."""


on: Handlers[TicketDoc] = Handlers()


def _ticket(doc: TicketDoc | None, key: DocKey, envelope: EventEnvelope) -> TicketDoc:
    """A copy of the document to change, at the event's position (a new one if ``opened``
    has not been applied)."""
    new = (
        doc.copy()
        if doc is not None
        else TicketDoc(
            id=key[1],
            tenant=envelope.tenant,
            customer_id=None,
            kind=None,
            priority=None,
            channel=None,
            status="open",
            opened_at=None,
            resolved_at=None,
            closed_at=None,
            resolution_hours=None,
            reopened=0,
            breaches=[],
            position=0,
        )
    )
    new["position"] = envelope.position
    return new


@on(TicketOpened)
def opened(
    key: DocKey, doc: TicketDoc | None, event: TicketOpened, envelope: EventEnvelope
) -> TicketDoc:
    new = _ticket(doc, key, envelope)
    new.update(
        {
            "customer_id": event.customer_id,
            "kind": event.kind.value,
            "priority": event.priority.value,
            "channel": event.channel.value,
            "opened_at": event.opened_at.isoformat(),
            "status": "open",
        }
    )
    return new


@on(TicketResolved)
def resolved(
    key: DocKey, doc: TicketDoc | None, event: TicketResolved, envelope: EventEnvelope
) -> TicketDoc:
    new = _ticket(doc, key, envelope)
    new.update({"status": "resolved", "resolved_at": event.resolved_at.isoformat()})
    if new["opened_at"] is not None:
        opened = datetime.fromisoformat(new["opened_at"])
        hours = (event.resolved_at - opened).total_seconds() / 3600
        new["resolution_hours"] = round(hours, 2)
    return new


@on(TicketReopened)
def reopened(
    key: DocKey, doc: TicketDoc | None, event: TicketReopened, envelope: EventEnvelope
) -> TicketDoc:
    new = _ticket(doc, key, envelope)
    new.update({"status": "open", "reopened": new["reopened"] + 1})
    return new


@on(TicketClosed)
def closed(
    key: DocKey, doc: TicketDoc | None, event: TicketClosed, envelope: EventEnvelope
) -> TicketDoc:
    new = _ticket(doc, key, envelope)
    new.update({"status": "closed", "closed_at": event.closed_at.isoformat()})
    return new


@on(SlaBreached)
def sla_breached(
    key: DocKey, doc: TicketDoc | None, event: SlaBreached, envelope: EventEnvelope
) -> TicketDoc:
    new = _ticket(doc, key, envelope)
    breach = Breach(
        target=event.target.value,
        due_at=event.due_at.isoformat(),
        detected_at=event.detected_at.isoformat(),
    )
    new["breaches"] = [*new["breaches"], breach][-BREACHES:]
    return new


class TicketsModel:
    """How a ticket's stream becomes its ``analytics_tickets`` document."""

    collection = TICKETS
    collections = (CollectionSpec(TICKETS, (Index(("tenant", "customer_id")),)),)
    event_types = on.event_types
    evolve = staticmethod(on.evolve)
