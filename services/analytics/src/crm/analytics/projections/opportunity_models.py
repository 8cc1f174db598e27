"""``analytics_opportunities``: one document per opportunity, part of the ``customer_360``
projection (see :mod:`crm.analytics.projections.customer_360_models`).

``stage_changed``, ``won`` and ``lost`` do not name the customer, so an opportunity is its own
document (customer and owner from ``opened``): stage, amount, probability, status, the stages
it went through. The 360° view joins them to the customer at query time.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from crm.events import DomainEvent, EventEnvelope
from crm.events.money import Money
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
from crm.kernel.read_store import CollectionSpec, Document, Index

OPPORTUNITIES = "analytics_opportunities"
STAGE_HISTORY = 20

OPPORTUNITY_EVENTS: tuple[type[DomainEvent], ...] = (
    OpportunityOpened,
    OpportunityStageChanged,
    OpportunityAmountRevised,
    OpportunityCloseDateRevised,
    OpportunityOwnerReassigned,
    OpportunityWon,
    OpportunityLost,
    OpportunityReopened,
)


def _money(money: Money) -> dict[str, str]:
    return {"amount": str(money.amount), "currency": money.currency}


def _new_opportunity(key: str, envelope: EventEnvelope) -> dict[str, Any]:
    return {
        "id": key,
        "tenant": envelope.tenant,
        "customer_id": None,
        "owner_id": None,
        "team_id": None,
        "name": None,
        "stage": None,
        "probability": 0,
        "amount": None,
        "status": "open",
        "opened_at": None,
        "closed_at": None,
        "expected_close_date": None,
        "campaign_id": None,
        "lost_reason": None,
        "lost_at_stage": None,
        "stages": [],
        "position": 0,
    }


def _evolve_opportunity(new: dict[str, Any], event: DomainEvent) -> None:
    def enter(stage: str, when: datetime, probability: int) -> None:
        new.update(stage=stage, probability=probability)
        new["stages"] = [*new["stages"], {"stage": stage, "at": when.isoformat()}][-STAGE_HISTORY:]

    match event:
        case OpportunityOpened():
            new.update(
                customer_id=event.customer_id,
                owner_id=event.owner_id,
                team_id=event.team_id,
                name=event.name,
                amount=_money(event.amount),
                expected_close_date=event.expected_close_date.isoformat(),
                opened_at=event.entered_at.isoformat(),
                campaign_id=event.campaign_id,
                status="open",
            )
            enter(event.stage, event.entered_at, event.probability)
        case OpportunityStageChanged():
            enter(event.to_stage, event.entered_at, event.probability)
        case OpportunityAmountRevised():
            new["amount"] = _money(event.amount)
        case OpportunityCloseDateRevised():
            new["expected_close_date"] = event.expected_close_date.isoformat()
        case OpportunityOwnerReassigned():
            new.update(owner_id=event.owner_id, team_id=event.team_id)
        case OpportunityWon():
            new.update(status="won", amount=_money(event.amount), stage=event.stage)
            new.update(closed_at=event.closed_at.isoformat(), probability=100)
        case OpportunityLost():
            new.update(status="lost", stage=event.stage, probability=0)
            new.update(
                closed_at=event.closed_at.isoformat(),
                lost_reason=event.reason,
                lost_at_stage=event.lost_at_stage,
            )
        case OpportunityReopened():
            new.update(status="open", closed_at=None, lost_reason=None, lost_at_stage=None)
            enter(event.to_stage, event.entered_at, event.probability)


class OpportunitiesModel:
    """How an opportunity's stream becomes its ``analytics_opportunities`` document."""

    collection = OPPORTUNITIES
    spec = CollectionSpec(OPPORTUNITIES, (Index(("tenant", "customer_id")),))
    event_types = frozenset(e.event_type for e in OPPORTUNITY_EVENTS)

    def evolve(
        self, id: str, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document:
        opp = copy.deepcopy(doc) if doc is not None else _new_opportunity(id, envelope)
        _evolve_opportunity(opp, event)
        opp["position"] = envelope.position
        return opp
