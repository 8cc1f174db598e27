"""Events of the sales pipeline: leads, opportunities, the pipeline definition, campaigns and
sales targets. Topic ``crm.sales.events``.

Streams: ``lead-<id>``, ``opportunity-<id>``, ``pipeline-<tenant>``, ``campaign-<id>`` and
``target-<tenant>:<rep|team>-<owner id>-<period>``. Every amount is
:class:`~crm.events.money.Money`.
Time-based facts (when a stage was entered, when a deal closed) are fields of the event, taken
from the command, so the funnel and churn analysis never depend on when an event was recorded.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from crm.events.base import DomainEvent, OptionalPersonal, Personal
from crm.events.customer import CustomValue
from crm.events.money import Money
from crm.events.registry import event, upcaster

StageName = str
Probability = Annotated[int, Field(ge=0, le=100, description="percent")]
PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$"
"""A month ``2026-11`` or a quarter ``2026-Q4``."""


# -- leads ---------------------------------------------------------------------------------------


@event("sales.lead.captured", version=1)
class LeadCapturedV1(DomainEvent):
    """Without custom fields; read as v2 through the upcaster below (none given)."""

    name: Personal
    email: OptionalPersonal = None
    phone: OptionalPersonal = None
    company: str | None = None
    title: str | None = None
    source: str | None = None
    campaign_id: str | None = None
    owner_id: str
    team_id: str | None = None
    """The sales team the lead belongs to (its creator's): whose manager sees it."""


@event("sales.lead.captured", version=2)
class LeadCaptured(DomainEvent):
    """A prospect came in. The contact (``name``, ``email``, ``phone``) is personal data of
    the lead: erasing the lead's key erases it in every event."""

    name: Personal
    email: OptionalPersonal = None
    phone: OptionalPersonal = None
    company: str | None = None
    title: str | None = None
    source: str | None = None
    campaign_id: str | None = None
    owner_id: str
    team_id: str | None = None
    """The sales team the lead belongs to (its creator's): whose manager sees it."""
    custom: dict[str, CustomValue] = Field(default_factory=dict)
    """The tenant's custom fields of leads that are not personal data, by key."""
    custom_personal: OptionalPersonal = None
    """The personal ones: one JSON object by key, sealed with the lead's key."""


@upcaster("sales.lead.captured", from_version=1)
def _captured_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # no custom fields


@event("sales.lead.qualified")
class LeadQualified(DomainEvent):
    note: str | None = None


@event("sales.lead.disqualified")
class LeadDisqualified(DomainEvent):
    reason: str


@event("sales.lead.conversion_requested")
class LeadConversionRequested(DomainEvent):
    """Sales decided to turn the lead into an opportunity. The ids are chosen here, once, so
    the process that registers the customer and opens the opportunity can repeat any step
    after a crash or a redelivery and still create each of them exactly once."""

    customer_id: str
    new_customer: bool
    """True: the customer context registers ``customer_id`` from the lead's contact; False:
    ``customer_id`` is an existing customer."""
    opportunity_id: str
    opportunity_name: str
    amount: Money
    expected_close_date: date
    owner_id: str
    contact_name: OptionalPersonal = None
    """For a new customer, the lead's contact, which the customer context registers (personal
    data of the lead, encrypted with its key like the lead's own fields)."""
    contact_email: OptionalPersonal = None
    contact_phone: OptionalPersonal = None
    company: str | None = None
    title: str | None = None
    source: str | None = None
    campaign_id: str | None = None
    team_id: str | None = None
    """The lead's team, which the opportunity joins."""


@event("sales.lead.converted")
class LeadConverted(DomainEvent):
    customer_id: str
    opportunity_id: str


# -- pipeline ------------------------------------------------------------------------------------


class StageOutcome(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class StageDefinition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: StageName
    probability: Probability
    """The default chance, in percent, that an opportunity in this stage is won."""
    outcome: StageOutcome = StageOutcome.OPEN


DEFAULT_PIPELINE_STAGES: tuple[StageDefinition, ...] = tuple(
    StageDefinition(name=name, probability=probability, outcome=outcome)
    for name, probability, outcome in (
        ("prospecting", 10, StageOutcome.OPEN),
        ("qualification", 20, StageOutcome.OPEN),
        ("needs_analysis", 40, StageOutcome.OPEN),
        ("proposal", 60, StageOutcome.OPEN),
        ("negotiation", 80, StageOutcome.OPEN),
        ("won", 100, StageOutcome.WON),
        ("lost", 0, StageOutcome.LOST),
    )
)
"""The pipeline of a tenant that never configured its own (never sent
``sales.pipeline.configured``): the sales context works with it, and analytics counts the
funnel of such a tenant in its order."""


@event("sales.pipeline.configured")
class PipelineConfigured(DomainEvent):
    """The whole pipeline of a tenant, in order: opportunities move between its open stages
    and close in its won or lost stage."""

    stages: tuple[StageDefinition, ...]


# -- opportunities -------------------------------------------------------------------------------


class StageDirection(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"


def _customer_subject(customer_id: str) -> str:
    """The customer's key subject (the customer context's stream id)."""
    return f"customer-{customer_id}"


@event("sales.opportunity.opened", version=1)
class OpportunityOpenedV1(DomainEvent):
    """Without custom fields; read as v2 through the upcaster below (none given)."""

    customer_id: str
    owner_id: str
    name: str
    amount: Money
    expected_close_date: date
    stage: StageName
    probability: Probability
    entered_at: datetime
    """When the opportunity entered its first stage."""
    lead_id: str | None = None
    campaign_id: str | None = None
    team_id: str | None = None
    """The sales team the opportunity belongs to (its creator's, or its lead's)."""


@event("sales.opportunity.opened", version=2)
class OpportunityOpened(DomainEvent):
    customer_id: str
    owner_id: str
    name: str
    amount: Money
    expected_close_date: date
    stage: StageName
    probability: Probability
    entered_at: datetime
    """When the opportunity entered its first stage."""
    lead_id: str | None = None
    campaign_id: str | None = None
    team_id: str | None = None
    """The sales team the opportunity belongs to (its creator's, or its lead's)."""
    custom: dict[str, CustomValue] = Field(default_factory=dict)
    """The tenant's custom fields of opportunities that are not personal data, by key."""
    custom_personal: OptionalPersonal = None
    """The personal ones: one JSON object by key, sealed with the *customer's* key (the
    opportunity has none of its own: erasing the customer erases them)."""

    def data_subject(self, stream_id: str) -> str:
        return _customer_subject(self.customer_id)


@upcaster("sales.opportunity.opened", from_version=1)
def _opened_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # no custom fields


@event("sales.opportunity.custom_fields_changed")
class OpportunityCustomFieldsChanged(DomainEvent):
    """The opportunity's custom values edited: all of them as they now are (a field not
    named is empty), so no reader needs an earlier event to know them."""

    customer_id: str
    """The opportunity's customer, whose key seals ``custom_personal``."""
    custom: dict[str, CustomValue] = Field(default_factory=dict)
    custom_personal: OptionalPersonal = None
    changed: tuple[str, ...] = ()
    """The keys whose value changed (set, changed or cleared)."""

    def data_subject(self, stream_id: str) -> str:
        return _customer_subject(self.customer_id)


@event("sales.opportunity.stage_changed")
class OpportunityStageChanged(DomainEvent):
    from_stage: StageName
    to_stage: StageName
    direction: StageDirection
    """Along the pipeline's order at the time of the move."""
    entered_at: datetime
    probability: Probability


@event("sales.opportunity.amount_revised")
class OpportunityAmountRevised(DomainEvent):
    previous_amount: Money
    amount: Money


@event("sales.opportunity.close_date_revised")
class OpportunityCloseDateRevised(DomainEvent):
    previous_close_date: date
    expected_close_date: date


@event("sales.opportunity.owner_reassigned")
class OpportunityOwnerReassigned(DomainEvent):
    previous_owner_id: str
    owner_id: str
    team_id: str | None = None
    """The team it belongs to from now on (the reassigning manager's); None: unchanged."""


@event("sales.opportunity.won")
class OpportunityWon(DomainEvent):
    from_stage: StageName
    """The open stage it was won from."""
    stage: StageName
    """The pipeline's won stage."""
    amount: Money
    closed_at: datetime


@event("sales.opportunity.lost")
class OpportunityLost(DomainEvent):
    reason: str
    lost_at_stage: StageName
    """The open stage it was in when it was lost: where the funnel leaks."""
    stage: StageName
    """The pipeline's lost stage."""
    closed_at: datetime


@event("sales.opportunity.reopened")
class OpportunityReopened(DomainEvent):
    from_stage: StageName
    """The won or lost stage it was closed in."""
    to_stage: StageName
    entered_at: datetime
    probability: Probability
    reason: str | None = None


# -- campaigns -----------------------------------------------------------------------------------


class CampaignChannel(StrEnum):
    EMAIL = "email"
    SOCIAL = "social"
    SEARCH = "search"
    DISPLAY = "display"
    EVENT = "event"
    WEBINAR = "webinar"
    CONTENT = "content"
    REFERRAL = "referral"
    DIRECT_MAIL = "direct_mail"
    TELEMARKETING = "telemarketing"
    PARTNER = "partner"
    OTHER = "other"


@event("sales.campaign.planned")
class CampaignPlanned(DomainEvent):
    name: str
    channel: CampaignChannel
    budget: Money
    starts_on: date
    ends_on: date
    """Inclusive: a one-day campaign ends on the day it starts."""
    owner_id: str | None = None


@event("sales.campaign.launched")
class CampaignLaunched(DomainEvent):
    launched_at: datetime


@event("sales.campaign.ended")
class CampaignEnded(DomainEvent):
    ended_at: datetime
    reason: str | None = None


@event("sales.campaign.revised")
class CampaignRevised(DomainEvent):
    """A planned or active campaign's budget and dates changed (the new values, whole)."""

    budget: Money
    starts_on: date
    ends_on: date
    """Inclusive, as at planning."""
    reason: str | None = None


# -- sales targets -------------------------------------------------------------------------------


class TargetOwnerKind(StrEnum):
    REP = "rep"
    TEAM = "team"


@event("sales.target.set")
class TargetSet(DomainEvent):
    owner_kind: TargetOwnerKind
    owner_id: str
    period: str = Field(pattern=PERIOD_PATTERN)
    amount: Money
    team_id: str | None = None
    """The sales team the target belongs to: a team target's own team; a rep target's, the
    team of the manager who set it (None: set by a manager without a team, or an admin)."""


@event("sales.target.revised")
class TargetRevised(DomainEvent):
    previous_amount: Money
    amount: Money
    reason: str | None = None


SALES_PIPELINE_EVENTS: tuple[type[DomainEvent], ...] = (
    LeadCaptured,
    LeadQualified,
    LeadDisqualified,
    LeadConversionRequested,
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
    OpportunityCustomFieldsChanged,
    CampaignPlanned,
    CampaignLaunched,
    CampaignEnded,
    CampaignRevised,
    TargetSet,
    TargetRevised,
)
