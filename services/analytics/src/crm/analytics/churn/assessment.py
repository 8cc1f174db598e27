"""A customer's churn assessment: the purchase model combined with service signals.

These are the documented rules, with constant weights. Once a tenant has enough history the
churn monitor scores with weights fitted on it instead (:mod:`crm.analytics.churn.calibrated`,
which reuses the rules' signals and reason texts); these rules assess until then.

Pure: everything it needs comes in ``CustomerSignals``, the tenant's fitted ``BgNbdParams``
(or ``None``) and ``now``; the same inputs give the same ``Assessment``.

**Purchase part** (``purchase_risk`` in [0, 1)):

- *BG/NBD* (basis ``"bg/nbd"``): when the tenant has fitted parameters and the customer has
  ordered at least twice, ``1 - P(alive)`` with x = orders - 1, t_x = last - first order and
  T = now - first order, in the model's time unit (``unit_days`` days; parameters fitted on
  weeks need ``unit_days=7``, the default).
- *Own rhythm* (basis ``"own rhythm"``): without parameters but with at least two orders spread
  over a day or more, the silence since the last order against the customer's usual interval
  (last - first order) / (orders - 1): with g = days since last order / usual interval,
  risk = max(0, g - 1) / (g + 1). No risk until the usual interval has passed, 1/3 at twice
  the interval, 3/5 at four times, approaching 1. A heuristic, not calibrated: it stands in
  until the tenant has enough history to fit the model.
- *Typical rhythm* (basis ``"typical rhythm"``): one order only (or, without parameters,
  several within one day: no rhythm of its own). BG/NBD assigns such customers
  P(alive) = 1 by construction (dropout happens only right after a purchase), which would never
  warn about a one-time buyer gone silent for years; so the same formula as above is used
  against a typical interval: the population's 1/E[λ] = alpha/r model units when parameters exist,
  else ``DEFAULT_INTERVAL_DAYS``.
- *None* (basis ``"none"``): never ordered; only service signals count.

**Service signals** each give a bounded contribution w_i in [0, 1) (constants below; each is
non-decreasing in its count, days or drop, and capped, so no single signal decides alone).

**Score** = round(100 · (1 - (1 - purchase_risk) · Π(1 - w_i))): every signal raises the risk,
none can push it beyond 100, and a customer with no signals scores 0. **Level**: "high" from
``Thresholds.high`` (70), "medium" from ``Thresholds.medium`` (40), else "low". **Reasons**: one
per signal that contributed at least ``Thresholds.min_reason_weight``, strongest first, in plain
words; the weight is the signal's own contribution (w_i, or purchase_risk).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from crm.analytics.churn.bgnbd import BgNbdParams, p_alive

Level = Literal["low", "medium", "high"]
PurchaseBasis = Literal["bg/nbd", "own rhythm", "typical rhythm", "none", "calibrated"]
"""How the purchase part was judged; "calibrated": the whole score is the fitted model of
:mod:`crm.analytics.churn.calibrated`."""

WINDOW_DAYS = 90
"""The recent period for order frequency (the spend signal's windows are the caller's)."""
DEFAULT_INTERVAL_DAYS = 90.0
"""Typical interval between orders assumed for one-time buyers when no model is fitted."""

# Contributions of the service signals: w = min(cap, per_unit * count) unless said otherwise.
COMPLAINT_30D_WEIGHT = 0.15  # each complaint in the last 30 days
COMPLAINT_OLDER_WEIGHT = 0.05  # each complaint 31-90 days ago
COMPLAINTS_CAP = 0.6
SLA_BREACH_WEIGHT, SLA_BREACHES_CAP = 0.08, 0.3
OVERDUE_INVOICE_WEIGHT, OVERDUE_CAP = 0.1, 0.35
LOST_OPPORTUNITY_WEIGHT, LOST_OPPORTUNITIES_CAP = 0.08, 0.3
OPEN_TICKET_WEIGHT, OPEN_TICKETS_CAP, OPEN_TICKETS_FROM = 0.04, 0.15, 2
SATISFACTION_LOW = {1: 0.3, 2: 0.15}  # last score on the 1-5 scale
SATISFACTION_DROP_WEIGHT = 0.06  # per point fallen since the previous score
SATISFACTION_CAP = 0.45
NO_CONTACT_BASE, NO_CONTACT_PER_DAY, NO_CONTACT_CAP = 0.05, 0.002, 0.25
# Order frequency: orders in the last 90 days against the customer's usual number per 90 days,
# 90 / usual interval (the same rhythm as the recency text). A window-against-previous-window
# comparison would forget the drop once a long silence empties both windows (the score would
# fall as the silence grows); the usual rate does not move with the silence, so this stays
# monotone. Needs at least FREQUENCY_MIN_ORDERS orders and a usual rate of 2 or more per 90
# days; counts from a drop to FREQUENCY_DROP_FROM of the usual rate, weight times the drop.
FREQUENCY_DROP_WEIGHT = 0.3
FREQUENCY_DROP_FROM = 0.75
FREQUENCY_MIN_ORDERS = 3
SPEND_DROP_WEIGHT = 0.2  # times the relative drop in spend, from a 25 % drop on
SPEND_DROP_FROM = 0.25


@dataclass(frozen=True)
class Thresholds:
    """Level boundaries (score >= medium is "medium", >= high is "high") and signal limits."""

    medium: int = 40
    high: int = 70
    no_contact_days: int = 60
    """Silence (no logged interaction) longer than this starts to count."""
    min_reason_weight: float = 0.01
    """Contributions below this are noise: they still count in the score but get no reason."""


@dataclass(frozen=True)
class CustomerSignals:
    """What the read models know about one customer; every field is optional.

    Datetimes must be comparable with ``now`` (timezone-aware UTC in the CRM). Counts over
    windows ("_30d", "_90d") are counted by the caller relative to the same ``now``.
    """

    first_order_at: datetime | None = None
    """Date of the customer's first order (start of the BG/NBD observation window)."""
    last_order_at: datetime | None = None
    """Date of the latest order."""
    order_count: int = 0
    """All orders ever placed (the first included); repeat purchases x = order_count - 1."""
    order_dates: tuple[datetime, ...] = ()
    """Recent order dates, any order (may be truncated to the latest ones, but must hold all
    of the last 90 days): counts the orders of the last 90 days for the frequency signal,
    which is skipped when the last order is recent and no dates are given."""
    spend_recent_90d: Decimal | None = None
    """Ordered value in the last 90 days (None: unknown, the spend signal is skipped)."""
    spend_previous_90d: Decimal | None = None
    """Ordered value in the 90 days before that."""
    currency: str = "EUR"
    """Currency of the spend and overdue amounts (texts only)."""
    complaints_30d: int = 0
    """Complaint tickets opened in the last 30 days."""
    complaints_90d: int = 0
    """Complaint tickets opened in the last 90 days (those of the last 30 included)."""
    sla_breaches_90d: int = 0
    """SLA breaches (response or resolution) on the customer's tickets in the last 90 days."""
    last_satisfaction: int | None = None
    """Latest satisfaction score, 1 (worst) to 5 (best)."""
    previous_satisfaction: int | None = None
    """The score before the latest one (the trend: a fall counts)."""
    last_contact_at: datetime | None = None
    """Latest logged interaction with the customer (any channel, either direction)."""
    overdue_invoices: int = 0
    """Invoices past their due date and not fully paid, now."""
    overdue_amount: Decimal = Decimal(0)
    """Their outstanding total."""
    lost_opportunities_90d: int = 0
    """The customer's opportunities marked lost in the last 90 days."""
    open_tickets: int = 0
    """Tickets still open now (a pile of open tickets counts from 2 on)."""


