"""Request bodies of the pipeline routes, and the answers that are not read-model documents
(those are the documents' own types, :mod:`crm.sales.projections.pipeline_models`). Unknown
fields are refused (a typo is a 422 naming it); amounts are
:data:`~crm.events.money.RequestMoney`: a decimal string within the currency's minor unit and
the one bound, anything else (a JSON number, an exponent) a 422 naming the amount."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from crm.events.money import RequestMoney
from crm.events.sales import CampaignChannel, StageDefinition, TargetOwnerKind
from crm.kernel.http import CommandAccepted
from crm.kernel.http.body import Body
from crm.kernel.http.params import Phone

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Stage = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


# -- leads ---------------------------------------------------------------------------------------


class NewLead(Body):
    name: Name
    email: EmailStr | None = None
    phone: Phone | None = None
    company: Short | None = None
    title: Short | None = None
    source: Short | None = None
    campaign_id: Id | None = None
    owner_id: Id | None = Field(default=None, description="The owning rep; default: you")
    custom: dict[str, Any] = Field(
        default_factory=dict,
        max_length=100,
        description="The tenant's custom fields of leads by key (GET /custom-fields?entity=lead)",
    )


class Qualification(Body):
    note: Note | None = None


class Disqualification(Body):
    reason: Reason


class LeadConversion(Body):
    opportunity_name: Name
    amount: RequestMoney
    expected_close_date: date
    existing_customer_id: Id | None = Field(
        default=None, description="Convert for this customer instead of registering a new one"
    )
    owner_id: Id | None = Field(
        default=None, description="The opportunity's owner; default: the lead's"
    )


class ConversionAccepted(CommandAccepted):
    """The conversion is recorded; the customer and the opportunity follow asynchronously,
    under these ids."""

    customer_id: str
    opportunity_id: str
    new_customer: bool


# -- opportunities -------------------------------------------------------------------------------


class NewOpportunity(Body):
    customer_id: Id
    name: Name
    amount: RequestMoney
    expected_close_date: date
    stage: Stage | None = Field(default=None, description="Default: the first open stage")
    owner_id: Id | None = None
    campaign_id: Id | None = None
    custom: dict[str, Any] = Field(
        default_factory=dict,
        max_length=100,
        description="The tenant's custom fields of opportunities by key "
        "(GET /custom-fields?entity=opportunity)",
    )


class StageMove(Body):
    stage: Stage


class Loss(Body):
    reason: Reason


class Reopening(Body):
    stage: Stage
    reason: Reason | None = None


class OpportunityPatch(Body):
    amount: RequestMoney | None = None
    change_currency: bool = Field(
        default=False, description="Required to change the opportunity's currency"
    )
    expected_close_date: date | None = None
    owner_id: Id | None = Field(default=None, description="Reassign (managers only)")
    custom: dict[str, Any] | None = Field(
        default=None,
        max_length=100,
        description="Custom values to set by key (null or blank clears one); the others stay",
    )


# -- pipeline ------------------------------------------------------------------------------------


class PipelineBody(Body):
    stages: list[StageDefinition] = Field(min_length=1, max_length=30)


class PipelineView(BaseModel):
    stages: list[StageDefinition]
    configured: bool
    version: int


# -- campaigns -----------------------------------------------------------------------------------


class NewCampaign(Body):
    name: Name
    channel: CampaignChannel
    budget: RequestMoney
    starts_on: date
    ends_on: date
    owner_id: Id | None = None


class CampaignEnd(Body):
    reason: Reason | None = None


class CampaignRevision(Body):
    """The budget and dates, whole (the ones kept sent again)."""

    budget: RequestMoney
    starts_on: date
    ends_on: date
    reason: Reason | None = None


# -- targets -------------------------------------------------------------------------------------


class NewTarget(Body):
    owner_kind: TargetOwnerKind
    owner_id: Id
    period: Annotated[str, Field(description="A month (2026-11) or a quarter (2026-Q4)")]
    amount: RequestMoney


class TargetRevision(Body):
    amount: RequestMoney
    reason: Reason | None = None
