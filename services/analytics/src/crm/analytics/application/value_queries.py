"""Customer value: expected lifetime value per customer, value tiers from it, shown with the
churn risk (``GET /analytics/value``; "high value, high risk" is ``?tier=high&risk=high``).

Computed on request from the ``customer_360`` read model, so it is as current as the 360° view
and rebuilds with it:

1. **Purchases.** The tenant's BG/NBD model as the churn monitor recorded it (``churnmodel-<
   tenant>``); none recorded yet: fitted now on the same sample the monitor uses
   (:func:`~crm.analytics.churn.monitor.purchase_sample`, weeks). Too little history answers
   409 ``value_model_unavailable`` with the reason.
2. **Spend.** A Gamma-Gamma model fitted now by maximum likelihood on the customers with repeat
   purchases in the value currency (the currency most of the tenant's customers spend in, or
   ``currency``): x = their orders, m = net spend / orders. Customers who spent in another
   currency, or in several, are left out of the list (``excluded`` counts them); a customer
   whose net spend is not positive (everything returned) is valued at the population's mean
   spend per order.
3. **CLV** over the tenant's horizon, discounted at its annual rate
   (:class:`~crm.analytics.churn.clv.ValuePolicy` from :class:`ValueSettings`), rounded
   half-even to the cent; tiers by rank among all the tenant's valued customers (a sales rep
   sees the tiers of the whole base, but only their own customers' rows).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict

import numpy as np
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm.analytics.application.policy import CUSTOMER_PERSONAL, customer_reader, customer_scope
from crm.analytics.churn import bgnbd, gamma_gamma
from crm.analytics.churn.bgnbd import BgNbdParams
from crm.analytics.churn.clv import MAX_HORIZON_MONTHS, ValuePolicy, lifetime_value, money, tiers
from crm.analytics.churn.monitor import purchase_sample
from crm.analytics.domain.churn import UNIT_DAYS, ChurnModel
from crm.analytics.projections.customer_360_models import CUSTOMERS
from crm.kernel.auth import Actor
from crm.kernel.errors import NotFound, RuleViolated
from crm.kernel.read_store import Document, find_all
from crm.kernel.runtime import Runtime

PAGE = 500


class TenantValuePolicy(BaseModel):
    """One tenant's CLV settings (see :class:`~crm.analytics.churn.clv.ValuePolicy`)."""

    horizon_months: int = Field(default=12, ge=1, le=MAX_HORIZON_MONTHS)
    annual_discount: Decimal = Field(default=Decimal("0.10"), ge=0, le=1)
    high_share: Decimal = Field(default=Decimal("0.20"), gt=0, le=1)
    medium_share: Decimal = Field(default=Decimal("0.30"), ge=0, le=1)

    def policy(self) -> ValuePolicy:
        return ValuePolicy(
            self.horizon_months, self.annual_discount, self.high_share, self.medium_share
        )


class ValueSettings(BaseSettings):
    """``CRM_CLV_HORIZON_MONTHS`` (12), ``CRM_CLV_ANNUAL_DISCOUNT`` (0.10), the tier shares
    ``CRM_CLV_HIGH_SHARE`` (0.20) and ``CRM_CLV_MEDIUM_SHARE`` (0.30) for every tenant, and
    ``CRM_CLV_TENANTS`` (JSON, tenant id → any of those four without the prefix) for the
    tenants that set their own, e.g. ``{"acme": {"horizon_months": 24}}``."""

    model_config = SettingsConfigDict(env_prefix="CRM_CLV_", extra="ignore")

    horizon_months: int = Field(default=12, ge=1, le=MAX_HORIZON_MONTHS)
    annual_discount: Decimal = Field(default=Decimal("0.10"), ge=0, le=1)
    high_share: Decimal = Field(default=Decimal("0.20"), gt=0, le=1)
    medium_share: Decimal = Field(default=Decimal("0.30"), ge=0, le=1)
    tenants: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def policy_for(self, tenant: str) -> ValuePolicy:
        base = {
            "horizon_months": self.horizon_months,
            "annual_discount": self.annual_discount,
            "high_share": self.high_share,
            "medium_share": self.medium_share,
        }
        return TenantValuePolicy.model_validate({**base, **self.tenants.get(tenant, {})}).policy()


