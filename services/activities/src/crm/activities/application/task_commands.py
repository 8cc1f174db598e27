"""The task's commands: one plain value each, and the table that runs them.

Planning a task checks what it is about (:mod:`crm.activities.application.references`) and
for whom: a rep or an agent plans for themselves, a manager or an admin for anyone (the task
joins the manager's team). Completing a call, e-mail, meeting, visit or retention task about a
customer fixes the id of the interaction it is logged as, and the id of the next task if one
is planned in the same step; the context's reactions record both, once
(:mod:`crm.activities.application.reactions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import NAMESPACE_URL, uuid4, uuid5

from crm.activities.application.policy import POLICY, TaskAction, scope_of
from crm.activities.application.references import References
from crm.activities.domain.tasks import Task, TaskPlan
from crm.events.activities import SubjectKind, TaskOutcome
from crm.kernel.access import Principal
from crm.kernel.auth import Role
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import Forbidden
from crm.kernel.repository import CommandContext


def _new_id() -> str:
    return str(uuid4())


def derived_id(task_id: str, what: str) -> str:
    """An id fixed by a task and a step (the interaction of occurrence 3, the next task
    after it): the same on every retry and redelivery."""
    return str(uuid5(NAMESPACE_URL, f"crm:task:{task_id}:{what}"))


@dataclass(frozen=True, slots=True)
class ScheduleTask:
    plan: TaskPlan
    subject_kind: SubjectKind
    subject_id: str
    task_id: str = field(default_factory=_new_id)
    reasons: tuple[str, ...] = ()
    origin: str | None = None
    """What opened it (the platform's processes); a task already opened by the same origin
    under this id is left as it is (a redelivered step)."""
    team_id: str | None = None
    """The team a process puts it in (a person's task joins the planner's team)."""
    planned_by: str | None = None
    """Who planned it when a process opens it for them (the next task planned on completing
    one is its completer's, not the process's)."""


@dataclass(frozen=True, slots=True)
class ReassignTask:
    task_id: str
    assignee_id: str


@dataclass(frozen=True, slots=True)
class RescheduleTask:
    task_id: str
    due_at: datetime
    """With a time zone (checked by the domain)."""


@dataclass(frozen=True, slots=True)
class CompleteTask:
    task_id: str
    outcome: TaskOutcome = TaskOutcome.DONE
    note: str | None = None
    duration_minutes: int | None = None
    next: TaskPlan | None = None


@dataclass(frozen=True, slots=True)
class CancelTask:
    task_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CheckTaskReminders:
    """The scheduler's check: record the reminder or the overdue notice due now."""

    task_id: str


def _assignee(ctx: CommandContext, requested: str | None) -> str:
    p = POLICY.authorize(ctx, TaskAction.WORK, what="task")
    if p.role in (Role.SALES_REP, Role.AGENT, Role.ANALYST) and requested not in (None, p.id):
        raise Forbidden(f"a {p.role_name} plans tasks for themselves only")
    return requested or p.id


def task_commands(references: References) -> CommandTable[Task]:
    async def schedule(t: Task, cmd: ScheduleTask, ctx: CommandContext) -> None:
        p = Principal.of(ctx)
        if t.state.scheduled and cmd.origin is not None:
            return  # the process opened it already
        if p.is_system:
            assignee, team = cmd.plan.assignee_id, cmd.team_id
        else:
            assignee, team = _assignee(ctx, cmd.plan.assignee_id), p.team
        subject = await references.require(ctx, cmd.subject_kind, cmd.subject_id)
        t.schedule(
            replace(cmd.plan, assignee_id=assignee),
            subject_kind=subject.kind,
            subject_id=subject.id,
            customer_id=subject.customer_id,
            team_id=team,
            created_by=cmd.planned_by if p.is_system and cmd.planned_by else ctx.actor,
            now=ctx.now,
            reasons=cmd.reasons,
            origin=cmd.origin,
        )

    def reassign(t: Task, cmd: ReassignTask, ctx: CommandContext) -> None:
        p = Principal.of(ctx)
        team = p.team if p.team is not None else t.state.team_id
        t.reassign(cmd.assignee_id, team, ctx.now)

    def reschedule(t: Task, cmd: RescheduleTask, ctx: CommandContext) -> None:
        t.reschedule(cmd.due_at)

    def complete(t: Task, cmd: CompleteTask, ctx: CommandContext) -> None:
        n = t.state.occurrence
        nxt = cmd.next
        if nxt is not None:
            owner = nxt.assignee_id or t.state.assignee_id or ctx.actor
            p = Principal.of(ctx)
            if p.role in (Role.SALES_REP, Role.AGENT) and owner != p.id:
                raise Forbidden(f"a {p.role_name} plans tasks for themselves only")
            nxt = replace(nxt, assignee_id=owner)
        t.complete(
            cmd.outcome,
            note=cmd.note,
            by=ctx.actor,
            now=ctx.now,
            interaction_id=derived_id(t.id, f"interaction:{n}"),
            duration_minutes=cmd.duration_minutes,
            next_task_id=derived_id(t.id, f"next:{n}"),
            next_plan=nxt,
        )

    def check(t: Task, cmd: CheckTaskReminders, ctx: CommandContext) -> None:
        if not Principal.of(ctx).is_system:
            raise Forbidden("reminders are checked by the platform's scheduler")
        t.check_reminders(ctx.now)

    table = CommandTable(
        Task,
        POLICY,
        scope=lambda t: scope_of(t.state.assignee_id, t.state.team_id),
        id_field="task_id",
    )
    table.on(ScheduleTask, Expect.ANY, None, schedule)
    table.on(ReassignTask, Expect.EXISTING, TaskAction.ASSIGN, reassign)
    table.on(RescheduleTask, Expect.EXISTING, TaskAction.WORK, reschedule)
    table.on(CompleteTask, Expect.EXISTING, TaskAction.WORK, complete)
    table.on(
        CancelTask,
        Expect.EXISTING,
        TaskAction.WORK,
        lambda t, m, ctx: t.cancel(m.reason, by=ctx.actor, now=ctx.now),
    )
    table.on(CheckTaskReminders, Expect.EXISTING, None, check)
    return table


__all__ = [
    "CancelTask",
    "CheckTaskReminders",
    "CompleteTask",
    "ReassignTask",
    "RescheduleTask",
    "ScheduleTask",
    "Task",
    "TaskPlan",
    "derived_id",
    "task_commands",
]
