"""Events of commissions in the sales context: the tenant's plans, the split of an order's
commission between reps, and each rep's monthly statement.

Streams:

- ``commissionplans-<tenant>:plans``: every plan of the tenant and its versions, one stream,
  so the process that computes commissions reads them all consistently;
- ``commissionsplit-<order id>``: how an order's commission is shared between reps;
- ``commission-<tenant>:<rep id>-<YYYY-MM>``: a rep's statement for a month: what they earned,
  what was held back, released or clawed back, and its approval. An approved statement takes
  no more entries: a later one goes into the next month still open.

Topic ``crm.sales.events``. Every amount is a :class:`Money`; rates and multipliers are
decimals (a rate ``"5"`` is 5 %). No field here is personal data: reps and customers are ids.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from crm.events.base import DomainEvent
from crm.events.money import Amount, Currency, Money
from crm.events.registry import event

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class CommissionBasis(StrEnum):
    BOOKED = "booked"
    """Earned when the order is placed (its total)."""
    COLLECTED = "collected"
    """Earned when a payment is recorded (its amount)."""


class RateKind(StrEnum):
    PRODUCT = "product"
    """``key`` is a sku."""
    GROUP = "group"
    """``key`` names one of the plan's product groups."""
    CUSTOMER_TIER = "customer_tier"
    """``key`` names one of the plan's customer tiers."""


class CommissionRate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: RateKind
    key: str
    rate: Amount
    """Percent of the revenue."""


class AttainmentTier(BaseModel):
    """From ``from_percent`` of the rep's target on, the rates are multiplied by
    ``multiplier`` (for the revenue above that point only: tiers are marginal)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    from_percent: Amount
    multiplier: Amount


class PlanTerms(BaseModel):
    """What a version of a plan pays. The rate of an order line is the first that matches:
    its sku's, its product group's, its customer's tier's, else ``base_rate``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: Currency
    basis: CommissionBasis
    base_rate: Amount
    hold_until_collected: bool = False
    """Booked basis only: the commission is earned at the order but held until its invoice is
    paid (then released)."""
    rates: tuple[CommissionRate, ...] = ()
    product_groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Group name to its skus."""
    customer_tiers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Tier name to its customer ids."""
    tiers: tuple[AttainmentTier, ...] = ()
    """Sorted by ``from_percent``, the first from 0; none: a multiplier of 1."""
    rep_ids: tuple[str, ...] = ()
    """The reps it applies to; none: every rep without a plan naming them."""


@event("sales.commission.plan_created")
class CommissionPlanCreated(DomainEvent):
    plan_id: str
    name: str
    terms: PlanTerms
    effective_from: date
    effective_to: date | None = None
    """The last day it applies; None: open-ended."""


@event("sales.commission.plan_revised")
class CommissionPlanRevised(DomainEvent):
    """Version ``version`` applies from ``effective_from`` (never a past day); the previous
    version applies up to the day before, so no earlier period is rewritten."""

    plan_id: str
    version: Annotated[int, Field(ge=2)]
    terms: PlanTerms
    effective_from: date


@event("sales.commission.plan_ended")
class CommissionPlanEnded(DomainEvent):
    plan_id: str
    effective_to: date
    """The last day it applies (never a past day)."""


class SplitShare(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rep_id: str
    percent: Amount


@event("sales.commission.split_set")
class CommissionSplitSet(DomainEvent):
    """How the commission of the order is shared from now on (shares add up to 100);
    commissions earned before keep the shares they were earned with."""

    order_id: str
    shares: tuple[SplitShare, ...]
    team_id: str | None = None


class EntryKind(StrEnum):
    EARNED = "earned"
    RELEASED = "released"
    CLAWED_BACK = "clawed_back"


class EntrySource(StrEnum):
    ORDER = "order"
    PAYMENT = "payment"


@event("sales.commission.earned")
class CommissionEarned(DomainEvent):
    """A rep's commission on their share of an order (booked basis) or of a payment
    (collected basis), rounded to the cent half to even. ``held``: not payable until the
    invoice is paid (a later ``sales.commission.released``)."""

    entry_id: str
    rep_id: str
    period: str = Field(pattern=MONTH_PATTERN)
    source: EntrySource
    order_id: str
    customer_id: str
    invoice_id: str | None = None
    payment_id: str | None = None
    plan_id: str
    plan_version: int
    basis: CommissionBasis
    share_percent: Amount
    revenue: Money
    """The rep's share of the revenue, rounded."""
    commission: Money
    held: bool = False
    attainment_before: Amount | None = None
    """Percent of the rep's target reached before this revenue (None: no target)."""
    multiplier: Amount = Decimal(1)
    """The revenue-weighted multiplier of the attainment tiers it crossed."""
    occurred_on: date
    team_id: str | None = None


@event("sales.commission.released")
class CommissionReleased(DomainEvent):
    """A held commission became payable: its order's invoice was paid."""

    entry_id: str
    earned_entry_id: str
    rep_id: str
    period: str = Field(pattern=MONTH_PATTERN)
    order_id: str
    commission: Money
    occurred_on: date
    team_id: str | None = None


class ClawbackReason(StrEnum):
    REFUND = "refund"
    CANCELLATION = "cancellation"
    RETURN = "return"


@event("sales.commission.clawed_back")
class CommissionClawedBack(DomainEvent):
    """Commission taken back (amounts negative): ``commission`` from what was payable,
    ``held`` from what was still held."""

    entry_id: str
    earned_entry_id: str
    rep_id: str
    period: str = Field(pattern=MONTH_PATTERN)
    reason: ClawbackReason
    order_id: str
    payment_id: str | None = None
    refund_id: str | None = None
    revenue: Money
    commission: Money
    held: Money
    occurred_on: date
    team_id: str | None = None


@event("sales.commission.statement_approved")
class CommissionStatementApproved(DomainEvent):
    """The statement is closed with these totals; nothing is added to it any more."""

    rep_id: str
    period: str = Field(pattern=MONTH_PATTERN)
    payable: Money
    held: Money
    entries: int
    approved_by: str
    note: str | None = None


COMMISSION_EVENTS: tuple[type[DomainEvent], ...] = (
    CommissionPlanCreated,
    CommissionPlanRevised,
    CommissionPlanEnded,
    CommissionSplitSet,
    CommissionEarned,
    CommissionReleased,
    CommissionClawedBack,
    CommissionStatementApproved,
)
