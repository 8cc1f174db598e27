"""Read models of the sales pipeline: ``sales_leads``, ``sales_opportunities``,
``sales_campaigns`` and ``sales_targets``, one document per aggregate.

Each document's shape is a ``TypedDict`` (:class:`LeadDoc`, :class:`OpportunityDoc`,
:class:`CampaignDoc`, :class:`TargetDoc`): the projection writes it and the routes answer it
as it is. Every document carries ``tenant``, ``owner_id`` and ``team_id`` so that the queries
can apply the policy's visibility filter (``team_id`` is None where the events do not say).

An opportunity document keeps its stage history (every move with its timestamp, from the
events, never from when they were recorded) and its weighted amount (amount x probability),
the figures a pipeline review sorts and sums.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, NotRequired, TypeVar

from pydantic import Field
from typing_extensions import TypedDict

from crm.events import EventEnvelope
from crm.events.money import Money
from crm.events.sales import (
    CampaignChannel,
    CampaignEnded,
    CampaignLaunched,
    CampaignPlanned,
    CampaignRevised,
    LeadCaptured,
    LeadConversionRequested,
    LeadConverted,
    LeadDisqualified,
    LeadQualified,
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
    TargetOwnerKind,
    TargetRevised,
    TargetSet,
)
from crm.kernel.custom_fields import doc_fields
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.read_store import CollectionSpec, Index
from crm.kernel.tenancy import local_id

LEADS = "sales_leads"
OPPORTUNITIES = "sales_opportunities"
CAMPAIGNS = "sales_campaigns"
TARGETS = "sales_targets"

Hidden = Field(exclude=True)
"""A field the queries filter or sort by that the routes do not show."""

DocT = TypeVar("DocT", "LeadDoc", "OpportunityDoc", "CampaignDoc", "TargetDoc")


class MoneyDoc(TypedDict):
    """An amount as documents store it: a decimal string and its currency."""

    amount: str
    currency: str


def money(value: Money) -> MoneyDoc:
    return MoneyDoc(amount=format(value.amount, "f"), currency=value.currency)


def weighted(amount: Money, probability: int) -> MoneyDoc:
    return money(amount.times(Decimal(probability) / 100).rounded())


def _existing(doc: DocT | None, key: DocKey, envelope: EventEnvelope) -> DocT:
    if doc is None:
        raise LookupError(f"{envelope.event_type} for {key[1]} whose creation was never applied")
    return doc.copy()


def _touch(doc: DocT, envelope: EventEnvelope) -> DocT:
    doc["updated_at"] = envelope.occurred_at.isoformat()
    doc["version"] = envelope.stream_version
    return doc


# -- leads ---------------------------------------------------------------------------------------


class LeadDoc(TypedDict):
    id: str
    tenant: Annotated[str, Hidden]
    owner_id: str
    team_id: str | None
    name: str
    email: str | None
    phone: str | None
    company: str | None
    title: str | None
    source: str | None
    campaign_id: str | None
    custom: NotRequired[dict[str, Any]]
    """The tenant's custom fields of leads by key (canonical values)."""
    custom_personal_keys: NotRequired[Annotated[list[str], Hidden]]
    custom_sort: NotRequired[Annotated[dict[str, float], Hidden]]
    status: Literal["open", "qualified", "disqualified", "converting", "converted"]
    qualified_note: str | None
    disqualified_reason: str | None
    customer_id: str | None
    opportunity_id: str | None
    converted_at: str | None
    created_at: str
    created_by: str
    updated_at: str
    version: int


leads: Handlers[LeadDoc] = Handlers()


@leads(LeadCaptured)
def lead_captured(
    key: DocKey, doc: LeadDoc | None, event: LeadCaptured, envelope: EventEnvelope
) -> LeadDoc:
    new = LeadDoc(
        id=key[1],
        tenant=envelope.tenant,
        owner_id=event.owner_id,
        team_id=event.team_id,
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
        created_at=envelope.occurred_at.isoformat(),
        created_by=envelope.actor,
        updated_at="",
        version=0,
    )
    new.update(doc_fields(event.custom, event.custom_personal))  # type: ignore[typeddict-item]
    return _touch(new, envelope)


@leads(LeadQualified)
def lead_qualified(
    key: DocKey, doc: LeadDoc | None, event: LeadQualified, envelope: EventEnvelope
) -> LeadDoc:
    new = _existing(doc, key, envelope)
    new.update({"status": "qualified", "qualified_note": event.note})
    return _touch(new, envelope)


@leads(LeadDisqualified)
def lead_disqualified(
    key: DocKey, doc: LeadDoc | None, event: LeadDisqualified, envelope: EventEnvelope
) -> LeadDoc:
    new = _existing(doc, key, envelope)
    new.update({"status": "disqualified", "disqualified_reason": event.reason})
    return _touch(new, envelope)


