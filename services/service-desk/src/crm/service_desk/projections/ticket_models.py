"""Read models of the ticket half of the desk: tickets, SLA policies, business calendars and
service contracts.

One projection, ``service_desk_tickets`` (the kernel's :class:`~crm.kernel.handlers.ByCategory`),
feeds the four collections, so a command on any of these streams answers with a position
every read of this half can wait for. Each collection's document is a typed shape
(:class:`TicketDoc`, :class:`SlaPolicyDoc`, :class:`CalendarDoc`, :class:`ContractDoc`): its
model writes it, and the routes answer it as it is (``tenant`` is never shown).

Instants are stored as UTC ISO strings of fixed width (microseconds always written), so a
string comparison is a time comparison: the scheduler asks for ``sla_breach_check_at <=
now`` and a sort by due time is right on every read store.

A ticket document keeps its SLA targets (``sla_targets``: target, cycle, due, met, warned,
breached) and three fields derived from them for the scheduler, each None when there is
nothing to look at, each indexed:

- ``sla_warn_check_at``: the earliest due time of a target still unmet, unwarned and
  unbreached (the scheduler looks from ``due - warn_before``);
- ``sla_breach_check_at``: the earliest due time of a target not reported breached that is
  unmet or was met late (a late answer never checked in between is still a breach);
- ``follow_up_check_at``: for a resolved complaint whose follow-up is not recorded, when the
  reminder falls due (not yet sent) or else when the escalation does (not yet sent).

So a ticket is looked at only when the domain may record something, not on every tick.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, NotRequired, TypeVar

from pydantic import Field
from typing_extensions import TypedDict

from crm.events import EventEnvelope
from crm.events.service_desk import (
    CalendarDefined,
    CalendarRetired,
    ContractChanged,
    ContractEnded,
    ContractSigned,
    FollowUpDue,
    FollowUpOverdueEscalated,
    FollowUpRecorded,
    KbArticleLinked,
    SatisfactionRecorded,
    SlaBreached,
    SlaPolicyDefined,
    SlaPolicyRetired,
    SlaPolicyRevised,
    SlaTarget,
    SlaWarning,
    TicketAssigned,
    TicketClosed,
    TicketCommented,
    TicketCustomFieldsChanged,
    TicketEscalated,
    TicketKind,
    TicketOpened,
    TicketPriority,
    TicketReassigned,
    TicketReopened,
    TicketResolved,
)
from crm.kernel.custom_fields import doc_fields
from crm.kernel.handlers import ByCategory, DocKey, Handlers
from crm.kernel.projection import Projection
from crm.kernel.read_store import CollectionSpec, Index
from crm.service_desk.domain.tenancy import local_id

TICKETS = "service_desk_tickets"
SLA_POLICIES = "service_desk_sla_policies"
CALENDARS = "service_desk_calendars"
CONTRACTS = "service_desk_contracts"

PRIORITY_RANK = {
    TicketPriority.URGENT: 4,
    TicketPriority.HIGH: 3,
    TicketPriority.NORMAL: 2,
    TicketPriority.LOW: 1,
}
"""Sorting by ``priority_rank`` descending puts the urgent tickets first."""

TICKET_PERSONAL_FIELDS = (
    "description",
    "comments.body",
    "satisfaction.comment",
    "follow_up.note",
)
"""The customer's personal data in a ticket document (see ``policy.TICKET_PERSONAL``)."""

Tenant = Annotated[str, Field(exclude=True)]
"""Every document's tenant: for the queries' filters, never shown."""


