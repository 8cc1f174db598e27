"""The work reports' read model (日报 / 周报 / 月报), projection ``activities_work_days``:

``activities_work_days`` (one document per tenant, user and UTC day, id
``<tenant>:<user>:<YYYY-MM-DD>``)
    what the user did that day, counted from the events of every context: interactions
    logged per channel, tasks done and overdue, leads created and qualified, opportunities
    advanced (a forward stage change), won and lost, quotes sent, orders placed, payments
    recorded (their number and their sum per currency, decimal strings) and tickets resolved.
    ``slots`` holds the same figures per quarter of an hour (UTC, ``"HH:MM"``, only those with
    work): every time zone's offset is a whole number of quarters, so a report summed in the
    reader's zone puts each piece of work on the day it was there
    (:meth:`WorkReportQueries.report`).
``activities_work_users`` (one per tenant and user, id ``<tenant>:<user>``)
    the user's team as the latest event that carries their token's team says (a lead, a
    quote, an order placed directly, an opportunity opened or a task planned by them); absent
    for a user none of whose events carries one.
``activities_work_reports`` (one per tenant, user and period, id ``<tenant>:<user>:<key>``)
    the user's own summary and plan for the period, with their manager's comments.

Whose work an event is: its actor (``envelope.actor``), on the UTC day of its
``occurred_at``. The platform's own processes (actors ``process:...``) are nobody's work,
with two exceptions that name a person: a task noticed overdue counts for its assignee, and a
completed call, e-mail, meeting, visit or chat task counts as that interaction for whoever
completed it (the customer context logs it under its own process, which is skipped, so it is
counted once). An interaction counts on the day it took place (its own ``occurred_at``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, cast

from pydantic import Field
from typing_extensions import TypedDict

from crm.activities.domain.work_reports import period_key
from crm.activities.projections.task_models import instant
from crm.events import DomainEvent, EventEnvelope
from crm.events.activities import (
    TaskCompleted,
    TaskOverdue,
    TaskScheduled,
    WorkPeriod,
    WorkReportCommented,
    WorkReportSubmitted,
)
from crm.events.customer import InteractionLogged
from crm.events.money import Money
from crm.events.sales import (
    LeadCaptured,
    LeadQualified,
    OpportunityLost,
    OpportunityOpened,
    OpportunityStageChanged,
    OpportunityWon,
    StageDirection,
)
from crm.events.sales_orders import OrderPlaced, PaymentRecorded, QuoteDrafted, QuoteSent
from crm.events.service_desk import TicketResolved
from crm.kernel.handlers import DocKey
from crm.kernel.read_store import CollectionSpec, Document, Index

WORK_DAYS = "activities_work_days"
WORK_USERS = "activities_work_users"
WORK_REPORTS = "activities_work_reports"
PROCESS = "process:"

COUNTERS = (
    "tasks_done",
    "tasks_overdue",
    "leads_created",
    "leads_qualified",
    "opportunities_advanced",
    "opportunities_won",
    "opportunities_lost",
    "quotes_sent",
    "orders_placed",
    "payments_recorded",
    "tickets_resolved",
)
"""The plain counters of a day, in the order the report shows them."""


class WorkDayDoc(TypedDict):
    id: str
    tenant: Annotated[str, Field(exclude=True)]
    user_id: str
    day: str
    week: str
    month: str
    interactions: dict[str, int]
    """Per channel: ``call``, ``email``, ``meeting``, ``visit``, ``chat``."""
    tasks_done: int
    tasks_overdue: int
    leads_created: int
    leads_qualified: int
    opportunities_advanced: int
    opportunities_won: int
    opportunities_lost: int
    quotes_sent: int
    orders_placed: int
    payments_recorded: int
    payments_amount: dict[str, str]
    """Per currency, a decimal string."""
    tickets_resolved: int
    slots: dict[str, dict[str, Any]]
    """Per UTC quarter of an hour (``"09:15"``) with work: its figures as above, only the
    non-zero ones (``interactions`` and ``payments_amount`` as mappings)."""


class WorkUserDoc(TypedDict):
    id: str
    tenant: str
    user_id: str
    team_id: str | None


class WorkCommentDoc(TypedDict):
    by: str
    comment: str
    at: str
    on_revision: int


class WorkReportDoc(TypedDict):
    id: str
    tenant: str
    user_id: str
    period: str
    key: str
    summary: str
    plan: str
    revision: int
    submitted_at: str
    comments: list[WorkCommentDoc]


def _day(value: datetime) -> date:
    return value.astimezone(UTC).date()


def worked_at(event: DomainEvent, envelope: EventEnvelope) -> datetime:
    """When the work was done: an interaction when it took place, the rest when recorded as
    happening."""
    return event.occurred_at if isinstance(event, InteractionLogged) else envelope.occurred_at


def slot_of(moment: datetime) -> str:
    """The UTC quarter of an hour ``moment`` falls in: ``"09:15"``."""
    utc = moment.astimezone(UTC)
    return f"{utc.hour:02d}:{utc.minute // 15 * 15:02d}"


def worker(event: DomainEvent, envelope: EventEnvelope) -> tuple[str, date] | None:
    """Whose work ``event`` is and on which day (None: nobody's, or not counted)."""
    person = not envelope.actor.startswith(PROCESS)
    at = _day(worked_at(event, envelope))
    match event:
        case TaskOverdue():
            return (event.assignee_id, at) if event.assignee_id else None
        case TaskCompleted():
            by = event.completed_by
            return None if by.startswith(PROCESS) else (by, at)
        case InteractionLogged():
            return (envelope.actor, at) if person else None
        case (
            LeadCaptured()
            | LeadQualified()
            | OpportunityStageChanged()
            | OpportunityWon()
            | OpportunityLost()
            | QuoteSent()
            | OrderPlaced()
            | PaymentRecorded()
            | TicketResolved()
        ):
            return (envelope.actor, at) if person else None
    return None


def team_of_actor(event: DomainEvent) -> tuple[bool, str | None]:
    """Whether ``event`` carries its actor's token team, and that team."""
    match event:
        case LeadCaptured() | QuoteDrafted() | OpportunityOpened():
            return True, event.team_id
        case OrderPlaced():
            return event.quote_id is None, event.team_id  # from a quote: the quote's team
        case TaskScheduled():
            return event.origin is None, event.team_id  # planned by a person: their team
    return False, None


def _new_day(key: DocKey, envelope: EventEnvelope) -> WorkDayDoc:
    user, _, day_text = key[1].partition(":")[2].rpartition(":")
    day = date.fromisoformat(day_text)
    return WorkDayDoc(
        id=key[1],
        tenant=envelope.tenant,
        user_id=user,
        day=day_text,
        week=period_key(WorkPeriod.WEEK, day),
        month=period_key(WorkPeriod.MONTH, day),
        interactions={},
        tasks_done=0,
        tasks_overdue=0,
        leads_created=0,
        leads_qualified=0,
        opportunities_advanced=0,
        opportunities_won=0,
        opportunities_lost=0,
        quotes_sent=0,
        orders_placed=0,
        payments_recorded=0,
        payments_amount={},
        tickets_resolved=0,
        slots={},
    )


def _paid(totals: dict[str, str], money: Money) -> dict[str, str]:
    new = dict(totals)
    new[money.currency] = format(Decimal(new.get(money.currency, "0")) + money.amount, "f")
    return new


def counted(event: DomainEvent) -> tuple[dict[str, int], str | None, Money | None]:
    """What ``event`` adds to its day: counters, an interaction's channel, a payment."""
    match event:
        case InteractionLogged():
            return {}, event.channel.value, None
        case TaskCompleted():
            logged = event.channel is not None and event.customer_id is not None
            channel = event.channel.value if logged and event.channel is not None else None
            return {"tasks_done": 1}, channel, None
        case TaskOverdue():
            return {"tasks_overdue": 1}, None, None
        case LeadCaptured():
            return {"leads_created": 1}, None, None
        case LeadQualified():
            return {"leads_qualified": 1}, None, None
        case OpportunityStageChanged():
            forward = event.direction is StageDirection.FORWARD
            return ({"opportunities_advanced": 1} if forward else {}), None, None
        case OpportunityWon():
            return {"opportunities_won": 1}, None, None
        case OpportunityLost():
            return {"opportunities_lost": 1}, None, None
        case QuoteSent():
            return {"quotes_sent": 1}, None, None
        case OrderPlaced():
            return {"orders_placed": 1}, None, None
        case PaymentRecorded():
            return {"payments_recorded": 1}, None, event.amount
        case TicketResolved():
            return {"tickets_resolved": 1}, None, None
    return {}, None, None


def _added(figures: dict[str, Any], event: DomainEvent) -> dict[str, Any]:
    """``figures`` (a day's or a slot's) with ``event``'s work added (a new mapping)."""
    counters, channel, paid = counted(event)
    new = dict(figures)
    for name, n in counters.items():
        new[name] = new.get(name, 0) + n
    if channel is not None:
        interactions = dict(new.get("interactions") or {})
        interactions[channel] = interactions.get(channel, 0) + 1
        new["interactions"] = interactions
    if paid is not None:
        new["payments_amount"] = _paid(new.get("payments_amount") or {}, paid)
    return new


def _counted(
    doc: WorkDayDoc | None, key: DocKey, event: DomainEvent, env: EventEnvelope
) -> WorkDayDoc:
    day = _new_day(key, env) if doc is None else doc
    new = cast(WorkDayDoc, _added(cast(dict[str, Any], day), event))
    if new == day:
        return new
    slot = slot_of(worked_at(event, env))
    slots = dict(day.get("slots") or {})
    slots[slot] = _added(slots.get(slot, {}), event)
    new["slots"] = slots
    return new


def _user(
    doc: WorkUserDoc | None, key: DocKey, event: DomainEvent, env: EventEnvelope
) -> WorkUserDoc:
    user = key[1].partition(":")[2]
    new = WorkUserDoc(id=key[1], tenant=env.tenant, user_id=user, team_id=None)
    if doc is not None:
        new = doc.copy()
    carries, team = team_of_actor(event)
    if carries and team is not None and user == env.actor:
        new["team_id"] = team
    return new


def _report(
    doc: WorkReportDoc | None, key: DocKey, event: DomainEvent, env: EventEnvelope
) -> WorkReportDoc | None:
    match event:
        case WorkReportSubmitted():
            return WorkReportDoc(
                id=key[1],
                tenant=env.tenant,
                user_id=event.user_id,
                period=event.period.value,
                key=event.key,
                summary=event.summary,
                plan=event.plan,
                revision=event.revision,
                submitted_at=instant(event.submitted_at),
                comments=[] if doc is None else doc["comments"],
            )
        case WorkReportCommented() if doc is not None:
            comment = WorkCommentDoc(
                by=event.commented_by,
                comment=event.comment,
                at=instant(event.commented_at),
                on_revision=event.on_revision,
            )
            return {**doc, "comments": [*doc["comments"], comment]}
    return doc


def day_id(tenant: str, user: str, day: str) -> str:
    return f"{tenant}:{user}:{day}"


def user_id_key(tenant: str, user: str) -> str:
    return f"{tenant}:{user}"


COUNTED = (
    InteractionLogged,
    TaskCompleted,
    TaskOverdue,
    LeadCaptured,
    LeadQualified,
    OpportunityStageChanged,
    OpportunityWon,
    OpportunityLost,
    QuoteSent,
    OrderPlaced,
    PaymentRecorded,
    TicketResolved,
)
TEAMS = (LeadCaptured, QuoteDrafted, OpportunityOpened, OrderPlaced, TaskScheduled)
REPORTS = (WorkReportSubmitted, WorkReportCommented)


class WorkDaysProjection:
    name = WORK_DAYS
    version = 2
    """2: each day's figures per UTC quarter of an hour (``slots``)."""
    collections = (
        CollectionSpec(WORK_DAYS, (Index(("tenant", "user_id", "day")), Index(("tenant", "day")))),
        CollectionSpec(WORK_USERS, (Index(("tenant", "team_id")),)),
        CollectionSpec(WORK_REPORTS, (Index(("tenant", "user_id", "key")),)),
    )
    event_types = frozenset(e.event_type for e in (*COUNTED, *TEAMS, *REPORTS))
    categories = frozenset(
        {"customer", "task", "lead", "opportunity", "quote", "order", "invoice", "ticket"}
        | {"workreport"}
    )

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        tenant = envelope.tenant
        if isinstance(event, WorkReportSubmitted | WorkReportCommented):
            keys: list[DocKey] = [(WORK_REPORTS, day_id(tenant, event.user_id, event.key))]
            if isinstance(event, WorkReportSubmitted):
                keys.append((WORK_USERS, user_id_key(tenant, event.user_id)))
            return keys
        keys = []
        who = worker(event, envelope)
        if who is not None:
            keys.append((WORK_DAYS, day_id(tenant, who[0], who[1].isoformat())))
            keys.append((WORK_USERS, user_id_key(tenant, who[0])))
        carries, team = team_of_actor(event)
        actor_key = (WORK_USERS, user_id_key(tenant, envelope.actor))
        if carries and team is not None and actor_key not in keys:
            keys.append(actor_key)
        return keys

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if key[0] == WORK_DAYS:
            return cast(Document, _counted(cast(WorkDayDoc | None, doc), key, event, envelope))
        if key[0] == WORK_USERS:
            return cast(Document, _user(cast(WorkUserDoc | None, doc), key, event, envelope))
        return cast(Document | None, _report(cast(WorkReportDoc | None, doc), key, event, envelope))


WORK_DAYS_PROJECTION = WorkDaysProjection()
