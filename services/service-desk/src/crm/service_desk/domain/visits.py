"""Field visits, and the technicians' schedules that keep them from overlapping.

Consistency boundary
--------------------
"A technician is never double-booked" is a rule across visits, so no visit can enforce it.
It is enforced by :class:`TechnicianDay`, one aggregate (stream
``technician_day-<tenant>:<technician>:<YYYY-MM-DD>``) per technician and UTC day. (Technician
ids are the tenant's own, so the tenant is part of the stream id, see
:mod:`~crm.service_desk.domain.tenancy`: two tenants' technicians never share a day.) It
holds the slots booked that day, refuses a slot overlapping another visit's hold
(``technician_double_booked``) and is appended with its expected version. Two concurrent
bookings of overlapping slots both load the day at version ``n`` and append at ``n``; the
store accepts one, the other gets
WrongExpectedVersion, reloads, finds the overlap and is refused. A day is small (a handful of
holds), so a stream per technician-day keeps both the stream and its contention small.

Days are UTC days, and a slot over midnight (UTC) is booked in both days' streams: two
overlapping slots share an instant, so both are booked in that instant's day and meet there
whatever time zones they were given in. A slot is at most 12 hours, so it touches at most two
days. The streams to book, in order, are :func:`technician_days`.

The visit and the holds live in different streams, which are appended one at a time. The
invariant kept at every step is: *every scheduled or completed visit's (technician, slot) is
held in each of its days*. Holds never overlap across visits, so visits never do. Hence the
order of appends, for the application layer:

- schedule: book the slot in each day (ascending), then append ``VisitScheduled``;
- reschedule: book the new slot in each new day (a day may then hold two slots of the same
  visit: a visit never conflicts with itself), append ``VisitRescheduled``, then release the
  previous slot from each previous day with ``release(visit_id, slot=previous)``, which leaves
  the new hold alone when both are in one day;
- cancel: append ``VisitCancelled``, then release the visit's holds in each day;
- complete: nothing to release (the technician was busy then).

A crash (or a refusal, or a lost race on the visit stream) between two appends leaves at most
a *stale hold*: a hold no visit refers to. It blocks the technician's slot but never lets two
visits overlap. Retrying the command repeats each step safely (booking the same visit and
slot again and releasing what is not held record nothing), and
:meth:`TechnicianDay.release_stale` releases holds whose visit does not refer to them once
they are older than ``grace``, which must exceed how long a command can take between its
first and last append (the reconciliation cannot tell a crashed command from a slow one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Self
from zoneinfo import ZoneInfo

from crm.events import DomainEvent
from crm.events.visits import (
    ReleaseReason,
    TechnicianSlotBooked,
    TechnicianSlotReleased,
    TimeSlot,
    VisitCancelled,
    VisitCompleted,
    VisitRescheduled,
    VisitScheduled,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.service_desk.domain.tenancy import local_id, qualified

MIN_SLOT = timedelta(minutes=15)
MAX_SLOT = timedelta(hours=12)
STALE_AFTER = timedelta(minutes=15)
"""Default grace before a hold no visit refers to is released."""


# -- slots and days ------------------------------------------------------------------------------


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidCommand(field, "must carry a time zone")
    return value


def _text(value: str | None, field: str, *, max_length: int = 200) -> str | None:
    if value is None or not value.strip():
        return None
    cleaned = value.strip()
    if len(cleaned) > max_length:
        raise InvalidCommand(field, f"at most {max_length} characters")
    return cleaned


def _required(value: str, field: str, *, max_length: int = 200) -> str:
    cleaned = _text(value, field, max_length=max_length)
    if cleaned is None:
        raise InvalidCommand(field, "must not be blank")
    return cleaned


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """A technician's daily hours in their time zone; a slot must lie within one of them."""

    start: time
    end: time
    zone: ZoneInfo

    def contain(self, slot: TimeSlot) -> bool:
        start, end = slot.start.astimezone(self.zone), slot.end.astimezone(self.zone)
        return start.date() == end.date() and self.start <= start.time() and end.time() <= self.end


