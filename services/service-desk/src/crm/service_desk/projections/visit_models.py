"""Read model of field visits: one document per visit, with the technician's holds it has.

One projection, ``service_desk_visits``, reads the visit streams and the technicians' day
streams (:mod:`crm.service_desk.domain.visits`). A hold names its visit, so every booking and
release lands on its visit's document (``holds``), created by the booking if the visit is not
recorded yet (``scheduled`` false until it is). That is what the stale-hold reconciliation
asks for: ``stale_since`` is when the oldest hold the visit does not refer to was booked (a
hold of a visit never recorded, of a cancelled one, or of a previous slot not yet released),
None when every hold is one the visit needs. Lists show only recorded visits.

Datetimes are ISO strings in UTC, so they compare as times do; ``days`` lists the UTC days the
slot touches (a visit over midnight is on both), which is what ``GET /visits?day=`` filters.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from crm.events import DomainEvent, EventEnvelope
from crm.events.visits import (
    TechnicianSlotBooked,
    TechnicianSlotReleased,
    TimeSlot,
    VisitCancelled,
    VisitCompleted,
    VisitRescheduled,
    VisitScheduled,
)
from crm.kernel.projection import DocKey, Projection
from crm.kernel.read_store import CollectionSpec, Document, Index
from crm.service_desk.domain.visits import days_of

VISITS = "service_desk_visits"


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _slot(slot: TimeSlot) -> dict[str, Any]:
    return {
        "start": iso(slot.start),
        "end": iso(slot.end),
        "days": [d.isoformat() for d in days_of(slot)],
    }


def _stale_since(doc: Document) -> str | None:
    """When the oldest hold the visit does not need was booked (see the module's docstring)."""
    live = doc["scheduled"] and doc["status"] != "cancelled"
    needed = (doc["technician_id"], doc["start"], doc["end"]) if live else None
    stale = [
        h["booked_at"] for h in doc["holds"] if (h["technician_id"], h["start"], h["end"]) != needed
    ]
    return min(stale) if stale else None


def _blank(key: DocKey, envelope: EventEnvelope) -> Document:
    return {
        "id": key[1],
        "tenant": envelope.tenant,
        "scheduled": False,
        "status": None,
        "ticket_id": None,
        "customer_id": None,
        "technician_id": None,
        "start": None,
        "end": None,
        "days": [],
        "address": None,
        "notes": None,
        "report": None,
        "scheduled_at": None,
        "scheduled_by": None,
        "completed_at": None,
        "cancelled_at": None,
        "cancel_reason": None,
        "reschedules": [],
        "holds": [],
        "stale_since": None,
        "version": 0,
    }


class VisitsProjection:
    name = "service_desk_visits"
    version = 1
    collections = (
        CollectionSpec(
            VISITS,
            (
                Index(("tenant", "technician_id", "start")),
                Index(("tenant", "ticket_id")),
                Index(("tenant", "customer_id")),
                Index(("tenant", "status")),
                Index(("stale_since",)),
            ),
        ),
    )
    event_types = frozenset(
        e.event_type
        for e in (
            VisitScheduled,
            VisitRescheduled,
            VisitCancelled,
            VisitCompleted,
            TechnicianSlotBooked,
            TechnicianSlotReleased,
        )
    )
    categories = frozenset({"visit", "technician_day"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        if isinstance(event, TechnicianSlotBooked | TechnicianSlotReleased):
            return ((VISITS, event.visit_id),)
        return ((VISITS, envelope.stream_id.partition("-")[2]),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if doc is not None and doc["tenant"] != envelope.tenant:
            return doc  # a hold naming another tenant's visit id: never the same visit
        new = dict(doc) if doc is not None else _blank(key, envelope)
        match event:
            case TechnicianSlotBooked():
                hold = {
                    "technician_id": event.technician_id,
                    "day": event.day.isoformat(),
                    "start": iso(event.slot.start),
                    "end": iso(event.slot.end),
                    "booked_at": iso(event.booked_at),
                }
                new["holds"] = [*new["holds"], hold]
            case TechnicianSlotReleased():
                gone = (
                    event.technician_id,
                    event.day.isoformat(),
                    iso(event.slot.start),
                    iso(event.slot.end),
                )
                new["holds"] = [
                    h
                    for h in new["holds"]
                    if (h["technician_id"], h["day"], h["start"], h["end"]) != gone
                ]
            case VisitScheduled():
                new.update(
                    scheduled=True,
                    status="scheduled",
                    ticket_id=event.ticket_id,
                    customer_id=event.customer_id,
                    technician_id=event.technician_id,
                    address=event.address,
                    notes=event.notes,
                    scheduled_at=iso(event.scheduled_at),
                    scheduled_by=envelope.actor,
                    **_slot(event.slot),
                )
            case VisitRescheduled():
                new["reschedules"] = [
                    *new["reschedules"],
                    {
                        "technician_id": event.previous_technician_id,
                        "start": iso(event.previous_slot.start),
                        "end": iso(event.previous_slot.end),
                        "reason": event.reason,
                        "rescheduled_at": iso(event.rescheduled_at),
                        "rescheduled_by": envelope.actor,
                    },
                ]
                new.update(technician_id=event.technician_id, **_slot(event.slot))
            case VisitCancelled():
                new.update(
                    status="cancelled",
                    cancel_reason=event.reason,
                    cancelled_at=iso(event.cancelled_at),
                )
            case VisitCompleted():
                new.update(
                    status="completed", report=event.report, completed_at=iso(event.completed_at)
                )
        if envelope.category == "visit":
            new["version"] = envelope.stream_version
            new["updated_at"] = iso(envelope.occurred_at)
        new["stale_since"] = _stale_since(new)
        return new


VISITS_PROJECTION = VisitsProjection()

PROJECTIONS: tuple[Projection, ...] = (VISITS_PROJECTION,)
