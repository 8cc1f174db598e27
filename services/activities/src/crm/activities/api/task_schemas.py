"""Request bodies of the task routes (unknown fields are refused, a 422 naming the field)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

from crm.activities.domain.tasks import MAX_NOTES, MAX_TITLE, TaskPlan
from crm.events.activities import Recurrence, SubjectKind, TaskKind, TaskOutcome, TaskPriority
from crm.kernel.http.body import Body

Title = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TITLE)]
Notes = Annotated[str, StringConstraints(max_length=MAX_NOTES)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=100)]
RemindBefore = Annotated[int, Field(ge=0, le=7 * 24 * 60)]
Minutes = Annotated[int, Field(ge=1, le=24 * 60)]


class PlanBody(Body):
    """A task as a person plans it (also the ``next`` task planned on completing one)."""

    kind: TaskKind
    custom_kind: Annotated[str, StringConstraints(max_length=50)] | None = None
    title: Title
    notes: Notes | None = None
    due_at: AwareDatetime
    assignee_id: Id | None = Field(
        default=None, description="Whom it is for (default: you; others: managers and admins)"
    )
    priority: TaskPriority = TaskPriority.NORMAL
    duration_minutes: Minutes | None = None
    recurrence: Recurrence | None = None
    remind_before_minutes: RemindBefore = 15

    def plan(self) -> TaskPlan:
        return TaskPlan(
            kind=self.kind,
            title=self.title,
            due_at=self.due_at,
            assignee_id=self.assignee_id,
            priority=self.priority,
            notes=self.notes,
            custom_kind=self.custom_kind,
            duration_minutes=self.duration_minutes,
            recurrence=self.recurrence,
            remind_before_minutes=self.remind_before_minutes,
        )


class NewTask(PlanBody):
    subject_kind: SubjectKind
    subject_id: Id


class Reassignment(Body):
    assignee_id: Id


class NewDue(Body):
    due_at: AwareDatetime


class Completion(Body):
    outcome: TaskOutcome = TaskOutcome.DONE
    note: Notes | None = None
    duration_minutes: Minutes | None = None
    next: PlanBody | None = Field(
        default=None, description="The next task, planned in the same step (same subject)"
    )


class Cancellation(Body):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class TaskStatusName(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


__all__ = [
    "Cancellation",
    "Completion",
    "NewDue",
    "NewTask",
    "PlanBody",
    "Reassignment",
    "TaskStatusName",
]
