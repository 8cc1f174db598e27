"""The churn monitor: keeps every customer's churn assessment current, as the system.

A tick, per tenant:

1. **Model.** Once a day, refit the tenant's BG/NBD model by maximum likelihood on every
   customer's order history from ``customer_360`` (distinct purchase days; time unit
   :data:`UNIT_DAYS`) and record it (``analytics.churn_model.fitted`` on ``churnmodel-<tenant>``).
   Too little data (fewer than :data:`~crm.analytics.churn.bgnbd.MIN_CUSTOMERS` buyers, no
   repeat purchase) skips the fit with a logged reason; assessments then fall back to each
   customer's own purchase rhythm (see :mod:`crm.analytics.churn.assessment`).
2. **Assessments.** Re-assess the customers whose 360° view moved past their last assessment
   (``updated_position`` > ``assessed_position``: a relevant event arrived), and, on the first
   tick of each day, everyone (silence grows with time alone). The signals come from the
   customer's document joined with their ticket and opportunity documents.
3. **Record.** Through the ``CustomerRisk`` aggregate (``churnrisk-<customer id>``), which
   records ``analytics.churn_risk.assessed`` only when the level, the set of reason codes, or
   the score band (:data:`SCORE_BAND` points) changed, and ``analytics.churn_risk.level_changed``
   with it when the level moved (a first assessment counts as moving from "low").

Each event is recorded once however many monitors run and however often they restart: the
aggregate's own state is the guard (a verdict equal to the recorded one records nothing, even
when the read model has not caught up), a concurrent append is retried on a fresh load where
that guard applies, and each append carries an idempotency key per (customer, day, source
position, verdict) so a replayed request appends nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Self, TypeVar

from crm.analytics.churn.assessment import Assessment, CustomerSignals, Thresholds, assess
from crm.analytics.churn.bgnbd import MIN_CUSTOMERS, BgNbdParams, fit
from crm.analytics.projections.customer_360_models import CUSTOMERS
from crm.analytics.projections.opportunity_models import OPPORTUNITIES
from crm.analytics.projections.ticket_models import TICKETS
from crm.events import DomainEvent
from crm.events.analytics import (
    ChurnLevel,
    ChurnModelFitted,
    ChurnReason,
    ChurnRiskAssessed,
    ChurnRiskLevelChanged,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.clock import Clock
from crm.kernel.errors import NotFound
from crm.kernel.reactor import system_context
from crm.kernel.read_store import Document, find_all
from crm.kernel.repository import CommandContext, Repository, record_changes
from crm.kernel.runtime import Runtime

log = logging.getLogger(__name__)

ACTOR = "process:churn-monitor"
UNIT_DAYS = 7.0
"""The model's time unit: weeks, as in the published BG/NBD results (and CDNOW)."""
SCORE_BAND = 10
"""A score that moved into another band of this many points is worth recording."""
PAGE = 500
ATTEMPTS = 3
WINDOW = timedelta(days=90)

A = TypeVar("A", bound=Aggregate)  # type: ignore[type-arg]


# -- the aggregates --------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskState:
    level: str | None = None
    reason_codes: frozenset[str] = frozenset()
    score: int = 0

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, ChurnRiskAssessed):
            codes = frozenset(r.code for r in event.reasons)
            return replace(self, level=event.level.value, reason_codes=codes, score=event.score)
        return self


class CustomerRisk(Aggregate[RiskState]):
    """A customer's churn risk as analytics last recorded it (stream ``churnrisk-<id>``)."""

    category = "churnrisk"

    @classmethod
    def initial_state(cls) -> RiskState:
        return RiskState()

    def record(self, verdict: Assessment, now: datetime, source_position: int) -> None:
        """Record ``verdict`` if it says something new (see the module docstring)."""
        state = self.state
        codes = frozenset(r.code for r in verdict.reasons)
        if (
            state.level == verdict.level
            and state.reason_codes == codes
            and state.score // SCORE_BAND == verdict.score // SCORE_BAND
        ):
            return
        level = ChurnLevel(verdict.level)
        previous = ChurnLevel(state.level) if state.level else None
        self.trigger(
            ChurnRiskAssessed(
                customer_id=self.id,
                score=verdict.score,
                level=level,
                previous_level=previous,
                p_alive=verdict.p_alive,
                reasons=tuple(
                    ChurnReason(code=r.code, text=r.text, weight=round(r.weight, 4))
                    for r in verdict.reasons
                ),
                assessed_at=now,
                source_position=source_position,
            )
        )
        if level is not (previous or ChurnLevel.LOW):
            self.trigger(
                ChurnRiskLevelChanged(
                    customer_id=self.id,
                    level=level,
                    previous_level=previous,
                    score=verdict.score,
                    reason_codes=tuple(r.code for r in verdict.reasons),
                    changed_at=now,
                )
            )


