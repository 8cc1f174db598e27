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
One projection (the kernel's :class:`~crm.kernel.handlers.ByCategory`): one collection per
kind of stream, under one checkpoint. A document holds what its stream's events said so far
(the report engines skip one whose first event they have not seen), so most fields of the
types below are ``NotRequired``.
"""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict

from crm.analytics.projections.money import MoneyDoc, money_doc
from crm.events import EventEnvelope
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
from crm.kernel.handlers import ByCategory, DocKey, Handlers, Model
from crm.kernel.read_store import CollectionSpec, Index

OPPORTUNITIES = "funnel_opportunities"
LEADS = "funnel_leads"
TARGETS = "funnel_targets"
INVOICES = "funnel_invoices"
PIPELINES = "funnel_pipelines"


# -- opportunities -------------------------------------------------------------------------------


class Visit(TypedDict):
    """One visit of a stage."""

    stage: str
    entered_at: str
    exited_at: str | None
    exit: str | None
    """``forward``, ``backward``, ``won``, ``lost``; null while it is still there."""


class FunnelOpportunityDoc(TypedDict):
    id: str
    tenant: str
    stages: list[Visit]
    customer_id: NotRequired[str]
    owner_id: NotRequired[str]
    team_id: NotRequired[str | None]
    lead_id: NotRequired[str | None]
    campaign_id: NotRequired[str | None]
    amount: NotRequired[MoneyDoc]
    expected_close_date: NotRequired[str]
    probability: NotRequired[int]
    stage: NotRequired[str]
    status: NotRequired[Literal["open", "won", "lost"]]
    opened_at: NotRequired[str]
    closed_at: NotRequired[str | None]
    won_amount: NotRequired[MoneyDoc | None]
    lost_reason: NotRequired[str | None]
    lost_at_stage: NotRequired[str | None]


opportunities: Handlers[FunnelOpportunityDoc] = Handlers()


def _opportunity(
    doc: FunnelOpportunityDoc | None, key: DocKey, envelope: EventEnvelope
) -> FunnelOpportunityDoc:
    if doc is None:
        return FunnelOpportunityDoc(id=key[1], tenant=envelope.tenant, stages=[])
    return doc.copy()


def _close_visit(stages: list[Visit], at: str, exit: str) -> list[Visit]:
    """The visits with the current one (the last, if still open) ended at ``at``."""
    if not stages or stages[-1]["exited_at"] is not None:
        return stages
    last = stages[-1]
    ended = Visit(stage=last["stage"], entered_at=last["entered_at"], exited_at=at, exit=exit)
    return [*stages[:-1], ended]


def _visit(stage: str, at: str) -> Visit:
    return Visit(stage=stage, entered_at=at, exited_at=None, exit=None)


@opportunities(OpportunityOpened)
def opportunity_opened(
    key: DocKey,
    doc: FunnelOpportunityDoc | None,
    event: OpportunityOpened,
    envelope: EventEnvelope,
) -> FunnelOpportunityDoc:
    new = _opportunity(doc, key, envelope)
    at = event.entered_at.isoformat()
    new.update(
        {
            "customer_id": event.customer_id,
            "owner_id": event.owner_id,
            "team_id": event.team_id,
            "lead_id": event.lead_id,
            "campaign_id": event.campaign_id,
            "amount": money_doc(event.amount),
            "expected_close_date": event.expected_close_date.isoformat(),
            "probability": event.probability,
            "stage": event.stage,
            "status": "open",
            "opened_at": at,
            "closed_at": None,
            "won_amount": None,
            "lost_reason": None,
            "lost_at_stage": None,
            "stages": [_visit(event.stage, at)],
        }
    )
    return new


@opportunities(OpportunityStageChanged)
def stage_changed(
    key: DocKey,
    doc: FunnelOpportunityDoc | None,
    event: OpportunityStageChanged,
    envelope: EventEnvelope,
) -> FunnelOpportunityDoc:
    new = _opportunity(doc, key, envelope)
    at = event.entered_at.isoformat()
    visits = _close_visit(new["stages"], at, event.direction.value)
    new.update(
        {
            "stage": event.to_stage,
            "probability": event.probability,
            "stages": [*visits, _visit(event.to_stage, at)],
        }
    )
    return new


@opportunities(OpportunityAmountRevised)
def amount_revised(
    key: DocKey,
    doc: FunnelOpportunityDoc | None,
    event: OpportunityAmountRevised,
    envelope: EventEnvelope,
) -> FunnelOpportunityDoc:
    new = _opportunity(doc, key, envelope)
    new["amount"] = money_doc(event.amount)
    return new


@opportunities(OpportunityCloseDateRevised)
def close_date_revised(
    key: DocKey,
    doc: FunnelOpportunityDoc | None,
    event: OpportunityCloseDateRevised,
    envelope: EventEnvelope,
) -> FunnelOpportunityDoc:
    new = _opportunity(doc, key, envelope)
    new["expected_close_date"] = event.expected_close_date.isoformat()
    return new


@opportunities(OpportunityOwnerReassigned)
def owner_reassigned(
    key: DocKey,
    doc: FunnelOpportunityDoc | None,
    event: OpportunityOwnerReassigned,
    envelope: EventEnvelope,
) -> FunnelOpportunityDoc:
    new = _opportunity(doc, key, envelope)
    new["owner_id"] = event.owner_id
    if event.team_id is not None:
        new["team_id"] = event.team_id
    return new


@opportunities(OpportunityWon)
def won(
    key: DocKey,
    doc: FunnelOpportunityDoc | None,
    event: OpportunityWon,
    envelope: EventEnvelope,
) -> FunnelOpportunityDoc:
    new = _opportunity(doc, key, envelope)
    at = event.closed_at.isoformat()
    new.update(
        {
            "status": "won",
            "stage": event.stage,
            "probability": 100,
            "closed_at": at,
            "won_amount": money_doc(event.amount),
            "lost_reason": None,
            "lost_at_stage": None,
            "stages": _close_visit(new["stages"], at, "won"),
        }
    )
    return new


@opportunities(OpportunityLost)
def lost(
    key: DocKey,
    doc: FunnelOpportunityDoc | None,
    event: OpportunityLost,
    envelope: EventEnvelope,
) -> FunnelOpportunityDoc:
    new = _opportunity(doc, key, envelope)
    at = event.closed_at.isoformat()
    new.update(
        {
            "status": "lost",
            "stage": event.stage,
            "probability": 0,
            "closed_at": at,
            "won_amount": None,
            "lost_reason": event.reason,
            "lost_at_stage": event.lost_at_stage,
            "stages": _close_visit(new["stages"], at, "lost"),
        }
    )
    return new


@opportunities(OpportunityReopened)
def reopened(
    key: DocKey,
    doc: FunnelOpportunityDoc | None,
    event: OpportunityReopened,
    envelope: EventEnvelope,
) -> FunnelOpportunityDoc:
    new = _opportunity(doc, key, envelope)
    new.update(
        {
            "status": "open",
            "stage": event.to_stage,
            "probability": event.probability,
            "closed_at": None,
            "won_amount": None,
            "lost_reason": None,
            "lost_at_stage": None,
            "stages": [*new["stages"], _visit(event.to_stage, event.entered_at.isoformat())],
        }
    )
    return new


class OpportunitiesModel:
    collection = OPPORTUNITIES
    collections = (
        CollectionSpec(
            OPPORTUNITIES,
            (Index(("tenant", "owner_id")), Index(("tenant", "team_id")), Index(("lead_id",))),
        ),
    )
    event_types = opportunities.event_types
    evolve = staticmethod(opportunities.evolve)


# -- leads ---------------------------------------------------------------------------------------


class FunnelLeadDoc(TypedDict):
    id: str
    tenant: str
    owner_id: NotRequired[str]
    team_id: NotRequired[str | None]
    source: NotRequired[str | None]
    campaign_id: NotRequired[str | None]
    status: NotRequired[Literal["open", "qualified", "disqualified", "converted"]]
    captured_at: NotRequired[str]
    qualified_at: NotRequired[str | None]
    disqualified_at: NotRequired[str | None]
    disqualify_reason: NotRequired[str | None]
    converted_at: NotRequired[str | None]
    opportunity_id: NotRequired[str | None]
    customer_id: NotRequired[str | None]


leads: Handlers[FunnelLeadDoc] = Handlers()


def _lead(doc: FunnelLeadDoc | None, key: DocKey, envelope: EventEnvelope) -> FunnelLeadDoc:
    return FunnelLeadDoc(id=key[1], tenant=envelope.tenant) if doc is None else doc.copy()


@leads(LeadCaptured)
def lead_captured(
    key: DocKey, doc: FunnelLeadDoc | None, event: LeadCaptured, envelope: EventEnvelope
) -> FunnelLeadDoc:
    new = _lead(doc, key, envelope)
    new.update(
        {
            "owner_id": event.owner_id,
            "team_id": event.team_id,
            "source": event.source,
            "campaign_id": event.campaign_id,
            "status": "open",
            "captured_at": envelope.occurred_at.isoformat(),
            "qualified_at": None,
            "disqualified_at": None,
            "disqualify_reason": None,
            "converted_at": None,
            "opportunity_id": None,
            "customer_id": None,
        }
    )
    return new


@leads(LeadQualified)
def lead_qualified(
    key: DocKey, doc: FunnelLeadDoc | None, event: LeadQualified, envelope: EventEnvelope
) -> FunnelLeadDoc:
    new = _lead(doc, key, envelope)
    new.update({"status": "qualified", "qualified_at": envelope.occurred_at.isoformat()})
    return new


@leads(LeadDisqualified)
def lead_disqualified(
    key: DocKey, doc: FunnelLeadDoc | None, event: LeadDisqualified, envelope: EventEnvelope
) -> FunnelLeadDoc:
    new = _lead(doc, key, envelope)
    new.update(
        {
            "status": "disqualified",
            "disqualified_at": envelope.occurred_at.isoformat(),
            "disqualify_reason": event.reason,
        }
    )
    return new


@leads(LeadConverted)
def lead_converted(
    key: DocKey, doc: FunnelLeadDoc | None, event: LeadConverted, envelope: EventEnvelope
) -> FunnelLeadDoc:
    new = _lead(doc, key, envelope)
    new.update(
        {
            "status": "converted",
            "converted_at": envelope.occurred_at.isoformat(),
            "opportunity_id": event.opportunity_id,
            "customer_id": event.customer_id,
        }
    )
    return new


class LeadsModel:
    collection = LEADS
    collections = (
        CollectionSpec(LEADS, (Index(("tenant", "owner_id")), Index(("tenant", "campaign_id")))),
    )
    event_types = leads.event_types
    evolve = staticmethod(leads.evolve)


# -- targets -------------------------------------------------------------------------------------


class FunnelTargetDoc(TypedDict):
    id: str
    tenant: str
    owner_kind: NotRequired[str]
    """``rep`` or ``team``."""
    owner_id: NotRequired[str]
    period: NotRequired[str]
    """``2026-04`` or ``2026-Q2``."""
    amount: NotRequired[MoneyDoc]


targets: Handlers[FunnelTargetDoc] = Handlers()


def _target(doc: FunnelTargetDoc | None, key: DocKey, envelope: EventEnvelope) -> FunnelTargetDoc:
    return FunnelTargetDoc(id=key[1], tenant=envelope.tenant) if doc is None else doc.copy()


@targets(TargetSet)
def target_set(
    key: DocKey, doc: FunnelTargetDoc | None, event: TargetSet, envelope: EventEnvelope
) -> FunnelTargetDoc:
    new = _target(doc, key, envelope)
    new.update(
        {
            "owner_kind": event.owner_kind.value,
            "owner_id": event.owner_id,
            "period": event.period,
            "amount": money_doc(event.amount),
        }
    )
    return new


@targets(TargetRevised)
def target_revised(
    key: DocKey, doc: FunnelTargetDoc | None, event: TargetRevised, envelope: EventEnvelope
) -> FunnelTargetDoc:
    new = _target(doc, key, envelope)
    new["amount"] = money_doc(event.amount)
    return new


class TargetsModel:
    collection = TARGETS
    collections = (CollectionSpec(TARGETS, (Index(("tenant", "owner_id")),)),)
    event_types = targets.event_types
    evolve = staticmethod(targets.evolve)


# -- invoices ------------------------------------------------------------------------------------


class FunnelPayment(TypedDict):
    payment_id: str
    amount: MoneyDoc
    received_on: str


class FunnelInvoiceDoc(TypedDict):
    id: str
    tenant: str
    payments: list[FunnelPayment]
    order_id: NotRequired[str]
    customer_id: NotRequired[str]
    owner_id: NotRequired[str]
    team_id: NotRequired[str | None]


invoices: Handlers[FunnelInvoiceDoc] = Handlers()


def _invoice(
    doc: FunnelInvoiceDoc | None, key: DocKey, envelope: EventEnvelope
) -> FunnelInvoiceDoc:
    if doc is None:
        return FunnelInvoiceDoc(id=key[1], tenant=envelope.tenant, payments=[])
    return doc.copy()


@invoices(InvoiceIssued)
def invoice_issued(
    key: DocKey, doc: FunnelInvoiceDoc | None, event: InvoiceIssued, envelope: EventEnvelope
) -> FunnelInvoiceDoc:
    new = _invoice(doc, key, envelope)
    new.update(
        {
            "order_id": event.order_id,
            "customer_id": event.customer_id,
            "owner_id": event.owner_id,
            "team_id": event.team_id,
        }
    )
    return new


@invoices(PaymentRecorded)
def payment_recorded(
    key: DocKey, doc: FunnelInvoiceDoc | None, event: PaymentRecorded, envelope: EventEnvelope
) -> FunnelInvoiceDoc:
    """A payment once, however often its event is applied."""
    new = _invoice(doc, key, envelope)
    if all(p["payment_id"] != event.payment_id for p in new["payments"]):
        payment = FunnelPayment(
            payment_id=event.payment_id,
            amount=money_doc(event.amount),
            received_on=event.received_on.isoformat(),
        )
        new["payments"] = [*new["payments"], payment]
    return new


class InvoicesModel:
    collection = INVOICES
    collections = (CollectionSpec(INVOICES, (Index(("tenant", "owner_id")),)),)
    event_types = invoices.event_types
    evolve = staticmethod(invoices.evolve)


# -- pipelines -----------------------------------------------------------------------------------


class PipelineStage(TypedDict):
    name: str
    probability: int
    outcome: str
    """``open``, ``won`` or ``lost``."""


class FunnelPipelineDoc(TypedDict):
    id: str
    """The tenant (a tenant has one pipeline, the stream ``pipeline-<tenant>``)."""
    tenant: str
    stages: NotRequired[list[PipelineStage]]


pipelines: Handlers[FunnelPipelineDoc] = Handlers()


@pipelines(PipelineConfigured)
def pipeline_configured(
    key: DocKey,
    doc: FunnelPipelineDoc | None,
    event: PipelineConfigured,
    envelope: EventEnvelope,
) -> FunnelPipelineDoc:
    new = FunnelPipelineDoc(id=key[1], tenant=envelope.tenant) if doc is None else doc.copy()
    new["stages"] = [
        PipelineStage(name=s.name, probability=s.probability, outcome=s.outcome.value)
        for s in event.stages
    ]
    return new


class PipelinesModel:
    collection = PIPELINES
    collections = (CollectionSpec(PIPELINES),)
    event_types = pipelines.event_types
    evolve = staticmethod(pipelines.evolve)


class FunnelProjection(ByCategory):
    """The funnel's read models: one collection per kind of stream, under one checkpoint."""

    def __init__(self) -> None:
        models: dict[str, Model] = {
            "opportunity": OpportunitiesModel(),
            "lead": LeadsModel(),
            "target": TargetsModel(),
            "invoice": InvoicesModel(),
            "pipeline": PipelinesModel(),
        }
        super().__init__("funnel", 1, models)
