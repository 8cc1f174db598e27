"""Events of the service desk's ticket half: tickets, SLA policies, business calendars and
service contracts. Topic ``crm.service_desk.events``.

Streams: ``ticket-<id>``, ``slapolicy-<tenant>:<level or "default">`` (one policy per
contract level of a tenant, so two policies can never claim the same level),
``businesscalendar-<tenant>:<id>`` and ``servicecontract-<tenant>:<customer id>`` (one contract at a
time per customer). Levels and calendar ids are the tenant's own, so their streams carry the
tenant (percent-encoded; see :mod:`crm.service_desk.domain.tenancy`); the events name the
level and calendar id alone.

Personal data in a ticket (its description, comment bodies, the satisfaction comment, the
follow-up note) belongs to the *customer*, not to the ticket: those events name
``customer_id`` and seal their personal fields with the customer's key, so erasing the
customer erases them in every ticket without rewriting a single event.

Every time-based fact (opened, resolved, due times) is a field taken from the command, so
SLA reports never depend on when an event was recorded.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from crm.events.base import DomainEvent, OptionalPersonal, Personal
from crm.events.customer import CustomValue
from crm.events.registry import event, upcaster

Minutes = Annotated[int, Field(gt=0, description="business minutes")]
Tier = Annotated[int, Field(ge=1, le=3)]
Score = Annotated[int, Field(ge=1, le=5)]


def _customer_subject(customer_id: str) -> str:
    """The customer's key subject: the customer context's stream id."""
    return f"customer-{customer_id}"


class TicketKind(StrEnum):
    SERVICE_REQUEST = "service_request"
    COMPLAINT = "complaint"
    INQUIRY = "inquiry"


class TicketChannel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    VISIT = "visit"


class TicketPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class SlaTarget(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class ContractLevel(StrEnum):
    BASIC = "basic"
    STANDARD = "standard"
    PREMIUM = "premium"


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- calendars -----------------------------------------------------------------------------------


class WorkingHours(_Value):
    """One working interval of a weekday, in the calendar's local time. A day may have several
    (a lunch break splits it in two). ``end`` 00:00 means midnight at the end of the day."""

    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: time
    end: time


@event("service_desk.calendar.defined")
class CalendarDefined(DomainEvent):
    """When the desk works: SLA targets count only these minutes. A calendar is defined once;
    a policy revised to name another calendar changes the hours of new tickets."""

    name: str
    time_zone: str
    """An IANA zone (``Europe/Berlin``): working hours are wall-clock times there, so a
    target spanning a daylight-saving change still counts the real minutes worked."""
    hours: tuple[WorkingHours, ...]
    holidays: tuple[date, ...] = ()


@event("service_desk.calendar.retired")
class CalendarRetired(DomainEvent):
    """The calendar is no longer offered to policies (none named it when it was retired).
    Tickets opened with it keep counting in it; its id is not defined again."""


# -- SLA policies --------------------------------------------------------------------------------


class PriorityTargets(_Value):
    priority: TicketPriority
    first_response_minutes: Minutes
    resolution_minutes: Minutes


class _PolicyTerms(DomainEvent):
    name: str
    level: ContractLevel | None
    """The contract level the policy serves; None: the default policy, for customers
    without a contract (or whose level has no policy of its own)."""
    targets: tuple[PriorityTargets, ...]
    """One entry per priority, all four present."""
    calendar_id: str
    follow_up_days: int = Field(default=3, ge=1)
    """A resolved complaint must be followed up within this many (calendar) days."""
    follow_up_escalation_days: int = Field(default=2, ge=0)
    """A follow-up overdue by more than this many days is escalated."""


@event("service_desk.sla_policy.defined")
class SlaPolicyDefined(_PolicyTerms):
    pass


@event("service_desk.sla_policy.revised")
class SlaPolicyRevised(_PolicyTerms):
    """The whole policy after the change. Tickets keep the targets they were opened with; the
    revision applies to tickets opened from now on."""

    revision: int = Field(ge=2)


@event("service_desk.sla_policy.retired")
class SlaPolicyRetired(DomainEvent):
    """The policy no longer applies to new tickets (they get the default policy, else the
    built-in one). Tickets opened under it keep its targets. Defining the level's policy
    again starts it anew."""


# -- service contracts ---------------------------------------------------------------------------


@event("service_desk.contract.signed")
class ContractSigned(DomainEvent):
    customer_id: str
    level: ContractLevel
    starts_on: date
    ends_on: date | None = None
    """None: open-ended."""


@event("service_desk.contract.changed")
class ContractChanged(DomainEvent):
    customer_id: str
    level: ContractLevel
    previous_level: ContractLevel


@event("service_desk.contract.ended")
class ContractEnded(DomainEvent):
    customer_id: str
    ended_on: date
    reason: str | None = None


# -- tickets -------------------------------------------------------------------------------------


class AppliedSla(_Value):
    """The targets a ticket was opened with, frozen into the ticket: a later policy revision
    never moves the due times of tickets already open."""

    policy_id: str
    policy_name: str
    level: ContractLevel | None
    calendar_id: str
    first_response_minutes: Minutes
    resolution_minutes: Minutes
    first_response_due: datetime
    resolution_due: datetime
    follow_up_days: int = Field(ge=1)
    follow_up_escalation_days: int = Field(ge=0)


@event("service_desk.ticket.opened", version=1)
class TicketOpenedV1(DomainEvent):
    """Without custom fields; read as v2 through the upcaster below (none given)."""

    customer_id: str
    kind: TicketKind
    channel: TicketChannel
    priority: TicketPriority
    subject: str
    description: Personal
    """What the customer told us; may contain personal data (sealed with the customer's key)."""
    opened_at: datetime
    sla: AppliedSla

    def data_subject(self, stream_id: str) -> str:
        return _customer_subject(self.customer_id)


@event("service_desk.ticket.opened", version=2)
class TicketOpened(DomainEvent):
    customer_id: str
    kind: TicketKind
    channel: TicketChannel
    priority: TicketPriority
    subject: str
    description: Personal
    """What the customer told us; may contain personal data (sealed with the customer's key)."""
    opened_at: datetime
    sla: AppliedSla
    custom: dict[str, CustomValue] = Field(default_factory=dict)
    """The tenant's custom fields of tickets that are not personal data, by key."""
    custom_personal: OptionalPersonal = None
    """The personal ones: one JSON object by key, sealed with the customer's key."""

    def data_subject(self, stream_id: str) -> str:
        return _customer_subject(self.customer_id)


@upcaster("service_desk.ticket.opened", from_version=1)
def _opened_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # no custom fields


@event("service_desk.ticket.custom_fields_changed")
class TicketCustomFieldsChanged(DomainEvent):
    """The ticket's custom values edited: all of them as they now are (a field not named is
    empty), so no reader needs an earlier event to know them."""

    customer_id: str
    """The ticket's customer, whose key seals ``custom_personal``."""
    custom: dict[str, CustomValue] = Field(default_factory=dict)
    custom_personal: OptionalPersonal = None
    changed: tuple[str, ...] = ()
    """The keys whose value changed (set, changed or cleared)."""

    def data_subject(self, stream_id: str) -> str:
        return _customer_subject(self.customer_id)


@event("service_desk.ticket.assigned")
class TicketAssigned(DomainEvent):
    """The first assignment of a new ticket: to an agent, a group, or an agent of a group."""

    agent_id: str | None = None
    group_id: str | None = None


@event("service_desk.ticket.reassigned")
class TicketReassigned(DomainEvent):
    agent_id: str | None = None
    group_id: str | None = None
    previous_agent_id: str | None = None
    previous_group_id: str | None = None
    reason: str | None = None


@event("service_desk.ticket.escalated")
class TicketEscalated(DomainEvent):
    """Either up one support tier (``to_manager`` False, ``tier`` the new tier) or to a manager
    (``to_manager`` True, ``tier`` unchanged)."""

    tier: Tier
    previous_tier: Tier
    to_manager: bool = False
    manager_id: str | None = None
    reason: str


@event("service_desk.ticket.commented")
class TicketCommented(DomainEvent):
    customer_id: str
    comment_id: str
    author_id: str
    from_customer: bool = False
    public: bool
    """True: visible to the customer; False: an internal note between agents."""
    body: Personal
    commented_at: datetime
    first_response: bool = False
    """The first public reply of an agent: it meets the first-response target."""

    def data_subject(self, stream_id: str) -> str:
        return _customer_subject(self.customer_id)


@event("service_desk.ticket.kb_article_linked")
class KbArticleLinked(DomainEvent):
    article_id: str


@event("service_desk.ticket.resolved")
class TicketResolved(DomainEvent):
    resolution: str
    resolved_at: datetime
    kb_article_id: str | None = None
    """The knowledge-base article that solved it: counts as one resolution by that article."""
    follow_up_due_at: datetime | None = None
    """For a complaint, by when the customer must be followed up."""


@event("service_desk.ticket.reopened")
class TicketReopened(DomainEvent):
    reason: str
    reopened_at: datetime
    resolution_due: datetime
    """A reopen starts a new resolution target, counted from the reopen."""
    cycle: int = Field(ge=1)
    """Which resolution target this is: 0 the first, n after the n-th reopen."""
    for_review: bool = False
    """Reopened because the customer gave a low satisfaction score."""


@event("service_desk.ticket.closed")
class TicketClosed(DomainEvent):
    closed_at: datetime


@event("service_desk.ticket.sla_warning")
class SlaWarning(DomainEvent):
    target: SlaTarget
    due_at: datetime
    cycle: int = Field(default=0, ge=0)
    """0 for the first response; the resolution cycle for a resolution target."""
    warned_at: datetime


@event("service_desk.ticket.sla_breached")
class SlaBreached(DomainEvent):
    target: SlaTarget
    due_at: datetime
    cycle: int = Field(default=0, ge=0)
    detected_at: datetime


@event("service_desk.ticket.satisfaction_recorded")
class SatisfactionRecorded(DomainEvent):
    customer_id: str
    score: Score
    comment: OptionalPersonal = None
    recorded_at: datetime

    def data_subject(self, stream_id: str) -> str:
        return _customer_subject(self.customer_id)


@event("service_desk.ticket.follow_up_due")
class FollowUpDue(DomainEvent):
    """The reminder: a resolved complaint's follow-up is due and not yet recorded."""

    due_at: datetime
    reminded_at: datetime


@event("service_desk.ticket.follow_up_recorded")
class FollowUpRecorded(DomainEvent):
    customer_id: str
    agent_id: str
    note: Personal
    recorded_at: datetime

    def data_subject(self, stream_id: str) -> str:
        return _customer_subject(self.customer_id)


@event("service_desk.ticket.follow_up_overdue_escalated")
class FollowUpOverdueEscalated(DomainEvent):
    due_at: datetime
    escalated_at: datetime
