"""The campaign aggregate: planned, then active, then ended; leads and orders attribute to it
by its id."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Self

from crm.events import DomainEvent
from crm.events.money import Money
from crm.events.sales import (
    CampaignChannel,
    CampaignEnded,
    CampaignLaunched,
    CampaignPlanned,
    CampaignRevised,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.checks import bounded, not_before, optional_text, required_text


class CampaignStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class CampaignState:
    planned: bool = False
    status: CampaignStatus = CampaignStatus.PLANNED
    name: str = ""
    channel: CampaignChannel = CampaignChannel.OTHER
    budget: Money | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    launched_at: datetime | None = None
    ended_at: datetime | None = None

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case CampaignPlanned():
                return replace(
                    self,
                    planned=True,
                    name=event.name,
                    channel=event.channel,
                    budget=event.budget,
                    starts_on=event.starts_on,
                    ends_on=event.ends_on,
                )
            case CampaignLaunched():
                return replace(self, status=CampaignStatus.ACTIVE, launched_at=event.launched_at)
            case CampaignEnded():
                return replace(self, status=CampaignStatus.ENDED, ended_at=event.ended_at)
            case CampaignRevised():
                return replace(
                    self, budget=event.budget, starts_on=event.starts_on, ends_on=event.ends_on
                )
        return self


class Campaign(Aggregate[CampaignState]):
    category = "campaign"

    @classmethod
    def initial_state(cls) -> CampaignState:
        return CampaignState()

    def _require_planned(self) -> CampaignState:
        if not self.state.planned:
            raise NotFound(f"campaign {self.id} does not exist")
        return self.state

    def plan(
        self,
        *,
        name: str,
        channel: CampaignChannel,
        budget: Money,
        starts_on: date,
        ends_on: date,
        owner_id: str | None = None,
    ) -> None:
        """Dates are inclusive: the campaign may end on the day it starts, never before."""
        if self.state.planned:
            raise RuleViolated(f"campaign {self.id} already exists", code="already_exists")
        if bounded(budget, "budget").is_negative:
            raise InvalidCommand("budget", "must not be negative")
        if ends_on < starts_on:
            raise InvalidCommand("ends_on", "must not be before starts_on")
        self.trigger(
            CampaignPlanned(
                name=required_text(name, "name"),
                channel=channel,
                budget=budget,
                starts_on=starts_on,
                ends_on=ends_on,
                owner_id=optional_text(owner_id, "owner_id"),
            )
        )

    def launch(self, *, now: datetime) -> None:
        """A planned campaign, early if need be, but not once its last day is over."""
        state = self._require_planned()
        if state.status is not CampaignStatus.PLANNED:
            raise RuleViolated(
                f"campaign {self.id} is {state.status.value}; only a planned one is launched",
                code=f"campaign_{state.status.value}",
            )
        assert state.ends_on is not None
        if not_before(now, None).date() > state.ends_on:
            raise RuleViolated(
                f"campaign {self.id} was planned to end on {state.ends_on}", code="campaign_over"
            )
        self.trigger(CampaignLaunched(launched_at=now))

    def end(self, *, now: datetime, reason: str | None = None) -> None:
        state = self._require_planned()
        if state.status is not CampaignStatus.ACTIVE:
            raise RuleViolated(
                f"campaign {self.id} is {state.status.value}; only an active one is ended",
                code=f"campaign_{state.status.value}",
            )
        self.trigger(
            CampaignEnded(
                ended_at=not_before(now, state.launched_at),
                reason=optional_text(reason, "reason", max_length=500),
            )
        )

    def revise(
        self,
        *,
        now: datetime,
        budget: Money,
        starts_on: date,
        ends_on: date,
        reason: str | None = None,
    ) -> None:
        """A new budget and dates for a campaign not ended yet. The checks of planning hold
        (a budget not negative, the end not before the start); a launched campaign keeps the
        day it started and may not be made to end before today."""
        state = self._require_planned()
        if state.status is CampaignStatus.ENDED:
            raise RuleViolated(
                f"campaign {self.id} is ended; only a planned or active one is revised",
                code="campaign_ended",
            )
        if bounded(budget, "budget").is_negative:
            raise InvalidCommand("budget", "must not be negative")
        if ends_on < starts_on:
            raise InvalidCommand("ends_on", "must not be before starts_on")
        if state.status is CampaignStatus.ACTIVE:
            if starts_on != state.starts_on:
                raise InvalidCommand("starts_on", "a launched campaign keeps its start date")
            if ends_on < not_before(now, None).date():
                raise InvalidCommand("ends_on", "must not be before today for an active campaign")
        if (budget, starts_on, ends_on) == (state.budget, state.starts_on, state.ends_on):
            raise InvalidCommand("budget", "nothing changed")
        self.trigger(
            CampaignRevised(
                budget=budget,
                starts_on=starts_on,
                ends_on=ends_on,
                reason=optional_text(reason, "reason", max_length=500),
            )
        )
