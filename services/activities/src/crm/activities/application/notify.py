"""What the tasks and the other contexts' deadlines tell their people: a notification to the
assignee when a task is assigned to them by someone else, when its reminder is due, when it is
overdue, and when the platform opened a retention task for them; to the record's owner when an
SLA target is close, a complaint follow-up is due, a quote expired, an invoice is overdue.

A notification says what happened in both languages without personal data (the task's title
stays in the task, whose key erasure deletes): its subject is the task, which the console
links to. Its id is derived from the event it tells of, so a redelivered event raises nothing
new.
"""

from __future__ import annotations

from crm.activities.application.notification_commands import RaiseNotification, notification_id
from crm.activities.domain.notifications import Message
from crm.activities.projections.reference_models import REFERENCES, REFERENCES_PROJECTION
from crm.events import DomainEvent, EventEnvelope
from crm.events.activities import (
    NotificationKind,
    TaskKind,
    TaskOverdue,
    TaskReassigned,
    TaskReminderDue,
    TaskScheduled,
)
from crm.events.sales_orders import InvoiceOverdue, QuoteExpired
from crm.events.service_desk import FollowUpDue, SlaWarning
from crm.kernel.clock import Clock
from crm.kernel.commands import CommandBus
from crm.kernel.projection import wait_until
from crm.kernel.reactor import reaction_context
from crm.kernel.runtime import Runtime

TEXTS: dict[NotificationKind, tuple[str, str]] = {
    NotificationKind.TASK_ASSIGNED: ("A task was assigned to you", "有一项任务分配给您"),
    NotificationKind.TASK_DUE: ("A task of yours is due soon", "您的任务即将到期"),
    NotificationKind.TASK_OVERDUE: ("A task of yours is overdue", "您的任务已逾期"),
    NotificationKind.SLA_WARNING: (
        "A ticket of yours is close to its SLA due time",
        "您负责的工单即将超出服务时限",
    ),
    NotificationKind.FOLLOW_UP_DUE: (
        "A complaint follow-up of yours is due",
        "您负责的投诉回访已到期",
    ),
    NotificationKind.QUOTE_EXPIRED: ("A quote of yours expired", "您的报价已过期"),
    NotificationKind.INVOICE_OVERDUE: (
        "An invoice of your customer is overdue",
        "您客户的发票已逾期",
    ),
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


class NotifyOfDeadlines:
    """The other contexts' deadlines, told to the person who owns the record: an SLA target
    close to its due time and a complaint follow-up due (the ticket's agent, as the
    references read model has it; a ticket nobody is assigned to tells no one), a quote that
    expired and an invoice overdue (their owner)."""

    name = "activities.notify-of-deadlines"
    categories = frozenset({"ticket", "quote", "invoice"})
    event_types = frozenset(
        e.event_type for e in (SlaWarning, FollowUpDue, QuoteExpired, InvoiceOverdue)
    )

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def _agent(self, tenant: str, ticket_id: str) -> str | None:
        runtime = self.runtime
        await wait_until(
            runtime.read_store,
            REFERENCES,
            await runtime.store.head_position(),
            runtime.read_wait_seconds,
            store=runtime.store,
            categories=REFERENCES_PROJECTION.categories,
        )
        doc = await runtime.read_store.get(REFERENCES, f"ticket:{ticket_id}")
        if doc is None or doc.get("tenant") != tenant:
            return None
        owner: str | None = doc.get("owner_id")
        return owner

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        record_id = envelope.stream_id.partition("-")[2]
        recipient: str | None
        match event:
            case SlaWarning():
                kind, subject = NotificationKind.SLA_WARNING, "ticket"
                recipient = await self._agent(envelope.tenant, record_id)
            case FollowUpDue():
                kind, subject = NotificationKind.FOLLOW_UP_DUE, "ticket"
                recipient = await self._agent(envelope.tenant, record_id)
            case QuoteExpired():
                kind, subject, recipient = NotificationKind.QUOTE_EXPIRED, "quote", event.owner_id
            case InvoiceOverdue():
                kind, subject = NotificationKind.INVOICE_OVERDUE, "invoice"
                recipient = event.owner_id
            case _:
                return
        if recipient is None:
            return
        en, zh = TEXTS[kind]
        command = RaiseNotification(
            notification_id(envelope.tenant, f"event:{envelope.event_id}"),
            recipient,
            Message(kind, en, zh, subject, record_id),
        )
        ctx = reaction_context(self.name, envelope, self.runtime.clock.now())
        await self.runtime.commands.execute(command, ctx)