@dataclass(frozen=True)
class Reason:
    """One signal that raised the risk: a stable ``code``, a plain-words ``text``, its weight."""

    code: str
    text: str
    weight: float


@dataclass(frozen=True)
class Assessment:
    """The verdict: score 0-100, level, the model's P(alive) when it was used, and why."""

    score: int
    level: Level
    p_alive: float | None
    reasons: tuple[Reason, ...]
    purchase_basis: PurchaseBasis = "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "level": self.level,
            "p_alive": self.p_alive,
            "purchase_basis": self.purchase_basis,
            "reasons": [{"code": r.code, "text": r.text, "weight": r.weight} for r in self.reasons],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Assessment:
        p = data.get("p_alive")
        return cls(
            score=int(data["score"]),
            level=data["level"],
            p_alive=None if p is None else float(p),
            reasons=tuple(
                Reason(str(r["code"]), str(r["text"]), float(r["weight"]))
                for r in data.get("reasons", ())
            ),
            purchase_basis=data.get("purchase_basis", "none"),
        )


# Reason codes (stable: other services may act on them).
PURCHASE_RECENCY = "purchase_recency"
ORDER_FREQUENCY = "order_frequency"
SPEND = "spend"
COMPLAINTS = "complaints"
SLA_BREACHES = "sla_breaches"
SATISFACTION = "satisfaction"
NO_CONTACT = "no_contact"
OVERDUE_INVOICES = "overdue_invoices"
LOST_OPPORTUNITIES = "lost_opportunities"
OPEN_TICKETS = "open_tickets"


