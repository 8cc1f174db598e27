"""Read models of the sales pipeline: ``sales_leads``, ``sales_opportunities``,
``sales_campaigns`` and ``sales_targets``, one document per aggregate.

Every document carries ``tenant``, ``owner_id`` and ``team_id`` so that the queries can apply
:func:`crm.sales.application.policy.visibility_filter`. The published events do not (yet) carry
the team a record belongs to, so ``team_id`` is read from the event when it has one and is
``None`` otherwise (see :func:`team_of`).

An opportunity document keeps its stage history (every move with its timestamp, from the
events, never from when they were recorded) and its weighted amount (amount x probability),
the figures a pipeline review sorts and sums.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from crm.events import DomainEvent, EventEnvelope
from crm.events.money import Money
from crm.events.sales import (
    CampaignEnded,
    CampaignLaunched,
    CampaignPlanned,
    LeadCaptured,
    LeadConversionRequested,
    LeadConverted,
    LeadDisqualified,
    LeadQualified,
    OpportunityAmountRevised,
    OpportunityCloseDateRevised,
    OpportunityLost,
    OpportunityOpened,
    OpportunityOwnerReassigned,
    OpportunityReopened,
    OpportunityStageChanged,
    OpportunityWon,
    TargetRevised,
    TargetSet,
)
from crm.kernel.projection import DocKey
from crm.kernel.read_store import CollectionSpec, Document, Index
from crm.kernel.tenancy import local_id

LEADS = "sales_leads"
OPPORTUNITIES = "sales_opportunities"
CAMPAIGNS = "sales_campaigns"
TARGETS = "sales_targets"


def team_of(record: object) -> str | None:
    """The team a record belongs to, if the event (or state) that created it says so."""
    team = getattr(record, "team_id", None)
    return team if isinstance(team, str) else None


def money(value: Money) -> dict[str, str]:
    return {"amount": format(value.amount, "f"), "currency": value.currency}


def weighted(amount: Money, probability: int) -> dict[str, str]:
    return money(amount.times(Decimal(probability) / 100).rounded())


def _doc_id(envelope: EventEnvelope) -> str:
    return envelope.stream_id.partition("-")[2]


def _touch(doc: Document, envelope: EventEnvelope) -> Document:
    doc["updated_at"] = envelope.occurred_at.isoformat()
    doc["version"] = envelope.stream_version
    return doc


def _created(key: DocKey, envelope: EventEnvelope, **fields: Any) -> Document:
    """A new document ``key[1]``; ``fields`` may hold another ``id`` (the local id of a
    tenant-qualified aggregate)."""
    return {
        "id": key[1],
        "tenant": envelope.tenant,
        **fields,
        "created_at": envelope.occurred_at.isoformat(),
        "created_by": envelope.actor,
    }


def _existing(doc: Document | None, key: DocKey, event: DomainEvent) -> Document:
    if doc is None:
        raise LookupError(f"{event.event_type} for {key[1]} whose creation was never applied")
    return dict(doc)


class LeadsProjection:
    name = LEADS
    version = 1
    collections = (
        CollectionSpec(
            LEADS,
            (
                Index(("tenant", "owner_id")),
                Index(("tenant", "team_id")),
                Index(("tenant", "status")),
                Index(("tenant", "campaign_id")),
                Index(("tenant", "created_at")),
            ),
        ),
    )
    event_types = frozenset(
        e.event_type
        for e in (
            LeadCaptured,
            LeadQualified,
            LeadDisqualified,
            LeadConversionRequested,
            LeadConverted,
        )
    )
    categories = frozenset({"lead"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        return ((LEADS, _doc_id(envelope)),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if isinstance(event, LeadCaptured):
            new = _created(
                key,
                envelope,
                owner_id=event.owner_id,
                team_id=team_of(event),
                name=event.name,
                email=event.email,
                phone=event.phone,
                company=event.company,
                title=event.title,
                source=event.source,
                campaign_id=event.campaign_id,
                status="open",
                qualified_note=None,
                disqualified_reason=None,
                customer_id=None,
                opportunity_id=None,
                converted_at=None,
            )
            return _touch(new, envelope)
        new = _existing(doc, key, event)
        match event:
            case LeadQualified():
                new.update(status="qualified", qualified_note=event.note)
            case LeadDisqualified():
                new.update(status="disqualified", disqualified_reason=event.reason)
            case LeadConversionRequested():
                new.update(
                    status="converting",
                    customer_id=event.customer_id,
                    opportunity_id=event.opportunity_id,
                )
            case LeadConverted():
                new.update(
                    status="converted",
                    customer_id=event.customer_id,
                    opportunity_id=event.opportunity_id,
                    converted_at=envelope.occurred_at.isoformat(),
                )
        return _touch(new, envelope)


class OpportunitiesProjection:
    name = OPPORTUNITIES
    version = 1
    collections = (
        CollectionSpec(
            OPPORTUNITIES,
            (
                Index(("tenant", "owner_id")),
                Index(("tenant", "team_id")),
                Index(("tenant", "status", "stage")),
                Index(("tenant", "customer_id")),
                Index(("tenant", "campaign_id")),
                Index(("tenant", "expected_close_date")),
                Index(("tenant", "updated_at")),
            ),
        ),
    )
    event_types = frozenset(
        e.event_type
        for e in (
            OpportunityOpened,
            OpportunityStageChanged,
            OpportunityAmountRevised,
            OpportunityCloseDateRevised,
            OpportunityOwnerReassigned,
            OpportunityWon,
            OpportunityLost,
            OpportunityReopened,
        )
    )
    categories = frozenset({"opportunity"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        return ((OPPORTUNITIES, _doc_id(envelope)),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if isinstance(event, OpportunityOpened):
            entered = event.entered_at.isoformat()
            new = _created(
                key,
                envelope,
                owner_id=event.owner_id,
                team_id=team_of(event),
                customer_id=event.customer_id,
                name=event.name,
                expected_close_date=event.expected_close_date.isoformat(),
                status="open",
                stage=event.stage,
                entered_at=entered,
                probability=event.probability,
                lead_id=event.lead_id,
                campaign_id=event.campaign_id,
                lost_reason=None,
                lost_at_stage=None,
                closed_at=None,
                stage_history=[
                    {"stage": event.stage, "entered_at": entered, "probability": event.probability}
                ],
            )
            return _touch(self._priced(new, event.amount), envelope)
        new = _existing(doc, key, event)
        amount = Money.model_validate(new["amount"])
        match event:
            case OpportunityStageChanged():
                self._enter(new, event.to_stage, event.entered_at.isoformat(), event.probability)
                new["stage_history"][-1]["direction"] = event.direction.value
            case OpportunityAmountRevised():
                amount = event.amount
            case OpportunityCloseDateRevised():
                new["expected_close_date"] = event.expected_close_date.isoformat()
            case OpportunityOwnerReassigned():
                new["owner_id"] = event.owner_id
                if (team := team_of(event)) is not None:
                    new["team_id"] = team
            case OpportunityWon():
                amount = event.amount
                self._enter(new, event.stage, event.closed_at.isoformat(), 100)
                new.update(status="won", closed_at=event.closed_at.isoformat())
            case OpportunityLost():
                self._enter(new, event.stage, event.closed_at.isoformat(), 0)
                new.update(
                    status="lost",
                    closed_at=event.closed_at.isoformat(),
                    lost_reason=event.reason,
                    lost_at_stage=event.lost_at_stage,
                )
            case OpportunityReopened():
                self._enter(new, event.to_stage, event.entered_at.isoformat(), event.probability)
                new.update(status="open", closed_at=None, lost_reason=None, lost_at_stage=None)
        return _touch(self._priced(new, amount), envelope)

    @staticmethod
    def _enter(doc: Document, stage: str, at: str, probability: int) -> None:
        doc.update(stage=stage, entered_at=at, probability=probability)
        doc["stage_history"] = [
            *doc["stage_history"],
            {"stage": stage, "entered_at": at, "probability": probability},
        ]

    @staticmethod
    def _priced(doc: Document, amount: Money) -> Document:
        doc["amount"] = money(amount)
        doc["weighted_amount"] = weighted(amount, doc["probability"])
        # Only to order lists by size; never shown, amounts in the API are decimal strings.
        doc["amount_sort"] = float(amount.amount)
        return doc


class CampaignsProjection:
    name = CAMPAIGNS
    version = 1
    collections = (
        CollectionSpec(
            CAMPAIGNS,
            (
                Index(("tenant", "status")),
                Index(("tenant", "starts_on")),
            ),
        ),
    )
    event_types = frozenset(
        e.event_type for e in (CampaignPlanned, CampaignLaunched, CampaignEnded)
    )
    categories = frozenset({"campaign"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        return ((CAMPAIGNS, _doc_id(envelope)),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if isinstance(event, CampaignPlanned):
            new = _created(
                key,
                envelope,
                owner_id=event.owner_id,
                team_id=team_of(event),
                name=event.name,
                channel=event.channel.value,
                budget=money(event.budget),
                starts_on=event.starts_on.isoformat(),
                ends_on=event.ends_on.isoformat(),
                status="planned",
                launched_at=None,
                ended_at=None,
                end_reason=None,
            )
            return _touch(new, envelope)
        new = _existing(doc, key, event)
        match event:
            case CampaignLaunched():
                new.update(status="active", launched_at=event.launched_at.isoformat())
            case CampaignEnded():
                new.update(
                    status="ended", ended_at=event.ended_at.isoformat(), end_reason=event.reason
                )
        return _touch(new, envelope)


class TargetsProjection:
    """One document per target, keyed by its (tenant-qualified) aggregate id so two tenants'
    targets of a rep ``r1`` for one period never share a document; its ``id`` is the tenant's
    own (``rep-r1-2026-Q1``), which queries and routes use with the tenant."""

    name = TARGETS
    version = 1
    collections = (
        CollectionSpec(
            TARGETS,
            (
                Index(("tenant", "owner_kind", "owner_id")),
                Index(("tenant", "team_id")),
                Index(("tenant", "period")),
            ),
        ),
    )
    event_types = frozenset(e.event_type for e in (TargetSet, TargetRevised))
    categories = frozenset({"target"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        return ((TARGETS, _doc_id(envelope)),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if isinstance(event, TargetSet):
            team = event.owner_id if event.owner_kind.value == "team" else team_of(event)
            new = _created(
                key,
                envelope,
                id=local_id(key[1]),
                owner_kind=event.owner_kind.value,
                owner_id=event.owner_id,
                team_id=team,
                period=event.period,
                amount=money(event.amount),
                revisions=[],
            )
            return _touch(new, envelope)
        new = _existing(doc, key, event)
        if isinstance(event, TargetRevised):
            new["amount"] = money(event.amount)
            new["revisions"] = [
                *new["revisions"],
                {
                    "previous_amount": money(event.previous_amount),
                    "amount": money(event.amount),
                    "reason": event.reason,
                    "at": envelope.occurred_at.isoformat(),
                    "by": envelope.actor,
                },
            ]
        return _touch(new, envelope)


PROJECTIONS = (
    LeadsProjection(),
    OpportunitiesProjection(),
    CampaignsProjection(),
    TargetsProjection(),
)
