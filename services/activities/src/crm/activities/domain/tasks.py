"""The task aggregate: the next thing someone is to do about a customer, lead, opportunity or
ticket.

A task is open until its (last) occurrence is done or it is cancelled. A recurring task keeps
one stream: completing an occurrence records it done and, if the series goes on, the next
occurrence's due time (:class:`TaskRecurred`), so "what is due" is always one due time per
task. Reminders are facts of the task too: the reminder before the due time and the notice
that it passed, each recorded once per (occurrence, due time) however often a scheduler
checks; moving the due time makes a new pair due.

Pure: no I/O, time is passed in.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Self

from crm.events import DomainEvent
from crm.events.activities import (
    INTERACTION_CHANNEL,
    RETENTION_OUTCOMES,
    Frequency,
    Recurrence,
    SubjectKind,
    TaskCancelled,
    TaskCompleted,
    TaskKind,
    TaskOutcome,
    TaskOverdue,
    TaskPriority,
    TaskReassigned,
    TaskRecurred,
    TaskReminderDue,
    TaskRescheduled,
    TaskScheduled,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated

MAX_TITLE = 200
MAX_NOTES = 4000


class Status:
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class TaskPlan:
    """What a person asks for when they plan a task (or the next one, on completing)."""

    kind: TaskKind
    title: str
    due_at: datetime
    assignee_id: str | None
    priority: TaskPriority = TaskPriority.NORMAL
    notes: str | None = None
    custom_kind: str | None = None
    duration_minutes: int | None = None
    recurrence: Recurrence | None = None
    remind_before_minutes: int = 15

    def check(self, field_prefix: str = "") -> None:
        if not self.title.strip():
            raise InvalidCommand(f"{field_prefix}title", "must not be blank")
        if len(self.title) > MAX_TITLE:
            raise InvalidCommand(f"{field_prefix}title", f"at most {MAX_TITLE} characters")
        if self.notes is not None and len(self.notes) > MAX_NOTES:
            raise InvalidCommand(f"{field_prefix}notes", f"at most {MAX_NOTES} characters")
        if self.due_at.tzinfo is None:
            raise InvalidCommand(f"{field_prefix}due_at", "needs a time zone (e.g. ...T10:00Z)")
        if self.kind is TaskKind.CUSTOM and not (self.custom_kind or "").strip():
            raise InvalidCommand(f"{field_prefix}custom_kind", "a custom task names its kind")
        if self.kind is not TaskKind.CUSTOM and self.custom_kind is not None:
            raise InvalidCommand(f"{field_prefix}custom_kind", "only for kind 'custom'")
        until = self.recurrence.until if self.recurrence is not None else None
        if until is not None and until < self.due_at.date():
            raise InvalidCommand(f"{field_prefix}recurrence.until", "before the first due")


def _add_months(moment: datetime, months: int, day: int) -> datetime:
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    return moment.replace(year=year, month=month, day=min(day, calendar.monthrange(year, month)[1]))


def occurrence_due(first: datetime, recurrence: Recurrence, n: int) -> datetime:
    """The due time of occurrence ``n`` (0: the first) of a series starting at ``first``:
    computed from the first, so a monthly series on the 31st comes back to the 31st."""
    step = recurrence.interval * n
    match recurrence.frequency:
        case Frequency.DAILY:
            return first + timedelta(days=step)
        case Frequency.WEEKLY:
            return first + timedelta(weeks=step)
        case Frequency.MONTHLY:
            return _add_months(first, step, first.day)


@dataclass(frozen=True, slots=True)
class TaskState:
    scheduled: bool = False
    kind: TaskKind = TaskKind.CUSTOM
    subject_kind: SubjectKind = SubjectKind.CUSTOMER
    subject_id: str = ""
    customer_id: str | None = None
    assignee_id: str | None = None
    team_id: str | None = None
    title: str = ""
    duration_minutes: int | None = None
    first_due_at: datetime | None = None
    due_at: datetime | None = None
    occurrence: int = 0
    recurrence: Recurrence | None = None
    remind_before: timedelta = timedelta(minutes=15)
    status: str = Status.OPEN
    reminded: frozenset[tuple[int, datetime]] = frozenset()
    noticed_overdue: frozenset[tuple[int, datetime]] = frozenset()

    @property
    def open(self) -> bool:
        return self.scheduled and self.status == Status.OPEN

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case TaskScheduled():
                return replace(
                    self,
                    scheduled=True,
                    kind=event.kind,
                    subject_kind=event.subject_kind,
                    subject_id=event.subject_id,
                    customer_id=event.customer_id,
                    assignee_id=event.assignee_id,
                    team_id=event.team_id,
                    title=event.title,
                    duration_minutes=event.duration_minutes,
                    first_due_at=event.due_at,
                    due_at=event.due_at,
                    recurrence=event.recurrence,
                    remind_before=timedelta(minutes=event.remind_before_minutes),
                )
            case TaskReassigned():
                return replace(self, assignee_id=event.assignee_id, team_id=event.team_id)
            case TaskRescheduled():
                return replace(self, due_at=event.due_at)
            case TaskCompleted():
                return replace(self, status=Status.DONE)
            case TaskRecurred():
                return replace(
                    self, status=Status.OPEN, occurrence=event.occurrence, due_at=event.due_at
                )
            case TaskCancelled():
                return replace(self, status=Status.CANCELLED)
            case TaskReminderDue():
                return replace(self, reminded=self.reminded | {(event.occurrence, event.due_at)})
            case TaskOverdue():
                return replace(
                    self,
                    noticed_overdue=self.noticed_overdue | {(event.occurrence, event.due_at)},
                )
        return self

    def next_check_at(self) -> datetime | None:
        """When the scheduler should look at this task next: the reminder's time, then the
        due time; None once both were recorded for the current due (or it is closed)."""
        if not self.open or self.due_at is None:
            return None
        current = (self.occurrence, self.due_at)
        if current in self.noticed_overdue:
            return None
        if current in self.reminded or self.remind_before == timedelta(0):
            return self.due_at
        return self.due_at - self.remind_before


class Task(Aggregate[TaskState]):
    category = "task"

    @classmethod
    def initial_state(cls) -> TaskState:
        return TaskState()

    def _require_open(self) -> TaskState:
        if not self.state.scheduled:
            raise NotFound(f"task {self.id} does not exist")
        if self.state.status != Status.OPEN:
            raise RuleViolated(f"the task is {self.state.status}", code=f"task_{self.state.status}")
        return self.state

    def schedule(
        self,
        plan: TaskPlan,
        *,
        subject_kind: SubjectKind,
        subject_id: str,
        customer_id: str | None,
        team_id: str | None,
        created_by: str,
        now: datetime,
        reasons: tuple[str, ...] = (),
        origin: str | None = None,
    ) -> None:
        if self.state.scheduled:
            raise RuleViolated(f"task {self.id} already exists", code="already_exists")
        plan.check()
        self.trigger(
            TaskScheduled(
                kind=plan.kind,
                custom_kind=plan.custom_kind.strip() if plan.custom_kind else None,
                title=plan.title.strip(),
                notes=plan.notes,
                subject_kind=subject_kind,
                subject_id=subject_id,
                customer_id=customer_id,
                assignee_id=plan.assignee_id,
                team_id=team_id,
                priority=plan.priority,
                due_at=plan.due_at,
                duration_minutes=plan.duration_minutes,
                recurrence=plan.recurrence,
                remind_before_minutes=plan.remind_before_minutes,
                reasons=reasons,
                origin=origin,
                created_by=created_by,
                scheduled_at=now,
            )
        )

    def reassign(self, assignee_id: str, team_id: str | None, now: datetime) -> None:
        state = self._require_open()
        if not assignee_id.strip():
            raise InvalidCommand("assignee_id", "must not be blank")
        if assignee_id == state.assignee_id and team_id == state.team_id:
            return
        self.trigger(
            TaskReassigned(
                assignee_id=assignee_id,
                previous_assignee_id=state.assignee_id,
                team_id=team_id,
                reassigned_at=now,
            )
        )

    def reschedule(self, due_at: datetime) -> None:
        state = self._require_open()
        if due_at.tzinfo is None:
            raise InvalidCommand("due_at", "needs a time zone (e.g. 2026-05-01T10:00:00Z)")
        assert state.due_at is not None
        if due_at == state.due_at:
            return
        self.trigger(
            TaskRescheduled(
                occurrence=state.occurrence, due_at=due_at, previous_due_at=state.due_at
            )
        )

    def complete(
        self,
        outcome: TaskOutcome,
        *,
        note: str | None,
        by: str,
        now: datetime,
        interaction_id: str | None,
        duration_minutes: int | None = None,
        next_task_id: str | None = None,
        next_plan: TaskPlan | None = None,
    ) -> None:
        """Done, with its outcome; logged as an interaction (``interaction_id``) when the task
        is a call, e-mail, meeting, visit or retention contact about a customer; the next task
        planned in the same step if ``next_plan``."""
        state = self._require_open()
        assert state.due_at is not None
        if state.kind is TaskKind.RETENTION and outcome not in RETENTION_OUTCOMES:
            allowed = ", ".join(sorted(RETENTION_OUTCOMES))
            raise InvalidCommand("outcome", f"a retention task records one of: {allowed}")
        if note is not None and len(note) > MAX_NOTES:
            raise InvalidCommand("note", f"at most {MAX_NOTES} characters")
        if next_plan is not None:
            next_plan.check("next.")
        channel = INTERACTION_CHANNEL.get(state.kind)
        logs = channel is not None and state.customer_id is not None
        if outcome is TaskOutcome.NO_ANSWER and state.kind is not TaskKind.CALL:
            logs = logs and state.kind is TaskKind.RETENTION
        self.trigger(
            TaskCompleted(
                occurrence=state.occurrence,
                due_at=state.due_at,
                outcome=outcome,
                title=state.title,
                note=note,
                completed_at=now,
                completed_by=by,
                customer_id=state.customer_id,
                subject_kind=state.subject_kind,
                subject_id=state.subject_id,
                interaction_id=interaction_id if logs else None,
                channel=channel if logs else None,
                duration_minutes=duration_minutes or state.duration_minutes,
                next_task_id=next_task_id if next_plan is not None else None,
                next_kind=next_plan.kind if next_plan else None,
                next_title=next_plan.title.strip() if next_plan else None,
                next_due_at=next_plan.due_at if next_plan else None,
                next_assignee_id=next_plan.assignee_id if next_plan else None,
                team_id=state.team_id,
            )
        )
        if state.recurrence is not None and state.first_due_at is not None:
            n = state.occurrence + 1
            due = occurrence_due(state.first_due_at, state.recurrence, n)
            until: date | None = state.recurrence.until
            if until is None or due.date() <= until:
                self.trigger(TaskRecurred(occurrence=n, due_at=due))

    def cancel(self, reason: str | None, *, by: str, now: datetime) -> None:
        self._require_open()
        self.trigger(TaskCancelled(reason=reason, cancelled_at=now, cancelled_by=by))

    def check_reminders(self, now: datetime) -> None:
        """Record what is due at ``now``: the reminder (if its time came before the due
        time), and the notice once the due time passed; nothing twice for one due."""
        state = self.state
        if not state.open or state.due_at is None:
            return
        current = (state.occurrence, state.due_at)
        if now >= state.due_at:
            if current not in state.noticed_overdue:
                self.trigger(
                    TaskOverdue(
                        occurrence=state.occurrence,
                        due_at=state.due_at,
                        assignee_id=state.assignee_id,
                        noticed_at=now,
                    )
                )
            return
        if (
            state.remind_before > timedelta(0)
            and now >= state.due_at - state.remind_before
            and current not in state.reminded
        ):
            self.trigger(
                TaskReminderDue(
                    occurrence=state.occurrence,
                    due_at=state.due_at,
                    assignee_id=state.assignee_id,
                    reminded_at=now,
                )
            )
