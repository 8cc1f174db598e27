"""The opportunity aggregate: a deal moving through the tenant's pipeline until it is won or lost.

Every command that concerns a stage takes the tenant's :class:`PipelineDefinition` and the
current time: the opportunity checks the stage against the pipeline it is given and records
the time it is given, so the funnel (time in stage, where deals are lost) is built from its
events alone. A closed (won or lost) opportunity accepts nothing but a reopen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Self

from crm.events import DomainEvent
from crm.events.money import Money
from crm.events.sales import (
    OpportunityAmountRevised,
    OpportunityCloseDateRevised,
    OpportunityCustomFieldsChanged,
    OpportunityLost,
    OpportunityOpened,
    OpportunityOwnerReassigned,
    OpportunityReopened,
    OpportunityStageChanged,
    OpportunityWon,
    StageDirection,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.custom_fields import CheckedValues, held_values
from crm.kernel.errors import NotFound, RuleViolated
from crm.sales.domain.checks import aware, not_before, optional_text, positive, required_text
from crm.sales.domain.pipeline import PipelineDefinition


class OpportunityStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class OpportunityState:
    opened: bool = False
    status: OpportunityStatus = OpportunityStatus.OPEN
    customer_id: str = ""
    owner_id: str = ""
    team_id: str | None = None
    name: str = ""
    amount: Money | None = None
    expected_close_date: date | None = None
    stage: str = ""
    probability: int = 0
    entered_at: datetime | None = None
    """When the opportunity entered its current stage (or closed)."""
    lead_id: str | None = None
    campaign_id: str | None = None
    lost_at_stage: str | None = None
    lost_reason: str | None = None
    custom: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The values of the custom fields that are not personal data, by key."""
    custom_personal: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The personal ones (none once the customer is erased: they read as erased)."""

    @property
    def is_open(self) -> bool:
        return self.opened and self.status is OpportunityStatus.OPEN

    @property
    def custom_values(self) -> dict[str, Any]:
        return {**self.custom, **self.custom_personal}

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case OpportunityOpened():
                return replace(
                    self,
                    opened=True,
                    customer_id=event.customer_id,
                    owner_id=event.owner_id,
                    team_id=event.team_id,
                    name=event.name,
                    amount=event.amount,
                    expected_close_date=event.expected_close_date,
                    stage=event.stage,
                    probability=event.probability,
                    entered_at=event.entered_at,
                    lead_id=event.lead_id,
                    campaign_id=event.campaign_id,
                    **held_values(event.custom, event.custom_personal),
                )
            case OpportunityCustomFieldsChanged():
                return replace(self, **held_values(event.custom, event.custom_personal))
            case OpportunityStageChanged():
                return replace(
                    self,
                    stage=event.to_stage,
                    probability=event.probability,
                    entered_at=event.entered_at,
                )
            case OpportunityAmountRevised():
                return replace(self, amount=event.amount)
            case OpportunityCloseDateRevised():
                return replace(self, expected_close_date=event.expected_close_date)
            case OpportunityOwnerReassigned():
                return replace(self, owner_id=event.owner_id, team_id=event.team_id or self.team_id)
            case OpportunityWon():
                return replace(
                    self,
                    status=OpportunityStatus.WON,
                    stage=event.stage,
                    probability=100,
                    amount=event.amount,
                    entered_at=event.closed_at,
                )
            case OpportunityLost():
                return replace(
                    self,
                    status=OpportunityStatus.LOST,
                    stage=event.stage,
                    probability=0,
                    entered_at=event.closed_at,
                    lost_at_stage=event.lost_at_stage,
                    lost_reason=event.reason,
                )
            case OpportunityReopened():
                return replace(
                    self,
                    status=OpportunityStatus.OPEN,
                    stage=event.to_stage,
                    probability=event.probability,
                    entered_at=event.entered_at,
                    lost_at_stage=None,
                    lost_reason=None,
                )
        return self


class Opportunity(Aggregate[OpportunityState]):
    category = "opportunity"

    @classmethod
    def initial_state(cls) -> OpportunityState:
        return OpportunityState()

    # -- guards ------------------------------------------------------------------------------

    def _require_opened(self) -> OpportunityState:
        if not self.state.opened:
            raise NotFound(f"opportunity {self.id} does not exist")
        return self.state

    def _require_open(self) -> OpportunityState:
        state = self._require_opened()
        if not state.is_open:
            raise RuleViolated(
                f"opportunity {self.id} is {state.status.value}; only reopening changes it",
                code="opportunity_closed",
            )
        return state

    # -- commands ----------------------------------------------------------------------------

    def open(
        self,
        *,
        customer_id: str,
        owner_id: str,
        name: str,
        amount: Money,
        expected_close_date: date,
        pipeline: PipelineDefinition,
        now: datetime,
        stage: str | None = None,
        lead_id: str | None = None,
        campaign_id: str | None = None,
        team_id: str | None = None,
        custom: CheckedValues | None = None,
    ) -> None:
        """Opens in ``stage`` (default: the pipeline's first open stage) at ``now``;
        ``custom``: its custom values, already checked against the tenant's definitions.

        Opening again from the same lead records nothing: the lead conversion process may
        repeat this step after a crash or a redelivery."""
        if self.state.opened:
            if lead_id is not None and self.state.lead_id == lead_id:
                return
            raise RuleViolated(f"opportunity {self.id} already exists", code="already_exists")
        first = pipeline.first_open if stage is None else pipeline.open_stage(stage)
        self.trigger(
            OpportunityOpened(
                customer_id=required_text(customer_id, "customer_id"),
                owner_id=required_text(owner_id, "owner_id"),
                name=required_text(name, "name"),
                amount=positive(amount, "amount"),
                expected_close_date=expected_close_date,
                stage=first.name,
                probability=first.probability,
                entered_at=aware(now),
                lead_id=lead_id,
                campaign_id=campaign_id,
                team_id=optional_text(team_id, "team_id"),
                custom=custom.public if custom else {},
                custom_personal=custom.personal_json if custom else None,
            )
        )

    def change_custom(self, custom: CheckedValues) -> None:
        """``custom``: all the custom values after the edit, checked against the tenant's
        definitions and laid over :attr:`OpportunityState.custom_values`; the same values
        again record nothing."""
        state = self._require_open()
        changed = custom.changed_from(state.custom_values)
        if not changed:
            return
        self.trigger(
            OpportunityCustomFieldsChanged(
                customer_id=state.customer_id,
                custom=custom.public,
                custom_personal=custom.personal_json,
                changed=changed,
            )
        )

    def move_to(self, stage: str, *, pipeline: PipelineDefinition, now: datetime) -> None:
        """Forward or back to any open stage of ``pipeline``; to the current stage: nothing."""
        state = self._require_open()
        target = pipeline.open_stage(stage)
        if target.name == state.stage:
            return
        here, there = pipeline.index(state.stage), pipeline.index(target.name)
        # A stage removed from the pipeline since has no place in its order: leaving it
        # counts as moving forward.
        backward = here is not None and there is not None and there < here
        self.trigger(
            OpportunityStageChanged(
                from_stage=state.stage,
                to_stage=target.name,
                direction=StageDirection.BACKWARD if backward else StageDirection.FORWARD,
                entered_at=not_before(now, state.entered_at),
                probability=target.probability,
            )
        )

    def revise_amount(self, amount: Money, *, change_currency: bool = False) -> None:
        """The currency stays the one the opportunity was opened in unless the caller says
        explicitly that it changes: a mistyped currency would silently skew every forecast."""
        state = self._require_open()
        assert state.amount is not None
        positive(amount, "amount")
        if amount.currency != state.amount.currency and not change_currency:
            raise RuleViolated(
                f"the opportunity is in {state.amount.currency}; changing its currency to "
                f"{amount.currency} must be asked for explicitly",
                code="currency_fixed",
            )
        if amount == state.amount:
            return
        self.trigger(OpportunityAmountRevised(previous_amount=state.amount, amount=amount))

    def revise_close_date(self, expected_close_date: date) -> None:
        state = self._require_open()
        assert state.expected_close_date is not None
        if expected_close_date == state.expected_close_date:
            return
        self.trigger(
            OpportunityCloseDateRevised(
                previous_close_date=state.expected_close_date,
                expected_close_date=expected_close_date,
            )
        )

    def reassign(self, owner_id: str, *, team_id: str | None = None) -> None:
        """To another owner, and into ``team_id`` if given (else the team stays)."""
        state = self._require_open()
        owner = required_text(owner_id, "owner_id")
        team = optional_text(team_id, "team_id")
        if owner == state.owner_id and team in (None, state.team_id):
            return
        self.trigger(
            OpportunityOwnerReassigned(
                previous_owner_id=state.owner_id,
                owner_id=owner,
                team_id=None if team == state.team_id else team,
            )
        )

    def win(self, *, pipeline: PipelineDefinition, now: datetime) -> None:
        state = self._require_open()
        assert state.amount is not None
        self.trigger(
            OpportunityWon(
                from_stage=state.stage,
                stage=pipeline.won.name,
                amount=state.amount,
                closed_at=not_before(now, state.entered_at),
            )
        )

    def lose(self, reason: str, *, pipeline: PipelineDefinition, now: datetime) -> None:
        state = self._require_open()
        self.trigger(
            OpportunityLost(
                reason=required_text(reason, "reason", max_length=500),
                lost_at_stage=state.stage,
                stage=pipeline.lost.name,
                closed_at=not_before(now, state.entered_at),
            )
        )

    def reopen(
        self,
        stage: str,
        *,
        pipeline: PipelineDefinition,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        state = self._require_opened()
        if state.is_open:
            raise RuleViolated(
                f"opportunity {self.id} is open; only a won or lost one is reopened",
                code="opportunity_open",
            )
        target = pipeline.open_stage(stage)
        self.trigger(
            OpportunityReopened(
                from_stage=state.stage,
                to_stage=target.name,
                entered_at=not_before(now, state.entered_at),
                probability=target.probability,
                reason=optional_text(reason, "reason", max_length=500),
            )
        )
