"""Read models of the ticket half of the desk: tickets, SLA policies, business calendars and
service contracts.

One projection, ``service_desk_tickets``, feeds the four collections, so a command on any of
these streams answers with a position every read of this half can wait for.

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

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

from crm.events import DomainEvent, EventEnvelope
from crm.events.service_desk import (
    CalendarDefined,
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
    SlaPolicyRevised,
    SlaTarget,
    SlaWarning,
    TicketAssigned,
    TicketClosed,
    TicketCommented,
    TicketEscalated,
    TicketKind,
    TicketOpened,
    TicketPriority,
    TicketReassigned,
    TicketReopened,
    TicketResolved,
)
from crm.kernel.projection import DocKey, Projection
from crm.kernel.read_store import CollectionSpec, Document, Index
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
"""The customer's personal data in a ticket document (see ``policy.redact``)."""


def instant(value: datetime) -> str:
    """A fixed-width UTC ISO string: ordered as strings exactly as the instants are."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _id_of(envelope: EventEnvelope) -> str:
    return envelope.stream_id.partition("-")[2]


def _touch(doc: Document, envelope: EventEnvelope) -> Document:
    doc["updated_at"] = instant(envelope.occurred_at)
    doc["version"] = envelope.stream_version
    return doc


def _existing(doc: Document | None, event: DomainEvent, key: DocKey) -> Document:
    if doc is None:
        raise LookupError(f"{event.event_type} for {key[1]}, which was never created")
    return dict(doc)


# -- tickets -------------------------------------------------------------------------------------


def _target(target: SlaTarget, cycle: int, due: datetime) -> dict[str, Any]:
    return {
        "target": target.value,
        "cycle": cycle,
        "due_at": instant(due),
        "met_at": None,
        "warned_at": None,
        "breached_at": None,
    }


def _update_target(
    doc: Document, target: SlaTarget, cycle: int | None, **fields: Any
) -> list[dict[str, Any]]:
    """``sla_targets`` with ``fields`` set on the target (``cycle`` None: the current one)."""
    targets = [dict(t) for t in doc["sla_targets"]]
    if cycle is None:
        cycle = doc["cycle"] if target is SlaTarget.RESOLUTION else 0
    for t in targets:
        if t["target"] == target.value and t["cycle"] == cycle:
            t.update(fields)
    return targets


def _schedule(doc: Document) -> Document:
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
    event_types = frozenset(
        e.event_type
        for e in (
            TicketOpened,
            TicketAssigned,
            TicketReassigned,
            TicketEscalated,
            TicketCommented,
            KbArticleLinked,
            TicketResolved,
            TicketReopened,
            TicketClosed,
            SlaWarning,
            SlaBreached,
            SatisfactionRecorded,
            FollowUpDue,
            FollowUpOverdueEscalated,
            FollowUpRecorded,
        )
    )

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if isinstance(event, TicketOpened):
            sla = event.sla
            new: Document = {
                "id": key[1],
                "tenant": envelope.tenant,
                "customer_id": event.customer_id,
                "kind": event.kind.value,
                "channel": event.channel.value,
                "priority": event.priority.value,
                "priority_rank": PRIORITY_RANK[event.priority],
                "subject": event.subject,
                "description": event.description,
                "status": "new",
                "agent_id": None,
                "group_id": None,
                "tier": 1,
                "escalated_to_manager": False,
                "escalations": [],
                "comments": [],
                "kb_article_ids": [],
                "resolution": None,
                "resolved_at": None,
                "resolved_with_article_id": None,
                "closed_at": None,
                "cycle": 0,
                "reopens": [],
                "sla": {
                    **sla.model_dump(mode="json", exclude={"first_response_due", "resolution_due"}),
                    "first_response_due": instant(sla.first_response_due),
                    "resolution_due": instant(sla.resolution_due),
                },
                "first_response_at": None,
                "sla_targets": [
                    _target(SlaTarget.FIRST_RESPONSE, 0, sla.first_response_due),
                    _target(SlaTarget.RESOLUTION, 0, sla.resolution_due),
                ],
                "satisfaction": None,
                "follow_up": None,
                "opened_at": instant(event.opened_at),
                "opened_by": envelope.actor,
            }
            return _touch(_schedule(new), envelope)
        new = _existing(doc, event, key)
        self._apply(new, event, envelope)
        return _touch(_schedule(new), envelope)

    @staticmethod
    def _apply(new: Document, event: DomainEvent, envelope: EventEnvelope) -> None:
        at = instant(envelope.occurred_at)
        match event:
            case TicketAssigned() | TicketReassigned():
                new.update(agent_id=event.agent_id, group_id=event.group_id)
                if new["status"] == "new":
                    new["status"] = "assigned"
            case TicketEscalated():
                new.update(
                    tier=event.tier,
                    escalated_to_manager=new["escalated_to_manager"] or event.to_manager,
                    escalations=[
                        *new["escalations"],
                        {
                            "tier": event.tier,
                            "previous_tier": event.previous_tier,
                            "to_manager": event.to_manager,
                            "manager_id": event.manager_id,
                            "reason": event.reason,
                            "escalated_at": at,
                            "escalated_by": envelope.actor,
                        },
                    ],
                )
            case TicketCommented():
                new["comments"] = [
                    *new["comments"],
                    {
                        "comment_id": event.comment_id,
                        "author_id": event.author_id,
                        "from_customer": event.from_customer,
                        "public": event.public,
                        "body": event.body,
                        "commented_at": instant(event.commented_at),
                        "first_response": event.first_response,
                    },
                ]
                if not event.from_customer:
                    if event.first_response:
                        met = instant(event.commented_at)
                        new["first_response_at"] = met
                        new["sla_targets"] = _update_target(
                            new, SlaTarget.FIRST_RESPONSE, 0, met_at=met
                        )
                    if new["status"] == "assigned":
                        new["status"] = "in_progress"
            case KbArticleLinked():
                if event.article_id not in new["kb_article_ids"]:
                    new["kb_article_ids"] = [*new["kb_article_ids"], event.article_id]
            case TicketResolved():
                TicketsModel._resolved(new, event)
            case TicketReopened():
                new.update(
                    status="assigned" if new["agent_id"] or new["group_id"] else "new",
                    cycle=event.cycle,
                    resolution=None,
                    resolved_at=None,
                    resolved_with_article_id=None,
                    closed_at=None,
                    follow_up=None,
                    reopens=[
                        *new["reopens"],
                        {
                            "cycle": event.cycle,
                            "reason": event.reason,
                            "for_review": event.for_review,
                            "reopened_at": instant(event.reopened_at),
                        },
                    ],
                )
                new["sla"] = {**new["sla"], "resolution_due": instant(event.resolution_due)}
                new["sla_targets"] = [
                    *new["sla_targets"],
                    _target(SlaTarget.RESOLUTION, event.cycle, event.resolution_due),
                ]
            case TicketClosed():
                new.update(status="closed", closed_at=instant(event.closed_at))
            case SlaWarning():
                new["sla_targets"] = _update_target(
                    new, event.target, event.cycle, warned_at=instant(event.warned_at)
                )
            case SlaBreached():
                new["sla_targets"] = _update_target(
                    new, event.target, event.cycle, breached_at=instant(event.detected_at)
                )
            case SatisfactionRecorded():
                new["satisfaction"] = {
                    "score": event.score,
                    "comment": event.comment,
                    "recorded_at": instant(event.recorded_at),
                }
            case FollowUpDue():
                new["follow_up"] = {**new["follow_up"], "reminded_at": instant(event.reminded_at)}
            case FollowUpOverdueEscalated():
                new["follow_up"] = {
                    **new["follow_up"],
                    "escalated_at": instant(event.escalated_at),
                }
            case FollowUpRecorded():
                new["follow_up"] = {
                    **new["follow_up"],
                    "recorded_at": instant(event.recorded_at),
                    "agent_id": event.agent_id,
                    "note": event.note,
                }

    @staticmethod
    def _resolved(new: Document, event: TicketResolved) -> None:
        met = instant(event.resolved_at)
        articles = new["kb_article_ids"]
        if event.kb_article_id is not None and event.kb_article_id not in articles:
            articles = [*articles, event.kb_article_id]
        new.update(
            status="resolved",
            resolution=event.resolution,
            resolved_at=met,
            resolved_with_article_id=event.kb_article_id,
            kb_article_ids=articles,
        )
        new["sla_targets"] = _update_target(new, SlaTarget.RESOLUTION, None, met_at=met)
        if new["first_response_at"] is None:  # resolving answers the customer
            new["first_response_at"] = met
            new["sla_targets"] = _update_target(new, SlaTarget.FIRST_RESPONSE, 0, met_at=met)
        follow = None
        if event.follow_up_due_at is not None and new["kind"] == TicketKind.COMPLAINT.value:
            escalate = event.follow_up_due_at + timedelta(
                days=new["sla"]["follow_up_escalation_days"]
            )
            follow = {
                "due_at": instant(event.follow_up_due_at),
                "escalate_after": instant(escalate),
                "reminded_at": None,
                "escalated_at": None,
                "recorded_at": None,
                "agent_id": None,
                "note": None,
            }
        new["follow_up"] = follow


# -- SLA policies, calendars, contracts -----------------------------------------------------------


class SlaPoliciesModel:
    """One document per policy, keyed by the policy's (tenant-qualified) aggregate id; its
    ``id`` is the tenant's own: the contract level, or ``default``."""

    collection = SLA_POLICIES
    collections = (CollectionSpec(SLA_POLICIES, (Index(("tenant", "level")),)),)
    event_types = frozenset(e.event_type for e in (SlaPolicyDefined, SlaPolicyRevised))

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        assert isinstance(event, SlaPolicyDefined | SlaPolicyRevised)
        revision = event.revision if isinstance(event, SlaPolicyRevised) else 1
        new: Document = {
            "id": local_id(key[1]),
            "tenant": envelope.tenant,
            "name": event.name,
            "level": event.level.value if event.level else None,
            "targets": {
                t.priority.value: {
                    "first_response_minutes": t.first_response_minutes,
                    "resolution_minutes": t.resolution_minutes,
                }
                for t in event.targets
            },
            "calendar_id": event.calendar_id,
            "follow_up_days": event.follow_up_days,
            "follow_up_escalation_days": event.follow_up_escalation_days,
            "revision": revision,
            "defined_at": doc["defined_at"] if doc else instant(envelope.occurred_at),
            "defined_by": doc["defined_by"] if doc else envelope.actor,
        }
        return _touch(new, envelope)