def checked_slot(
    slot: TimeSlot, *, field: str = "slot", working_hours: WorkingHours | None = None
) -> TimeSlot:
    """The slot in UTC, if it is well-formed: aware ends, end after start, 15 minutes to 12
    hours, and within ``working_hours`` when given."""
    start = _aware(slot.start, f"{field}.start").astimezone(UTC)
    end = _aware(slot.end, f"{field}.end").astimezone(UTC)
    if end <= start:
        raise InvalidCommand(field, "must end after it starts")
    if end - start < MIN_SLOT:
        raise InvalidCommand(field, f"must last at least {int(MIN_SLOT.total_seconds()) // 60} min")
    if end - start > MAX_SLOT:
        raise InvalidCommand(field, f"must last at most {int(MAX_SLOT.total_seconds()) // 3600} h")
    utc = TimeSlot(start=start, end=end)
    if working_hours is not None and not working_hours.contain(utc):
        raise RuleViolated(
            f"{start.isoformat()}..{end.isoformat()} is outside the technician's working hours",
            code="outside_working_hours",
        )
    return utc


def days_of(slot: TimeSlot) -> tuple[date, ...]:
    """The UTC days ``[start, end)`` touches: a slot ending at midnight is in one day."""
    first = slot.start.astimezone(UTC).date()
    last = (slot.end.astimezone(UTC) - timedelta(microseconds=1)).date()
    days = [first]
    while days[-1] < last:
        days.append(days[-1] + timedelta(days=1))
    return tuple(days)


def technician_day_id(tenant: str, technician_id: str, day: date) -> str:
    """The id of the :class:`TechnicianDay` of ``tenant``'s technician on ``day`` (UTC)."""
    return qualified(tenant, f"{technician_id}:{day.isoformat()}")


def technician_days(tenant: str, technician_id: str, slot: TimeSlot) -> tuple[str, ...]:
    """The ids of the :class:`TechnicianDay` aggregates holding ``slot``, in booking order."""
    return tuple(technician_day_id(tenant, technician_id, d) for d in days_of(slot))


# -- the visit -----------------------------------------------------------------------------------


