"""The ``activities_tasks`` read model: one document per task, for the lists (mine, my
team's, a customer's), the calendar and the reminder scheduler.

``check_at`` is when the scheduler is to look at the task next (the reminder's time, then the
due time; absent once both were recorded for the current due, or the task is closed), the
same rule as :meth:`crm.activities.domain.tasks.TaskState.next_check_at`, indexed, so a tick
reads only what is due whatever the number of open tasks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict

from crm.events import EventEnvelope
from crm.events.activities import (
    TaskCancelled,
    TaskCompleted,
    TaskOverdue,
    TaskReassigned,
    TaskRecurred,
    TaskReminderDue,
    TaskRescheduled,
    TaskScheduled,
)
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.read_store import CollectionSpec, Index

TASKS = "activities_tasks"


def instant(value: datetime) -> str:
    """A fixed-width UTC ISO string: ordered as strings exactly as the instants are."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class CompletionDoc(TypedDict):
    occurrence: int
    due_at: str
    outcome: str
    note: str | None
    completed_at: str
    completed_by: str
    interaction_id: str | None
    next_task_id: str | None


class TaskDoc(TypedDict):
    id: str
    tenant: Annotated[str, Field(exclude=True)]
    kind: str
    custom_kind: str | None
    title: str
    notes: str | None
    subject_kind: str
    subject_id: str
    customer_id: str | None
    assignee_id: str | None
    owner_id: Annotated[str | None, Field(exclude=True)]
    """The assignee, under the name the access policy filters by."""
    team_id: str | None
    priority: str
    status: str
    """open | done | cancelled"""
    due_at: str
    occurrence: int
    recurrence: dict[str, Any] | None
    remind_before_minutes: int
    duration_minutes: int | None
    overdue: bool
    check_at: Annotated[str | None, Field(exclude=True)]
    reasons: list[str]
    origin: str | None
    created_by: str
    scheduled_at: str
    completions: list[CompletionDoc]
    cancelled_reason: str | None
    closed_at: str | None
    version: int


on: Handlers[TaskDoc] = Handlers()


def _check_at(doc: TaskDoc, *, reminded: bool) -> str | None:
    due = datetime.fromisoformat(doc["due_at"])
    before = doc["remind_before_minutes"]
    if reminded or before == 0:
        return instant(due)
    return instant(due - timedelta(minutes=before))


def _existing(doc: TaskDoc | None, key: DocKey, envelope: EventEnvelope) -> TaskDoc:
    if doc is None:
        raise LookupError(f"{envelope.event_type} for task {key[1]} that was never scheduled")
    new = doc.copy()
    new["version"] = envelope.stream_version
    return new


@on(TaskScheduled)
def scheduled(key: DocKey, doc: TaskDoc | None, e: TaskScheduled, env: EventEnvelope) -> TaskDoc:
    new = TaskDoc(
        id=key[1],
        tenant=env.tenant,
        kind=e.kind.value,
        custom_kind=e.custom_kind,
        title=e.title,
        notes=e.notes,
        subject_kind=e.subject_kind.value,
        subject_id=e.subject_id,
        customer_id=e.customer_id,
        assignee_id=e.assignee_id,
        owner_id=e.assignee_id,
        team_id=e.team_id,
        priority=e.priority.value,
        status="open",
        due_at=instant(e.due_at),
        occurrence=0,
        recurrence=e.recurrence.model_dump(mode="json") if e.recurrence else None,
        remind_before_minutes=e.remind_before_minutes,
        duration_minutes=e.duration_minutes,
        overdue=False,
        check_at=None,
        reasons=list(e.reasons),
        origin=e.origin,
        created_by=e.created_by,
        scheduled_at=instant(e.scheduled_at),
        completions=[],
        cancelled_reason=None,
        closed_at=None,
        version=env.stream_version,
    )
    new["check_at"] = _check_at(new, reminded=False)
    return new


@on(TaskReassigned)
def reassigned(key: DocKey, doc: TaskDoc | None, e: TaskReassigned, env: EventEnvelope) -> TaskDoc:
    new = _existing(doc, key, env)
    new["assignee_id"] = new["owner_id"] = e.assignee_id
    new["team_id"] = e.team_id
    return new


@on(TaskRescheduled, TaskRecurred)
def moved(
    key: DocKey, doc: TaskDoc | None, e: TaskRescheduled | TaskRecurred, env: EventEnvelope
) -> TaskDoc:
    new = _existing(doc, key, env)
    new["due_at"] = instant(e.due_at)
    new["occurrence"] = e.occurrence
    new["overdue"] = False
    new["status"] = "open"
    new["closed_at"] = None
    new["check_at"] = _check_at(new, reminded=False)
    return new


@on(TaskReminderDue)
def reminded(key: DocKey, doc: TaskDoc | None, e: TaskReminderDue, env: EventEnvelope) -> TaskDoc:
    new = _existing(doc, key, env)
    new["check_at"] = _check_at(new, reminded=True)
    return new


@on(TaskOverdue)
def overdue(key: DocKey, doc: TaskDoc | None, e: TaskOverdue, env: EventEnvelope) -> TaskDoc:
    new = _existing(doc, key, env)
    new["overdue"] = True
    new["check_at"] = None
    return new


@on(TaskCompleted)
def completed(key: DocKey, doc: TaskDoc | None, e: TaskCompleted, env: EventEnvelope) -> TaskDoc:
    new = _existing(doc, key, env)
    new["completions"] = [
        *new["completions"],
        CompletionDoc(
            occurrence=e.occurrence,
            due_at=instant(e.due_at),
            outcome=e.outcome.value,
            note=e.note,
            completed_at=instant(e.completed_at),
            completed_by=e.completed_by,
            interaction_id=e.interaction_id,
            next_task_id=e.next_task_id,
        ),
    ]
    new["status"] = "done"
    new["closed_at"] = instant(e.completed_at)
    new["check_at"] = None
    return new


@on(TaskCancelled)
def cancelled(key: DocKey, doc: TaskDoc | None, e: TaskCancelled, env: EventEnvelope) -> TaskDoc:
    new = _existing(doc, key, env)
    new["status"] = "cancelled"
    new["cancelled_reason"] = e.reason
    new["closed_at"] = instant(e.cancelled_at)
    new["check_at"] = None
    return new


class TasksProjection:
    name = TASKS
    version = 1
    collections = (
        CollectionSpec(
            TASKS,
            (
                Index(("check_at",)),
                Index(("tenant", "owner_id", "status", "due_at")),
                Index(("tenant", "team_id", "status", "due_at")),
                Index(("tenant", "customer_id")),
            ),
        ),
    )
    event_types = on.event_types
    categories = frozenset({"task"})
    evolve = staticmethod(on.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(TASKS, envelope),)


TASKS_PROJECTION = TasksProjection()