@dataclass(frozen=True)
class ModelState:
    params: BgNbdParams | None = None
    fitted_on: date | None = None

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, ChurnModelFitted):
            params = BgNbdParams(
                event.r,
                event.alpha,
                event.a,
                event.b,
                log_likelihood=event.log_likelihood,
                n_customers=event.n_customers,
            )
            return replace(self, params=params, fitted_on=event.fitted_at.date())
        return self


class ChurnModel(Aggregate[ModelState]):
    """A tenant's fitted purchase model (stream ``churnmodel-<tenant>``)."""

    category = "churnmodel"

    @classmethod
    def initial_state(cls) -> ModelState:
        return ModelState()

    def record_fit(self, params: BgNbdParams, now: datetime) -> None:
        if self.state.fitted_on == now.date():
            return
        self.trigger(
            ChurnModelFitted(
                r=params.r,
                alpha=params.alpha,
                a=params.a,
                b=params.b,
                n_customers=params.n_customers,
                log_likelihood=params.log_likelihood or 0.0,
                unit_days=UNIT_DAYS,
                fitted_at=now,
            )
        )


# -- signals from the read models ------------------------------------------------------------


def _at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def purchase_sample(
    docs: Sequence[Mapping[str, Any]], now: datetime, unit_days: float = UNIT_DAYS
) -> tuple[list[int], list[float], list[float]]:
    """BG/NBD inputs (x, t_x, T) of every customer who ordered, in ``unit_days`` units."""
    xs: list[int] = []
    recency: list[float] = []
    ages: list[float] = []
    unit = unit_days * 86400
    for doc in docs:
        orders = doc["orders"]
        first, last = _at(orders["first_at"]), _at(orders["last_at"])
        if first is None or last is None or orders["purchase_days"] < 1:
            continue
        x = orders["purchase_days"] - 1
        t_x = (last - first).total_seconds() / unit if x > 0 else 0.0
        xs.append(x)
        recency.append(t_x)
        ages.append(max(t_x, (now - first).total_seconds() / unit))
    return xs, recency, ages


def signals_for(
    doc: Mapping[str, Any],
    tickets: Sequence[Mapping[str, Any]],
    opportunities: Sequence[Mapping[str, Any]],
    now: datetime,
) -> CustomerSignals:
    """What the 360° view knows about the customer, counted relative to ``now``."""
    orders = doc["orders"]
    currency = doc.get("spend_currency") or "EUR"
    recent = [o for o in orders["recent"] if o["at"] <= now.isoformat()]
    spend_recent: Decimal | None = None
    spend_previous: Decimal | None = None
    complete = orders["count"] == len(orders["recent"])  # else only the latest are kept
    if recent and (complete or recent[0]["at"] <= (now - 2 * WINDOW).isoformat()):
        spend_recent, spend_previous = Decimal(0), Decimal(0)
        for o in recent:
            if o["currency"] != currency:
                continue
            at = datetime.fromisoformat(o["at"])
            if now - WINDOW < at:
                spend_recent += Decimal(o["amount"])
            elif now - 2 * WINDOW < at:
                spend_previous += Decimal(o["amount"])
    complaints = [datetime.fromisoformat(d) for d in doc["tickets"]["complaint_dates"]]
    breaches = [datetime.fromisoformat(b["detected_at"]) for t in tickets for b in t["breaches"]]
    lost = [o for o in opportunities if o["status"] == "lost" and o["closed_at"] is not None]
    invoices = doc["invoices"]
    overdue_amounts = invoices["overdue_amount"]
    overdue_currency = currency if currency in overdue_amounts else next(iter(overdue_amounts), "")
    satisfaction = doc["tickets"]["satisfaction"]
    return CustomerSignals(
        first_order_at=_at(orders["first_at"]),
        last_order_at=_at(orders["last_at"]),
        order_count=orders["purchase_days"],
        order_dates=tuple(datetime.fromisoformat(o["at"]) for o in recent),
        spend_recent_90d=spend_recent,
        spend_previous_90d=spend_previous,
        currency=overdue_currency or currency,
        complaints_30d=sum(1 for d in complaints if now - timedelta(days=30) < d <= now),
        complaints_90d=sum(1 for d in complaints if now - WINDOW < d <= now),
        sla_breaches_90d=sum(1 for d in breaches if now - WINDOW < d <= now),
        last_satisfaction=satisfaction["last"],
        previous_satisfaction=satisfaction["previous"],
        last_contact_at=_at(doc["interactions"]["last_at"]),
        overdue_invoices=invoices["overdue_count"],
        overdue_amount=Decimal(overdue_amounts.get(overdue_currency, "0")),
        lost_opportunities_90d=sum(
            1 for o in lost if now - WINDOW < datetime.fromisoformat(o["closed_at"]) <= now
        ),
        open_tickets=sum(1 for t in tickets if t["status"] == "open"),
    )


