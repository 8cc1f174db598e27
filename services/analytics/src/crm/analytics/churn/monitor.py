"""The churn monitor: keeps every customer's churn assessment current, as the system.

A tick, per tenant:

1. **Model.** Once a day, refit the tenant's BG/NBD model by maximum likelihood on every
   customer's order history from ``customer_360`` (distinct purchase days; time unit
   :data:`UNIT_DAYS`) and record it (``analytics.churn_model.fitted`` on ``churnmodel-<tenant>``).
   Too little data (fewer than :data:`~crm.analytics.churn.bgnbd.MIN_CUSTOMERS` buyers, no
   repeat purchase) skips the fit with a logged reason; assessments then fall back to each
   customer's own purchase rhythm (see :mod:`crm.analytics.churn.assessment`).
   **Calibration.** The same day, the weights of the churn score are fitted on the tenant's
   own history (:mod:`crm.analytics.churn.calibrated`): every customer's signals as they were
   :data:`~crm.analytics.churn.calibrated.DEFAULT_HORIZON_DAYS` days ago
   (:func:`signals_as_of`; BG/NBD refitted as of then), against whether they ordered since;
   and likewise as of up to three earlier cut-offs, four weeks apart, against whether they
   ordered within the horizon after each (:func:`calibration_windows`).
   Too little history (see ``fit_calibrated``) keeps the documented rules, logged and listed
   in the tick's ``calibration_skipped`` with the reason; the fit is kept in the monitor for
   the day (it is a function of the read models, refitted from them, so nothing to rebuild).
2. **Assessments.** Re-assess the customers whose 360° view moved past their last assessment
   (``updated_position`` > ``assessed_position``: a relevant event arrived), and, on the first
   tick of each day, everyone (silence grows with time alone). The signals come from the
   customer's document joined with their ticket and opportunity documents.
   **Merges.** A customer others were merged into is assessed on the combined history: its
   document with theirs added (:func:`~crm.analytics.application.merges.combined`, as its 360°
   view shows it) and the tickets and opportunities of all of them; a customer merged into
   another is no longer assessed (its last verdict stays in its stream), and when its
   document moves (the merge itself, or an event about its old records) its survivor is
   re-assessed instead. The merge moves the survivor's document too (``customer.absorbed``),
   so it is re-assessed at once; the model's fit and the calibration count the two as one.
3. **Record.** A :class:`~crm.analytics.application.churn_commands.RecordAssessment` on the
   command bus, as the system: the ``CustomerRisk`` aggregate (``churnrisk-<customer id>``,
   :mod:`crm.analytics.domain.churn`) records ``analytics.churn_risk.assessed`` only when the
   level, the set of reason codes, or the score band (:data:`SCORE_BAND` points) changed, and
   ``analytics.churn_risk.level_changed`` with it when the level moved (a first assessment
   counts as moving from "low"). The fit is a ``RecordFit`` likewise.

**When.** The monitor follows the 360° view: it wakes as soon as ``customer_360`` applied
something new (an event about a customer), re-assesses the customers whose document moved
(only those are read), and otherwise ticks every ``interval`` seconds for the daily round. After
each tick it records how far it assessed in its own checkpoint, :data:`MONITOR_CHECKPOINT` (the
``customer_360`` position its documents were read at), so a reader can wait for the verdict
on its own write (``min_position`` on the analytics routes, see
:class:`~crm.analytics.api.consistency.AssessedConsistency`).

Each event is recorded once however many monitors run and however often they restart: the
aggregate's own state is the guard (a verdict equal to the recorded one records nothing, even
when the read model has not caught up), the bus retries a concurrent append on a fresh load
where that guard applies, and each command carries an idempotency key per (customer, day,
source position, verdict) so a replayed request appends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from crm.analytics.application.churn_commands import RecordAssessment, RecordFit
from crm.analytics.application.merges import combined
from crm.analytics.churn.assessment import Assessment, CustomerSignals, Thresholds, assess
from crm.analytics.churn.bgnbd import MIN_CUSTOMERS, BgNbdParams, fit
from crm.analytics.churn.calibrated import (
    DEFAULT_HORIZON_DAYS,
    WINDOW_STEP_DAYS,
    WINDOWS,
    CalibratedModel,
    Window,
    assess_calibrated,
    fit_windows,
)
from crm.analytics.domain.churn import SCORE_BAND, UNIT_DAYS, ChurnModel
from crm.analytics.projections.customer_360_models import (
    CUSTOMERS,
    Customer360Doc,
    Customer360Projection,
)
from crm.analytics.projections.opportunity_models import OPPORTUNITIES
from crm.analytics.projections.ticket_models import TICKETS
from crm.events.analytics import ChurnRiskAssessed
from crm.kernel.clock import Clock
from crm.kernel.errors import NotFound
from crm.kernel.reactor import system_context
from crm.kernel.read_store import CheckpointMoved, Document, ReadStore, find_all
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime

log = logging.getLogger(__name__)

ACTOR = "process:churn-monitor"
PAGE = 500
WINDOW = timedelta(days=90)
MONITOR_CHECKPOINT = "churn-monitor"
"""The read-store checkpoint of the running monitor: one more than the ``customer_360``
position up to which every moved customer has been assessed and the verdicts appended (0: no
monitor has run on this read store, so a reader has nothing to wait for)."""
VIEW = Customer360Projection.name
SETTLE_SECONDS = 0.05
"""After a wake, how long the monitor lets a burst of events settle before it reads."""
MERGE_HOPS = 10
"""How many ``merged_into`` links are followed to a survivor (a merge refuses a merged
customer on either side, so one is the rule; the bound only stops a loop)."""


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


def signals_as_of(
    doc: Mapping[str, Any],
    tickets: Sequence[Mapping[str, Any]],
    opportunities: Sequence[Mapping[str, Any]],
    cutoff: datetime,
    until: datetime | None = None,
) -> tuple[CustomerSignals, bool] | None:
    """The customer's signals as they were at ``cutoff`` and whether they left: ordered
    nothing from it (up to ``until`` when given); None for a customer without an order before
    ``cutoff``, or whose orders around it the view no longer holds (it keeps the latest
    ``ORDER_DATES``).

    Only what the view dates can be rebuilt: orders, complaints, SLA breaches, lost
    opportunities. Satisfaction, contact, overdue invoices and open tickets are left out (as
    they are now, they would look ahead)."""
    orders = doc["orders"]
    first = _at(orders["first_at"])
    if first is None or first >= cutoff or orders["purchase_days"] < 1:
        return None
    recent = orders["recent"]
    complete = orders["count"] == len(recent)
    if not complete and (not recent or recent[0]["at"] >= cutoff.isoformat()):
        return None
    before = [o for o in recent if o["at"] < cutoff.isoformat()]
    after = [o for o in recent if o["at"] >= cutoff.isoformat()]
    days_after = {o["at"][:10] for o in after} - {o["at"][:10] for o in before}
    purchase_days = orders["purchase_days"] - len(days_after)
    last = datetime.fromisoformat(before[-1]["at"]) if before else first
    trimmed = {**doc, "orders": {**orders, "recent": before, "count": orders["count"] - len(after)}}
    s = signals_for(trimmed, tickets, opportunities, cutoff)
    s = replace(
        s,
        first_order_at=first,
        last_order_at=last,
        order_count=max(1, purchase_days),
        last_satisfaction=None,
        previous_satisfaction=None,
        last_contact_at=None,
        overdue_invoices=0,
        overdue_amount=Decimal(0),
        open_tickets=0,
    )
    end = None if until is None else until.isoformat()
    return s, not any(end is None or o["at"] < end for o in after)


def calibration_sample(
    docs: Sequence[Mapping[str, Any]],
    tickets: Mapping[str, Sequence[Mapping[str, Any]]],
    opportunities: Mapping[str, Sequence[Mapping[str, Any]]],
    cutoff: datetime,
    until: datetime | None = None,
) -> tuple[list[CustomerSignals], list[bool]]:
    """Every customer's :func:`signals_as_of` ``cutoff`` and whether they left since (up to
    ``until`` when given)."""
    sample: list[CustomerSignals] = []
    left: list[bool] = []
    for doc in docs:
        found = signals_as_of(
            doc, tickets.get(doc["id"], ()), opportunities.get(doc["id"], ()), cutoff, until
        )
        if found is not None:
            sample.append(found[0])
            left.append(found[1])
    return sample, left


def summary(
    sample: Sequence[CustomerSignals], now: datetime, unit_days: float = UNIT_DAYS
) -> tuple[list[int], list[float], list[float]]:
    """BG/NBD inputs (x, t_x, T) of signals (as :func:`purchase_sample` from documents)."""
    xs: list[int] = []
    recency: list[float] = []
    ages: list[float] = []
    unit = unit_days * 86400
    for s in sample:
        if s.first_order_at is None or s.last_order_at is None:
            continue
        x = s.order_count - 1
        t_x = (s.last_order_at - s.first_order_at).total_seconds() / unit if x > 0 else 0.0
        xs.append(x)
        recency.append(t_x)
        ages.append(max(t_x, (now - s.first_order_at).total_seconds() / unit))
    return xs, recency, ages


Sample = tuple[Sequence[CustomerSignals], Sequence[bool], datetime]
"""Customers' signals as of a cut-off, whether each left within the horizon, the cut-off."""


