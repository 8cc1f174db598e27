"""Events of field visits and of the technicians' schedules. Topic ``crm.service-desk.events``.

Streams: ``visit-<id>`` (one on-site visit for a ticket) and
``technician_day-<tenant>:<technician id>:<YYYY-MM-DD>`` (what one technician of a tenant is
booked for on one UTC day; technician ids are the tenant's own). The schedule stream is the
consistency boundary that keeps a technician from being double-booked: every booking is
appended with the day stream's expected version, so two concurrent bookings of overlapping
slots cannot both succeed (see :mod:`crm.service_desk.domain.visits`).

The visit address and the completion report are personal data of the customer visited, so
they are sealed with the customer's key (data subject ``customer-<customer id>``): erasing the
customer erases them in every visit event too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from crm.events.base import DomainEvent, OptionalPersonal, Personal
from crm.events.registry import event


def customer_subject(customer_id: str) -> str:
    """The data subject (key id) of a customer: the customer's stream id."""
    return f"customer-{customer_id}"


class TimeSlot(BaseModel):
    """A half-open interval ``[start, end)``: a slot ending at 10:00 and one starting at 10:00
    do not overlap. Both ends carry a time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: TimeSlot) -> bool:
        return self.start < other.end and other.start < self.end


# -- visits --------------------------------------------------------------------------------------


@event("service_desk.visit.scheduled")
class VisitScheduled(DomainEvent):
    """A technician will go on site for a ticket. Recorded only after the technician's day
    (or days) hold the slot for this visit."""

    ticket_id: str
    customer_id: str
    technician_id: str
    slot: TimeSlot
    address: Personal
    notes: OptionalPersonal = None
    scheduled_at: datetime

    def data_subject(self, stream_id: str) -> str:
        return customer_subject(self.customer_id)


@event("service_desk.visit.rescheduled")
class VisitRescheduled(DomainEvent):
    """Another slot, and maybe another technician. Recorded after the new slot is held and
    before the previous one is released."""

    technician_id: str
    slot: TimeSlot
    previous_technician_id: str
    previous_slot: TimeSlot
    reason: str | None = None
    rescheduled_at: datetime


@event("service_desk.visit.cancelled")
class VisitCancelled(DomainEvent):
    """Recorded before the slot is released."""

    reason: str
    cancelled_at: datetime


@event("service_desk.visit.completed")
class VisitCompleted(DomainEvent):
    """The technician was there; the report may describe the customer's premises or people,
    hence personal data of the customer."""

    customer_id: str
    report: Personal
    completed_at: datetime

    def data_subject(self, stream_id: str) -> str:
        return customer_subject(self.customer_id)


# -- technicians' schedules ----------------------------------------------------------------------


class ReleaseReason(StrEnum):
    RESCHEDULED = "rescheduled"
    """The visit moved to another slot or technician."""
    CANCELLED = "cancelled"
    STALE = "stale"
    """A hold no visit refers to (a command that crashed half-way), released by the
    reconciliation."""


@event("service_desk.technician_slot.booked")
class TechnicianSlotBooked(DomainEvent):
    """The technician's day holds ``slot`` for ``visit_id``. A slot over midnight (UTC) is
    booked in both days' streams, each event carrying the whole slot."""

    technician_id: str
    day: date
    visit_id: str
    ticket_id: str
    slot: TimeSlot
    booked_at: datetime


@event("service_desk.technician_slot.released")
class TechnicianSlotReleased(DomainEvent):
    technician_id: str
    day: date
    visit_id: str
    slot: TimeSlot
    reason: ReleaseReason
    released_at: datetime