def level_for(score: int, thresholds: Thresholds = Thresholds()) -> Level:
    if score >= thresholds.high:
        return "high"
    if score >= thresholds.medium:
        return "medium"
    return "low"


def assess(
    signals: CustomerSignals,
    params: BgNbdParams | None,
    now: datetime,
    *,
    unit_days: float = 7.0,
    thresholds: Thresholds = Thresholds(),
) -> Assessment:
    """Assess one customer at ``now`` (see the module docstring for the combination)."""
    if unit_days <= 0:
        raise ValueError("unit_days must be positive")
    purchase_risk, alive, basis, purchase_reason = _purchase_part(signals, params, now, unit_days)
    found = [r for r in _service_reasons(signals, now, thresholds) if r.weight > 0]
    if purchase_reason is not None:
        found.append(purchase_reason)
    keep = 1.0 - purchase_risk
    for reason in found:
        if reason.code != PURCHASE_RECENCY:
            keep *= 1.0 - reason.weight
    score = max(0, min(100, round(100.0 * (1.0 - keep))))
    shown = sorted(
        (r for r in found if r.weight >= thresholds.min_reason_weight),
        key=lambda r: (-r.weight, r.code),
    )
    return Assessment(score, level_for(score, thresholds), alive, tuple(shown), basis)


def _days(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds() / 86400.0)


def _plural(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f}".replace(",", " ") + f" {currency}"


def _rhythm_risk(silence_days: float, interval_days: float) -> float:
    g = silence_days / max(interval_days, 1e-9)
    return max(0.0, g - 1.0) / (g + 1.0)


def _purchase_part(
    s: CustomerSignals, params: BgNbdParams | None, now: datetime, unit_days: float
) -> tuple[float, float | None, PurchaseBasis, Reason | None]:
    if s.order_count < 1 or s.first_order_at is None:
        return 0.0, None, "none", None
    last = s.last_order_at or s.first_order_at
    silence = _days(now - last)
    days = _plural(math.floor(silence), "day")
    span = _days(last - s.first_order_at)
    interval = span / (s.order_count - 1) if s.order_count >= 2 else 0.0
    if s.order_count >= 2 and (params is not None or interval >= 1.0):
        lead = f"no order for {days}" if silence > interval else f"last order {days} ago"
        rhythm = f", usually orders every {round(interval)}" if interval >= 1.0 else ""
        if params is not None:
            x = s.order_count - 1
            t_x = span / unit_days
            big_t = max(t_x, _days(now - s.first_order_at) / unit_days)
            alive = float(p_alive(params, x, t_x, big_t))
            text = f"{lead}{rhythm} (model: {round(100 * alive)}% likely still active)"
            return 1.0 - alive, alive, "bg/nbd", Reason(PURCHASE_RECENCY, text, 1.0 - alive)
        risk = _rhythm_risk(silence, interval)
        return risk, None, "own rhythm", Reason(PURCHASE_RECENCY, lead + rhythm, risk)
    # One order (or several within a day, no rhythm of its own): against the typical interval.
    typical = params.alpha / params.r * unit_days if params is not None else DEFAULT_INTERVAL_DAYS
    risk = _rhythm_risk(silence, typical)
    what = "only one order" if s.order_count == 1 else f"{s.order_count} orders within a day"
    text = f"{what}, {days} ago; customers typically order every {round(typical)} days"
    return risk, None, "typical rhythm", Reason(PURCHASE_RECENCY, text, risk)


def purchase_risk(
    s: CustomerSignals, params: BgNbdParams | None, now: datetime, unit_days: float = 7.0
) -> float:
    """The rules' purchase part alone, in [0, 1) (see the module docstring)."""
    return _purchase_part(s, params, now, unit_days)[0]


def trend_reasons(s: CustomerSignals, now: datetime) -> list[Reason]:
    """The rules' order-frequency and spend-drop reasons alone."""
    return _trend_reasons(s, now)