class ValueRow(TypedDict):
    """A customer's expected value (``GET /analytics/value``). Money as decimal strings."""

    customer_id: str
    name: str | None
    owner_id: str | None
    tier: str
    clv: str
    currency: str
    expected_purchases: str
    """Over the horizon, discounted (2 decimals)."""
    expected_spend: str
    """Per purchase (Gamma-Gamma)."""
    spend_to_date: str
    orders: int
    p_alive: float | None
    risk: str | None
    risk_score: int | None


VALUE_COLUMNS = tuple(ValueRow.__annotations__)


@dataclass(frozen=True)
class ValueFilter:
    tier: str | None = None
    risk: str | None = None
    owner_id: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Valued:
    """The tenant's valued customers (all of them, before the actor's scope), and the models."""

    rows: list[ValueRow]
    model: dict[str, Any]
    excluded: int


def value_currency(docs: Sequence[Mapping[str, Any]], wanted: str | None) -> str | None:
    """``wanted``, else the currency most customers spend in (ties: alphabetical)."""
    if wanted is not None:
        return wanted
    counts = Counter(d["spend_currency"] for d in docs if d.get("spend_currency"))
    if not counts:
        return None
    return str(min(counts, key=lambda c: (-counts[c], c)))


CREDIBLE_VALUE = 1e15
"""No customer's expected lifetime value reaches this in any currency: a model that says
so has been fitted on too little (and the figure would not fit a money decimal either)."""


def value_customers(
    docs: Sequence[Mapping[str, Any]],
    bg: BgNbdParams,
    policy: ValuePolicy,
    currency: str,
    now: datetime,
) -> Valued:
    """Every customer's CLV in ``currency`` (pure: see the module docstring)."""
    chosen = [
        d
        for d in docs
        if d["orders"]["purchase_days"] >= 1
        and d["orders"]["first_at"] is not None
        and d["orders"]["last_at"] is not None
        and set(d["orders"]["totals"]) == {currency}
    ]
    excluded = sum(1 for d in docs if d["orders"]["purchase_days"] >= 1) - len(chosen)
    xs, t_x, ages = purchase_sample(chosen, now, UNIT_DAYS)
    counts = np.array([d["orders"]["count"] for d in chosen], dtype=np.float64)
    spent = [Decimal(d["orders"]["totals"][currency]) for d in chosen]
    average = np.array([float(s) / c if s > 0 else 0.0 for s, c in zip(spent, counts, strict=True)])
    spend_count = np.where(average > 0, counts, 0.0)
    repeat = (np.asarray(xs) > 0) & (average > 0)
    try:
        gg = gamma_gamma.fit(spend_count[repeat], average[repeat])
        _ = gg.population_mean
    except ValueError as error:
        raise RuleViolated(
            f"the spend model cannot be fitted on this tenant's orders in {currency}: {error}",
            code="value_model_unavailable",
        ) from error
    value, purchases, spend = lifetime_value(
        bg, gg, xs, t_x, ages, spend_count, average, policy, unit_days=UNIT_DAYS
    )
    finite = np.isfinite(value)
    if not (np.all(finite) and np.all(np.abs(value) < CREDIBLE_VALUE)):
        # a fit on a short or odd history can put its parameters where the expectation
        # explodes (seen on 20 customers over 3 months): no value rather than a wrong one
        worst = "not a number" if not np.all(finite) else f"{float(np.max(np.abs(value))):.3g}"
        raise RuleViolated(
            f"the models fitted on this tenant's orders in {currency} give lifetime values"
            f" beyond any credible range ({worst}): too little history to value customers yet",
            code="value_model_unavailable",
        )
    clvs = [money(float(v)) for v in value]
    tier_of = tiers(clvs, policy)
    rows: list[ValueRow] = []
    alive = bgnbd.p_alive(bg, xs, t_x, ages) if chosen else np.array([])
    for i, doc in enumerate(chosen):
        churn = doc.get("churn")
        rows.append(
            ValueRow(
                customer_id=doc["id"],
                name=doc.get("name"),
                owner_id=doc.get("owner_id"),
                tier=tier_of[i],
                clv=str(clvs[i]),
                currency=currency,
                expected_purchases=str(money(float(purchases[i]))),
                expected_spend=str(money(float(spend[i]))),
                spend_to_date=str(spent[i].quantize(Decimal("0.01"))),
                orders=int(doc["orders"]["count"]),
                p_alive=round(float(alive[i]), 4),
                risk=None if churn is None else churn["level"],
                risk_score=None if churn is None else churn["score"],
            )
        )
    rows.sort(key=lambda r: (-Decimal(r["clv"]), r["customer_id"]))
    model = {
        "currency": currency,
        "horizon_months": policy.horizon_months,
        "annual_discount": str(policy.annual_discount),
        "high_share": str(policy.high_share),
        "medium_share": str(policy.medium_share),
        "bg_nbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "unit_days": UNIT_DAYS},
        "gamma_gamma": {
            "p": gg.p,
            "q": gg.q,
            "gamma": gg.gamma,
            "n_customers": gg.n_customers,
            "mean_spend": str(money(gg.population_mean)),
        },
        "spend_frequency_correlation": round(
            gamma_gamma.spend_frequency_correlation(spend_count[repeat], average[repeat]), 4
        ),
    }
    return Valued(rows, model, excluded)