# -- the monitor -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TickReport:
    """What one tick did."""

    now: datetime
    fitted: tuple[str, ...] = ()
    """Tenants whose model was refitted (and recorded) by this tick."""
    fit_skipped: Mapping[str, str] = field(default_factory=dict)
    """Tenants whose fit was skipped today, with the reason."""
    assessed: tuple[str, ...] = ()
    """Customers assessed (whether or not anything was recorded)."""
    recorded: tuple[str, ...] = ()
    """Customers for whom an assessment was recorded."""
    level_changes: tuple[tuple[str, str | None, str], ...] = ()
    """(customer, previous level, new level) recorded by this tick."""
    failed: tuple[str, ...] = ()


class ChurnMonitor:
    def __init__(
        self,
        runtime: Runtime,
        *,
        thresholds: Thresholds = Thresholds(),
        page_size: int = PAGE,
    ) -> None:
        self.runtime = runtime
        self.read_store = runtime.read_store
        self.thresholds = thresholds
        self.page_size = page_size
        self.risks = Repository(runtime.store, runtime.codec, CustomerRisk)
        self.models = Repository(runtime.store, runtime.codec, ChurnModel)
        self._daily: dict[str, date] = {}
        """Per tenant, the day everyone was last assessed (by this monitor)."""
        self._fit_skipped: dict[str, tuple[date, str]] = {}
        self._seen: dict[tuple[str, str], int] = {}
        """Per customer, the ``updated_position`` last assessed without anything to record."""

    @staticmethod
    def context(tenant: str, now: datetime, key: str) -> CommandContext:
        return system_context(ACTOR, tenant, now, key)

    async def _all(self, collection: str, flt: Mapping[str, Any]) -> list[Document]:
        return await find_all(self.read_store, collection, flt, page_size=self.page_size)

    @staticmethod
    async def _load(repository: Repository[A], id: str, tenant: str) -> A:
        try:
            return await repository.load(id, tenant=tenant)
        except NotFound:
            return repository.aggregate.create(id)

    async def model(
        self, tenant: str, docs: Sequence[Document], now: datetime
    ) -> tuple[BgNbdParams | None, bool]:
        """The tenant's model, refitted first if it was not fitted today (and could be); and
        whether this call recorded the fit."""
        model = await self._load(self.models, tenant, tenant)
        today = now.date()
        if model.state.fitted_on == today:
            return model.state.params, False
        skipped = self._fit_skipped.get(tenant)
        if skipped is not None and skipped[0] == today:
            return model.state.params, False
        xs, recency, ages = purchase_sample(docs, now)
        try:
            if len(xs) < MIN_CUSTOMERS:
                raise ValueError(
                    f"{len(xs)} customers with orders, at least {MIN_CUSTOMERS} are needed"
                )
            params = await asyncio.to_thread(fit, xs, recency, ages)
        except ValueError as error:
            reason = str(error)
            log.info("churn model for tenant %s not fitted today: %s", tenant, reason)
            self._fit_skipped[tenant] = (today, reason)
            return model.state.params, False
        key = f"churn-monitor:model:{tenant}:{today.isoformat()}"
        model, result = await record_changes(
            self.models,
            tenant,
            lambda m: m.record_fit(params, now),
            self.context(tenant, now, key),
            tenant=tenant,
            create_missing=True,
            attempts=ATTEMPTS,
        )
        if result is None:  # another monitor fitted it meanwhile: use theirs
            return model.state.params, False
        return params, not result.replayed

    async def record(
        self, doc: Document, verdict: Assessment, now: datetime
    ) -> tuple[str | None, str] | None:
        """Record ``verdict`` for the customer; the (previous, new) level if it was recorded."""
        codes = ",".join(sorted(r.code for r in verdict.reasons))
        digest = hashlib.sha256(f"{verdict.level}:{verdict.score // SCORE_BAND}:{codes}".encode())
        key = (
            f"churn-monitor:risk:{doc['id']}:{now.date().isoformat()}:"
            f"{doc['updated_position']}:{digest.hexdigest()[:16]}"
        )
        previous: list[str | None] = []

        def record(risk: CustomerRisk) -> None:
            previous[:] = [risk.state.level]
            risk.record(verdict, now, doc["updated_position"])

        _, result = await record_changes(
            self.risks,
            doc["id"],
            record,
            self.context(doc["tenant"], now, key),
            tenant=doc["tenant"],
            create_missing=True,
            attempts=ATTEMPTS,
        )
        return None if result is None or result.replayed else (previous[0], verdict.level)

    async def tick(self, now: datetime) -> TickReport:
        docs = await self._all(CUSTOMERS, {})
        by_tenant: dict[str, list[Document]] = defaultdict(list)
        for doc in docs:
            by_tenant[doc["tenant"]].append(doc)
        fitted: list[str] = []
        assessed: list[str] = []
        recorded: list[str] = []
        changes: list[tuple[str, str | None, str]] = []
        failed: list[str] = []
        today = now.date()
        for tenant, tenant_docs in sorted(by_tenant.items()):
            params, refitted = await self.model(tenant, tenant_docs, now)
            if refitted:
                fitted.append(tenant)
            daily = self._daily.get(tenant) != today
            failures = len(failed)
            for doc in tenant_docs:
                seen = self._seen.get((tenant, doc["id"]))
                moved = doc["updated_position"] > doc["assessed_position"]
                if not daily and (not moved or seen == doc["updated_position"]):
                    continue
                try:
                    verdict = await self.assess(doc, params, now)
                    assessed.append(doc["id"])
                    outcome = await self.record(doc, verdict, now)
                except Exception:
                    log.exception("churn assessment of %s failed; next tick retries", doc["id"])
                    failed.append(doc["id"])
                    continue
                self._seen[(tenant, doc["id"])] = doc["updated_position"]
                if outcome is not None:
                    recorded.append(doc["id"])
                    if (outcome[0] or "low") != outcome[1]:
                        changes.append((doc["id"], outcome[0], outcome[1]))
            if len(failed) == failures:  # else the daily round is tried again next tick
                self._daily[tenant] = today
        skipped = {t: r for t, (d, r) in self._fit_skipped.items() if d == today}
        return TickReport(
            now,
            tuple(fitted),
            skipped,
            tuple(assessed),
            tuple(recorded),
            tuple(changes),
            tuple(failed),
        )

    async def assess(self, doc: Document, params: BgNbdParams | None, now: datetime) -> Assessment:
        """The customer's assessment at ``now`` from their 360° documents."""
        flt = {"tenant": doc["tenant"], "customer_id": doc["id"]}
        tickets = await self._all(TICKETS, flt)
        opportunities = await self._all(OPPORTUNITIES, flt)
        signals = signals_for(doc, tickets, opportunities, now)
        return assess(signals, params, now, unit_days=UNIT_DAYS, thresholds=self.thresholds)

    async def run(self, clock: Clock, interval: float) -> None:
        """Tick every ``interval`` seconds, forever (cancel the task to stop it)."""
        while True:
            try:
                report = await self.tick(clock.now())
            except Exception:
                log.exception("churn monitor tick failed; retrying in %s s", interval)
            else:
                if report.recorded or report.fitted:
                    log.info(
                        "churn monitor: %d assessments recorded, %d level changes, fitted %s",
                        len(report.recorded),
                        len(report.level_changes),
                        ", ".join(report.fitted) or "nothing",
                    )
            await asyncio.sleep(interval)
