"""A person's calendar: their tasks (by due time, for their duration, 30 minutes if none) and
their field visits (the service desk's bookings), in one list by time, and the same as an
iCalendar (RFC 5545) feed that the calendars people already use can subscribe to.

Whose calendar one may read: one's own; a manager their team's people's (what the task policy
lets them see) and an admin or analyst anyone's. A rep or an agent naming someone else is
refused. The feed URL carries a key (``TokenIssuer.feed_key``) instead of a bearer token, as
calendar apps send none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from icalendar import Alarm, Calendar, Event

from crm.activities.application.policy import POLICY
from crm.activities.projections.task_models import TASKS, instant
from crm.activities.projections.visit_models import VISITS
from crm.kernel.access import Principal
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden, InvalidCommand
from crm.kernel.read_store import Document, ReadStore, find_all

MAX_SPAN = timedelta(days=92)
DEFAULT_DURATION = timedelta(minutes=30)
VISIT_TITLE = ("Field visit", "上门服务")
PRODID = "-//CRM platform//calendar//EN"


@dataclass(frozen=True)
class Entry:
    kind: str
    """task | visit"""
    id: str
    title: str
    start: datetime
    end: datetime
    status: str
    customer_id: str | None
    subject_kind: str | None = None
    subject_id: str | None = None
    remind_before_minutes: int = 0
    task_kind: str | None = None
    """A task's kind (call, meeting, ...); None for a visit."""
    origin: str | None = None
    """What opened a task (``care:...`` for a care date's task), None if a person did."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "status": self.status,
            "customer_id": self.customer_id,
            "subject_kind": self.subject_kind,
            "subject_id": self.subject_id,
        }


def check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidCommand("to", "must be after from")
    if end - start > MAX_SPAN:
        raise InvalidCommand("to", f"at most {MAX_SPAN.days} days after from")


def _task_entry(doc: Document) -> Entry:
    start = datetime.fromisoformat(doc["due_at"])
    minutes = doc.get("duration_minutes")
    return Entry(
        kind="task",
        id=doc["id"],
        title=doc["title"],
        start=start,
        end=start + (timedelta(minutes=minutes) if minutes else DEFAULT_DURATION),
        status=doc["status"],
        customer_id=doc.get("customer_id"),
        subject_kind=doc["subject_kind"],
        subject_id=doc["subject_id"],
        remind_before_minutes=int(doc.get("remind_before_minutes") or 0),
        task_kind=doc.get("kind"),
        origin=doc.get("origin"),
    )


def _visit_entry(doc: Document) -> Entry:
    return Entry(
        kind="visit",
        id=doc["id"],
        title=" / ".join(VISIT_TITLE),
        start=datetime.fromisoformat(doc["start"]),
        end=datetime.fromisoformat(doc["end"]),
        status=doc["status"],
        customer_id=doc["customer_id"],
        subject_kind="ticket",
        subject_id=doc["ticket_id"],
    )


class CalendarQueries:
    def __init__(self, read_store: ReadStore) -> None:
        self.read_store = read_store

    def whose(self, actor: Actor, user_id: str | None) -> str:
        p = Principal.of(actor)
        POLICY.visibility_filter(actor)  # Forbidden for a role that reads no tasks
        wanted = user_id or p.id
        if wanted != p.id and p.role in (Role.SALES_REP, Role.AGENT):
            raise Forbidden(f"a {p.role_name} reads their own calendar only")
        return wanted

    async def entries(
        self, actor: Actor, user_id: str, start: datetime, end: datetime, *, cancelled: bool
    ) -> list[Entry]:
        """``user_id``'s tasks and visits from ``start`` to ``end``, by time, as ``actor``
        may see them (a manager sees their team's tasks of that person)."""
        window = {"$gte": instant(start), "$lt": instant(end)}
        tasks: list[dict[str, Any]] = [
            {"tenant": actor.tenant},
            {"assignee_id": user_id},
            {"due_at": window},
        ]
        visible = POLICY.visibility_filter(actor)
        if visible:
            tasks.append(visible)
        if not cancelled:
            tasks.append({"status": {"$ne": "cancelled"}})
        task_docs = await find_all(self.read_store, TASKS, {"$and": tasks})
        visits: list[dict[str, Any]] = [
            {"tenant": actor.tenant},
            {"technician_id": user_id},
            {"start": window},
        ]
        if not cancelled:
            visits.append({"status": {"$ne": "cancelled"}})
        visit_docs = await find_all(self.read_store, VISITS, {"$and": visits})
        entries = [_task_entry(d) for d in task_docs] + [_visit_entry(d) for d in visit_docs]
        return sorted(entries, key=lambda e: (e.start, e.kind, e.id))


def ics(entries: list[Entry], name: str) -> bytes:
    """The entries as an iCalendar document (cancelled ones as STATUS:CANCELLED, so a
    subscribed calendar drops them)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for e in entries:
        event = Event()
        event.add("uid", f"{e.kind}-{e.id}@crm")
        event.add("summary", e.title)
        event.add("dtstart", e.start)
        event.add("dtend", e.end)
        event.add("dtstamp", e.start)
        event.add(
            "status",
            {"cancelled": "CANCELLED", "done": "CONFIRMED", "completed": "CONFIRMED"}.get(
                e.status, "CONFIRMED"
            ),
        )
        if e.subject_kind and e.subject_id:
            event.add("description", f"{e.subject_kind} {e.subject_id}")
        if e.kind == "task" and e.status == "open" and e.remind_before_minutes:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", e.title)
            alarm.add("trigger", timedelta(minutes=-e.remind_before_minutes))
            event.add_component(alarm)
        cal.add_component(event)
    return bytes(cal.to_ical())
