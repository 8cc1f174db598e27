"""Expected customer lifetime value: BG/NBD purchases times Gamma-Gamma spend, discounted.

Fader, Hardie and Lee, "RFM and CLV" (2005): with purchases and spend independent, a
customer's expected value over the next ``H`` months is

    CLV = E[M | x, m] · Σ_{i=1..H} (E[N(t_i)] - E[N(t_{i-1})]) / (1 + d)^(i/12)

where ``E[N(t)]`` is BG/NBD's expected purchases in (T, T+t] given (x, t_x, T) (equation 10
of the BG/NBD paper), ``t_i`` the end of month ``i`` (365.25/12 days) in the model's time unit,
``E[M | x, m]`` the Gamma-Gamma expected spend per purchase, and ``d`` the annual discount rate:
each month's expected purchases are discounted to today. The horizon and the rate are the
tenant's :class:`ValuePolicy`.

**Tiers** come from CLV, not from spend so far: the customers of a tenant ranked by CLV, the
top ``high_share`` are "high", the next ``medium_share`` "medium", the rest "low" (ties share
the better tier; a CLV of zero is always "low").

Pure (numpy and decimals); money leaves as :class:`~decimal.Decimal` rounded half-even to the
cent (:func:`money`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

import numpy as np
import numpy.typing as npt

from crm.analytics.churn.bgnbd import BgNbdParams, expected_purchases
from crm.analytics.churn.gamma_gamma import GammaGammaParams, expected_spend

FloatArray = npt.NDArray[np.float64]
ValueTier = Literal["high", "medium", "low"]
TIERS: tuple[ValueTier, ...] = ("high", "medium", "low")

DAYS_PER_MONTH = 365.25 / 12
MAX_HORIZON_MONTHS = 120
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ValuePolicy:
    """A tenant's CLV settings: the horizon in months, the annual discount rate (0.1 = 10 %)
    and the shares of customers in the "high" and "medium" value tiers."""

    horizon_months: int = 12
    annual_discount: Decimal = Decimal("0.10")
    high_share: Decimal = Decimal("0.20")
    medium_share: Decimal = Decimal("0.30")

    def __post_init__(self) -> None:
        if not 1 <= self.horizon_months <= MAX_HORIZON_MONTHS:
            raise ValueError(
                f"horizon_months must be between 1 and {MAX_HORIZON_MONTHS}, "
                f"got {self.horizon_months}"
            )
        if not Decimal(0) <= self.annual_discount <= Decimal(1):
            raise ValueError(f"annual_discount must be between 0 and 1, got {self.annual_discount}")
        if not (
            Decimal(0) < self.high_share
            and Decimal(0) <= self.medium_share
            and self.high_share + self.medium_share <= Decimal(1)
        ):
            raise ValueError(
                "high_share must be above 0, medium_share not negative, and together at most 1"
            )


def discounted_purchases(
    params: BgNbdParams,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    big_t: npt.ArrayLike,
    policy: ValuePolicy,
    *,
    unit_days: float = 7.0,
    month_units: float | None = None,
) -> FloatArray:
    """Σ over the horizon's months of each month's expected purchases, discounted to today.

    A month is 365.25/12 days, ``month_units`` model units if given (a check against another
    implementation's convention)."""
    if unit_days <= 0:
        raise ValueError("unit_days must be positive")
    step = DAYS_PER_MONTH / unit_days if month_units is None else month_units
    xs, txs, ts = np.broadcast_arrays(
        np.asarray(x, dtype=np.float64),
        np.asarray(t_x, dtype=np.float64),
        np.asarray(big_t, dtype=np.float64),
    )
    rate = float(policy.annual_discount)
    total = np.zeros(xs.shape, dtype=np.float64)
    previous = np.zeros(xs.shape, dtype=np.float64)
    for month in range(1, policy.horizon_months + 1):
        t = month * step
        cumulative = expected_purchases(params, t, xs, txs, ts)
        total += (cumulative - previous) / (1.0 + rate) ** (month / 12)
        previous = cumulative
    return total


def lifetime_value(
    bg: BgNbdParams,
    gg: GammaGammaParams,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    big_t: npt.ArrayLike,
    spend_count: npt.ArrayLike,
    average_spend: npt.ArrayLike,
    policy: ValuePolicy,
    *,
    unit_days: float = 7.0,
    month_units: float | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(CLV, discounted expected purchases, expected spend per purchase) per customer.

    ``x, t_x, big_t``: the BG/NBD summary; ``spend_count`` transactions averaging
    ``average_spend`` (a count of 0 gives the population's mean spend)."""
    purchases = discounted_purchases(
        bg, x, t_x, big_t, policy, unit_days=unit_days, month_units=month_units
    )
    spend = expected_spend(gg, spend_count, average_spend)
    value: FloatArray = purchases * spend
    return value, purchases, spend


def money(value: float) -> Decimal:
    """A model figure as money: a decimal rounded half-even to the cent."""
    if not math.isfinite(value):
        raise ValueError("a lifetime value must be a finite number")
    return Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def tiers(values: Sequence[Decimal], policy: ValuePolicy) -> list[ValueTier]:
    """Each value's tier by its rank among ``values`` (see the module docstring)."""
    n = len(values)
    ranked = sorted(range(n), key=lambda i: values[i], reverse=True)
    high_n = math.ceil(policy.high_share * n)
    medium_n = math.ceil((policy.high_share + policy.medium_share) * n)
    out: list[ValueTier] = ["low"] * n
    cut_high = values[ranked[high_n - 1]] if 0 < high_n <= n else None
    cut_medium = values[ranked[medium_n - 1]] if 0 < medium_n <= n else None
    for i in range(n):
        v = values[i]
        if v <= 0:
            continue
        if cut_high is not None and v >= cut_high:
            out[i] = "high"
        elif cut_medium is not None and v >= cut_medium:
            out[i] = "medium"
    return out
