"""Commissions: the tenant's plans, how an order's commission is split, and each rep's monthly
statement. Pure: no I/O, no clock (days are passed in).

A plan has versions, each applying from a day (``effective_from``) up to the day before the
next one, or to the plan's end. A version never starts on a past day, so what a rep earned
under an earlier version is never rewritten: a change is a new version from a date.

The commission of an order line is its revenue (its share of the order, a payment's or the
whole order's, times the rep's share of the split) times its rate: the sku's, else its
product group's, else its customer's tier's, else the base rate. Attainment tiers multiply
the rates by the rep's attainment of their target, marginally: the revenue below a tier's
start earns at the tier under it, the revenue above at the tier itself, so a sale that
crosses 100 % of the target mid-month is paid at two multipliers. Amounts are computed exactly
(:class:`~decimal.Decimal`) and the commission of an entry is rounded once, to the cent, half
to even.

A statement is a rep's month. Entries are posted to it until a manager approves it; then it is
closed, and a later entry (a clawback after a refund) goes into the next month still open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Self

from crm.events import DomainEvent
from crm.events.commissions import (
    CommissionBasis,
    CommissionClawedBack,
    CommissionEarned,
    CommissionPlanCreated,
    CommissionPlanEnded,
    CommissionPlanRevised,
    CommissionReleased,
    CommissionSplitSet,
    CommissionStatementApproved,
    EntryKind,
    EntrySource,
    PlanTerms,
    RateKind,
    SplitShare,
)
from crm.events.money import Money
from crm.events.sales_orders import LineItem
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.kernel.tenancy import local_id
from crm.sales.domain.checks import optional_text, required_text

HUNDRED = Decimal(100)
MAX_SHARES = 10
PLANS_ID = "plans"
"""The tenant's own id of its one plans stream (qualified by the tenant)."""


# -- months ------------------------------------------------------------------------------------


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def months_from(first: str, last: str) -> list[str]:
    """The months from ``first`` to ``last``, both included."""
    out = [first]
    while out[-1] < last:
        out.append(next_month(out[-1]))
    return out


def quarter_months(period: str) -> tuple[str, str]:
    """The quarter of a month (``2026-Q2``) and its first month."""
    year, month = int(period[:4]), int(period[5:7])
    quarter = (month - 1) // 3 + 1
    return f"{year:04d}-Q{quarter}", f"{year:04d}-{3 * quarter - 2:02d}"


def statement_id(rep_id: str, period: str) -> str:
    """The tenant's own id of a rep's statement for a month (``alice-2026-03``)."""
    return f"{rep_id}-{period}"


# -- plans -------------------------------------------------------------------------------------


def _percent(value: Decimal, where: str) -> None:
    if not 0 <= value <= 100:
        raise InvalidCommand(where, "must be a percentage from 0 to 100")


def check_terms(terms: PlanTerms) -> PlanTerms:
    """Refuse terms that could not be applied, naming the field."""
    _percent(terms.base_rate, "terms.base_rate")
    if terms.hold_until_collected and terms.basis is not CommissionBasis.BOOKED:
        raise InvalidCommand(
            "terms.hold_until_collected", "only a plan on booked revenue holds commission back"
        )
    for name, skus in terms.product_groups.items():
        if not name.strip() or not skus:
            raise InvalidCommand("terms.product_groups", f"group {name!r} needs a name and skus")
    for name, customers in terms.customer_tiers.items():
        if not name.strip() or not customers:
            raise InvalidCommand(
                "terms.customer_tiers", f"tier {name!r} needs a name and customers"
            )
    seen: set[tuple[RateKind, str]] = set()
    for i, rate in enumerate(terms.rates):
        where = f"terms.rates.{i}"
        _percent(rate.rate, f"{where}.rate")
        if (rate.kind, rate.key) in seen:
            raise InvalidCommand(where, f"{rate.kind.value} {rate.key!r} has a rate already")
        seen.add((rate.kind, rate.key))
        if rate.kind is RateKind.GROUP and rate.key not in terms.product_groups:
            raise InvalidCommand(f"{where}.key", f"the plan has no product group {rate.key!r}")
        if rate.kind is RateKind.CUSTOMER_TIER and rate.key not in terms.customer_tiers:
            raise InvalidCommand(f"{where}.key", f"the plan has no customer tier {rate.key!r}")
    previous: Decimal | None = None
    for i, tier in enumerate(terms.tiers):
        where = f"terms.tiers.{i}"
        if previous is None and tier.from_percent != 0:
            raise InvalidCommand(f"{where}.from_percent", "the first tier starts at 0")
        if previous is not None and tier.from_percent <= previous:
            raise InvalidCommand(f"{where}.from_percent", "tiers go up in from_percent")
        if not 0 <= tier.multiplier <= 10:
            raise InvalidCommand(f"{where}.multiplier", "must be from 0 to 10")
        previous = tier.from_percent
    if len(set(terms.rep_ids)) != len(terms.rep_ids) or any(not r.strip() for r in terms.rep_ids):
        raise InvalidCommand("terms.rep_ids", "reps must be distinct and not blank")
    return terms


