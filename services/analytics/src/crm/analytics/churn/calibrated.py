"""The calibrated churn score: the weights of purchase recency and the service signals fitted
on the tenant's own history of customers who left, instead of the documented constants.

**Why.** The rules of :mod:`crm.analytics.churn.assessment` rank customers well within a group
but badly between groups: on a public retail history (CDNOW) one-time buyers, 86 % of whom
lapse, scored about 28 (BG/NBD gives them P(alive) = 1, and the rhythm rule forgives a single
order a long silence) while repeat buyers, 48 % of whom lapse, scored 45-60; AUC 0.50. A score
fitted on what happened to the tenant's customers orders the groups by what they actually do,
and its probability is a frequency: a score of 80 means about 80 % of such customers left.

**The model.** A ridge logistic regression (:mod:`crm.analytics.churn.logistic`) of "left"
(no order within ``horizon_days`` after a cut-off) on these features of a customer as of the
cut-off (:data:`FEATURES`):

- ``no_purchase``: logit of BG/NBD's P(no purchase in the horizon | x, t_x, T)
  (:func:`~crm.analytics.churn.bgnbd.p_no_purchase`; unlike P(alive) it is not 1 for a
  one-time buyer gone quiet), or of the rhythm rule's risk without fitted parameters;
- ``alive``: logit of BG/NBD's P(alive | x, t_x, T) (0 without fitted parameters), and
  ``age``: log(1 + T), the time since the first order in model units: BG/NBD's own verdicts
  are features of the fitted model rather than a rival to it (on CDNOW they lowered the Brier
  score of the 39-week forecast from 0.158 to 0.155; expected purchases added nothing);
- ``silence``: log(1 + days since the last order); ``repeat``: log(1 + repeat purchases);
  ``one_time``: 1 for a single purchase day;
- the service signals whose dates the read models keep, counted as the rules count them:
  complaints in 30 and in 90 days, SLA breaches and lost opportunities in 90 days, and the
  rules' own spend-drop and order-frequency-drop contributions.

Satisfaction, silence in contact, overdue invoices and open tickets are known only as they are
now, not as they were at a past cut-off, so they cannot be fitted without looking ahead; they are
not in the calibrated score (they stay in the documented rules, shown as reasons with weight 0
so nobody loses sight of them).

**Training sample** (:func:`fit_windows`): the caller builds each customer's signals as of a
cut-off ``horizon_days`` before now and says who ordered since; and, as further training
windows, as of cut-offs :data:`WINDOW_STEP_DAYS` days earlier each (up to :data:`WINDOWS` in
all), whether they ordered within ``horizon_days`` after that cut-off, BG/NBD refitted as of
each. Everything the model sees happened before now: the split stays honest. The rows of all
windows are fitted together (a customer appears once per window; the windows overlap, so the
rows are not independent, which changes nothing in the point estimates). The latest window
decides whether there is enough history: fewer than :data:`MIN_CUSTOMERS` customers, or
fewer than :data:`MIN_EACH` who left or who stayed: no model, and the caller falls back to the
documented rules and says so (the ``ValueError``'s text is the reason). An earlier window with
fewer than :data:`MIN_CUSTOMERS` customers or only one outcome is left out.

**Longer horizons** (:func:`survival`): the model answers P(no order within ``horizon_days``).
Over a longer horizon H it is chained as a discrete-time hazard model: a customer who does not
order in the first period is, at its end, the same customer ``horizon_days`` more silent (a
known state: :func:`rolled`; BG/NBD's P(alive) and P(no purchase) fall with the silence), so
P(no order within H) = q(state at 0) · q(state at h) · q(state at 2h) ..., the last factor
raised to the fraction of a period left (a constant hazard within it). On CDNOW, trained on
91 days and asked for 39 weeks, this is calibrated where the one-period probability was not
(bench/README.md).

**Score and reasons** (:func:`assess_calibrated`): score = round(100 · P(left)); the level
uses the same thresholds as the rules. A reason per feature group that raises the log-odds
above the training average, strongest first: the plain-words text the rules give for that
signal, weight = 1 - e^(-c) for a log-odds contribution c (the share of the odds that signal
accounts for), so reasons stay transparent and comparable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from crm.analytics.churn import assessment as rules
from crm.analytics.churn.assessment import (
    Assessment,
    CustomerSignals,
    Reason,
    Thresholds,
    level_for,
)
from crm.analytics.churn.bgnbd import BgNbdParams, p_alive, p_no_purchase
from crm.analytics.churn.logistic import LogisticModel, fit_logistic

FEATURES: tuple[str, ...] = (
    "no_purchase",
    "alive",
    "age",
    "silence",
    "repeat",
    "one_time",
    "complaints_30d",
    "complaints_90d",
    "sla_breaches_90d",
    "lost_opportunities_90d",
    "spend_drop",
    "frequency_drop",
)
REASON_OF: Mapping[str, str] = {
    "no_purchase": rules.PURCHASE_RECENCY,
    "alive": rules.PURCHASE_RECENCY,
    "age": rules.PURCHASE_RECENCY,
    "silence": rules.PURCHASE_RECENCY,
    "repeat": rules.PURCHASE_RECENCY,
    "one_time": rules.PURCHASE_RECENCY,
    "complaints_30d": rules.COMPLAINTS,
    "complaints_90d": rules.COMPLAINTS,
    "sla_breaches_90d": rules.SLA_BREACHES,
    "lost_opportunities_90d": rules.LOST_OPPORTUNITIES,
    "spend_drop": rules.SPEND,
    "frequency_drop": rules.ORDER_FREQUENCY,
}
"""Which of the rules' reason codes (and texts) each feature speaks for."""
NOT_CALIBRATED = frozenset(
    {rules.SATISFACTION, rules.NO_CONTACT, rules.OVERDUE_INVOICES, rules.OPEN_TICKETS}
)
"""Signals known only as they are now: shown, not scored (see the module docstring)."""