def calibration_windows(
    docs: Sequence[Mapping[str, Any]],
    tickets: Mapping[str, Sequence[Mapping[str, Any]]],
    opportunities: Mapping[str, Sequence[Mapping[str, Any]]],
    now: datetime,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
) -> list[Sample]:
    """The training windows at ``now``, latest first: cut-offs ``horizon_days`` before now
    and :data:`~crm.analytics.churn.calibrated.WINDOW_STEP_DAYS` days earlier each, up to
    :data:`~crm.analytics.churn.calibrated.WINDOWS`; "left" = no order within the horizon."""
    horizon = timedelta(days=horizon_days)
    out: list[Sample] = []
    for k in range(WINDOWS):
        cutoff = now - horizon - timedelta(days=k * WINDOW_STEP_DAYS)
        sample, left = calibration_sample(docs, tickets, opportunities, cutoff, cutoff + horizon)
        out.append((sample, left, cutoff))
    return out


def calibrate_windows(
    windows: Sequence[Sample], horizon_days: float = DEFAULT_HORIZON_DAYS
) -> CalibratedModel:
    """The calibrated churn model on training windows (latest first), BG/NBD refitted as of
    each cut-off (too few buyers for it: the rhythm rule's risk stands in). ``ValueError``:
    too little history, with the reason."""
    fitted: list[Window] = []
    for sample, left, cutoff in windows:
        params: BgNbdParams | None
        try:
            params = fit(*summary(sample, cutoff))
        except ValueError:
            params = None
        fitted.append(([(s, cutoff) for s in sample], left, params))
    return fit_windows(fitted, horizon_days=horizon_days, unit_days=UNIT_DAYS)


