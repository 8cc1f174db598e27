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
- ``silence``: log(1 + days since the last order); ``repeat``: log(1 + repeat purchases);
  ``one_time``: 1 for a single purchase day;
- the service signals whose dates the read models keep, counted as the rules count them:
  complaints in 30 and in 90 days, SLA breaches and lost opportunities in 90 days, and the
  rules' own spend-drop and order-frequency-drop contributions.

Satisfaction, silence in contact, overdue invoices and open tickets are known only as they are
now, not as they were at a past cut-off, so they cannot be fitted without looking ahead; they are
not in the calibrated score (they stay in the documented rules, shown as reasons with weight 0
so nobody loses sight of them).

**Training sample** (:func:`fit_calibrated`): the caller builds each customer's signals as of
a cut-off ``horizon_days`` before now and says who ordered since. Fewer than
:data:`MIN_CUSTOMERS` customers, or fewer than :data:`MIN_EACH` who left or who stayed: no
model, and the caller falls back to the documented rules and says so (the ``ValueError``'s
text is the reason).

**Score and reasons** (:func:`assess_calibrated`): score = round(100 · P(left)); the level
uses the same thresholds as the rules. A reason per feature group that raises the log-odds
above the training average, strongest first: the plain-words text the rules give for that
signal, weight = 1 - e^(-c) for a log-odds contribution c (the share of the odds that signal
accounts for), so reasons stay transparent and comparable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "logistic": self.logistic.to_dict(),
            "horizon_days": self.horizon_days,
            "n_customers": self.n_customers,
            "n_left": self.n_left,
            "unit_days": self.unit_days,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibratedModel:
        return cls(
            logistic=LogisticModel.from_dict(data["logistic"]),
            horizon_days=float(data["horizon_days"]),
            n_customers=int(data["n_customers"]),
            n_left=int(data["n_left"]),
            unit_days=float(data.get("unit_days", 7.0)),
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


def _row(s: CustomerSignals, now: datetime, quiet: float | None) -> list[float]:
    found = {r.code: r.weight for r in rules.trend_reasons(s, now)}
    out = dict.fromkeys(FEATURES, 0.0)
    if quiet is not None and s.first_order_at is not None:
        last = s.last_order_at or s.first_order_at
        x = max(0, s.order_count - 1)
        out["no_purchase"] = _logit(quiet)
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
    known = [(i, v) for i, v in enumerate(summaries) if v is not None]
    if params is not None and known:
        table = np.array([v for _, v in known], dtype=np.float64)
        found = p_no_purchase(
            params, horizon_days / unit_days, table[:, 0], table[:, 1], table[:, 2]
        )
        for (i, _), p in zip(known, found, strict=True):
            quiet[i] = float(p)
    else:
        for i, _ in known:
            s, at = sample[i]
            quiet[i] = rules.purchase_risk(s, None, at, unit_days)
    rows = [_row(s, at, q) for (s, at), q in zip(sample, quiet, strict=True)]
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


def fit_calibrated(
    sample: Sequence[tuple[CustomerSignals, datetime]],
    left: Sequence[bool],
    params: BgNbdParams | None,
    *,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    unit_days: float = 7.0,
    l2: float = L2,
) -> CalibratedModel:
    """Fit on customers' signals as of a past cut-off and whether they left within
    ``horizon_days`` after it (``params``: the BG/NBD model fitted as of that cut-off).

    Raises ``ValueError`` saying why when the history is too small to fit."""
    if len(sample) != len(left):
        raise ValueError("one outcome per customer is needed")
    n_left = sum(1 for v in left if v)
    n_stayed = len(left) - n_left
    if len(sample) < MIN_CUSTOMERS:
        raise ValueError(
            f"{len(sample)} customers with history before the cut-off, "
            f"at least {MIN_CUSTOMERS} are needed"
        )
    if n_left < MIN_EACH or n_stayed < MIN_EACH:
        raise ValueError(
            f"{n_left} customers left and {n_stayed} stayed; at least {MIN_EACH} of each are needed"
        )
    x = feature_matrix(sample, params, horizon_days=horizon_days, unit_days=unit_days)
    y = np.array([1.0 if v else 0.0 for v in left])
    model = fit_logistic(FEATURES, x, y, l2=l2)
    return CalibratedModel(model, horizon_days, len(sample), n_left, unit_days)


def probability(
    model: CalibratedModel, s: CustomerSignals, params: BgNbdParams | None, now: datetime
) -> float:
    """P(the customer leaves within the model's horizon)."""
    row = features(s, params, now, horizon_days=model.horizon_days, unit_days=model.unit_days)
    return float(model.logistic.predict(row)[0])


def probabilities(
    model: CalibratedModel,
    sample: Sequence[tuple[CustomerSignals, datetime]],
    params: BgNbdParams | None,
) -> list[float]:
    """:func:`probability` of many customers at once."""
    x = feature_matrix(sample, params, horizon_days=model.horizon_days, unit_days=model.unit_days)
    return [float(p) for p in model.logistic.predict(x)]


def assess_calibrated(
    s: CustomerSignals,
    params: BgNbdParams | None,
    model: CalibratedModel,
    now: datetime,
    *,
    thresholds: Thresholds = Thresholds(),
) -> Assessment:
    """The calibrated assessment (see the module docstring for the score and the reasons).

    A customer who never ordered is outside what the model was fitted on (its sample is the
    customers with an order before the cut-off): the documented rules assess them."""
    if s.order_count < 1 or s.first_order_at is None:
        return rules.assess(s, params, now, unit_days=model.unit_days, thresholds=thresholds)
    row = features(s, params, now, horizon_days=model.horizon_days, unit_days=model.unit_days)
    p = float(model.logistic.predict(row)[0])
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