@leads(LeadConversionRequested)
def lead_conversion_requested(
    key: DocKey, doc: LeadDoc | None, event: LeadConversionRequested, envelope: EventEnvelope
) -> LeadDoc:
    new = _existing(doc, key, envelope)
    new.update(
        {
            "status": "converting",
            "customer_id": event.customer_id,
            "opportunity_id": event.opportunity_id,
        }
    )
    return _touch(new, envelope)


@leads(LeadConverted)
def lead_converted(
    key: DocKey, doc: LeadDoc | None, event: LeadConverted, envelope: EventEnvelope
) -> LeadDoc:
    new = _existing(doc, key, envelope)
    new.update(
        {
            "status": "converted",
            "customer_id": event.customer_id,
            "opportunity_id": event.opportunity_id,
            "converted_at": envelope.occurred_at.isoformat(),
        }
    )
    return _touch(new, envelope)


class LeadsProjection:
    name = LEADS
    version = 2
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
    event_types = leads.event_types
    categories = frozenset({"lead"})
    evolve = staticmethod(leads.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(LEADS, envelope),)


# -- opportunities -------------------------------------------------------------------------------


class StageEntry(TypedDict):
    stage: str
    entered_at: str
    probability: int
    direction: NotRequired[StageDirection]
    """Only on a stage change: forward or backward in the pipeline's order."""


class OpportunityDoc(TypedDict):
    id: str
    tenant: Annotated[str, Hidden]
    owner_id: str
    team_id: str | None
    customer_id: str
    name: str
    amount: MoneyDoc
    weighted_amount: MoneyDoc
    amount_sort: Annotated[float, Hidden]
    """Only to order lists by size; amounts in the API are decimal strings."""
    expected_close_date: str
    status: Literal["open", "won", "lost"]
    stage: str
    entered_at: str
    probability: int
    lead_id: str | None
    campaign_id: str | None
    lost_reason: str | None
    lost_at_stage: str | None
    closed_at: str | None
    stage_history: list[StageEntry]
    custom: NotRequired[dict[str, Any]]
    """The tenant's custom fields of opportunities by key (canonical values)."""
    custom_personal_keys: NotRequired[Annotated[list[str], Hidden]]
    custom_sort: NotRequired[Annotated[dict[str, float], Hidden]]
    created_at: str
    created_by: str
    updated_at: str
    version: int


opportunities: Handlers[OpportunityDoc] = Handlers()


def _priced(doc: OpportunityDoc, amount: Money) -> OpportunityDoc:
    doc["amount"] = money(amount)
    doc["weighted_amount"] = weighted(amount, doc["probability"])
    doc["amount_sort"] = float(amount.amount)
    return doc


def _enter(doc: OpportunityDoc, entry: StageEntry) -> None:
    """The opportunity is now in ``entry``'s stage, which joins its history."""
    doc.update(
        {
            "stage": entry["stage"],
            "entered_at": entry["entered_at"],
            "probability": entry["probability"],
        }
    )
    doc["stage_history"] = [*doc["stage_history"], entry]


def _amount_of(doc: OpportunityDoc) -> Money:
    return Money.model_validate(doc["amount"])


@opportunities(OpportunityOpened)
def opportunity_opened(
    key: DocKey, doc: OpportunityDoc | None, event: OpportunityOpened, envelope: EventEnvelope
) -> OpportunityDoc:
    entered = event.entered_at.isoformat()
    new = OpportunityDoc(
        id=key[1],
        tenant=envelope.tenant,
        owner_id=event.owner_id,
        team_id=event.team_id,
        customer_id=event.customer_id,
        name=event.name,
        amount=money(event.amount),
        weighted_amount=weighted(event.amount, event.probability),
        amount_sort=float(event.amount.amount),
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
            StageEntry(stage=event.stage, entered_at=entered, probability=event.probability)
        ],
        created_at=envelope.occurred_at.isoformat(),
        created_by=envelope.actor,
        updated_at="",
        version=0,
    )
    new.update(doc_fields(event.custom, event.custom_personal))  # type: ignore[typeddict-item]
    return _touch(new, envelope)


@opportunities(OpportunityCustomFieldsChanged)
def opportunity_custom_fields_changed(
    key: DocKey,
    doc: OpportunityDoc | None,
    event: OpportunityCustomFieldsChanged,
    envelope: EventEnvelope,
) -> OpportunityDoc:
    new = _existing(doc, key, envelope)
    new.update(doc_fields(event.custom, event.custom_personal))  # type: ignore[typeddict-item]
    return _touch(new, envelope)


