"""``funnel``: the read models behind ``GET /analytics/funnel``.

Each document is keyed by the stream its events come from, so the key of every event is known
from the event alone (the worker routes by it) and the funnel's figures are joined and counted
at query time:

``funnel_opportunities`` (one per opportunity)
    owner, team, customer, lead and campaign; amount, probability and expected close date as
    they are now; ``status`` open, won or lost; ``stages``: every visit of a stage in order,
    ``{"stage", "entered_at", "exited_at", "exit"}`` where ``exit`` is ``forward``,
    ``backward``, ``won``, ``lost`` or null while it is still there; ``lost_reason`` and
    ``lost_at_stage`` of the last loss; ``won_amount`` and ``closed_at`` of the last close.
``funnel_leads`` (one per lead)
    owner, team, ``source``, campaign; ``captured_at``, ``qualified_at``,
    ``disqualified_at`` (with ``disqualify_reason``), ``converted_at`` with the
    ``opportunity_id`` and ``customer_id`` it became; ``status``.
``funnel_targets`` (one per target stream, ``<tenant>:rep-alice-2026-Q2``)
    ``owner_kind`` (rep or team), ``owner_id``, ``period`` (``2026-04`` or ``2026-Q2``) and
    the ``amount`` as last set or revised.
``funnel_invoices`` (one per invoice)
    its order, owner and team, and the ``payments`` recorded against it (id, amount,
    ``received_on``): what a rep collected, since a payment event names no owner.
``funnel_pipelines`` (one per tenant)
    the tenant's configured stages in order with their probabilities (absent: the sales
    default pipeline).

Amounts are stored as ``{"amount": "<decimal string>", "currency": "EUR"}``; times as ISO 8601.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm.events import DomainEvent, EventEnvelope
from crm.events.money import Money
from crm.events.sales import (
    LeadCaptured,
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
    PipelineConfigured,
    TargetRevised,
    TargetSet,
)
from crm.events.sales_orders import InvoiceIssued, PaymentRecorded
from crm.kernel.projection import DocKey
from crm.kernel.read_store import CollectionSpec, Document, Index

OPPORTUNITIES = "funnel_opportunities"
LEADS = "funnel_leads"
TARGETS = "funnel_targets"
INVOICES = "funnel_invoices"
PIPELINES = "funnel_pipelines"

COLLECTION_OF_CATEGORY = {
    "opportunity": OPPORTUNITIES,
    "lead": LEADS,
    "target": TARGETS,
    "invoice": INVOICES,
    "pipeline": PIPELINES,
}

EVENTS: tuple[type[DomainEvent], ...] = (
    LeadCaptured,
    LeadQualified,
    LeadDisqualified,
    LeadConverted,
    PipelineConfigured,
    OpportunityOpened,
    OpportunityStageChanged,
    OpportunityAmountRevised,
    OpportunityCloseDateRevised,
    OpportunityOwnerReassigned,
    OpportunityWon,
    OpportunityLost,
    OpportunityReopened,
    TargetSet,
    TargetRevised,
    InvoiceIssued,
    PaymentRecorded,
)


def money(m: Money) -> dict[str, str]:
    return {"amount": format(m.amount, "f"), "currency": m.currency}


def _close_visit(stages: list[dict[str, Any]], at: str, exit: str) -> list[dict[str, Any]]:
    """The visits with the current one (the last, if still open) ended at ``at``."""
    if not stages or stages[-1]["exited_at"] is not None:
        return stages
    return [*stages[:-1], {**stages[-1], "exited_at": at, "exit": exit}]


def _visit(stage: str, at: str) -> dict[str, Any]:
    return {"stage": stage, "entered_at": at, "exited_at": None, "exit": None}


def _opportunity(new: dict[str, Any], event: DomainEvent) -> None:
    stages: list[dict[str, Any]] = list(new.get("stages", []))
    match event:
        case OpportunityOpened():
            at = event.entered_at.isoformat()
            new.update(
                customer_id=event.customer_id,
                owner_id=event.owner_id,
                team_id=event.team_id,
                lead_id=event.lead_id,
                campaign_id=event.campaign_id,
                amount=money(event.amount),
                expected_close_date=event.expected_close_date.isoformat(),
                probability=event.probability,
                stage=event.stage,
                status="open",
                opened_at=at,
                closed_at=None,
                won_amount=None,
                lost_reason=None,
                lost_at_stage=None,
            )
            stages = [_visit(event.stage, at)]
        case OpportunityStageChanged():
            at = event.entered_at.isoformat()
            stages = [*_close_visit(stages, at, event.direction.value), _visit(event.to_stage, at)]
            new.update(stage=event.to_stage, probability=event.probability)
        case OpportunityAmountRevised():
            new["amount"] = money(event.amount)
        case OpportunityCloseDateRevised():
            new["expected_close_date"] = event.expected_close_date.isoformat()
        case OpportunityOwnerReassigned():
            new["owner_id"] = event.owner_id
            if event.team_id is not None:
                new["team_id"] = event.team_id
        case OpportunityWon():
            at = event.closed_at.isoformat()
            stages = _close_visit(stages, at, "won")
            new.update(
                status="won",
                stage=event.stage,
                probability=100,
                closed_at=at,
                won_amount=money(event.amount),
                lost_reason=None,
                lost_at_stage=None,
            )
        case OpportunityLost():
            at = event.closed_at.isoformat()
            stages = _close_visit(stages, at, "lost")
            new.update(
                status="lost",
                stage=event.stage,
                probability=0,
                closed_at=at,
                won_amount=None,
                lost_reason=event.reason,
                lost_at_stage=event.lost_at_stage,
            )
        case OpportunityReopened():
            at = event.entered_at.isoformat()
            stages = [*stages, _visit(event.to_stage, at)]
            new.update(
                status="open",
                stage=event.to_stage,
                probability=event.probability,
                closed_at=None,
                won_amount=None,
                lost_reason=None,
                lost_at_stage=None,
            )
    new["stages"] = stages


def _lead(new: dict[str, Any], event: DomainEvent, at: str) -> None:
    match event:
        case LeadCaptured():
            new.update(
                owner_id=event.owner_id,
                team_id=event.team_id,
                source=event.source,
                campaign_id=event.campaign_id,
                status="open",
                captured_at=at,
                qualified_at=None,
                disqualified_at=None,
                disqualify_reason=None,
                converted_at=None,
                opportunity_id=None,
                customer_id=None,
            )
        case LeadQualified():
            new.update(status="qualified", qualified_at=at)
        case LeadDisqualified():
            new.update(status="disqualified", disqualified_at=at, disqualify_reason=event.reason)
        case LeadConverted():
            new.update(
                status="converted",
                converted_at=at,
                opportunity_id=event.opportunity_id,
                customer_id=event.customer_id,
            )


class FunnelProjection:
    name = "funnel"
    version = 1
    collections = (
        CollectionSpec(
            OPPORTUNITIES,
            (Index(("tenant", "owner_id")), Index(("tenant", "team_id")), Index(("lead_id",))),
        ),
        CollectionSpec(LEADS, (Index(("tenant", "owner_id")), Index(("tenant", "campaign_id")))),
        CollectionSpec(TARGETS, (Index(("tenant", "owner_id")),)),
        CollectionSpec(INVOICES, (Index(("tenant", "owner_id")),)),
        CollectionSpec(PIPELINES),
    )
    event_types = frozenset(e.event_type for e in EVENTS)
    categories = frozenset(COLLECTION_OF_CATEGORY)

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        collection = COLLECTION_OF_CATEGORY[envelope.category]
        if collection == PIPELINES:
            return ((PIPELINES, envelope.tenant),)
        return ((collection, envelope.stream_id.partition("-")[2]),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        new: dict[str, Any] = (
            dict(doc) if doc is not None else {"id": key[1], "tenant": envelope.tenant}
        )
        at = envelope.occurred_at.isoformat()
        match event:
            case PipelineConfigured():
                new["stages"] = [
                    {"name": s.name, "probability": s.probability, "outcome": s.outcome.value}
                    for s in event.stages
                ]
            case TargetSet():
                new.update(
                    owner_kind=event.owner_kind.value,
                    owner_id=event.owner_id,
                    period=event.period,
                    amount=money(event.amount),
                )
            case TargetRevised():
                new["amount"] = money(event.amount)
            case InvoiceIssued():
                new.update(
                    order_id=event.order_id,
                    customer_id=event.customer_id,
                    owner_id=event.owner_id,
                    team_id=event.team_id,
                    payments=list(new.get("payments", [])),
                )
            case PaymentRecorded():
                payments = list(new.get("payments", []))
                if all(p["payment_id"] != event.payment_id for p in payments):
                    payments.append(
                        {
                            "payment_id": event.payment_id,
                            "amount": money(event.amount),
                            "received_on": event.received_on.isoformat(),
                        }
                    )
                new["payments"] = payments
            case LeadCaptured() | LeadQualified() | LeadDisqualified() | LeadConverted():
                _lead(new, event, at)
            case _:
                _opportunity(new, event)
        return new
