"""Request bodies of the field-visit routes (the answers are the read model's documents).
Unknown fields are refused; a slot's ``start`` and ``end`` must carry a time zone (the domain
answers 422 naming the field)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints

from crm.events.visits import TimeSlot
from crm.kernel.http.body import Body

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=10_000)]


class Slot(Body):
    start: datetime
    end: datetime

    @property
    def slot(self) -> TimeSlot:
        return TimeSlot(start=self.start, end=self.end)


class NewVisit(Slot):
    ticket_id: Id
    customer_id: Id
    technician_id: Id
    address: Annotated[str, StringConstraints(max_length=500)]
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Rescheduling(Slot):
    technician_id: Id | None = None
    """Another technician; default: the same one."""
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class Completion(Body):
    report: Text


class Cancellation(Body):
    reason: Annotated[str, StringConstraints(max_length=500)]


class VisitStatusName(StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