@opportunities(OpportunityStageChanged)
def opportunity_stage_changed(
    key: DocKey, doc: OpportunityDoc | None, event: OpportunityStageChanged, envelope: EventEnvelope
) -> OpportunityDoc:
    new = _existing(doc, key, envelope)
    entry = StageEntry(
        stage=event.to_stage,
        entered_at=event.entered_at.isoformat(),
        probability=event.probability,
        direction=event.direction,
    )
    _enter(new, entry)
    return _touch(_priced(new, _amount_of(new)), envelope)


@opportunities(OpportunityAmountRevised)
def opportunity_amount_revised(
    key: DocKey,
    doc: OpportunityDoc | None,
    event: OpportunityAmountRevised,
    envelope: EventEnvelope,
) -> OpportunityDoc:
    return _touch(_priced(_existing(doc, key, envelope), event.amount), envelope)


@opportunities(OpportunityCloseDateRevised)
def opportunity_close_date_revised(
    key: DocKey,
    doc: OpportunityDoc | None,
    event: OpportunityCloseDateRevised,
    envelope: EventEnvelope,
) -> OpportunityDoc:
    new = _existing(doc, key, envelope)
    new["expected_close_date"] = event.expected_close_date.isoformat()
    return _touch(new, envelope)


@opportunities(OpportunityOwnerReassigned)
def opportunity_owner_reassigned(
    key: DocKey,
    doc: OpportunityDoc | None,
    event: OpportunityOwnerReassigned,
    envelope: EventEnvelope,
) -> OpportunityDoc:
    new = _existing(doc, key, envelope)
    new["owner_id"] = event.owner_id
    if event.team_id is not None:  # None: the team stays
        new["team_id"] = event.team_id
    return _touch(new, envelope)


@opportunities(OpportunityWon)
def opportunity_won(
    key: DocKey, doc: OpportunityDoc | None, event: OpportunityWon, envelope: EventEnvelope
) -> OpportunityDoc:
    new = _existing(doc, key, envelope)
    closed = event.closed_at.isoformat()
    _enter(new, StageEntry(stage=event.stage, entered_at=closed, probability=100))
    new.update({"status": "won", "closed_at": closed})
    return _touch(_priced(new, event.amount), envelope)


@opportunities(OpportunityLost)
def opportunity_lost(
    key: DocKey, doc: OpportunityDoc | None, event: OpportunityLost, envelope: EventEnvelope
) -> OpportunityDoc:
    new = _existing(doc, key, envelope)
    closed = event.closed_at.isoformat()
    _enter(new, StageEntry(stage=event.stage, entered_at=closed, probability=0))
    new.update(
        {
            "status": "lost",
            "closed_at": closed,
            "lost_reason": event.reason,
            "lost_at_stage": event.lost_at_stage,
        }
    )
    return _touch(_priced(new, _amount_of(new)), envelope)


@opportunities(OpportunityReopened)
def opportunity_reopened(
    key: DocKey, doc: OpportunityDoc | None, event: OpportunityReopened, envelope: EventEnvelope
) -> OpportunityDoc:
    new = _existing(doc, key, envelope)
    entry = StageEntry(
        stage=event.to_stage,
        entered_at=event.entered_at.isoformat(),
        probability=event.probability,
    )
    _enter(new, entry)
    new.update({"status": "open", "closed_at": None, "lost_reason": None, "lost_at_stage": None})
    return _touch(_priced(new, _amount_of(new)), envelope)


class OpportunitiesProjection:
    name = OPPORTUNITIES
    version = 2
    """2: the custom fields of opportunities."""
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
    event_types = opportunities.event_types
    categories = frozenset({"opportunity"})
    evolve = staticmethod(opportunities.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(OPPORTUNITIES, envelope),)


# -- campaigns -----------------------------------------------------------------------------------


class CampaignDoc(TypedDict):
    id: str
    tenant: Annotated[str, Hidden]
    owner_id: str | None
    team_id: Annotated[str | None, Hidden]
    """Campaigns belong to no team (yet): every role that views sales sees them."""
    name: str
    channel: CampaignChannel
    budget: MoneyDoc
    starts_on: str
    ends_on: str
    status: Literal["planned", "active", "ended"]
    launched_at: str | None
    ended_at: str | None
    end_reason: str | None
    created_at: str
    created_by: str
    updated_at: str
    version: int


campaigns: Handlers[CampaignDoc] = Handlers()


