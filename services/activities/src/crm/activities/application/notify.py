"""What the tasks tell their people: a notification to the assignee when a task is assigned
to them by someone else, when its reminder is due, when it is overdue, and when the platform
opened a retention task for them.

A notification says what happened in both languages without personal data (the task's title
stays in the task, whose key erasure deletes): its subject is the task, which the console
links to. Its id is derived from the event it tells of, so a redelivered event raises nothing
new.
"""

from __future__ import annotations

from crm.activities.application.notification_commands import RaiseNotification, notification_id
from crm.activities.domain.notifications import Message
from crm.events import DomainEvent, EventEnvelope
from crm.events.activities import (
    NotificationKind,
    TaskKind,
    TaskOverdue,
    TaskReassigned,
    TaskReminderDue,
    TaskScheduled,
)
from crm.kernel.clock import Clock
from crm.kernel.commands import CommandBus
from crm.kernel.reactor import reaction_context

TEXTS: dict[NotificationKind, tuple[str, str]] = {
    NotificationKind.TASK_ASSIGNED: ("A task was assigned to you", "有一项任务分配给您"),
    NotificationKind.TASK_DUE: ("A task of yours is due soon", "您的任务即将到期"),
    NotificationKind.TASK_OVERDUE: ("A task of yours is overdue", "您的任务已逾期"),
    NotificationKind.RETENTION: (
        "A customer's churn risk became high: a retention task is yours",
        "客户流失风险升高，请跟进挽留任务",  # noqa: RUF001
    ),
}


def _recipient_and_kind(
    event: DomainEvent, envelope: EventEnvelope
) -> tuple[str | None, NotificationKind | None]:
    match event:
        case TaskScheduled(kind=TaskKind.RETENTION):
            return event.assignee_id, NotificationKind.RETENTION
        case TaskScheduled():
            mine = event.assignee_id == event.created_by
            return event.assignee_id, None if mine else NotificationKind.TASK_ASSIGNED
        case TaskReassigned():
            mine = event.assignee_id == envelope.actor
            return event.assignee_id, None if mine else NotificationKind.TASK_ASSIGNED
        case TaskReminderDue():
            return event.assignee_id, NotificationKind.TASK_DUE
        case TaskOverdue():
            return event.assignee_id, NotificationKind.TASK_OVERDUE
    return None, None


class NotifyOfTasks:
    name = "activities.notify-of-tasks"
    categories = frozenset({"task"})
    event_types = frozenset(
        e.event_type for e in (TaskScheduled, TaskReassigned, TaskReminderDue, TaskOverdue)
    )

    def __init__(self, commands: CommandBus, clock: Clock) -> None:
        self.commands = commands
        self.clock = clock

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        recipient, kind = _recipient_and_kind(event, envelope)
        if recipient is None or kind is None:
            return
        en, zh = TEXTS[kind]
        task_id = envelope.stream_id.partition("-")[2]
        message = Message(kind, en, zh, "task", task_id)
        command = RaiseNotification(
            notification_id(envelope.tenant, f"event:{envelope.event_id}"), recipient, message
        )
        await self.commands.execute(
            command, reaction_context(self.name, envelope, self.clock.now())
        )