def calibrate(
    sample: Sequence[CustomerSignals],
    left: Sequence[bool],
    cutoff: datetime,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
) -> CalibratedModel:
    """The calibrated churn model on one window as of ``cutoff`` (see
    :func:`calibrate_windows`)."""
    return calibrate_windows([(sample, left, cutoff)], horizon_days)


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
    calibrated: tuple[str, ...] = ()
    """Tenants whose churn score was calibrated on their history by this tick."""
    calibration_skipped: Mapping[str, str] = field(default_factory=dict)
    """Tenants assessed by the documented rules today, with the reason (too little history)."""


class ChurnMonitor:
    def __init__(
        self,
        runtime: Runtime,
        *,
        thresholds: Thresholds = Thresholds(),
        page_size: int = PAGE,
        horizon_days: float = DEFAULT_HORIZON_DAYS,
    ) -> None:
        self.runtime = runtime
        self.read_store = runtime.read_store
        self.thresholds = thresholds
        self.page_size = page_size
        self.commands = runtime.commands
        self.models = runtime.commands.repository(ChurnModel)
        self._daily: dict[str, date] = {}
        """Per tenant, the day everyone was last assessed (by this monitor)."""
        self._fit_skipped: dict[str, tuple[date, str]] = {}
        self._seen: dict[tuple[str, str], int] = {}
        """Per customer, the ``updated_position`` last assessed without anything to record."""
        self.horizon_days = horizon_days
        self._calibration: dict[str, tuple[date, CalibratedModel | None, str]] = {}
        """Per tenant, the day of the last calibration, its model (None: the rules), why not."""

    @staticmethod
    def context(tenant: str, now: datetime, key: str) -> CommandContext:
        return system_context(ACTOR, tenant, now, key)

    async def _all(self, collection: str, flt: Mapping[str, Any]) -> list[Document]:
        return await find_all(self.read_store, collection, flt, page_size=self.page_size)

    async def _model(self, tenant: str) -> ChurnModel:
        """The tenant's model as recorded (not fitted yet: a new one)."""
        try:
            return await self.models.load(tenant, tenant=tenant)
        except NotFound:
            return ChurnModel.create(tenant)

    async def model(
        self, tenant: str, docs: Sequence[Document], now: datetime
    ) -> tuple[BgNbdParams | None, bool]:
        """The tenant's model, refitted first if it was not fitted today (and could be); and
        whether this call recorded the fit."""
        model = await self._model(tenant)
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
        done = await self.commands.run(RecordFit(tenant, params), self.context(tenant, now, key))
        if not done.recorded:  # another monitor fitted it meanwhile: use theirs
            return done.aggregate.state.params, False
        return params, True

    async def calibration(
        self, tenant: str, docs: Sequence[Document], now: datetime
    ) -> tuple[CalibratedModel | None, bool]:
        """The tenant's calibrated model for today (None: too little history, the rules
        assess), fitted first if this is the day's first call; and whether it was fitted now."""
        today = now.date()
        known = self._calibration.get(tenant)
        if known is not None and known[0] == today:
            return known[1], False
        flt = {"tenant": tenant}
        survivor: dict[str, str] = {m: d["id"] for d in docs for m in d.get("absorbed") or ()}
        tickets: dict[str, list[Document]] = defaultdict(list)
        for t in await self._all(TICKETS, flt):
            tickets[survivor.get(t["customer_id"]) or t["customer_id"]].append(t)
        opportunities: dict[str, list[Document]] = defaultdict(list)
        for o in await self._all(OPPORTUNITIES, flt):
            opportunities[survivor.get(o["customer_id"]) or o["customer_id"]].append(o)
        windows = calibration_windows(docs, tickets, opportunities, now, self.horizon_days)
        try:
            model = await asyncio.to_thread(calibrate_windows, windows, self.horizon_days)
        except ValueError as error:
            reason = f"churn score not calibrated, documented rules used: {error}"
            log.info("tenant %s: %s", tenant, reason)
            self._calibration[tenant] = (today, None, reason)
            return None, False
        log.info(
            "tenant %s: churn score calibrated on %d customers (%d left within %g days; "
            "%d rows over %d windows)",
            tenant,
            model.n_customers,
            model.n_left,
            model.horizon_days,
            model.rows,
            model.windows,
        )
        self._calibration[tenant] = (today, model, "")
        return model, True

    async def _doc(
        self, tenant: str, customer_id: str, known: Mapping[str, Document]
    ) -> Document | None:
        doc = known.get(customer_id) or await self.read_store.get(CUSTOMERS, customer_id)
        return doc if doc is not None and doc["tenant"] == tenant else None

    async def customers(self, docs: Sequence[Document]) -> list[Document]:
        """``docs`` as the customers to assess: a merged customer's survivor in its place (each
        once), and a survivor with the figures of those merged into it added
        (:func:`~crm.analytics.application.merges.combined`: the latest ``updated_position``
        of all, so a move of any of them re-assesses it)."""
        known = {d["id"]: d for d in docs}
        out: dict[str, Document] = {}
        for doc in docs:
            found: Document | None = doc
            for _ in range(MERGE_HOPS):
                if found is None or not found.get("merged_into"):
                    break
                found = await self._doc(doc["tenant"], found["merged_into"], known)
            if found is None or found.get("merged_into") or found["id"] in out:
                continue
            merged = []
            for merged_id in found.get("absorbed") or ():
                other = await self._doc(found["tenant"], merged_id, known)
                if other is not None:
                    merged.append(cast(Customer360Doc, other))
            whole = combined(cast(Customer360Doc, found), merged) if merged else found
            out[found["id"]] = cast(Document, whole)
        return list(out.values())

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
        command = RecordAssessment(doc["id"], verdict, doc["updated_position"])
        done = await self.commands.run(command, self.context(doc["tenant"], now, key))
        if not done.recorded:
            return None
        [assessed] = [e for e in done.aggregate.changes if isinstance(e, ChurnRiskAssessed)]
        previous = assessed.previous_level
        return (None if previous is None else previous.value), verdict.level

    async def tick(self, now: datetime, changed_since: int | None = None) -> TickReport:
        """Assess who moved (everyone on a tenant's first tick of the day). With
        ``changed_since`` (a ``customer_360`` position the previous tick read at), only the
        documents that moved since are read, unless a tenant's daily round is due."""
        today = now.date()
        docs: list[Document] | None = None
        if changed_since is not None and self._daily:
            docs = await self._all(CUSTOMERS, {"updated_position": {"$gt": changed_since}})
            if any(self._daily.get(d["tenant"]) != today for d in docs) or any(
                day != today for day in self._daily.values()
            ):
                docs = None  # a daily round is due: everyone
        docs_complete = docs is None
        if docs is None:
            docs = await self._all(CUSTOMERS, {})
        by_tenant: dict[str, list[Document]] = defaultdict(list)
        for doc in await self.customers(docs):
            by_tenant[doc["tenant"]].append(doc)
        fitted: list[str] = []
        assessed: list[str] = []
        recorded: list[str] = []
        changes: list[tuple[str, str | None, str]] = []
        failed: list[str] = []
        calibrated: list[str] = []
        for tenant, tenant_docs in sorted(by_tenant.items()):
            params, refitted = await self.model(tenant, tenant_docs, now)
            if refitted:
                fitted.append(tenant)
            daily = self._daily.get(tenant) != today
            if daily or tenant not in self._calibration:
                everyone = (
                    tenant_docs
                    if docs_complete
                    else await self.customers(await self._all(CUSTOMERS, {"tenant": tenant}))
                )
                _, recalibrated = await self.calibration(tenant, everyone, now)
                if recalibrated:
                    calibrated.append(tenant)
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
        not_calibrated = {
            t: r for t, (d, m, r) in self._calibration.items() if d == today and m is None
        }
        return TickReport(
            now,
            tuple(fitted),
            skipped,
            tuple(assessed),
            tuple(recorded),
            tuple(changes),
            tuple(failed),
            tuple(calibrated),
            not_calibrated,
        )

    async def assess(self, doc: Document, params: BgNbdParams | None, now: datetime) -> Assessment:
        """The customer's assessment at ``now`` from their 360° documents (a survivor's
        combined, see :meth:`customers`: the tickets and opportunities of those merged into it
        count)."""
        ids = [doc["id"], *(doc.get("absorbed") or ())]
        flt = {"tenant": doc["tenant"], "customer_id": ids[0] if len(ids) == 1 else {"$in": ids}}
        tickets = await self._all(TICKETS, flt)
        opportunities = await self._all(OPPORTUNITIES, flt)
        signals = signals_for(doc, tickets, opportunities, now)
        known = self._calibration.get(doc["tenant"])
        if known is not None and known[1] is not None:
            return assess_calibrated(signals, params, known[1], now, thresholds=self.thresholds)
        return assess(signals, params, now, unit_days=UNIT_DAYS, thresholds=self.thresholds)

    async def _mark(self, position: int) -> None:
        """Record that every customer moved up to ``position`` of ``customer_360`` has been
        assessed (never backwards: another monitor may have got further)."""
        current = await self.read_store.checkpoint(MONITOR_CHECKPOINT)
        if position + 1 <= current.position:
            return
        with contextlib.suppress(CheckpointMoved):  # another monitor marked: theirs stands
            await self.read_store.commit(
                MONITOR_CHECKPOINT, [], checkpoint=position + 1, expected=current
            )

    async def run(self, clock: Clock, interval: float) -> None:
        """Follow the 360° view forever (cancel the task to stop it): tick when it applied
        something new, and at least every ``interval`` seconds."""
        since: int | None = None
        while True:
            read_at = (await self.read_store.checkpoint(VIEW)).position
            try:
                report = await self.tick(clock.now(), changed_since=since)
            except Exception:
                log.exception("churn monitor tick failed; retrying in %s s", interval)
                await asyncio.sleep(min(interval, 5.0))
                continue
            if report.recorded or report.fitted:
                log.info(
                    "churn monitor: %d assessments recorded, %d level changes, fitted %s",
                    len(report.recorded),
                    len(report.level_changes),
                    ", ".join(report.fitted) or "nothing",
                )
            if not report.failed:
                await self._mark(read_at)
                since = read_at
            await self.read_store.wait_for_checkpoint(VIEW, read_at + 1, interval)
            await asyncio.sleep(SETTLE_SECONDS)


async def wait_assessed(read_store: ReadStore, position: int, timeout: float) -> bool:
    """Wait until the running monitor has assessed every customer moved up to ``position`` of
    ``customer_360``; True at once where no monitor ever ran on this read store."""
    if (await read_store.checkpoint(MONITOR_CHECKPOINT)).position == 0:
        return True
    reached = await read_store.wait_for_checkpoint(MONITOR_CHECKPOINT, position + 1, timeout)
    return reached >= position + 1
