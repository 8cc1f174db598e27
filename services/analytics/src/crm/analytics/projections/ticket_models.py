"""``analytics_tickets``: one document per ticket, part of the ``customer_360`` projection
(see :mod:`crm.analytics.projections.customer_360_models`).

``resolved``, ``closed``, ``reopened`` and ``sla_breached`` do not name the customer, so a
ticket is its own document (customer from ``opened``): status, kind, resolution time and SLA
breaches. The 360° view joins them to the customer at query time.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from crm.events import DomainEvent, EventEnvelope
from crm.events.service_desk import (
    SlaBreached,
    TicketClosed,
    TicketOpened,
    TicketReopened,
    TicketResolved,
)
from crm.kernel.read_store import CollectionSpec, Document, Index

TICKETS = "analytics_tickets"
BREACHES = 20

TICKET_EVENTS: tuple[type[DomainEvent], ...] = (
    TicketOpened,
    TicketResolved,
    TicketReopened,
    TicketClosed,
    SlaBreached,
)


def _new_ticket(key: str, envelope: EventEnvelope) -> dict[str, Any]:
    return {
        "id": key,
        "tenant": envelope.tenant,
        "customer_id": None,
        "kind": None,
        "priority": None,
        "channel": None,
        "status": "open",
        "opened_at": None,
        "resolved_at": None,
        "closed_at": None,
        "resolution_hours": None,
        "reopened": 0,
        "breaches": [],
        "position": 0,
    }


def _evolve_ticket(new: dict[str, Any], event: DomainEvent) -> None:
    match event:
        case TicketOpened():
            new.update(
                customer_id=event.customer_id,
                kind=event.kind.value,
                priority=event.priority.value,
                channel=event.channel.value,
                opened_at=event.opened_at.isoformat(),
                status="open",
            )
        case TicketResolved():
            new.update(status="resolved", resolved_at=event.resolved_at.isoformat())
            if new["opened_at"] is not None:
                opened = datetime.fromisoformat(new["opened_at"])
                hours = (event.resolved_at - opened).total_seconds() / 3600
                new["resolution_hours"] = round(hours, 2)
        case TicketReopened():
            new.update(status="open", reopened=new["reopened"] + 1)
        case TicketClosed():
            new.update(status="closed", closed_at=event.closed_at.isoformat())
        case SlaBreached():
            entry = {
                "target": event.target.value,
                "due_at": event.due_at.isoformat(),
                "detected_at": event.detected_at.isoformat(),
            }
            new["breaches"] = [*new["breaches"], entry][-BREACHES:]


class TicketsModel:
    """How a ticket's stream becomes its ``analytics_tickets`` document."""

    collection = TICKETS
    spec = CollectionSpec(TICKETS, (Index(("tenant", "customer_id")),))
    event_types = frozenset(e.event_type for e in TICKET_EVENTS)

    def evolve(
        self, id: str, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document:
        ticket = copy.deepcopy(doc) if doc is not None else _new_ticket(id, envelope)
        _evolve_ticket(ticket, event)
        ticket["position"] = envelope.position
        return ticket