class CalendarsModel:
    """One document per calendar, keyed by its (tenant-qualified) aggregate id; its ``id`` is
    the one the tenant chose."""

    collection = CALENDARS
    collections = (CollectionSpec(CALENDARS, (Index(("tenant", "name")),)),)
    event_types = frozenset({CalendarDefined.event_type})

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        assert isinstance(event, CalendarDefined)
        new: Document = {
            "id": local_id(key[1]),
            "tenant": envelope.tenant,
            **event.model_dump(mode="json"),
            "defined_at": instant(envelope.occurred_at),
            "defined_by": envelope.actor,
        }
        return _touch(new, envelope)


class ContractsModel:
    """One document per customer (a customer has one contract at a time), keyed by the
    contract's (tenant-qualified) aggregate id; its ``id`` is the tenant's customer id.
    ``active`` and ``level`` are the contract as it stands, ``history`` every change."""

    collection = CONTRACTS
    collections = (
        CollectionSpec(CONTRACTS, (Index(("tenant", "level")), Index(("tenant", "active")))),
    )
    event_types = frozenset(e.event_type for e in (ContractSigned, ContractChanged, ContractEnded))

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        at = instant(envelope.occurred_at)
        new: Document = dict(doc) if doc is not None else {"id": local_id(key[1]), "history": []}
        match event:
            case ContractSigned():
                new.update(
                    tenant=envelope.tenant,
                    customer_id=event.customer_id,
                    level=event.level.value,
                    starts_on=event.starts_on.isoformat(),
                    ends_on=event.ends_on.isoformat() if event.ends_on else None,
                    active=True,
                    end_reason=None,
                )
                entry = {"event": "signed", "level": event.level.value}
            case ContractChanged():
                new["level"] = event.level.value
                entry = {
                    "event": "changed",
                    "level": event.level.value,
                    "previous_level": event.previous_level.value,
                }
            case ContractEnded():
                new.update(
                    active=False, ends_on=event.ended_on.isoformat(), end_reason=event.reason
                )
                entry = {"event": "ended", "ended_on": event.ended_on.isoformat()}
            case _:
                return doc
        new["history"] = [*new["history"], {**entry, "at": at, "by": envelope.actor}]
        return _touch(new, envelope)


class Model(Protocol):
    @property
    def collection(self) -> str: ...

    @property
    def collections(self) -> tuple[CollectionSpec, ...]: ...

    @property
    def event_types(self) -> frozenset[str]: ...

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None: ...


class TicketsProjection:
    """One projection for the four collections of the ticket half."""

    name = "service_desk_tickets"
    version = 1
    models: ClassVar[Mapping[str, Model]] = {
        "ticket": TicketsModel(),
        "slapolicy": SlaPoliciesModel(),
        "businesscalendar": CalendarsModel(),
        "servicecontract": ContractsModel(),
    }
    collections = tuple(spec for model in models.values() for spec in model.collections)
    event_types: frozenset[str] = frozenset().union(
        *(model.event_types for model in models.values())
    )
    categories = frozenset(models)

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        return ((self.models[envelope.category].collection, _id_of(envelope)),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        return self.models[envelope.category].evolve(key, doc, event, envelope)


PROJECTION = TicketsProjection()
PROJECTION_NAME = PROJECTION.name

PROJECTIONS: tuple[Projection, ...] = (PROJECTION,)