def instant(value: datetime) -> str:
    """A fixed-width UTC ISO string: ordered as strings exactly as the instants are."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


D = TypeVar("D")


def _existing(doc: D | None, key: DocKey, envelope: EventEnvelope) -> D:
    if doc is None:
        raise LookupError(f"{envelope.event_type} for {key[1]}, which was never created")
    return doc


# -- tickets -------------------------------------------------------------------------------------


class Escalation(TypedDict):
    tier: int
    previous_tier: int
    to_manager: bool
    manager_id: str | None
    reason: str
    escalated_at: str
    escalated_by: str


class Comment(TypedDict):
    comment_id: str
    author_id: str
    from_customer: bool
    public: bool
    body: str
    commented_at: str
    first_response: bool


class Reopening(TypedDict):
    cycle: int
    reason: str
    for_review: bool
    reopened_at: str


class AppliedSlaDoc(TypedDict):
    """The targets the ticket was opened with (:class:`~crm.events.service_desk.AppliedSla`)."""

    policy_id: str
    policy_name: str
    level: str | None
    calendar_id: str
    first_response_minutes: int
    resolution_minutes: int
    first_response_due: str
    resolution_due: str
    follow_up_days: int
    follow_up_escalation_days: int


class SlaTargetDoc(TypedDict):
    target: str
    cycle: int
    due_at: str
    met_at: str | None
    warned_at: str | None
    breached_at: str | None


class SatisfactionDoc(TypedDict):
    score: int
    comment: str | None
    recorded_at: str


class FollowUpDoc(TypedDict):
    due_at: str
    escalate_after: str
    reminded_at: str | None
    escalated_at: str | None
    recorded_at: str | None
    agent_id: str | None
    note: str | None


class TicketDoc(TypedDict):
    """A ticket; ``sla_warn_check_at``, ``sla_breach_check_at`` and ``follow_up_check_at``
    are the scheduler's (see the module's docstring)."""

    id: str
    tenant: Tenant
    customer_id: str
    kind: str
    channel: str
    priority: str
    priority_rank: int
    subject: str
    description: str
    status: str
    agent_id: str | None
    group_id: str | None
    tier: int
    escalated_to_manager: bool
    escalations: list[Escalation]
    comments: list[Comment]
    kb_article_ids: list[str]
    resolution: str | None
    resolved_at: str | None
    resolved_with_article_id: str | None
    closed_at: str | None
    cycle: int
    reopens: list[Reopening]
    sla: AppliedSlaDoc
    first_response_at: str | None
    sla_targets: list[SlaTargetDoc]
    satisfaction: SatisfactionDoc | None
    follow_up: FollowUpDoc | None
    opened_at: str
    opened_by: str
    sla_warn_check_at: str | None
    sla_breach_check_at: str | None
    breached: bool
    follow_up_check_at: str | None
    updated_at: str
    version: int
    custom: NotRequired[dict[str, Any]]
    """The tenant's custom fields of tickets by key (canonical values)."""
    custom_personal_keys: NotRequired[Annotated[list[str], Field(exclude=True)]]
    custom_sort: NotRequired[Annotated[dict[str, float], Field(exclude=True)]]


tickets: Handlers[TicketDoc] = Handlers()


def _target(target: SlaTarget, cycle: int, due: datetime) -> SlaTargetDoc:
    return SlaTargetDoc(
        target=target.value,
        cycle=cycle,
        due_at=instant(due),
        met_at=None,
        warned_at=None,
        breached_at=None,
    )


def _set_target(
    doc: TicketDoc,
    target: SlaTarget,
    cycle: int | None,
    field: Literal["met_at", "warned_at", "breached_at"],
    value: str,
) -> list[SlaTargetDoc]:
    """``sla_targets`` with ``field`` set on the target (``cycle`` None: the current one)."""
    if cycle is None:
        cycle = doc["cycle"] if target is SlaTarget.RESOLUTION else 0
    targets = []
    for t in doc["sla_targets"]:
        t = t.copy()
        if t["target"] == target.value and t["cycle"] == cycle:
            t[field] = value
        targets.append(t)
    return targets


def _schedule(doc: TicketDoc) -> TicketDoc:
    """The scheduler's fields, from the targets and the follow-up (see the module doc)."""
    warn: list[str] = []
    breach: list[str] = []
    for t in doc["sla_targets"]:
        if t["breached_at"] is not None:
            continue
        if t["met_at"] is None:
            breach.append(t["due_at"])
            if t["warned_at"] is None:
                warn.append(t["due_at"])
        elif t["met_at"] > t["due_at"]:
            breach.append(t["due_at"])
    doc["sla_warn_check_at"] = min(warn, default=None)
    doc["sla_breach_check_at"] = min(breach, default=None)
    doc["breached"] = any(t["breached_at"] is not None for t in doc["sla_targets"])
    follow = doc["follow_up"]
    check = None
    if follow is not None and follow["recorded_at"] is None:
        if follow["reminded_at"] is None:
            check = follow["due_at"]
        elif follow["escalated_at"] is None:
            check = follow["escalate_after"]
    doc["follow_up_check_at"] = check
    return doc


def _ticket(doc: TicketDoc, envelope: EventEnvelope) -> TicketDoc:
    """Every ticket handler's last step: the scheduler's fields, the time and the version."""
    doc = _schedule(doc)
    doc["updated_at"] = instant(envelope.occurred_at)
    doc["version"] = envelope.stream_version
    return doc