MIN_CUSTOMERS = 50
MIN_EACH = 10
DEFAULT_HORIZON_DAYS = 90
WINDOWS = 4
"""Training windows at most: the latest cut-off and three earlier ones."""
WINDOW_STEP_DAYS = 28
"""Days between the cut-offs of consecutive training windows."""
L2 = 1.0
EPS = 1e-6


@dataclass(frozen=True)
class CalibratedModel:
    """A fitted calibrated churn model, and what it was fitted on."""

    logistic: LogisticModel
    horizon_days: float
    n_customers: int
    n_left: int
    unit_days: float = 7.0
    windows: int = 1
    """Training windows fitted on (the latest, whose customers ``n_customers`` counts, first)."""
    rows: int = 0
    """Rows over all windows (a customer once per window)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "logistic": self.logistic.to_dict(),
            "horizon_days": self.horizon_days,
            "n_customers": self.n_customers,
            "n_left": self.n_left,
            "unit_days": self.unit_days,
            "windows": self.windows,
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibratedModel:
        return cls(
            logistic=LogisticModel.from_dict(data["logistic"]),
            horizon_days=float(data["horizon_days"]),
            n_customers=int(data["n_customers"]),
            n_left=int(data["n_left"]),
            unit_days=float(data.get("unit_days", 7.0)),
            windows=int(data.get("windows", 1)),
            rows=int(data.get("rows", data["n_customers"])),
        )

    def weights(self) -> dict[str, float]:
        """Each feature's fitted weight (log-odds per standard deviation), for analysts."""
        return dict(zip(self.logistic.names, self.logistic.coef, strict=True))


def _logit(p: float) -> float:
    q = min(1.0 - EPS, max(EPS, p))
    return math.log(q / (1.0 - q))


def _days(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds() / 86400.0)


