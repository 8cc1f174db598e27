"""Events of the activities context: tasks, notifications and users' notification
preferences. Topic ``crm.activities.events``.

Streams: ``task-<id>`` (one task; a recurring task keeps one stream, each occurrence completed
in turn), ``notification-<id>`` (one notification to one user; its id is derived from the fact
it tells of, so a fact told twice is one notification) and ``notifyprefs-<tenant>:<user>``
(a user's channels and quiet hours; the user id is the tenant's own, so the stream carries the
tenant).

A task's title, notes and outcome note are what a rep wrote about a person: personal data of
the customer (or of the lead) the task is about, sealed with that subject's key, so erasing the
customer erases them in every task without rewriting an event. A task about nobody in
particular seals them with its own key.

Every time-based fact (due, reminded, completed) is a field taken from the command, so a report
never depends on when an event was recorded.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from crm.events.base import DomainEvent, OptionalPersonal, Personal
from crm.events.customer import Channel
from crm.events.registry import event

Occurrence = Annotated[int, Field(ge=0)]


class TaskKind(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    VISIT = "visit"
    SEND_QUOTE = "send_quote"
    FOLLOW_UP = "follow_up"
    RETENTION = "retention"
    """Opened by the platform when a customer's churn risk became high."""
    CUSTOM = "custom"
    """A kind of the tenant's own, named by ``custom_kind``."""


INTERACTION_CHANNEL: dict[TaskKind, Channel] = {
    TaskKind.CALL: Channel.CALL,
    TaskKind.EMAIL: Channel.EMAIL,
    TaskKind.MEETING: Channel.MEETING,
    TaskKind.VISIT: Channel.VISIT,
    TaskKind.RETENTION: Channel.CALL,
}
"""The interaction a completed task of each kind is logged as, in the customer's timeline."""


class SubjectKind(StrEnum):
    CUSTOMER = "customer"
    LEAD = "lead"
    OPPORTUNITY = "opportunity"
    TICKET = "ticket"


class TaskPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Recurrence(BaseModel):
    """Every ``interval`` days, weeks or months from the first due time, until ``until``
    (inclusive; None: until cancelled). A monthly task due on the 31st falls on the last day
    of shorter months."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    frequency: Frequency
    interval: int = Field(default=1, ge=1, le=366)
    until: date | None = None


class TaskOutcome(StrEnum):
    DONE = "done"
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    OFFER_MADE = "offer_made"
    WON_BACK = "won_back"
    LOST = "lost"


RETENTION_OUTCOMES = frozenset(
    {TaskOutcome.REACHED, TaskOutcome.NO_ANSWER, TaskOutcome.OFFER_MADE}
    | {TaskOutcome.WON_BACK, TaskOutcome.LOST}
)
"""The outcomes a retention task records (``done`` says nothing about the customer)."""

CONTACT_OUTCOMES = frozenset(
    {TaskOutcome.REACHED, TaskOutcome.OFFER_MADE, TaskOutcome.WON_BACK, TaskOutcome.LOST}
)
"""The retention outcomes that say the customer was contacted (``no_answer`` does not)."""

WARNING_ORIGIN = "churnrisk-"
"""How the ``origin`` of a retention task opened on a churn warning begins (the churn risk's
stream): what tells a warning from a retention task a person planned."""


def _subject(subject_kind: SubjectKind, subject_id: str, customer_id: str | None) -> str | None:
    if customer_id is not None:
        return f"customer-{customer_id}"
    if subject_kind is SubjectKind.LEAD:
        return f"lead-{subject_id}"
    return None


@event("activities.task.scheduled")
class TaskScheduled(DomainEvent):
    kind: TaskKind
    custom_kind: str | None = None
    title: Personal
    notes: OptionalPersonal = None
    subject_kind: SubjectKind
    subject_id: str
    customer_id: str | None = None
    """The customer the task is about (a lead's task has none until it is converted)."""
    assignee_id: str | None = None
    """None: the team's queue (a retention task for a customer in the shared pool)."""
    team_id: str | None = None
    priority: TaskPriority = TaskPriority.NORMAL
    due_at: datetime
    duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    recurrence: Recurrence | None = None
    remind_before_minutes: int = Field(default=15, ge=0, le=7 * 24 * 60)
    reasons: tuple[str, ...] = ()
    """Why the platform opened it (a retention task: the churn reasons' codes)."""
    origin: str | None = None
    """What opened it: ``followup:<task id>``, ``churn:<customer id>``; None: a person."""
    created_by: str
    scheduled_at: datetime

    def data_subject(self, stream_id: str) -> str:
        return _subject(self.subject_kind, self.subject_id, self.customer_id) or stream_id

    @property
    def on_churn_warning(self) -> bool:
        """A retention task a churn warning opened (:data:`WARNING_ORIGIN`), not one a person
        planned: what the retention read models of activities and analytics count."""
        return self.kind is TaskKind.RETENTION and (self.origin or "").startswith(WARNING_ORIGIN)


@event("activities.task.reassigned")
class TaskReassigned(DomainEvent):
    assignee_id: str
    previous_assignee_id: str | None = None
    team_id: str | None = None
    reassigned_at: datetime


@event("activities.task.rescheduled")
class TaskRescheduled(DomainEvent):
    occurrence: Occurrence
    due_at: datetime
    previous_due_at: datetime


@event("activities.task.completed")
class TaskCompleted(DomainEvent):
    """One occurrence done. ``interaction_id`` names the interaction it is logged as in the
    customer's timeline (fixed here, so the customer context records it once); ``next_*``
    plan the next task, opened under ``next_task_id`` by the context's reaction."""

    occurrence: Occurrence
    due_at: datetime
    outcome: TaskOutcome
    title: OptionalPersonal = None
    """The task's title when it was done (the interaction's summary with the note)."""
    note: OptionalPersonal = None
    completed_at: datetime
    completed_by: str
    customer_id: str | None = None
    subject_kind: SubjectKind
    subject_id: str
    interaction_id: str | None = None
    channel: Channel | None = None
    duration_minutes: int | None = None
    next_task_id: str | None = None
    next_kind: TaskKind | None = None
    next_title: OptionalPersonal = None
    next_due_at: datetime | None = None
    next_assignee_id: str | None = None
    team_id: str | None = None
    """The task's team: the next task joins it."""

    def data_subject(self, stream_id: str) -> str:
        return _subject(self.subject_kind, self.subject_id, self.customer_id) or stream_id


@event("activities.task.recurred")
class TaskRecurred(DomainEvent):
    """A recurring task's next occurrence, after the previous one was completed."""

    occurrence: Occurrence
    due_at: datetime


@event("activities.task.cancelled")
class TaskCancelled(DomainEvent):
    reason: str | None = None
    cancelled_at: datetime
    cancelled_by: str


@event("activities.task.reminder_due")
class TaskReminderDue(DomainEvent):
    """The reminder before an occurrence's due time (recorded once per occurrence and due)."""

    occurrence: Occurrence
    due_at: datetime
    assignee_id: str | None = None
    reminded_at: datetime


@event("activities.task.overdue")
class TaskOverdue(DomainEvent):
    """An occurrence passed its due time undone (recorded once per occurrence and due)."""

    occurrence: Occurrence
    due_at: datetime
    assignee_id: str | None = None
    noticed_at: datetime


class NotificationKind(StrEnum):
    TASK_ASSIGNED = "task_assigned"
    TASK_DUE = "task_due"
    TASK_OVERDUE = "task_overdue"
    RETENTION = "retention"
    QUOTE_EXPIRING = "quote_expiring"
    QUOTE_EXPIRED = "quote_expired"
    INVOICE_OVERDUE = "invoice_overdue"
    SLA_WARNING = "sla_warning"
    FOLLOW_UP_DUE = "follow_up_due"


@event("activities.notification.raised")
class NotificationRaised(DomainEvent):
    """A notification for ``recipient_id``. The texts name records by id, never a person, so
    they are no personal data; ``email`` says whether it is to be mailed too (the recipient's
    preferences when it was raised), and ``email_after`` when (after their quiet hours)."""

    recipient_id: str
    kind: NotificationKind
    title_en: str
    title_zh: str
    subject_kind: str
    subject_id: str
    raised_at: datetime
    email: bool = False
    email_after: datetime | None = None


@event("activities.notification.read")
class NotificationRead(DomainEvent):
    read_at: datetime


@event("activities.notification.email_claimed")
class NotificationEmailClaimed(DomainEvent):
    """A mailer took the e-mail until ``lease_until``: another mailer leaves it alone till
    then (a mailer that crashed holding it loses it then)."""

    mailer: str
    attempt: int = Field(ge=1)
    lease_until: datetime


@event("activities.notification.emailed")
class NotificationEmailed(DomainEvent):
    to: Personal
    sent_at: datetime

    def data_subject(self, stream_id: str) -> str:
        return stream_id


@event("activities.notification.email_failed")
class NotificationEmailFailed(DomainEvent):
    attempt: int = Field(ge=1)
    error: str
    retry_at: datetime | None = None
    """None: given up after the last attempt."""


@event("activities.preferences.set")
class NotificationPreferencesSet(DomainEvent):
    """A user's channels: the console always; e-mail to ``email`` if ``email_enabled``, not
    between ``quiet_start`` and ``quiet_end`` in ``time_zone`` (held until they end); and the
    kinds they do not want at all."""

    user_id: str
    email: OptionalPersonal = None
    email_enabled: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None
    time_zone: str = "UTC"
    muted: tuple[NotificationKind, ...] = ()


class CareOccasion(StrEnum):
    FIRST_ORDER_ANNIVERSARY = "first_order_anniversary"
    """Every year on the day of the customer's first order."""
    CONTRACT_END = "contract_end"
    """The end date of the customer's service contract."""
    AFTER_PURCHASE = "after_purchase"
    """``days`` days after the customer's latest order was placed (``sales.order.placed``)."""
    AFTER_COMPLAINT = "after_complaint"
    """``days`` days after a complaint ticket of the customer was resolved."""
    NO_CONTACT = "no_contact"
    """A valuable customer (value tier ``high``, ``analytics.value_tier.changed``) with no
    interaction logged for ``days`` days (since registration if none ever was)."""
    BIRTHDAY = "birthday"
    """Every year on the customer's ``birthday`` (29 February: the 28th in other years)."""
    ANNIVERSARY = "anniversary"
    """Every year on the date the customer celebrates (their profile's ``anniversary``)."""


AFTER_OCCASIONS = frozenset(
    {CareOccasion.AFTER_PURCHASE, CareOccasion.AFTER_COMPLAINT, CareOccasion.NO_CONTACT}
)
"""The occasions that fall ``days`` days after a fact (the rule names ``days``)."""

PLACEHOLDERS = frozenset({"customer_name", "date", "days", "occasion"})
"""What a care rule's message template may name, in braces: the customer's name, the
occasion's date (``YYYY-MM-DD``), the rule's ``days`` and the occasion's code."""


class CareRule(BaseModel):
    """Open a ``task_kind`` task for the customer's owner ``days_before`` the occasion (an
    after-occasion falls ``days`` days after its fact), its notes rendered from the message
    template in English and Chinese."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    occasion: CareOccasion
    days_before: int = Field(default=0, ge=0, le=60)
    task_kind: TaskKind = TaskKind.CALL
    enabled: bool = True
    days: int | None = Field(default=None, ge=1, le=365)
    """For ``after_purchase`` and ``after_complaint`` (at most 90) and ``no_contact``."""
    template_en: str | None = Field(default=None, max_length=1000)
    template_zh: str | None = Field(default=None, max_length=1000)


@event("activities.care_rules.set")
class CareRulesSet(DomainEvent):
    """A tenant's customer-care rules (客户关怀), replacing the previous ones; ``time_zone``
    (IANA) is the tenant's: whose day an occasion falls on, and the tasks are due at 09:00
    there."""

    rules: tuple[CareRule, ...]
    set_by: str
    time_zone: str = "UTC"
    pool_team_id: str | None = None
    """The team answering for the shared pool: a care or retention task for a customer in
    the pool goes to its queue, for its managers to hand out (None: the tenant's queue, seen
    by admins and by managers without a team)."""


class WorkPeriod(StrEnum):
    """The period of a work report (日报 / 周报 / 月报)."""

    DAY = "day"
    WEEK = "week"
    """An ISO week, Monday to Sunday."""
    MONTH = "month"


@event("activities.work_report.submitted")
class WorkReportSubmitted(DomainEvent):
    """A user's own summary of a period's work and their plan for the next one (日报, 周报,
    月报), replacing what they submitted before for that period. Stream
    ``workreport-<tenant>:<user>:<period key>``; the key is ``2026-03-02`` (a day),
    ``2026-W10`` (an ISO week) or ``2026-03`` (a month)."""

    user_id: str
    period: WorkPeriod
    key: str
    summary: str
    plan: str
    submitted_at: datetime
    revision: int = Field(ge=1)
    """1 for the first submission, +1 per change."""


@event("activities.work_report.commented")
class WorkReportCommented(DomainEvent):
    """The user's manager (or an admin) commented on the report."""

    user_id: str
    key: str
    comment: str
    commented_by: str
    commented_at: datetime
    on_revision: int = Field(ge=1)
    """The revision of the report the comment was written on."""


ACTIVITIES_EVENTS: tuple[type[DomainEvent], ...] = (
    TaskScheduled,
    TaskReassigned,
    TaskRescheduled,
    TaskCompleted,
    TaskRecurred,
    TaskCancelled,
    TaskReminderDue,
    TaskOverdue,
    NotificationRaised,
    NotificationRead,
    NotificationEmailClaimed,
    NotificationEmailed,
    NotificationEmailFailed,
    NotificationPreferencesSet,
    CareRulesSet,
    WorkReportSubmitted,
    WorkReportCommented,
)