@dataclass(frozen=True, slots=True)
class PlanVersion:
    version: int
    terms: PlanTerms
    effective_from: date


@dataclass(frozen=True, slots=True)
class Plan:
    plan_id: str
    name: str
    rank: int
    """Its place in creation order (a later plan wins a tie)."""
    versions: tuple[PlanVersion, ...]
    effective_to: date | None

    def version_on(self, day: date) -> PlanVersion | None:
        if self.effective_to is not None and day > self.effective_to:
            return None
        found = None
        for v in self.versions:
            if v.effective_from <= day:
                found = v
        return found


@dataclass(frozen=True, slots=True)
class PlansState:
    plans: Mapping[str, Plan] = field(default_factory=lambda: MappingProxyType({}))

    def evolve(self, event: DomainEvent) -> Self:
        plans = dict(self.plans)
        match event:
            case CommissionPlanCreated():
                plans[event.plan_id] = Plan(
                    event.plan_id,
                    event.name,
                    len(plans),
                    (PlanVersion(1, event.terms, event.effective_from),),
                    event.effective_to,
                )
            case CommissionPlanRevised():
                p = plans[event.plan_id]
                v = PlanVersion(event.version, event.terms, event.effective_from)
                plans[event.plan_id] = replace(p, versions=(*p.versions, v))
            case CommissionPlanEnded():
                plans[event.plan_id] = replace(
                    plans[event.plan_id], effective_to=event.effective_to
                )
            case _:
                return self
        return replace(self, plans=MappingProxyType(plans))


class CommissionPlans(Aggregate[PlansState]):
    """Every plan of a tenant, one stream (``commissionplans-<tenant>:plans``)."""

    category = "commissionplans"

    @classmethod
    def initial_state(cls) -> PlansState:
        return PlansState()

    def _plan(self, plan_id: str) -> Plan:
        plan = self.state.plans.get(plan_id)
        if plan is None:
            raise NotFound(f"commission plan {plan_id} does not exist")
        return plan

    def add_plan(
        self,
        plan_id: str,
        name: str,
        terms: PlanTerms,
        *,
        effective_from: date,
        effective_to: date | None,
        today: date,
    ) -> None:
        if plan_id in self.state.plans:
            raise RuleViolated(f"commission plan {plan_id} already exists", code="already_exists")
        if effective_from < today:
            raise InvalidCommand("effective_from", "a plan starts today or later, never before")
        if effective_to is not None and effective_to < effective_from:
            raise InvalidCommand("effective_to", "must not be before effective_from")
        self.trigger(
            CommissionPlanCreated(
                plan_id=plan_id,
                name=required_text(name, "name"),
                terms=check_terms(terms),
                effective_from=effective_from,
                effective_to=effective_to,
            )
        )

    def revise(self, plan_id: str, terms: PlanTerms, *, effective_from: date, today: date) -> None:
        """A new version from ``effective_from``: today or later, after the last version's
        start and within the plan's validity."""
        plan = self._plan(plan_id)
        if effective_from < today:
            raise InvalidCommand(
                "effective_from", "a change applies from today or later: past periods stay"
            )
        last = plan.versions[-1]
        if effective_from <= last.effective_from:
            raise InvalidCommand("effective_from", f"must be after version {last.version}'s start")
        if plan.effective_to is not None and effective_from > plan.effective_to:
            raise RuleViolated(
                f"commission plan {plan_id} ends on {plan.effective_to}", code="plan_ended"
            )
        self.trigger(
            CommissionPlanRevised(
                plan_id=plan_id,
                version=last.version + 1,
                terms=check_terms(terms),
                effective_from=effective_from,
            )
        )

    def end(self, plan_id: str, *, effective_to: date, today: date) -> None:
        plan = self._plan(plan_id)
        if effective_to < today:
            raise InvalidCommand("effective_to", "a plan ends today or later, never before")
        if effective_to < plan.versions[-1].effective_from:
            raise InvalidCommand("effective_to", "must not be before its last version's start")
        if plan.effective_to == effective_to:
            return
        self.trigger(CommissionPlanEnded(plan_id=plan_id, effective_to=effective_to))