def _summary(
    s: CustomerSignals, now: datetime, unit_days: float
) -> tuple[int, float, float] | None:
    """(x, t_x, T) in model units, None for a customer who never ordered."""
    if s.order_count < 1 or s.first_order_at is None:
        return None
    last = s.last_order_at or s.first_order_at
    x = max(0, s.order_count - 1)
    t_x = _days(last - s.first_order_at) / unit_days if x > 0 else 0.0
    return x, t_x, max(t_x, _days(now - s.first_order_at) / unit_days)


def _row(
    s: CustomerSignals,
    now: datetime,
    quiet: float | None,
    alive: float | None,
    age: float,
) -> list[float]:
    found = {r.code: r.weight for r in rules.trend_reasons(s, now)}
    out = dict.fromkeys(FEATURES, 0.0)
    if quiet is not None and s.first_order_at is not None:
        last = s.last_order_at or s.first_order_at
        x = max(0, s.order_count - 1)
        out["no_purchase"] = _logit(quiet)
        out["alive"] = 0.0 if alive is None else _logit(alive)
        out["age"] = math.log1p(age)
        out["silence"] = math.log1p(_days(now - last))
        out["repeat"] = math.log1p(x)
        out["one_time"] = 1.0 if x == 0 else 0.0
    else:
        out["no_purchase"] = _logit(0.5)
    out["complaints_30d"] = float(s.complaints_30d)
    out["complaints_90d"] = float(s.complaints_90d)
    out["sla_breaches_90d"] = float(s.sla_breaches_90d)
    out["lost_opportunities_90d"] = float(s.lost_opportunities_90d)
    out["spend_drop"] = found.get(rules.SPEND, 0.0)
    out["frequency_drop"] = found.get(rules.ORDER_FREQUENCY, 0.0)
    return [out[name] for name in FEATURES]


def feature_matrix(
    sample: Sequence[tuple[CustomerSignals, datetime]],
    params: BgNbdParams | None,
    *,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    unit_days: float = 7.0,
) -> npt.NDArray[np.float64]:
    """:func:`features` of many customers, BG/NBD evaluated once for all of them."""
    summaries = [_summary(s, at, unit_days) for s, at in sample]
    quiet: list[float | None] = [None] * len(sample)
    alive: list[float | None] = [None] * len(sample)
    known = [(i, v) for i, v in enumerate(summaries) if v is not None]
    if params is not None and known:
        table = np.array([v for _, v in known], dtype=np.float64)
        found = p_no_purchase(
            params, horizon_days / unit_days, table[:, 0], table[:, 1], table[:, 2]
        )
        active = p_alive(params, table[:, 0], table[:, 1], table[:, 2])
        for (i, _), p, a in zip(known, found, active, strict=True):
            quiet[i] = float(p)
            alive[i] = float(a)
    else:
        for i, _ in known:
            s, at = sample[i]
            quiet[i] = rules.purchase_risk(s, None, at, unit_days)
    ages = [0.0 if v is None else v[2] for v in summaries]
    rows = [
        _row(s, at, q, a, age)
        for (s, at), q, a, age in zip(sample, quiet, alive, ages, strict=True)
    ]
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))


def features(
    s: CustomerSignals,
    params: BgNbdParams | None,
    now: datetime,
    *,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    unit_days: float = 7.0,
) -> list[float]:
    """The customer's :data:`FEATURES` at ``now`` (see the module docstring)."""
    matrix = feature_matrix([(s, now)], params, horizon_days=horizon_days, unit_days=unit_days)
    return [float(v) for v in matrix[0]]


Window = tuple[Sequence[tuple[CustomerSignals, datetime]], Sequence[bool], BgNbdParams | None]
"""One training window: customers' signals as of its cut-off (each with the cut-off), whether
each left within the horizon after it, and the BG/NBD model fitted as of the cut-off."""