def _changed(doc: TicketDoc | None, key: DocKey, envelope: EventEnvelope) -> TicketDoc:
    return _existing(doc, key, envelope).copy()


@tickets(TicketOpened)
def opened(
    key: DocKey, doc: TicketDoc | None, event: TicketOpened, envelope: EventEnvelope
) -> TicketDoc:
    sla = event.sla
    new = TicketDoc(
        id=key[1],
        tenant=envelope.tenant,
        customer_id=event.customer_id,
        kind=event.kind.value,
        channel=event.channel.value,
        priority=event.priority.value,
        priority_rank=PRIORITY_RANK[event.priority],
        subject=event.subject,
        description=event.description,
        status="new",
        agent_id=None,
        group_id=None,
        tier=1,
        escalated_to_manager=False,
        escalations=[],
        comments=[],
        kb_article_ids=[],
        resolution=None,
        resolved_at=None,
        resolved_with_article_id=None,
        closed_at=None,
        cycle=0,
        reopens=[],
        sla=AppliedSlaDoc(
            policy_id=sla.policy_id,
            policy_name=sla.policy_name,
            level=sla.level.value if sla.level else None,
            calendar_id=sla.calendar_id,
            first_response_minutes=sla.first_response_minutes,
            resolution_minutes=sla.resolution_minutes,
            follow_up_days=sla.follow_up_days,
            follow_up_escalation_days=sla.follow_up_escalation_days,
            first_response_due=instant(sla.first_response_due),
            resolution_due=instant(sla.resolution_due),
        ),
        first_response_at=None,
        sla_targets=[
            _target(SlaTarget.FIRST_RESPONSE, 0, sla.first_response_due),
            _target(SlaTarget.RESOLUTION, 0, sla.resolution_due),
        ],
        satisfaction=None,
        follow_up=None,
        opened_at=instant(event.opened_at),
        opened_by=envelope.actor,
        sla_warn_check_at=None,
        sla_breach_check_at=None,
        breached=False,
        follow_up_check_at=None,
        updated_at="",
        version=0,
    )
    new.update(doc_fields(event.custom, event.custom_personal))  # type: ignore[typeddict-item]
    return _ticket(new, envelope)


