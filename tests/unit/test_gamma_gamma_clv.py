"""Customer lifetime value: BG/NBD x Gamma-Gamma reproduces the reference implementation's
CDNOW figures, the discounting is hand-checked, tiers come from CLV ranks, money is exact."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from crm.analytics.churn import bgnbd, gamma_gamma
from crm.analytics.churn.bgnbd import BgNbdParams
from crm.analytics.churn.clv import (
    DAYS_PER_MONTH,
    ValuePolicy,
    discounted_purchases,
    lifetime_value,
    money,
    tiers,
)
from crm.analytics.churn.gamma_gamma import GammaGammaParams

CDNOW = Path(__file__).parents[1] / "data" / "cdnow_customers_summary_with_spend.csv"
BG = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
GG = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def test_cdnow_clv_matches_the_lifetimes_reference() -> None:
    """The ``lifetimes`` package's documented example on the same CDNOW summary: both models
    fitted, then ``customer_lifetime_value(time=12, discount_rate=0.01, freq="D")``, i.e. 12
    steps of 30 model units, discounted 1 % a step: 140.096211, 18.943467, 38.180574."""
    data = np.genfromtxt(CDNOW, delimiter=",", names=True)
    repeat = data["x"] > 0
    gg = gamma_gamma.fit(data["x"][repeat], data["zbar"][repeat])
    bg = bgnbd.fit(data["x"], data["t_x"], data["T"])
    annual = Decimal("1.01") ** 12 - 1  # 1 % a step, as an annual rate over 12 steps
    policy = ValuePolicy(horizon_months=12, annual_discount=annual)
    head = slice(0, 3)
    value, _, _ = lifetime_value(
        bg,
        gg,
        data["x"][head],
        data["t_x"][head],
        data["T"][head],
        data["x"][head],
        data["zbar"][head],
        policy,
        month_units=30,
    )
    assert value == pytest.approx([140.096211, 18.943467, 38.180574], abs=1e-4)


def test_one_month_undiscounted_is_expected_purchases_times_spend() -> None:
    policy = ValuePolicy(horizon_months=1, annual_discount=Decimal(0))
    t = DAYS_PER_MONTH / 7
    value, purchases, spend = lifetime_value(BG, GG, 2, 30.43, 38.86, 2, 22.35, policy)
    by_hand_spend = 6.25 * (15.44 + 2 * 22.35) / (6.25 * 2 + 3.74 - 1)
    assert float(spend) == pytest.approx(by_hand_spend)
    assert float(purchases) == pytest.approx(
        float(bgnbd.expected_purchases(BG, t, 2, 30.43, 38.86))
    )
    assert float(value) == pytest.approx(float(purchases) * by_hand_spend)


def test_undiscounted_months_add_up_to_the_whole_horizon() -> None:
    policy = ValuePolicy(horizon_months=24, annual_discount=Decimal(0))
    total = discounted_purchases(BG, [0, 3, 10], [0, 10, 30], [20, 30, 35], policy)
    whole = bgnbd.expected_purchases(
        BG, 24 * DAYS_PER_MONTH / 7, [0, 3, 10], [0, 10, 30], [20, 30, 35]
    )
    assert total == pytest.approx(whole, rel=1e-12)


def test_discounting_by_hand_and_its_direction() -> None:
    """Two months at 21 % a year: month 1 weighs 1.21^(-1/12), month 2 1.21^(-2/12)."""
    policy = ValuePolicy(horizon_months=2, annual_discount=Decimal("0.21"))
    one = float(bgnbd.expected_purchases(BG, DAYS_PER_MONTH / 7, 4, 20, 30))
    two = float(bgnbd.expected_purchases(BG, 2 * DAYS_PER_MONTH / 7, 4, 20, 30))
    by_hand = one / 1.21 ** (1 / 12) + (two - one) / 1.21 ** (2 / 12)
    assert float(discounted_purchases(BG, 4, 20, 30, policy)) == pytest.approx(by_hand, rel=1e-12)
    plain = ValuePolicy(horizon_months=2, annual_discount=Decimal(0))
    assert float(discounted_purchases(BG, 4, 20, 30, plain)) > by_hand
    longer = ValuePolicy(horizon_months=36, annual_discount=Decimal("0.21"))
    assert float(discounted_purchases(BG, 4, 20, 30, longer)) > by_hand


def test_a_lapsed_customer_is_worth_less_than_an_active_one() -> None:
    policy = ValuePolicy()
    value, _, _ = lifetime_value(BG, GG, [5, 5], [35, 5], [36, 36], [5, 5], [30, 30], policy)
    assert value[0] > 3 * value[1]


def test_money_rounds_half_even_to_the_cent() -> None:
    assert money(0.125) == Decimal("0.12")
    assert money(0.135) == Decimal("0.14")
    assert money(140.0962117) == Decimal("140.10")
    assert str(money(3.0)) == "3.00"
    with pytest.raises(ValueError, match="finite"):
        money(float("nan"))


def test_tiers_by_rank_with_ties_and_zeros() -> None:
    policy = ValuePolicy(high_share=Decimal("0.2"), medium_share=Decimal("0.3"))
    values = [Decimal(v) for v in ("100", "90", "80", "70", "60", "50", "40", "30", "20", "0")]
    assert tiers(values, policy) == ["high"] * 2 + ["medium"] * 3 + ["low"] * 5
    tied = [Decimal("5"), Decimal("5"), Decimal("5"), Decimal("1"), Decimal("1")]
    # ceil(0.2 * 5) = 1 high, but the other two fives tie with it; ceil(0.5 * 5) = 3.
    assert tiers(tied, policy) == ["high", "high", "high", "low", "low"]
    assert tiers([Decimal(0)] * 3, policy) == ["low"] * 3
    assert tiers([], policy) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon_months": 0}, "horizon_months"),
        ({"horizon_months": 121}, "horizon_months"),
        ({"annual_discount": Decimal("-0.1")}, "annual_discount"),
        ({"annual_discount": Decimal("1.5")}, "annual_discount"),
        ({"high_share": Decimal(0)}, "high_share"),
        ({"high_share": Decimal("0.8"), "medium_share": Decimal("0.3")}, "at most 1"),
    ],
)
def test_policy_is_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ValuePolicy(**kwargs)  # type: ignore[arg-type]