class VisitStatus(StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class VisitState:
    scheduled: bool = False
    status: VisitStatus = VisitStatus.SCHEDULED
    ticket_id: str = ""
    customer_id: str = ""
    technician_id: str = ""
    slot: TimeSlot | None = None
    address: str = ""
    notes: str | None = None
    report: str | None = None
    completed_at: datetime | None = None
    cancel_reason: str | None = None

    def refers_to(self, technician_id: str, slot: TimeSlot) -> bool:
        """Whether this visit needs ``technician_id`` held for ``slot`` (a cancelled one or
        one that never existed needs nothing)."""
        return (
            self.scheduled
            and self.status is not VisitStatus.CANCELLED
            and self.technician_id == technician_id
            and self.slot == slot
        )

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case VisitScheduled():
                return replace(
                    self,
                    scheduled=True,
                    ticket_id=event.ticket_id,
                    customer_id=event.customer_id,
                    technician_id=event.technician_id,
                    slot=event.slot,
                    address=event.address,
                    notes=event.notes,
                )
            case VisitRescheduled():
                return replace(self, technician_id=event.technician_id, slot=event.slot)
            case VisitCancelled():
                return replace(self, status=VisitStatus.CANCELLED, cancel_reason=event.reason)
            case VisitCompleted():
                return replace(
                    self,
                    status=VisitStatus.COMPLETED,
                    report=event.report,
                    completed_at=event.completed_at,
                )
        return self


class Visit(Aggregate[VisitState]):
    """An on-site visit of a technician for a ticket. Its slot must be held by the
    technician's day(s) before it is recorded here (see the module's docstring)."""

    category = "visit"

    @classmethod
    def initial_state(cls) -> VisitState:
        return VisitState()

    def _require_scheduled(self) -> VisitState:
        if not self.state.scheduled:
            raise NotFound(f"visit {self.id} does not exist")
        return self.state

    def _require_open(self, doing: str) -> VisitState:
        state = self._require_scheduled()
        if state.status is not VisitStatus.SCHEDULED:
            raise RuleViolated(
                f"visit {self.id} is {state.status.value}; cannot {doing} it",
                code=f"visit_{state.status.value}",
            )
        return state

    @staticmethod
    def _not_in_past(slot: TimeSlot, now: datetime) -> None:
        if slot.start < _aware(now, "now"):
            raise RuleViolated(
                f"the slot starts at {slot.start.isoformat()}, before now", code="slot_in_past"
            )

    # -- commands ----------------------------------------------------------------------------

    def schedule(
        self,
        *,
        ticket_id: str,
        customer_id: str,
        technician_id: str,
        slot: TimeSlot,
        address: str,
        now: datetime,
        notes: str | None = None,
        working_hours: WorkingHours | None = None,
    ) -> None:
        """The same visit again (a retried command) records nothing; another is refused."""
        utc = checked_slot(slot, working_hours=working_hours)
        fields = (
            _required(ticket_id, "ticket_id"),
            _required(customer_id, "customer_id"),
            _required(technician_id, "technician_id"),
            utc,
            _required(address, "address", max_length=500),
            _text(notes, "notes", max_length=2000),
        )
        state = self.state
        if state.scheduled:
            current = (
                state.ticket_id,
                state.customer_id,
                state.technician_id,
                state.slot,
                state.address,
                state.notes,
            )
            if current == fields:
                return
            raise RuleViolated(f"visit {self.id} already exists", code="already_exists")
        self._not_in_past(utc, now)
        ticket, customer, technician, _, clean_address, clean_notes = fields
        self.trigger(
            VisitScheduled(
                ticket_id=ticket,
                customer_id=customer,
                technician_id=technician,
                slot=utc,
                address=clean_address,
                notes=clean_notes,
                scheduled_at=now,
            )
        )

    def reschedule(
        self,
        *,
        technician_id: str,
        slot: TimeSlot,
        now: datetime,
        reason: str | None = None,
        working_hours: WorkingHours | None = None,
    ) -> None:
        """To another slot and/or technician; to the current ones: nothing."""
        state = self._require_open("reschedule")
        assert state.slot is not None
        utc = checked_slot(slot, working_hours=working_hours)
        technician = _required(technician_id, "technician_id")
        if (technician, utc) == (state.technician_id, state.slot):
            return
        self._not_in_past(utc, now)
        self.trigger(
            VisitRescheduled(
                technician_id=technician,
                slot=utc,
                previous_technician_id=state.technician_id,
                previous_slot=state.slot,
                reason=_text(reason, "reason", max_length=500),
                rescheduled_at=now,
            )
        )

    def cancel(self, reason: str, *, now: datetime) -> None:
        """A cancelled visit again: nothing; a completed one cannot be cancelled."""
        state = self._require_scheduled()
        if state.status is VisitStatus.CANCELLED:
            return
        self._require_open("cancel")
        self.trigger(
            VisitCancelled(
                reason=_required(reason, "reason", max_length=500),
                cancelled_at=_aware(now, "now"),
            )
        )

    def complete(self, report: str, *, now: datetime) -> None:
        """Only once the slot has started; a visit is completed once."""
        state = self._require_open("complete")
        assert state.slot is not None
        if _aware(now, "now") < state.slot.start:
            raise RuleViolated(
                f"visit {self.id} starts at {state.slot.start.isoformat()}; it cannot be "
                "completed before",
                code="visit_not_started",
            )
        self.trigger(
            VisitCompleted(
                customer_id=state.customer_id,
                report=_required(report, "report", max_length=10_000),
                completed_at=now,
            )
        )


# -- the technician's day ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hold:
    visit_id: str
    ticket_id: str
    slot: TimeSlot
    booked_at: datetime


@dataclass(frozen=True, slots=True)
class TechnicianDayState:
    holds: tuple[Hold, ...] = ()

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case TechnicianSlotBooked():
                hold = Hold(event.visit_id, event.ticket_id, event.slot, event.booked_at)
                return replace(self, holds=(*self.holds, hold))
            case TechnicianSlotReleased():
                return replace(
                    self,
                    holds=tuple(
                        h
                        for h in self.holds
                        if (h.visit_id, h.slot) != (event.visit_id, event.slot)
                    ),
                )
        return self

    def conflicts(self, visit_id: str, slot: TimeSlot) -> tuple[Hold, ...]:
        """Other visits' holds overlapping ``slot`` (a visit never conflicts with itself)."""
        return tuple(h for h in self.holds if h.visit_id != visit_id and h.slot.overlaps(slot))


class TechnicianDay(Aggregate[TechnicianDayState]):
    """What one technician is booked for on one UTC day; id
    ``<tenant>:<technician>:<YYYY-MM-DD>`` (see :func:`technician_day_id`). Its stream version
    serialises the day's bookings."""

    category = "technician_day"

    @classmethod
    def initial_state(cls) -> TechnicianDayState:
        return TechnicianDayState()

    @property
    def technician_id(self) -> str:
        return local_id(self.id).rsplit(":", 1)[0]

    @property
    def day(self) -> date:
        return date.fromisoformat(local_id(self.id).rsplit(":", 1)[1])

    def book(self, *, visit_id: str, ticket_id: str, slot: TimeSlot, now: datetime) -> None:
        """Hold ``slot`` for ``visit_id``; the same visit and slot again: nothing. Refused
        (``technician_double_booked``) if another visit holds an overlapping slot."""
        utc = checked_slot(slot)
        visit = _required(visit_id, "visit_id")
        if self.day not in days_of(utc):
            raise InvalidCommand("slot", f"does not fall on {self.day.isoformat()} (UTC)")
        if any((h.visit_id, h.slot) == (visit, utc) for h in self.state.holds):
            return
        conflicts = self.state.conflicts(visit, utc)
        if conflicts:
            other = conflicts[0]
            raise RuleViolated(
                f"technician {self.technician_id} is booked for visit {other.visit_id} from "
                f"{other.slot.start.isoformat()} to {other.slot.end.isoformat()}",
                code="technician_double_booked",
                details={
                    "technician_id": self.technician_id,
                    "visit_id": other.visit_id,
                    "start": other.slot.start.isoformat(),
                    "end": other.slot.end.isoformat(),
                },
            )
        self.trigger(
            TechnicianSlotBooked(
                technician_id=self.technician_id,
                day=self.day,
                visit_id=visit,
                ticket_id=_required(ticket_id, "ticket_id"),
                slot=utc,
                booked_at=_aware(now, "now"),
            )
        )

    def release(
        self,
        visit_id: str,
        *,
        reason: ReleaseReason,
        now: datetime,
        slot: TimeSlot | None = None,
    ) -> None:
        """Release the visit's hold of ``slot`` (or all its holds this day); what is not held:
        nothing, so a repeated release is harmless."""
        utc = None if slot is None else checked_slot(slot)
        _aware(now, "now")
        for hold in self.state.holds:
            if hold.visit_id == visit_id and (utc is None or hold.slot == utc):
                self.trigger(
                    TechnicianSlotReleased(
                        technician_id=self.technician_id,
                        day=self.day,
                        visit_id=hold.visit_id,
                        slot=hold.slot,
                        reason=reason,
                        released_at=now,
                    )
                )

    def release_stale(
        self,
        visits: Mapping[str, VisitState],
        *,
        now: datetime,
        grace: timedelta = STALE_AFTER,
    ) -> None:
        """Release the holds, booked more than ``grace`` ago, that their visit does not refer
        to. ``visits`` has the current state of the visits holding slots here; a visit
        missing from it does not exist (its command crashed before recording it)."""
        _aware(now, "now")
        for hold in self.state.holds:
            visit = visits.get(hold.visit_id, VisitState())
            if now - hold.booked_at > grace and not visit.refers_to(self.technician_id, hold.slot):
                self.trigger(
                    TechnicianSlotReleased(
                        technician_id=self.technician_id,
                        day=self.day,
                        visit_id=hold.visit_id,
                        slot=hold.slot,
                        reason=ReleaseReason.STALE,
                        released_at=now,
                    )
                )
