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

:class:`VisitDoc` is the document's shape, which the routes answer (``GET /visits/{id}``, the
items of ``GET /visits``) without the reconciliation's bookkeeping and the tenant.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

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
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.projection import Projection
from crm.kernel.read_store import CollectionSpec, Document, Index
from crm.service_desk.domain.visits import days_of

VISITS = "service_desk_visits"


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


class HoldDoc(TypedDict):
    technician_id: str
    day: str
    start: str
    end: str
    booked_at: str


class PreviousSlot(TypedDict):
    technician_id: str
    start: str
    end: str
    reason: str | None
    rescheduled_at: str
    rescheduled_by: str


class VisitDoc(TypedDict):
    """Times are ISO strings in UTC; ``days`` are the UTC days the slot touches. ``address``,
    ``notes`` and ``report`` show the redaction marker to roles that do not need personal
    data. The fields of a visit are None only in a document of holds alone (``scheduled``
    false), which no route shows."""

    id: str
    tenant: Annotated[str, Field(exclude=True)]
    scheduled: Annotated[bool, Field(exclude=True)]
    status: str | None
    ticket_id: str | None
    customer_id: str | None
    technician_id: str | None
    start: str | None
    end: str | None
    days: list[str]
    address: str | None
    notes: str | None
    report: str | None
    scheduled_at: str | None
    scheduled_by: str | None
    completed_at: str | None
    cancelled_at: str | None
    cancel_reason: str | None
    reschedules: list[PreviousSlot]
    holds: Annotated[list[HoldDoc], Field(exclude=True)]
    """The reconciliation's: the technicians' holds naming this visit."""
    stale_since: Annotated[str | None, Field(exclude=True)]
    updated_at: NotRequired[Annotated[str, Field(exclude=True)]]
    """Set by the visit's own events (a document of holds alone has none)."""
    version: int


on: Handlers[VisitDoc] = Handlers()


def _blank(key: DocKey, envelope: EventEnvelope) -> VisitDoc:
    return VisitDoc(
        id=key[1],
        tenant=envelope.tenant,
        scheduled=False,
        status=None,
        ticket_id=None,
        customer_id=None,
        technician_id=None,
        start=None,
        end=None,
        days=[],
        address=None,
        notes=None,
        report=None,
        scheduled_at=None,
        scheduled_by=None,
        completed_at=None,
        cancelled_at=None,
        cancel_reason=None,
        reschedules=[],
        holds=[],
        stale_since=None,
        version=0,
    )


def _stale_since(doc: VisitDoc) -> str | None:
    """When the oldest hold the visit does not need was booked (see the module's docstring)."""
    live = doc["scheduled"] and doc["status"] != "cancelled"
    needed = (doc["technician_id"], doc["start"], doc["end"]) if live else None
    stale = [
        h["booked_at"] for h in doc["holds"] if (h["technician_id"], h["start"], h["end"]) != needed
    ]
    return min(stale) if stale else None


def _slot(doc: VisitDoc, slot: TimeSlot) -> None:
    doc["start"], doc["end"] = iso(slot.start), iso(slot.end)
    doc["days"] = [d.isoformat() for d in days_of(slot)]


def _visit(doc: VisitDoc | None, key: DocKey, envelope: EventEnvelope) -> VisitDoc:
    """A copy of the document to change (a new one for the first event naming the visit)."""
    return doc.copy() if doc is not None else _blank(key, envelope)


def _done(doc: VisitDoc, envelope: EventEnvelope) -> VisitDoc:
    """Every handler's last step: the visit's own events set its version and time."""
    if envelope.category == "visit":
        doc["version"] = envelope.stream_version
        doc["updated_at"] = iso(envelope.occurred_at)
    doc["stale_since"] = _stale_since(doc)
    return doc


@on(TechnicianSlotBooked)
def booked(
    key: DocKey, doc: VisitDoc | None, event: TechnicianSlotBooked, envelope: EventEnvelope
) -> VisitDoc:
    new = _visit(doc, key, envelope)
    hold = HoldDoc(
        technician_id=event.technician_id,
        day=event.day.isoformat(),
        start=iso(event.slot.start),
        end=iso(event.slot.end),
        booked_at=iso(event.booked_at),
    )
    new["holds"] = [*new["holds"], hold]
    return _done(new, envelope)


@on(TechnicianSlotReleased)
def released(
    key: DocKey, doc: VisitDoc | None, event: TechnicianSlotReleased, envelope: EventEnvelope
) -> VisitDoc:
    new = _visit(doc, key, envelope)
    gone = (event.technician_id, event.day.isoformat(), iso(event.slot.start), iso(event.slot.end))
    new["holds"] = [
        h for h in new["holds"] if (h["technician_id"], h["day"], h["start"], h["end"]) != gone
    ]
    return _done(new, envelope)


@on(VisitScheduled)
def scheduled(
    key: DocKey, doc: VisitDoc | None, event: VisitScheduled, envelope: EventEnvelope
) -> VisitDoc:
    new = _visit(doc, key, envelope)
    new["scheduled"] = True
    new["status"] = "scheduled"
    new["ticket_id"] = event.ticket_id
    new["customer_id"] = event.customer_id
    new["technician_id"] = event.technician_id
    new["address"] = event.address
    new["notes"] = event.notes
    new["scheduled_at"] = iso(event.scheduled_at)
    new["scheduled_by"] = envelope.actor
    _slot(new, event.slot)
    return _done(new, envelope)


@on(VisitRescheduled)
def rescheduled(
    key: DocKey, doc: VisitDoc | None, event: VisitRescheduled, envelope: EventEnvelope
) -> VisitDoc:
    new = _visit(doc, key, envelope)
    previous = PreviousSlot(
        technician_id=event.previous_technician_id,
        start=iso(event.previous_slot.start),
        end=iso(event.previous_slot.end),
        reason=event.reason,
        rescheduled_at=iso(event.rescheduled_at),
        rescheduled_by=envelope.actor,
    )
    new["reschedules"] = [*new["reschedules"], previous]
    new["technician_id"] = event.technician_id
    _slot(new, event.slot)
    return _done(new, envelope)


@on(VisitCancelled)
def cancelled(
    key: DocKey, doc: VisitDoc | None, event: VisitCancelled, envelope: EventEnvelope
) -> VisitDoc:
    new = _visit(doc, key, envelope)
    new["status"] = "cancelled"
    new["cancel_reason"] = event.reason
    new["cancelled_at"] = iso(event.cancelled_at)
    return _done(new, envelope)


@on(VisitCompleted)
def completed(
    key: DocKey, doc: VisitDoc | None, event: VisitCompleted, envelope: EventEnvelope
) -> VisitDoc:
    new = _visit(doc, key, envelope)
    new["status"] = "completed"
    new["report"] = event.report
    new["completed_at"] = iso(event.completed_at)
    return _done(new, envelope)


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
    event_types = on.event_types
    categories = frozenset({"visit", "technician_day"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        """A hold names its visit: its events land on the visit's document."""
        if isinstance(event, TechnicianSlotBooked | TechnicianSlotReleased):
            return ((VISITS, event.visit_id),)
        return (stream_key(VISITS, envelope),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if doc is not None and doc["tenant"] != envelope.tenant:
            return doc  # a hold naming another tenant's visit id: never the same visit
        return on.evolve(key, doc, event, envelope)


VISITS_PROJECTION = VisitsProjection()

PROJECTIONS: tuple[Projection, ...] = (VISITS_PROJECTION,)
