"""Request bodies of the commission routes and of a refund (the documents they answer are the
read models' own, :mod:`crm.sales.projections.commission_models`). Rates and shares are
percent strings (``"5"``, ``"12.5"``), multipliers decimal strings (``"1.5"``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, StringConstraints

from crm.events.commissions import (
    AttainmentTier,
    CommissionBasis,
    CommissionRate,
    PlanTerms,
    RateKind,
    SplitShare,
)
from crm.events.money import Currency, Percent, decimal_text
from crm.kernel.http.body import Body

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


def _multiplier(value: Any) -> Decimal:
    return decimal_text(value, integer_digits=2, places=4, example="1.5")


def _attainment(value: Any) -> Decimal:
    return decimal_text(value, integer_digits=4, places=2, example="100")


def _plain(d: Decimal) -> str:
    return format(d, "f")


Multiplier = Annotated[
    Decimal,
    BeforeValidator(_multiplier),
    PlainSerializer(_plain, return_type=str),
    Field(description='a decimal string, e.g. "1.5"', json_schema_extra={"type": "string"}),
]
Attainment = Annotated[
    Decimal,
    BeforeValidator(_attainment),
    PlainSerializer(_plain, return_type=str),
    Field(
        description='percent of the target, a decimal string, e.g. "100"',
        json_schema_extra={"type": "string"},
    ),
]


Groups = dict[Id, Annotated[list[Id], Field(max_length=10000)]]
"""A name to its skus (a product group) or customer ids (a customer tier)."""


class RateIn(Body):
    kind: RateKind
    key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    """A sku, a product group's or a customer tier's name."""
    rate: Percent


class TierIn(Body):
    from_percent: Attainment
    multiplier: Multiplier


class TermsIn(Body):
    currency: Currency
    basis: CommissionBasis
    base_rate: Percent
    hold_until_collected: bool = False
    rates: Annotated[list[RateIn], Field(default_factory=list, max_length=500)]
    product_groups: Annotated[Groups, Field(default_factory=dict, max_length=100)]
    customer_tiers: Annotated[Groups, Field(default_factory=dict, max_length=100)]
    tiers: Annotated[list[TierIn], Field(default_factory=list, max_length=20)]
    rep_ids: Annotated[list[Id], Field(default_factory=list, max_length=1000)]

    def terms(self) -> PlanTerms:
        return PlanTerms(
            currency=self.currency,
            basis=self.basis,
            base_rate=self.base_rate,
            hold_until_collected=self.hold_until_collected,
            rates=tuple(
                CommissionRate(
                    kind=r.kind,
                    key=r.key.upper() if r.kind is RateKind.PRODUCT else r.key,
                    rate=r.rate,
                )
                for r in self.rates
            ),
            product_groups={k: tuple(s.upper() for s in v) for k, v in self.product_groups.items()},
            customer_tiers={k: tuple(v) for k, v in self.customer_tiers.items()},
            tiers=tuple(
                AttainmentTier(from_percent=t.from_percent, multiplier=t.multiplier)
                for t in self.tiers
            ),
            rep_ids=tuple(self.rep_ids),
        )


class NewPlan(Body):
    name: Text
    terms: TermsIn
    effective_from: date | None = Field(default=None, description="Default: today")
    effective_to: date | None = None


class PlanRevision(Body):
    terms: TermsIn
    effective_from: date


class PlanEnd(Body):
    effective_to: date


class ShareIn(Body):
    rep_id: Id
    percent: Percent


class Split(Body):
    shares: Annotated[list[ShareIn], Field(min_length=1, max_length=10)]

    def shares_(self) -> tuple[SplitShare, ...]:
        return tuple(SplitShare(rep_id=s.rep_id, percent=s.percent) for s in self.shares)


class Approval(Body):
    note: Reason | None = None