def _enough(n: int, n_left: int) -> str | None:
    """Why ``n`` customers of whom ``n_left`` left are too few to fit on (None: enough)."""
    if n < MIN_CUSTOMERS:
        return f"{n} customers with history before the cut-off, at least {MIN_CUSTOMERS} are needed"
    if n_left < MIN_EACH or n - n_left < MIN_EACH:
        return (
            f"{n_left} customers left and {n - n_left} stayed; "
            f"at least {MIN_EACH} of each are needed"
        )
    return None


def fit_windows(
    windows: Sequence[Window],
    *,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    unit_days: float = 7.0,
    l2: float = L2,
) -> CalibratedModel:
    """Fit on the training windows, the latest first (see the module docstring).

    Raises ``ValueError`` saying why when the latest window is too small to fit."""
    if not windows:
        raise ValueError("no training window")
    blocks: list[npt.NDArray[np.float64]] = []
    outcomes: list[float] = []
    for k, (sample, left, params) in enumerate(windows):
        if len(sample) != len(left):
            raise ValueError("one outcome per customer is needed")
        why = _enough(len(sample), sum(1 for v in left if v))
        if why is not None and k == 0:
            raise ValueError(why)
        if k > 0 and (len(sample) < MIN_CUSTOMERS or all(left) or not any(left)):
            continue
        blocks.append(
            feature_matrix(sample, params, horizon_days=horizon_days, unit_days=unit_days)
        )
        outcomes.extend(1.0 if v else 0.0 for v in left)
    x = np.vstack(blocks)
    model = fit_logistic(FEATURES, x, np.array(outcomes), l2=l2)
    latest, left, _ = windows[0]
    return CalibratedModel(
        model,
        horizon_days,
        len(latest),
        sum(1 for v in left if v),
        unit_days,
        windows=len(blocks),
        rows=len(outcomes),
    )


def fit_calibrated(
    sample: Sequence[tuple[CustomerSignals, datetime]],
    left: Sequence[bool],
    params: BgNbdParams | None,
    *,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    unit_days: float = 7.0,
    l2: float = L2,
) -> CalibratedModel:
    """Fit on one window: customers' signals as of a past cut-off and whether they left within
    ``horizon_days`` after it (``params``: the BG/NBD model fitted as of that cut-off).

    Raises ``ValueError`` saying why when the history is too small to fit."""
    return fit_windows(
        [(sample, left, params)], horizon_days=horizon_days, unit_days=unit_days, l2=l2
    )


def rolled(s: CustomerSignals, days: float) -> CustomerSignals:
    """The customer's signals ``days`` later had nothing happened meanwhile: no order, no
    complaint, no SLA breach, no lost opportunity. A windowed count is dropped once its window
    has certainly passed (30 or 90 days); the spend of the last 90 days becomes the previous
    90 days' after 90 days (exact at 90, the step the monitor uses) and both are gone after
    180. Satisfaction, contact, invoices and open tickets are not scored, so kept as they are."""
    if days <= 0:
        return s
    window = float(rules.WINDOW_DAYS)
    recent, previous = s.spend_recent_90d, s.spend_previous_90d
    if days >= 2 * window:
        recent, previous = None, None
    elif days >= window:
        recent, previous = (None, None) if recent is None else (Decimal(0), recent)
    return replace(
        s,
        complaints_30d=0 if days >= 30 else s.complaints_30d,
        complaints_90d=0 if days >= window else s.complaints_90d,
        sla_breaches_90d=0 if days >= window else s.sla_breaches_90d,
        lost_opportunities_90d=0 if days >= window else s.lost_opportunities_90d,
        spend_recent_90d=recent,
        spend_previous_90d=previous,
    )