def plan_for(
    state: PlansState, rep_id: str, day: date, currency: str
) -> tuple[Plan, PlanVersion] | None:
    """The plan that pays ``rep_id`` on ``day`` in ``currency``: one naming the rep before
    one for every rep, a later plan before an earlier one; None: no commission."""
    best: tuple[bool, int, Plan, PlanVersion] | None = None
    for plan in state.plans.values():
        v = plan.version_on(day)
        if v is None or v.terms.currency != currency:
            continue
        named = rep_id in v.terms.rep_ids
        if v.terms.rep_ids and not named:
            continue
        rank = (named, plan.rank)
        if best is None or rank > best[:2]:
            best = (named, plan.rank, plan, v)
    return None if best is None else (best[2], best[3])


# -- computing a commission ----------------------------------------------------------------------


def rate_for(terms: PlanTerms, line: LineItem, customer_id: str) -> Decimal:
    """The rate of a line: its sku's, its product group's, its customer's tier's, else the
    base rate (the first group or tier listed that holds it)."""
    by: dict[tuple[RateKind, str], Decimal] = {(r.kind, r.key): r.rate for r in terms.rates}
    sku = by.get((RateKind.PRODUCT, line.sku))
    if sku is not None:
        return sku
    for group, skus in terms.product_groups.items():
        rate = by.get((RateKind.GROUP, group))
        if rate is not None and line.sku in skus:
            return rate
    for tier, customers in terms.customer_tiers.items():
        rate = by.get((RateKind.CUSTOMER_TIER, tier))
        if rate is not None and customer_id in customers:
            return rate
    return terms.base_rate


def tier_multiplier(
    terms: PlanTerms, before: Decimal, revenue: Decimal, target: Decimal | None
) -> Decimal:
    """The multiplier of ``revenue`` earned on top of ``before`` against ``target``: each
    tier's multiplier weighted by the part of the revenue that falls within it."""
    if not terms.tiers or revenue <= 0:
        return Decimal(1)
    if target is None or target <= 0:
        return terms.tiers[0].multiplier
    weighted = Decimal(0)
    end = before + revenue
    for i, tier in enumerate(terms.tiers):
        low = target * tier.from_percent / HUNDRED
        high = (
            target * terms.tiers[i + 1].from_percent / HUNDRED if i + 1 < len(terms.tiers) else None
        )
        start = max(before, low)
        stop = end if high is None else min(end, high)
        if stop > start:
            weighted += (stop - start) * tier.multiplier
    return weighted / revenue


@dataclass(frozen=True, slots=True)
class Computed:
    revenue: Money
    """The rep's revenue, rounded to the cent."""
    commission: Money
    """Rounded once, to the cent, half to even."""
    multiplier: Decimal
    attainment_before: Decimal | None
    exact_revenue: Decimal
    """Unrounded: what attainment counts."""


