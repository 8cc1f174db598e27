"""Gamma-Gamma: the fit reproduces the published CDNOW estimates (Fader, Hardie and Lee 2005),
the closed forms agree with numerical integration, and the fit recovers simulated parameters."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from crm.analytics.churn.gamma_gamma import (
    GammaGammaParams,
    expected_spend,
    fit,
    individual_log_likelihood,
    spend_frequency_correlation,
)

CDNOW = Path(__file__).parents[1] / "data" / "cdnow_customers_summary_with_spend.csv"
# "RFM and CLV" (2005) and Fader & Hardie's note "The Gamma-Gamma Model of Monetary Value":
# on the 946 of CDNOW's 2 357 customers with repeat purchases, their repeat transactions'
# average value: p = 6.25, q = 3.74, gamma = 15.44.
PUBLISHED = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


@pytest.fixture(scope="module")
def cdnow() -> tuple[np.ndarray, np.ndarray]:
    data = np.genfromtxt(CDNOW, delimiter=",", names=True)
    assert len(data) == 2357
    repeat = data["x"] > 0
    return data["x"][repeat], data["zbar"][repeat]


@pytest.fixture(scope="module")
def cdnow_fit(cdnow: tuple[np.ndarray, np.ndarray]) -> GammaGammaParams:
    return fit(*cdnow)


def test_fit_reproduces_the_published_cdnow_estimates(
    cdnow: tuple[np.ndarray, np.ndarray], cdnow_fit: GammaGammaParams
) -> None:
    assert len(cdnow[0]) == 946
    assert cdnow_fit.n_customers == 946
    assert cdnow_fit.p == pytest.approx(PUBLISHED.p, abs=0.01)
    assert cdnow_fit.q == pytest.approx(PUBLISHED.q, abs=0.01)
    assert cdnow_fit.gamma == pytest.approx(PUBLISHED.gamma, abs=0.02)
    # The optimum is at least as good as the rounded published point.
    at_published = float(np.sum(individual_log_likelihood(PUBLISHED, *cdnow)))
    assert cdnow_fit.log_likelihood is not None
    assert cdnow_fit.log_likelihood >= at_published
    assert cdnow_fit.log_likelihood - at_published < 0.01


def test_published_mean_spend_and_the_independence_assumption(
    cdnow: tuple[np.ndarray, np.ndarray], cdnow_fit: GammaGammaParams
) -> None:
    # gamma p / (q - 1) = 15.44 * 6.25 / 2.74 = 35.22 (the note: the model's mean of $35)
    assert PUBLISHED.population_mean == pytest.approx(15.44 * 6.25 / 2.74)
    assert cdnow_fit.population_mean == pytest.approx(35.17, abs=0.05)
    # The note reports the correlation of frequency and average spend as 0.11.
    assert spend_frequency_correlation(*cdnow) == pytest.approx(0.11, abs=0.01)


def test_expected_spend_by_hand() -> None:
    params = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    # x = 2 purchases averaging 22.35: p (gamma + x m) / (p x + q - 1)
    by_hand = 6.25 * (15.44 + 2 * 22.35) / (6.25 * 2 + 3.74 - 1)
    assert float(expected_spend(params, 2, 22.35)) == pytest.approx(by_hand, rel=1e-12)
    # It lies between the customer's own average and the population mean.
    assert 22.35 < by_hand < params.population_mean
    # No repeat purchase: the population mean.
    assert float(expected_spend(params, 0, 0)) == pytest.approx(params.population_mean)
    # Many purchases: the customer's own average dominates.
    assert float(expected_spend(params, 500, 80.0)) == pytest.approx(80.0, rel=0.01)


def test_likelihood_agrees_with_numerical_integration() -> None:
    """The mean of x Gamma(p, nu) values is Gamma(px, x nu); nu ~ Gamma(q, gamma)."""
    params = GammaGammaParams(p=4.0, q=3.0, gamma=12.0)
    for x, m in ((1, 10.0), (3, 25.0), (7, 4.5)):

        def integrand(nu: float, x: int = x, m: float = m) -> float:
            density_m = stats.gamma.pdf(m, a=params.p * x, scale=1.0 / (x * nu))
            density_nu = stats.gamma.pdf(nu, a=params.q, scale=1.0 / params.gamma)
            return float(density_m * density_nu)

        numeric, _ = integrate.quad(integrand, 0, np.inf, limit=200)
        closed = float(individual_log_likelihood(params, x, m)[0])
        assert closed == pytest.approx(math.log(numeric), abs=1e-6)


def test_expected_spend_agrees_with_the_posterior_by_integration() -> None:
    """E[M | x, m] = E[p / nu | x, m]; the posterior of nu is integrated numerically."""
    params = GammaGammaParams(p=4.0, q=3.0, gamma=12.0)
    x, m = 3, 25.0

    def joint(nu: float) -> float:
        density_m = stats.gamma.pdf(m, a=params.p * x, scale=1.0 / (x * nu))
        return float(density_m * stats.gamma.pdf(nu, a=params.q, scale=1.0 / params.gamma))

    evidence, _ = integrate.quad(joint, 0, np.inf, limit=200)
    mean, _ = integrate.quad(lambda nu: params.p / nu * joint(nu), 0, np.inf, limit=200)
    assert float(expected_spend(params, x, m)) == pytest.approx(mean / evidence, rel=1e-6)


def test_fit_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(15)
    true = GammaGammaParams(p=5.0, q=4.0, gamma=20.0)
    n = 4000
    nu = rng.gamma(true.q, 1.0 / true.gamma, size=n)
    x = rng.integers(1, 8, size=n)
    m = np.array([rng.gamma(true.p, 1.0 / v, size=k).mean() for v, k in zip(nu, x, strict=True)])
    got = fit(x, m)
    assert got.p == pytest.approx(true.p, rel=0.1)
    assert got.q == pytest.approx(true.q, rel=0.15)
    assert got.gamma == pytest.approx(true.gamma, rel=0.2)


@pytest.mark.parametrize(
    ("x", "m", "message"),
    [
        ([1, 2], [10.0], "same length"),
        ([0] * 20, [10.0] * 20, "at least 1"),
        ([1.5] * 20, [10.0] * 20, "whole number"),
        ([1] * 20, [-1.0] * 20, "positive"),
        ([1] * 5, [1.0, 2.0, 3.0, 4.0, 5.0], "too few"),
        ([2] * 20, [10.0] * 20, "the same"),
    ],
)
def test_degenerate_samples_are_refused(x: list[float], m: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit(x, m)


def test_parameters_round_trip_and_are_checked() -> None:
    params = GammaGammaParams(6.25, 3.74, 15.44, log_likelihood=-4055.9, n_customers=946)
    assert GammaGammaParams.from_dict(params.to_dict()) == params
    with pytest.raises(ValueError, match="gamma"):
        GammaGammaParams(1.0, 2.0, 0.0)
    with pytest.raises(ValueError, match="q <= 1"):
        _ = GammaGammaParams(1.0, 0.5, 1.0).population_mean