def survival(
    model: CalibratedModel,
    sample: Sequence[tuple[CustomerSignals, datetime]],
    params: BgNbdParams | None,
    horizon_days: float,
) -> list[float]:
    """P(no order within ``horizon_days``) per customer: the model's one-period probability
    chained over the periods of the horizon (see the module docstring)."""
    if horizon_days <= 0 or not math.isfinite(horizon_days):
        raise ValueError("the horizon must be a positive number of days")
    period = model.horizon_days
    result = np.ones(len(sample), dtype=np.float64)
    done = 0.0
    while done < horizon_days - 1e-9:
        share = min(1.0, (horizon_days - done) / period)
        later = [(rolled(s, done), at + timedelta(days=done)) for s, at in sample]
        x = feature_matrix(later, params, horizon_days=period, unit_days=model.unit_days)
        result *= model.logistic.predict(x) ** share
        done += period
    return [float(p) for p in result]


def probability(
    model: CalibratedModel,
    s: CustomerSignals,
    params: BgNbdParams | None,
    now: datetime,
    *,
    horizon_days: float | None = None,
) -> float:
    """P(the customer leaves within ``horizon_days``, the model's horizon by default)."""
    return probabilities(model, [(s, now)], params, horizon_days=horizon_days)[0]


def probabilities(
    model: CalibratedModel,
    sample: Sequence[tuple[CustomerSignals, datetime]],
    params: BgNbdParams | None,
    *,
    horizon_days: float | None = None,
) -> list[float]:
    """:func:`probability` of many customers at once."""
    if horizon_days is not None and horizon_days != model.horizon_days:
        return survival(model, sample, params, horizon_days)
    x = feature_matrix(sample, params, horizon_days=model.horizon_days, unit_days=model.unit_days)
    return [float(p) for p in model.logistic.predict(x)]


def assess_calibrated(
    s: CustomerSignals,
    params: BgNbdParams | None,
    model: CalibratedModel,
    now: datetime,
    *,
    thresholds: Thresholds = Thresholds(),
    horizon_days: float | None = None,
) -> Assessment:
    """The calibrated assessment (see the module docstring for the score and the reasons):
    P(no order within ``horizon_days``, the model's horizon by default); the reasons are the
    contributions to its first period.

    A customer who never ordered is outside what the model was fitted on (its sample is the
    customers with an order before the cut-off): the documented rules assess them."""
    if s.order_count < 1 or s.first_order_at is None:
        return rules.assess(s, params, now, unit_days=model.unit_days, thresholds=thresholds)
    row = features(s, params, now, horizon_days=model.horizon_days, unit_days=model.unit_days)
    p = probability(model, s, params, now, horizon_days=horizon_days)
    score = max(0, min(100, round(100.0 * p)))
    by_code: dict[str, float] = {}
    for name, c in model.logistic.contributions(row).items():
        code = REASON_OF[name]
        by_code[code] = by_code.get(code, 0.0) + c
    ruled = rules.assess(s, params, now, unit_days=model.unit_days, thresholds=thresholds)
    texts = {r.code: r.text for r in ruled.reasons}
    if rules.PURCHASE_RECENCY not in texts and s.order_count >= 1 and s.last_order_at:
        days = math.floor(_days(now - s.last_order_at))
        texts[rules.PURCHASE_RECENCY] = f"last order {days} day{'s' if days != 1 else ''} ago"
    reasons = [
        Reason(code, texts[code], round(1.0 - math.exp(-c), 4))
        for code, c in by_code.items()
        if c > 0 and code in texts and 1.0 - math.exp(-c) >= thresholds.min_reason_weight
    ]
    reasons.sort(key=lambda r: (-r.weight, r.code))
    reasons.extend(Reason(r.code, r.text, 0.0) for r in ruled.reasons if r.code in NOT_CALIBRATED)
    alive: float | None = None
    if params is not None and s.order_count >= 2 and s.first_order_at and s.last_order_at:
        t_x = _days(s.last_order_at - s.first_order_at) / model.unit_days
        big_t = max(t_x, _days(now - s.first_order_at) / model.unit_days)
        alive = float(p_alive(params, s.order_count - 1, t_x, big_t))
    return Assessment(score, level_for(score, thresholds), alive, tuple(reasons), "calibrated")