class ValueQueries:
    def __init__(self, runtime: Runtime, settings: ValueSettings | None = None) -> None:
        self.runtime = runtime
        self.read_store = runtime.read_store
        self.settings = settings or ValueSettings()

    async def _bg_nbd(self, tenant: str, docs: Sequence[Document], now: datetime) -> BgNbdParams:
        try:
            recorded = await self.runtime.commands.repository(ChurnModel).load(
                tenant, tenant=tenant
            )
            if recorded.state.params is not None:
                return recorded.state.params
        except NotFound:
            pass
        xs, t_x, ages = purchase_sample(docs, now)
        try:
            return await asyncio.to_thread(bgnbd.fit, xs, t_x, ages)
        except ValueError as error:
            raise RuleViolated(
                f"the purchase model cannot be fitted on this tenant's orders: {error}",
                code="value_model_unavailable",
            ) from error

    async def valued(self, tenant: str, now: datetime, currency: str | None = None) -> Valued:
        """Every valued customer of ``tenant`` (no access rule: the caller's)."""
        docs = await find_all(self.read_store, CUSTOMERS, {"tenant": tenant}, page_size=PAGE)
        chosen = value_currency(docs, currency)
        policy = self.settings.policy_for(tenant)
        if chosen is None:
            raise RuleViolated(
                "no customer has ordered yet: there is no value to assess",
                code="value_model_unavailable",
            )
        bg = await self._bg_nbd(tenant, docs, now)
        return await asyncio.to_thread(value_customers, docs, bg, policy, chosen, now)

    async def value(
        self, actor: Actor, wanted: ValueFilter, *, limit: int, offset: int, now: datetime
    ) -> dict[str, Any]:
        """A page of the actor's customers by CLV (highest first), filtered; with the
        models and the policy used."""
        customer_reader(actor)
        valued = await self.valued(actor.tenant, now, wanted.currency)
        scope = customer_scope(actor)
        owner = scope.get("owner_id")
        rows = [
            r
            for r in valued.rows
            if (owner is None or r["owner_id"] == owner)
            and (wanted.owner_id is None or r["owner_id"] == wanted.owner_id)
            and (wanted.tier is None or r["tier"] == wanted.tier)
            and (wanted.risk is None or r["risk"] == wanted.risk)
        ]
        page = CUSTOMER_PERSONAL.all_shown_to(actor, rows[offset : offset + limit])
        return {
            "items": page,
            "total": len(rows),
            "limit": limit,
            "offset": offset,
            "excluded": valued.excluded,
            "model": valued.model,
        }