@tickets(TicketCustomFieldsChanged)
def custom_fields_changed(
    key: DocKey, doc: TicketDoc | None, event: TicketCustomFieldsChanged, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    new.update(doc_fields(event.custom, event.custom_personal))  # type: ignore[typeddict-item]
    return _ticket(new, envelope)


@tickets(TicketAssigned, TicketReassigned)
def assigned(
    key: DocKey,
    doc: TicketDoc | None,
    event: TicketAssigned | TicketReassigned,
    envelope: EventEnvelope,
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    new["agent_id"], new["group_id"] = event.agent_id, event.group_id
    if new["status"] == "new":
        new["status"] = "assigned"
    return _ticket(new, envelope)


@tickets(TicketEscalated)
def escalated(
    key: DocKey, doc: TicketDoc | None, event: TicketEscalated, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    new["tier"] = event.tier
    new["escalated_to_manager"] = new["escalated_to_manager"] or event.to_manager
    new["escalations"] = [
        *new["escalations"],
        Escalation(
            tier=event.tier,
            previous_tier=event.previous_tier,
            to_manager=event.to_manager,
            manager_id=event.manager_id,
            reason=event.reason,
            escalated_at=instant(envelope.occurred_at),
            escalated_by=envelope.actor,
        ),
    ]
    return _ticket(new, envelope)


@tickets(TicketCommented)
def commented(
    key: DocKey, doc: TicketDoc | None, event: TicketCommented, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    new["comments"] = [
        *new["comments"],
        Comment(
            comment_id=event.comment_id,
            author_id=event.author_id,
            from_customer=event.from_customer,
            public=event.public,
            body=event.body,
            commented_at=instant(event.commented_at),
            first_response=event.first_response,
        ),
    ]
    if not event.from_customer:
        if event.first_response:
            met = instant(event.commented_at)
            new["first_response_at"] = met
            new["sla_targets"] = _set_target(new, SlaTarget.FIRST_RESPONSE, 0, "met_at", met)
        if new["status"] == "assigned":
            new["status"] = "in_progress"
    return _ticket(new, envelope)


@tickets(KbArticleLinked)
def article_linked(
    key: DocKey, doc: TicketDoc | None, event: KbArticleLinked, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    if event.article_id not in new["kb_article_ids"]:
        new["kb_article_ids"] = [*new["kb_article_ids"], event.article_id]
    return _ticket(new, envelope)


@tickets(TicketResolved)
def resolved(
    key: DocKey, doc: TicketDoc | None, event: TicketResolved, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    met = instant(event.resolved_at)
    articles = new["kb_article_ids"]
    if event.kb_article_id is not None and event.kb_article_id not in articles:
        articles = [*articles, event.kb_article_id]
    new["status"] = "resolved"
    new["resolution"] = event.resolution
    new["resolved_at"] = met
    new["resolved_with_article_id"] = event.kb_article_id
    new["kb_article_ids"] = articles
    new["sla_targets"] = _set_target(new, SlaTarget.RESOLUTION, None, "met_at", met)
    if new["first_response_at"] is None:  # resolving answers the customer
        new["first_response_at"] = met
        new["sla_targets"] = _set_target(new, SlaTarget.FIRST_RESPONSE, 0, "met_at", met)
    follow = None
    if event.follow_up_due_at is not None and new["kind"] == TicketKind.COMPLAINT.value:
        escalate = event.follow_up_due_at + timedelta(days=new["sla"]["follow_up_escalation_days"])
        follow = FollowUpDoc(
            due_at=instant(event.follow_up_due_at),
            escalate_after=instant(escalate),
            reminded_at=None,
            escalated_at=None,
            recorded_at=None,
            agent_id=None,
            note=None,
        )
    new["follow_up"] = follow
    return _ticket(new, envelope)


@tickets(TicketReopened)
def reopened(
    key: DocKey, doc: TicketDoc | None, event: TicketReopened, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    new["status"] = "assigned" if new["agent_id"] or new["group_id"] else "new"
    new["cycle"] = event.cycle
    new["resolution"] = new["resolved_at"] = new["resolved_with_article_id"] = None
    new["closed_at"] = None
    new["follow_up"] = None
    new["reopens"] = [
        *new["reopens"],
        Reopening(
            cycle=event.cycle,
            reason=event.reason,
            for_review=event.for_review,
            reopened_at=instant(event.reopened_at),
        ),
    ]
    new["sla"] = {**new["sla"], "resolution_due": instant(event.resolution_due)}
    new["sla_targets"] = [
        *new["sla_targets"],
        _target(SlaTarget.RESOLUTION, event.cycle, event.resolution_due),
    ]
    return _ticket(new, envelope)


@tickets(TicketClosed)
def closed(
    key: DocKey, doc: TicketDoc | None, event: TicketClosed, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    new["status"] = "closed"
    new["closed_at"] = instant(event.closed_at)
    return _ticket(new, envelope)


@tickets(SlaWarning)
def warned(
    key: DocKey, doc: TicketDoc | None, event: SlaWarning, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    at = instant(event.warned_at)
    new["sla_targets"] = _set_target(new, event.target, event.cycle, "warned_at", at)
    return _ticket(new, envelope)


@tickets(SlaBreached)
def breached(
    key: DocKey, doc: TicketDoc | None, event: SlaBreached, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    at = instant(event.detected_at)
    new["sla_targets"] = _set_target(new, event.target, event.cycle, "breached_at", at)
    return _ticket(new, envelope)


@tickets(SatisfactionRecorded)
def rated(
    key: DocKey, doc: TicketDoc | None, event: SatisfactionRecorded, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    new["satisfaction"] = SatisfactionDoc(
        score=event.score, comment=event.comment, recorded_at=instant(event.recorded_at)
    )
    return _ticket(new, envelope)


def _follow_up(doc: TicketDoc) -> FollowUpDoc:
    follow = doc["follow_up"]
    if follow is None:
        raise LookupError(f"a follow-up step of ticket {doc['id']}, which has no follow-up")
    return follow.copy()


@tickets(FollowUpDue)
def follow_up_due(
    key: DocKey, doc: TicketDoc | None, event: FollowUpDue, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    follow = _follow_up(new)
    follow["reminded_at"] = instant(event.reminded_at)
    new["follow_up"] = follow
    return _ticket(new, envelope)


@tickets(FollowUpOverdueEscalated)
def follow_up_escalated(
    key: DocKey, doc: TicketDoc | None, event: FollowUpOverdueEscalated, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    follow = _follow_up(new)
    follow["escalated_at"] = instant(event.escalated_at)
    new["follow_up"] = follow
    return _ticket(new, envelope)


@tickets(FollowUpRecorded)
def follow_up_recorded(
    key: DocKey, doc: TicketDoc | None, event: FollowUpRecorded, envelope: EventEnvelope
) -> TicketDoc:
    new = _changed(doc, key, envelope)
    follow = _follow_up(new)
    follow["recorded_at"] = instant(event.recorded_at)
    follow["agent_id"] = event.agent_id
    follow["note"] = event.note
    new["follow_up"] = follow
    return _ticket(new, envelope)


class TicketsModel:
    collection = TICKETS
    collections = (
        CollectionSpec(
            TICKETS,
            (
                Index(("tenant", "status", "opened_at")),
                Index(("tenant", "group_id", "status")),
                Index(("tenant", "agent_id", "status")),
                Index(("tenant", "customer_id", "opened_at")),
                Index(("tenant", "breached")),
                Index(("sla_warn_check_at",)),
                Index(("sla_breach_check_at",)),
                Index(("follow_up_check_at",)),
            ),
        ),
    )
    event_types = tickets.event_types
    evolve = staticmethod(tickets.evolve)


# -- SLA policies, calendars, contracts -----------------------------------------------------------


class TargetMinutes(TypedDict):
    first_response_minutes: int
    resolution_minutes: int


class SlaPolicyDoc(TypedDict):
    """One document per policy, keyed by the policy's (tenant-qualified) aggregate id; its
    ``id`` is the tenant's own: the contract level, or ``default``."""

    id: str
    tenant: Tenant
    name: str
    level: str | None
    targets: dict[str, TargetMinutes]
    """By priority, in business minutes."""
    calendar_id: str
    follow_up_days: int
    follow_up_escalation_days: int
    revision: int
    defined_at: str
    defined_by: str
    updated_at: str
    version: int


policies: Handlers[SlaPolicyDoc] = Handlers()


@policies(SlaPolicyDefined, SlaPolicyRevised)
def policy_stated(
    key: DocKey,
    doc: SlaPolicyDoc | None,
    event: SlaPolicyDefined | SlaPolicyRevised,
    envelope: EventEnvelope,
) -> SlaPolicyDoc:
    at = instant(envelope.occurred_at)
    return SlaPolicyDoc(
        id=local_id(key[1]),
        tenant=envelope.tenant,
        name=event.name,
        level=event.level.value if event.level else None,
        targets={
            t.priority.value: TargetMinutes(
                first_response_minutes=t.first_response_minutes,
                resolution_minutes=t.resolution_minutes,
            )
            for t in event.targets
        },
        calendar_id=event.calendar_id,
        follow_up_days=event.follow_up_days,
        follow_up_escalation_days=event.follow_up_escalation_days,
        revision=event.revision if isinstance(event, SlaPolicyRevised) else 1,
        defined_at=doc["defined_at"] if doc else at,
        defined_by=doc["defined_by"] if doc else envelope.actor,
        updated_at=at,
        version=envelope.stream_version,
    )


@policies(SlaPolicyRetired)
def policy_retired(
    key: DocKey, doc: SlaPolicyDoc | None, event: SlaPolicyRetired, envelope: EventEnvelope
) -> None:
    """A retired policy is no longer listed (tickets keep its id and name in their ``sla``);
    defined again, it is listed anew."""
    return None


class SlaPoliciesModel:
    collection = SLA_POLICIES
    collections = (CollectionSpec(SLA_POLICIES, (Index(("tenant", "level")),)),)
    event_types = policies.event_types
    evolve = staticmethod(policies.evolve)


class WorkingHoursDoc(TypedDict):
    weekday: int
    """0 = Monday"""
    start: str
    end: str


class CalendarDoc(TypedDict):
    """One document per calendar, keyed by its (tenant-qualified) aggregate id; its ``id`` is
    the one the tenant chose."""

    id: str
    tenant: Tenant
    name: str
    time_zone: str
    hours: list[WorkingHoursDoc]
    holidays: list[str]
    defined_at: str
    defined_by: str
    updated_at: str
    version: int


calendars: Handlers[CalendarDoc] = Handlers()


@calendars(CalendarDefined)
def calendar_defined(
    key: DocKey, doc: CalendarDoc | None, event: CalendarDefined, envelope: EventEnvelope
) -> CalendarDoc:
    at = instant(envelope.occurred_at)
    return CalendarDoc(
        id=local_id(key[1]),
        tenant=envelope.tenant,
        name=event.name,
        time_zone=event.time_zone,
        hours=[
            WorkingHoursDoc(weekday=h.weekday, start=h.start.isoformat(), end=h.end.isoformat())
            for h in event.hours
        ],
        holidays=[d.isoformat() for d in event.holidays],
        defined_at=at,
        defined_by=envelope.actor,
        updated_at=at,
        version=envelope.stream_version,
    )


@calendars(CalendarRetired)
def calendar_retired(
    key: DocKey, doc: CalendarDoc | None, event: CalendarRetired, envelope: EventEnvelope
) -> None:
    """A retired calendar is no longer listed (tickets keep its id in their ``sla``)."""
    return None


class CalendarsModel:
    collection = CALENDARS
    collections = (CollectionSpec(CALENDARS, (Index(("tenant", "name")),)),)
    event_types = calendars.event_types
    evolve = staticmethod(calendars.evolve)


class ContractChange(TypedDict):
    event: str
    """signed, changed or ended"""
    at: str
    by: str
    level: NotRequired[str]
    previous_level: NotRequired[str]
    ended_on: NotRequired[str]


class ContractDoc(TypedDict):
    """One document per customer (a customer has one contract at a time), keyed by the
    contract's (tenant-qualified) aggregate id; its ``id`` is the tenant's customer id.
    ``active`` and ``level`` are the contract as it stands, ``history`` every change."""

    id: str
    tenant: Tenant
    customer_id: str
    level: str
    starts_on: str
    ends_on: str | None
    active: bool
    end_reason: str | None
    history: list[ContractChange]
    updated_at: str
    version: int


contracts: Handlers[ContractDoc] = Handlers()


def _contract(doc: ContractDoc, entry: ContractChange, envelope: EventEnvelope) -> ContractDoc:
    doc["history"] = [*doc["history"], entry]
    doc["updated_at"] = instant(envelope.occurred_at)
    doc["version"] = envelope.stream_version
    return doc


@contracts(ContractSigned)
def signed(
    key: DocKey, doc: ContractDoc | None, event: ContractSigned, envelope: EventEnvelope
) -> ContractDoc:
    """A first contract, or a new one after the previous ended (its history goes on)."""
    new = ContractDoc(
        id=local_id(key[1]),
        tenant=envelope.tenant,
        customer_id=event.customer_id,
        level=event.level.value,
        starts_on=event.starts_on.isoformat(),
        ends_on=event.ends_on.isoformat() if event.ends_on else None,
        active=True,
        end_reason=None,
        history=doc["history"] if doc else [],
        updated_at="",
        version=0,
    )
    entry = ContractChange(
        event="signed", level=event.level.value, at=instant(envelope.occurred_at), by=envelope.actor
    )
    return _contract(new, entry, envelope)


@contracts(ContractChanged)
def contract_changed(
    key: DocKey, doc: ContractDoc | None, event: ContractChanged, envelope: EventEnvelope
) -> ContractDoc:
    new = _existing(doc, key, envelope).copy()
    new["level"] = event.level.value
    entry = ContractChange(
        event="changed",
        level=event.level.value,
        previous_level=event.previous_level.value,
        at=instant(envelope.occurred_at),
        by=envelope.actor,
    )
    return _contract(new, entry, envelope)


@contracts(ContractEnded)
def contract_ended(
    key: DocKey, doc: ContractDoc | None, event: ContractEnded, envelope: EventEnvelope
) -> ContractDoc:
    new = _existing(doc, key, envelope).copy()
    new["active"] = False
    new["ends_on"] = event.ended_on.isoformat()
    new["end_reason"] = event.reason
    entry = ContractChange(
        event="ended",
        ended_on=event.ended_on.isoformat(),
        at=instant(envelope.occurred_at),
        by=envelope.actor,
    )
    return _contract(new, entry, envelope)


class ContractsModel:
    collection = CONTRACTS
    collections = (
        CollectionSpec(CONTRACTS, (Index(("tenant", "level")), Index(("tenant", "active")))),
    )
    event_types = contracts.event_types
    evolve = staticmethod(contracts.evolve)


PROJECTION = ByCategory(
    "service_desk_tickets",
    3,  # 2: the retired SLA policies and calendars; 3: the custom fields of tickets
    {
        "ticket": TicketsModel(),
        "slapolicy": SlaPoliciesModel(),
        "businesscalendar": CalendarsModel(),
        "servicecontract": ContractsModel(),
    },
)
"""One projection for the four collections of the ticket half."""
PROJECTION_NAME = PROJECTION.name

PROJECTIONS: tuple[Projection, ...] = (PROJECTION,)