def _service_reasons(s: CustomerSignals, now: datetime, t: Thresholds) -> list[Reason]:
    reasons: list[Reason] = []
    older = max(0, s.complaints_90d - s.complaints_30d)
    if s.complaints_30d > 0 or older > 0:
        w = min(
            COMPLAINTS_CAP,
            COMPLAINT_30D_WEIGHT * s.complaints_30d + COMPLAINT_OLDER_WEIGHT * older,
        )
        if s.complaints_30d > 0:
            text = f"{_plural(s.complaints_30d, 'complaint')} in 30 days"
            if older > 0:
                text += f" ({max(s.complaints_90d, s.complaints_30d)} in 90 days)"
        else:
            text = f"{_plural(older, 'complaint')} in 90 days"
        reasons.append(Reason(COMPLAINTS, text, w))
    if s.sla_breaches_90d > 0:
        w = min(SLA_BREACHES_CAP, SLA_BREACH_WEIGHT * s.sla_breaches_90d)
        text = f"{_plural(s.sla_breaches_90d, 'SLA breach', 'SLA breaches')} in 90 days"
        reasons.append(Reason(SLA_BREACHES, text, w))
    if s.last_satisfaction is not None:
        last = s.last_satisfaction
        fall = (
            s.previous_satisfaction - last
            if s.previous_satisfaction is not None and s.previous_satisfaction > last
            else 0
        )
        w = min(SATISFACTION_CAP, SATISFACTION_LOW.get(last, 0.0) + SATISFACTION_DROP_WEIGHT * fall)
        if fall > 0:
            reasons.append(
                Reason(SATISFACTION, f"satisfaction fell to {last} (from {last + fall})", w)
            )
        elif w > 0:
            reasons.append(Reason(SATISFACTION, f"low satisfaction: {last} of 5", w))
    if s.last_contact_at is not None:
        silent = _days(now - s.last_contact_at)
        if silent > t.no_contact_days:
            w = min(
                NO_CONTACT_CAP,
                NO_CONTACT_BASE + NO_CONTACT_PER_DAY * (silent - t.no_contact_days),
            )
            reasons.append(Reason(NO_CONTACT, f"no contact for {math.floor(silent)} days", w))
    if s.overdue_invoices > 0:
        w = min(OVERDUE_CAP, OVERDUE_INVOICE_WEIGHT * s.overdue_invoices)
        noun = "invoice" if s.overdue_invoices == 1 else "invoices"
        text = f"{s.overdue_invoices} {noun} overdue ({_money(s.overdue_amount, s.currency)})"
        reasons.append(Reason(OVERDUE_INVOICES, text, w))
    if s.lost_opportunities_90d > 0:
        w = min(LOST_OPPORTUNITIES_CAP, LOST_OPPORTUNITY_WEIGHT * s.lost_opportunities_90d)
        text = f"lost {_plural(s.lost_opportunities_90d, 'opportunity', 'opportunities')}"
        reasons.append(Reason(LOST_OPPORTUNITIES, text + " in 90 days", w))
    if s.open_tickets >= OPEN_TICKETS_FROM:
        w = min(OPEN_TICKETS_CAP, OPEN_TICKET_WEIGHT * s.open_tickets)
        reasons.append(Reason(OPEN_TICKETS, f"{s.open_tickets} open tickets", w))
    reasons.extend(_trend_reasons(s, now))
    return reasons


def _orders_in_last_window(s: CustomerSignals, now: datetime) -> int | None:
    """Orders in the last 90 days: 0 when the last order is older, else counted from
    ``order_dates`` (None, unknown, when the dates were not given)."""
    window = timedelta(days=WINDOW_DAYS)
    if s.last_order_at is not None and now - s.last_order_at >= window:
        return 0
    if not s.order_dates:
        return None
    return sum(1 for d in s.order_dates if now - window < d <= now)


def _trend_reasons(s: CustomerSignals, now: datetime) -> list[Reason]:
    reasons: list[Reason] = []
    recent = _orders_in_last_window(s, now)
    if (
        recent is not None
        and s.order_count >= FREQUENCY_MIN_ORDERS
        and s.first_order_at is not None
        and s.last_order_at is not None
    ):
        interval = _days(s.last_order_at - s.first_order_at) / (s.order_count - 1)
        usual = WINDOW_DAYS / interval if interval >= 1.0 else 0.0
        if usual >= 2.0 and recent <= FREQUENCY_DROP_FROM * usual:
            w = FREQUENCY_DROP_WEIGHT * (1.0 - recent / usual)
            text = (
                f"order frequency fell: {_plural(recent, 'order')} in the last 90 days "
                f"against {round(usual)} usually"
            )
            reasons.append(Reason(ORDER_FREQUENCY, text, w))
    if (
        s.spend_recent_90d is not None
        and s.spend_previous_90d is not None
        and s.spend_previous_90d > 0
    ):
        drop = float(1 - max(Decimal(0), s.spend_recent_90d) / s.spend_previous_90d)
        if drop >= SPEND_DROP_FROM:
            text = (
                f"spend fell: {_money(s.spend_recent_90d, s.currency)} in the last 90 days "
                f"against {_money(s.spend_previous_90d, s.currency)} before"
            )
            reasons.append(Reason(SPEND, text, SPEND_DROP_WEIGHT * drop))
    return reasons