@campaigns(CampaignPlanned)
def campaign_planned(
    key: DocKey, doc: CampaignDoc | None, event: CampaignPlanned, envelope: EventEnvelope
) -> CampaignDoc:
    new = CampaignDoc(
        id=key[1],
        tenant=envelope.tenant,
        owner_id=event.owner_id,
        team_id=None,
        name=event.name,
        channel=event.channel,
        budget=money(event.budget),
        starts_on=event.starts_on.isoformat(),
        ends_on=event.ends_on.isoformat(),
        status="planned",
        launched_at=None,
        ended_at=None,
        end_reason=None,
        created_at=envelope.occurred_at.isoformat(),
        created_by=envelope.actor,
        updated_at="",
        version=0,
    )
    return _touch(new, envelope)


@campaigns(CampaignLaunched)
def campaign_launched(
    key: DocKey, doc: CampaignDoc | None, event: CampaignLaunched, envelope: EventEnvelope
) -> CampaignDoc:
    new = _existing(doc, key, envelope)
    new.update({"status": "active", "launched_at": event.launched_at.isoformat()})
    return _touch(new, envelope)


@campaigns(CampaignEnded)
def campaign_ended(
    key: DocKey, doc: CampaignDoc | None, event: CampaignEnded, envelope: EventEnvelope
) -> CampaignDoc:
    new = _existing(doc, key, envelope)
    new.update(
        {"status": "ended", "ended_at": event.ended_at.isoformat(), "end_reason": event.reason}
    )
    return _touch(new, envelope)


@campaigns(CampaignRevised)
def campaign_revised(
    key: DocKey, doc: CampaignDoc | None, event: CampaignRevised, envelope: EventEnvelope
) -> CampaignDoc:
    new = _existing(doc, key, envelope)
    new.update(
        {
            "budget": money(event.budget),
            "starts_on": event.starts_on.isoformat(),
            "ends_on": event.ends_on.isoformat(),
        }
    )
    return _touch(new, envelope)


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
    event_types = campaigns.event_types
    categories = frozenset({"campaign"})
    evolve = staticmethod(campaigns.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(CAMPAIGNS, envelope),)


# -- targets -------------------------------------------------------------------------------------


class TargetRevisionEntry(TypedDict):
    previous_amount: MoneyDoc
    amount: MoneyDoc
    reason: str | None
    at: str
    by: str


class TargetDoc(TypedDict):
    id: str
    """The tenant's own id (``rep-r1-2026-Q1``); the document's key is the qualified one."""
    tenant: Annotated[str, Hidden]
    owner_kind: TargetOwnerKind
    owner_id: str
    team_id: str | None
    """The team it belongs to: the team itself for a team target, the team of the manager who
    set it for a rep target."""
    period: str
    amount: MoneyDoc
    revisions: list[TargetRevisionEntry]
    created_at: str
    created_by: str
    updated_at: str
    version: int


targets: Handlers[TargetDoc] = Handlers()


@targets(TargetSet)
def target_set(
    key: DocKey, doc: TargetDoc | None, event: TargetSet, envelope: EventEnvelope
) -> TargetDoc:
    new = TargetDoc(
        id=local_id(key[1]),
        tenant=envelope.tenant,
        owner_kind=event.owner_kind,
        owner_id=event.owner_id,
        team_id=event.owner_id if event.owner_kind is TargetOwnerKind.TEAM else event.team_id,
        period=event.period,
        amount=money(event.amount),
        revisions=[],
        created_at=envelope.occurred_at.isoformat(),
        created_by=envelope.actor,
        updated_at="",
        version=0,
    )
    return _touch(new, envelope)


@targets(TargetRevised)
def target_revised(
    key: DocKey, doc: TargetDoc | None, event: TargetRevised, envelope: EventEnvelope
) -> TargetDoc:
    new = _existing(doc, key, envelope)
    new["amount"] = money(event.amount)
    revision = TargetRevisionEntry(
        previous_amount=money(event.previous_amount),
        amount=money(event.amount),
        reason=event.reason,
        at=envelope.occurred_at.isoformat(),
        by=envelope.actor,
    )
    new["revisions"] = [*new["revisions"], revision]
    return _touch(new, envelope)


class TargetsProjection:
    """One document per target, keyed by its (tenant-qualified) aggregate id so two tenants'
    targets of a rep ``r1`` for one period never share a document; its ``id`` is the tenant's
    own (``rep-r1-2026-Q1``), which queries and routes use with the tenant."""

    name = TARGETS
    version = 2
    """2: a rep target's ``team_id`` is the team it was set under."""
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
    event_types = targets.event_types
    categories = frozenset({"target"})
    evolve = staticmethod(targets.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(TARGETS, envelope),)


PROJECTIONS = (
    LeadsProjection(),
    OpportunitiesProjection(),
    CampaignsProjection(),
    TargetsProjection(),
)
