"""``analytics_opportunities``: one document per opportunity, part of the ``customer_360``
projection (see :mod:`crm.analytics.projections.customer_360_models`).

``stage_changed``, ``won`` and ``lost`` do not name the customer, so an opportunity is its own
document (customer and owner from ``opened``): stage, amount, probability, status, the stages
it went through. The 360° view joins them to the customer at query time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from typing_extensions import TypedDict

from crm.analytics.projections.money import MoneyDoc, money_doc
from crm.events import EventEnvelope
from crm.events.sales import (
    OpportunityAmountRevised,
    OpportunityCloseDateRevised,
    OpportunityLost,
    OpportunityOpened,
    OpportunityOwnerReassigned,
    OpportunityReopened,
    OpportunityStageChanged,
    OpportunityWon,
)
from crm.kernel.handlers import DocKey, Handlers
from crm.kernel.read_store import CollectionSpec, Index

OPPORTUNITIES = "analytics_opportunities"
STAGE_HISTORY = 20


class StageEntered(TypedDict):
    stage: str
    at: str


class OpportunityDoc(TypedDict):
    id: str
    tenant: str
    customer_id: str | None
    owner_id: str | None
    team_id: str | None
    name: str | None
    stage: str | None
    probability: int
    amount: MoneyDoc | None
    status: Literal["open", "won", "lost"]
    opened_at: str | None
    closed_at: str | None
    expected_close_date: str | None
    campaign_id: str | None
    lost_reason: str | None
    lost_at_stage: str | None
    stages: list[StageEntered]
    """The latest :data:`STAGE_HISTORY` stages entered, oldest first."""
    position: int
    """The store position of the last event applied."""


on: Handlers[OpportunityDoc] = Handlers()


def _opportunity(
    doc: OpportunityDoc | None, key: DocKey, envelope: EventEnvelope
) -> OpportunityDoc:
    """A copy of the document to change, at the event's position (a new one if ``opened``
    has not been applied)."""
    new = (
        doc.copy()
        if doc is not None
        else OpportunityDoc(
            id=key[1],
            tenant=envelope.tenant,
            customer_id=None,
            owner_id=None,
            team_id=None,
            name=None,
            stage=None,
            probability=0,
            amount=None,
            status="open",
            opened_at=None,
            closed_at=None,
            expected_close_date=None,
            campaign_id=None,
            lost_reason=None,
            lost_at_stage=None,
            stages=[],
            position=0,
        )
    )
    new["position"] = envelope.position
    return new


def _enter(new: OpportunityDoc, stage: str, when: datetime, probability: int) -> OpportunityDoc:
    new.update({"stage": stage, "probability": probability})
    entered = StageEntered(stage=stage, at=when.isoformat())
    new["stages"] = [*new["stages"], entered][-STAGE_HISTORY:]
    return new


@on(OpportunityOpened)
def opened(
    key: DocKey, doc: OpportunityDoc | None, event: OpportunityOpened, envelope: EventEnvelope
) -> OpportunityDoc:
    new = _opportunity(doc, key, envelope)
    new.update(
        {
            "customer_id": event.customer_id,
            "owner_id": event.owner_id,
            "team_id": event.team_id,
            "name": event.name,
            "amount": money_doc(event.amount),
            "expected_close_date": event.expected_close_date.isoformat(),
            "opened_at": event.entered_at.isoformat(),
            "campaign_id": event.campaign_id,
            "status": "open",
        }
    )
    return _enter(new, event.stage, event.entered_at, event.probability)


@on(OpportunityStageChanged)
def stage_changed(
    key: DocKey,
    doc: OpportunityDoc | None,
    event: OpportunityStageChanged,
    envelope: EventEnvelope,
) -> OpportunityDoc:
    new = _opportunity(doc, key, envelope)
    return _enter(new, event.to_stage, event.entered_at, event.probability)


@on(OpportunityAmountRevised)
def amount_revised(
    key: DocKey,
    doc: OpportunityDoc | None,
    event: OpportunityAmountRevised,
    envelope: EventEnvelope,
) -> OpportunityDoc:
    new = _opportunity(doc, key, envelope)
    new["amount"] = money_doc(event.amount)
    return new


@on(OpportunityCloseDateRevised)
def close_date_revised(
    key: DocKey,
    doc: OpportunityDoc | None,
    event: OpportunityCloseDateRevised,
    envelope: EventEnvelope,
) -> OpportunityDoc:
    new = _opportunity(doc, key, envelope)
    new["expected_close_date"] = event.expected_close_date.isoformat()
    return new


@on(OpportunityOwnerReassigned)
def owner_reassigned(
    key: DocKey,
    doc: OpportunityDoc | None,
    event: OpportunityOwnerReassigned,
    envelope: EventEnvelope,
) -> OpportunityDoc:
    new = _opportunity(doc, key, envelope)
    new.update({"owner_id": event.owner_id, "team_id": event.team_id})
    return new


@on(OpportunityWon)
def won(
    key: DocKey, doc: OpportunityDoc | None, event: OpportunityWon, envelope: EventEnvelope
) -> OpportunityDoc:
    new = _opportunity(doc, key, envelope)
    new.update({"status": "won", "amount": money_doc(event.amount), "stage": event.stage})
    new.update({"closed_at": event.closed_at.isoformat(), "probability": 100})
    return new


@on(OpportunityLost)
def lost(
    key: DocKey, doc: OpportunityDoc | None, event: OpportunityLost, envelope: EventEnvelope
) -> OpportunityDoc:
    new = _opportunity(doc, key, envelope)
    new.update({"status": "lost", "stage": event.stage, "probability": 0})
    new.update(
        {
            "closed_at": event.closed_at.isoformat(),
            "lost_reason": event.reason,
            "lost_at_stage": event.lost_at_stage,
        }
    )
    return new


@on(OpportunityReopened)
def reopened(
    key: DocKey, doc: OpportunityDoc | None, event: OpportunityReopened, envelope: EventEnvelope
) -> OpportunityDoc:
    new = _opportunity(doc, key, envelope)
    new.update({"status": "open", "closed_at": None, "lost_reason": None, "lost_at_stage": None})
    return _enter(new, event.to_stage, event.entered_at, event.probability)


class OpportunitiesModel:
    """How an opportunity's stream becomes its ``analytics_opportunities`` document."""

    collection = OPPORTUNITIES
    collections = (CollectionSpec(OPPORTUNITIES, (Index(("tenant", "customer_id")),)),)
    event_types = on.event_types
    evolve = staticmethod(on.evolve)