def compute(
    terms: PlanTerms,
    lines: Sequence[LineItem],
    customer_id: str,
    *,
    fraction: Decimal,
    share_percent: Decimal,
    before: Decimal,
    target: Decimal | None,
) -> Computed:
    """The commission on ``fraction`` of the order's lines (a payment's part of the invoice,
    or 1 for the whole order) for a rep with ``share_percent`` of it who had ``before`` of
    revenue towards ``target`` already."""
    part = fraction * share_percent / HUNDRED
    revenue = sum((line.line_total.amount * part for line in lines), Decimal(0))
    raw = sum(
        (
            line.line_total.amount * part * rate_for(terms, line, customer_id) / HUNDRED
            for line in lines
        ),
        Decimal(0),
    )
    multiplier = tier_multiplier(terms, before, revenue, target)
    currency = terms.currency
    attainment = None if not target else before * HUNDRED / target
    return Computed(
        revenue=Money(amount=revenue, currency=currency).rounded(),
        commission=Money(amount=raw * multiplier, currency=currency).rounded(),
        multiplier=multiplier,
        attainment_before=attainment,
        exact_revenue=revenue,
    )


def share_of(amount: Money, numerator: Decimal, denominator: Decimal) -> Money:
    """``amount`` x numerator / denominator, rounded half to even."""
    return Money(amount=amount.amount * numerator / denominator, currency=amount.currency).rounded()


# -- splits ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SplitState:
    shares: tuple[SplitShare, ...] = ()
    reps_ever: frozenset[str] = frozenset()
    team_id: str | None = None

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, CommissionSplitSet):
            return replace(
                self,
                shares=event.shares,
                reps_ever=self.reps_ever | {s.rep_id for s in event.shares},
                team_id=event.team_id,
            )
        return self


class CommissionSplit(Aggregate[SplitState]):
    """How an order's commission is shared (``commissionsplit-<order id>``)."""

    category = "commissionsplit"

    @classmethod
    def initial_state(cls) -> SplitState:
        return SplitState()

    def set(self, order_id: str, shares: Sequence[SplitShare], team_id: str | None) -> None:
        if not 1 <= len(shares) <= MAX_SHARES:
            raise InvalidCommand("shares", f"from 1 to {MAX_SHARES} shares")
        cleaned: list[SplitShare] = []
        for i, s in enumerate(shares):
            rep = required_text(s.rep_id, f"shares.{i}.rep_id", max_length=64)
            if not 0 < s.percent <= 100:
                raise InvalidCommand(f"shares.{i}.percent", "must be above 0 and at most 100")
            cleaned.append(SplitShare(rep_id=rep, percent=s.percent))
        if len({s.rep_id for s in cleaned}) != len(cleaned):
            raise InvalidCommand("shares", "a rep has one share")
        if sum((s.percent for s in cleaned), Decimal(0)) != 100:
            raise InvalidCommand("shares", "the shares must add up to 100")
        if tuple(cleaned) == self.state.shares:
            return
        self.trigger(CommissionSplitSet(order_id=order_id, shares=tuple(cleaned), team_id=team_id))


# -- statements ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    kind: EntryKind
    order_id: str
    source: EntrySource | None
    payment_id: str | None
    basis: CommissionBasis | None
    commission: Money
    held: bool
    earned_entry_id: str | None
    revenue: Money
    held_amount: Money
    """A clawback's part taken from what was still held (zero for other entries)."""


@dataclass(frozen=True, slots=True)
class StatementState:
    rep_id: str = ""
    period: str = ""
    team_id: str | None = None
    currency: str | None = None
    entries: Mapping[str, Entry] = field(default_factory=lambda: MappingProxyType({}))
    revenue: Decimal = Decimal(0)
    """Credited revenue (earned less clawed back): what attainment counts."""
    payable: Decimal = Decimal(0)
    held: Decimal = Decimal(0)
    approved: bool = False

    def _with(self, entry_id: str, entry: Entry, **changes: object) -> Self:
        entries = dict(self.entries)
        entries[entry_id] = entry
        return replace(self, entries=MappingProxyType(entries), **changes)  # type: ignore[arg-type]

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case CommissionEarned():
                entry = Entry(
                    EntryKind.EARNED,
                    event.order_id,
                    event.source,
                    event.payment_id,
                    event.basis,
                    event.commission,
                    event.held,
                    None,
                    event.revenue,
                    Money.zero(event.commission.currency),
                )
                amount = event.commission.amount
                return self._with(
                    event.entry_id,
                    entry,
                    rep_id=event.rep_id,
                    period=event.period,
                    team_id=self.team_id or event.team_id,
                    currency=event.commission.currency,
                    revenue=self.revenue + event.revenue.amount,
                    payable=self.payable + (0 if event.held else amount),
                    held=self.held + (amount if event.held else 0),
                )
            case CommissionReleased():
                entry = Entry(
                    EntryKind.RELEASED,
                    event.order_id,
                    None,
                    None,
                    None,
                    event.commission,
                    False,
                    event.earned_entry_id,
                    Money.zero(event.commission.currency),
                    Money.zero(event.commission.currency),
                )
                return self._with(
                    event.entry_id,
                    entry,
                    rep_id=event.rep_id,
                    period=event.period,
                    team_id=self.team_id or event.team_id,
                    currency=event.commission.currency,
                    payable=self.payable + event.commission.amount,
                )
            case CommissionClawedBack():
                entry = Entry(
                    EntryKind.CLAWED_BACK,
                    event.order_id,
                    None,
                    event.payment_id,
                    None,
                    event.commission,
                    event.held.amount != 0,
                    event.earned_entry_id,
                    event.revenue,
                    event.held,
                )
                return self._with(
                    event.entry_id,
                    entry,
                    rep_id=event.rep_id,
                    period=event.period,
                    team_id=self.team_id or event.team_id,
                    currency=event.commission.currency,
                    revenue=self.revenue + event.revenue.amount,
                    payable=self.payable + event.commission.amount,
                    held=self.held + event.held.amount,
                )
            case CommissionStatementApproved():
                return replace(self, approved=True)
        return self


class StatementClosed(RuleViolated):
    """The statement was approved: the entry belongs in the next open month."""


class CommissionStatement(Aggregate[StatementState]):
    """A rep's month (``commission-<tenant>:<rep>-<YYYY-MM>``)."""

    category = "commission"

    @classmethod
    def initial_state(cls) -> StatementState:
        return StatementState()

    @property
    def statement_id(self) -> str:
        return local_id(self.id)

    def _open(self, entry_id: str, currency: str) -> bool:
        """False if the entry is posted already; refuses a closed statement."""
        if entry_id in self.state.entries:
            return False
        if self.state.approved:
            raise StatementClosed(
                f"statement {self.statement_id} is approved", code="statement_closed"
            )
        if self.state.currency not in (None, currency):
            raise RuleViolated(
                f"statement {self.statement_id} is in {self.state.currency}, not {currency}",
                code="currency_mismatch",
            )
        return True

    def earn(self, event: CommissionEarned) -> None:
        """Post what :func:`compute` found (the entry's id makes a second post a no-op)."""
        if self._open(event.entry_id, event.commission.currency):
            self.trigger(event)

    def release(self, event: CommissionReleased) -> None:
        if self._open(event.entry_id, event.commission.currency):
            self.trigger(event)

    def claw_back(self, event: CommissionClawedBack) -> None:
        if self._open(event.entry_id, event.commission.currency):
            self.trigger(event)

    def approve(self, approved_by: str, note: str | None = None) -> None:
        s = self.state
        if not s.entries:
            raise NotFound(f"statement {self.statement_id} does not exist")
        if s.approved:
            return
        if approved_by == s.rep_id:
            raise RuleViolated("nobody approves their own statement", code="own_statement")
        assert s.currency is not None
        self.trigger(
            CommissionStatementApproved(
                rep_id=s.rep_id,
                period=s.period,
                payable=Money(amount=s.payable, currency=s.currency),
                held=Money(amount=s.held, currency=s.currency),
                entries=len(s.entries),
                approved_by=approved_by,
                note=optional_text(note, "note", max_length=2000),
            )
        )
