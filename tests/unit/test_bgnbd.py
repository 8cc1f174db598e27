"""BG/NBD: the fit reproduces the published CDNOW estimates, the closed forms agree with
independent numerical integration, and the fit recovers the parameters of simulated data."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from crm.analytics.churn.bgnbd import (
    MIN_CUSTOMERS,
    BgNbdParams,
    expected_purchases,
    expected_purchases_unconditional,
    fit,
    individual_log_likelihood,
    log_likelihood,
    p_alive,
)

CDNOW = Path(__file__).parents[1] / "data" / "cdnow_customers_summary.csv"
# Fader, Hardie & Lee (2005), section 5: the BG/NBD estimates on the CDNOW calibration sample.
PUBLISHED = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PUBLISHED_LL = -9582.4


@pytest.fixture(scope="module")
def cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.genfromtxt(CDNOW, delimiter=",", names=True)
    return data["frequency"], data["recency"], data["T"]


@pytest.fixture(scope="module")
def cdnow_fit(cdnow: tuple[np.ndarray, np.ndarray, np.ndarray]) -> BgNbdParams:
    return fit(*cdnow)


def test_fit_reproduces_the_published_cdnow_estimates(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: BgNbdParams
) -> None:
    assert len(cdnow[0]) == 2357
    assert cdnow_fit.n_customers == 2357
    for name in ("r", "alpha", "a", "b"):
        assert getattr(cdnow_fit, name) == pytest.approx(getattr(PUBLISHED, name), rel=0.01), name
    assert cdnow_fit.log_likelihood is not None
    assert cdnow_fit.log_likelihood == pytest.approx(PUBLISHED_LL, abs=0.1)


def test_likelihood_at_the_published_estimates_is_the_published_value(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: BgNbdParams
) -> None:
    """Checks the likelihood formula independently of the optimiser, and that the optimum
    found is at least as good as the (rounded) published point."""
    at_published = log_likelihood(PUBLISHED, *cdnow)
    assert at_published == pytest.approx(PUBLISHED_LL, abs=0.1)
    assert cdnow_fit.log_likelihood is not None
    assert cdnow_fit.log_likelihood >= at_published


def test_fit_from_another_start_finds_the_same_optimum(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: BgNbdParams
) -> None:
    other = fit(*cdnow, initial=BgNbdParams(r=2.0, alpha=20.0, a=3.0, b=10.0))
    for name in ("r", "alpha", "a", "b"):
        assert getattr(other, name) == pytest.approx(getattr(cdnow_fit, name), rel=1e-3), name


def test_weights_count_identical_customers(
    cdnow: tuple[np.ndarray, np.ndarray, np.ndarray], cdnow_fit: BgNbdParams
) -> None:
    rows = np.stack(cdnow, axis=1)
    unique, counts = np.unique(rows, axis=0, return_counts=True)
    assert len(unique) < len(rows)  # the sample really has repeated rows
    weighted = fit(unique[:, 0], unique[:, 1], unique[:, 2], weights=counts)
    assert weighted.n_customers == 2357
    assert weighted.log_likelihood == pytest.approx(cdnow_fit.log_likelihood, abs=1e-3)
    assert weighted.r == pytest.approx(cdnow_fit.r, rel=1e-4)


def test_conditional_expectation_matches_the_paper() -> None:
    """The paper's worked example (section 5): x = 2, t_x = 30.43, T = 38.86 weeks, expected
    purchases in the next 39 weeks 1.226. The closed form with the published (rounded)
    parameters gives 1.22603; tolerance 0.001, the rounding of the published figure."""
    value = float(expected_purchases(PUBLISHED, 39, 2, 30.43, 38.86))
    assert value == pytest.approx(1.226, abs=1e-3)


def _posterior_expectation(params: BgNbdParams, t: float, x: int, t_x: float, age: float) -> float:
    """E[Y(t) | x, t_x, T] by numerical integration, independent of the hypergeometric form:
    P(alive) times the mean of (1 - e^{-λpt})/p under the posterior of an active customer,
    λ ~ Gamma(r+x, alpha+T), p ~ Beta(a, b+x); the λ-integral is a gamma Laplace transform."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    beta = stats.beta(a, b + x)

    def integrand(p: float) -> float:
        return float(beta.pdf(p) * (1 - ((alpha + age) / (alpha + age + p * t)) ** (r + x)) / p)

    mean_active, _ = integrate.quad(integrand, 0, 1, limit=200)
    return float(p_alive(params, x, t_x, age)) * mean_active


@pytest.mark.parametrize(
    ("t", "x", "t_x", "age"), [(39, 2, 30.43, 38.86), (10, 0, 0, 20), (52, 7, 35.0, 39.0)]
)
def test_conditional_expectation_agrees_with_numerical_integration(
    t: float, x: int, t_x: float, age: float
) -> None:
    closed = float(expected_purchases(PUBLISHED, t, x, t_x, age))
    assert closed == pytest.approx(_posterior_expectation(PUBLISHED, t, x, t_x, age), rel=1e-6)


@pytest.mark.parametrize("t", [1.0, 39.0, 78.0])
def test_unconditional_expectation_agrees_with_numerical_integration(t: float) -> None:
    p = PUBLISHED
    beta = stats.beta(p.a, p.b)
    numeric, _ = integrate.quad(
        lambda q: beta.pdf(q) * (1 - (p.alpha / (p.alpha + q * t)) ** p.r) / q, 0, 1, limit=200
    )
    assert float(expected_purchases_unconditional(p, t)) == pytest.approx(numeric, rel=1e-6)


def test_p_alive_is_one_without_repeat_purchases() -> None:
    assert np.all(p_alive(PUBLISHED, 0, 0, [0.0, 1.0, 39.0, 500.0]) == 1.0)


def test_p_alive_decreases_as_the_silence_grows() -> None:
    ages = np.linspace(30.43, 300, 50)
    alive = p_alive(PUBLISHED, 2, 30.43, ages)
    assert alive[0] == pytest.approx(1 / (1 + PUBLISHED.a / (PUBLISHED.b + 1)))
    assert np.all(np.diff(alive) < 0)
    assert np.all((alive > 0) & (alive < 1))


def test_p_alive_rises_with_a_later_last_purchase_and_matches_the_formula() -> None:
    recencies = np.linspace(1, 38.86, 20)
    alive = p_alive(PUBLISHED, 2, recencies, 38.86)
    assert np.all(np.diff(alive) > 0)
    p = PUBLISHED
    by_hand = 1 / (1 + p.a / (p.b + 1) * ((p.alpha + 38.86) / (p.alpha + 30.43)) ** (p.r + 2))
    assert float(p_alive(p, 2, 30.43, 38.86)) == pytest.approx(by_hand, rel=1e-12)


def test_extreme_customers_stay_finite_without_warnings() -> None:
    x = np.array([0, 1, 500, 5000])
    t_x = np.array([0.0, 0.0, 999.0, 1000.0])
    age = np.array([0.0, 1e6, 1000.0, 1e6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ll = individual_log_likelihood(PUBLISHED, x, t_x, age)
        alive = p_alive(PUBLISHED, x, t_x, age)
    assert np.all(np.isfinite(ll))
    assert ll[0] == pytest.approx(0.0)  # a customer observed for no time: likelihood 1
    assert np.all((alive >= 0) & (alive <= 1))
    assert alive[3] == 0.0  # 5000 purchases then a million weeks of silence


def _simulate(
    params: BgNbdParams, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The BG/NBD story: λ ~ Gamma(r, alpha), p ~ Beta(a, b); purchases at Poisson(λ) times after
    the first at 0; after each repeat purchase the customer leaves with probability p."""
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    drop = rng.beta(params.a, params.b, n)
    age = rng.uniform(20, 60, n)
    x, t_x, clock = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        clock[idx] += rng.exponential(1 / lam[idx])
        bought = clock[idx] <= age[idx]
        buyers = idx[bought]
        x[buyers] += 1
        t_x[buyers] = clock[buyers]
        active[idx[~bought]] = False
        active[buyers[rng.random(len(buyers)) < drop[buyers]]] = False
    return x, t_x, age


def _standard_errors(fitted: BgNbdParams, sample: tuple[np.ndarray, ...]) -> np.ndarray:
    """Standard errors of the log-parameters from the numerical Hessian of -LL at the MLE."""
    theta = np.log([fitted.r, fitted.alpha, fitted.a, fitted.b])

    def nll(v: np.ndarray) -> float:
        r, alpha, a, b = np.exp(v)
        return -log_likelihood(BgNbdParams(r, alpha, a, b), *sample)

    h = 1e-3
    hessian = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h, np.eye(4)[j] * h
            hessian[i, j] = (
                nll(theta + ei + ej)
                - nll(theta + ei - ej)
                - nll(theta - ei + ej)
                + nll(theta - ei - ej)
            ) / (4 * h * h)
    return np.sqrt(np.diag(np.linalg.inv(hessian)))


def test_fit_recovers_simulated_parameters_within_sampling_error() -> None:
    truth = BgNbdParams(r=0.5, alpha=6.0, a=0.7, b=3.0)
    sample = _simulate(truth, 5000, np.random.default_rng(20260601))
    assert sample[0].mean() > 1  # enough repeat purchases to identify the model
    fitted = fit(*sample)
    se = _standard_errors(fitted, sample)
    estimate = np.log([fitted.r, fitted.alpha, fitted.a, fitted.b])
    true = np.log([truth.r, truth.alpha, truth.a, truth.b])
    z = (estimate - true) / se
    assert np.all(np.abs(z) < 3.5), (fitted, se, z)
    assert np.all(se < 0.5)  # and the test is sharp: each parameter known within ~50 %
    assert fitted.log_likelihood is not None
    assert fitted.log_likelihood >= log_likelihood(truth, *sample)


def test_params_round_trip_through_json(cdnow_fit: BgNbdParams) -> None:
    again = BgNbdParams.from_dict(json.loads(json.dumps(cdnow_fit.to_dict())))
    assert again == cdnow_fit
    assert BgNbdParams.from_dict({"r": 1, "alpha": 2, "a": 3, "b": 4}) == BgNbdParams(1, 2, 3, 4)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_params_must_be_positive_numbers(bad: float) -> None:
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        BgNbdParams(r=1.0, alpha=bad, a=1.0, b=1.0)


Columns = list[float]


def _sample(n: int = 40) -> tuple[Columns, Columns, Columns]:
    x = [float(i % 4) for i in range(n)]
    return x, [2.0 * v for v in x], [10.0] * n


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda x, r, t: (
                x[: MIN_CUSTOMERS - 1],
                r[: MIN_CUSTOMERS - 1],
                t[: MIN_CUSTOMERS - 1],
            ),
            "too few customers",
        ),
        (lambda x, r, t: ([0.0] * len(x), [0.0] * len(x), t), "no repeat purchases"),
        (lambda x, r, t: ([-1.0, *x[1:]], r, t), "must not be negative"),
        (lambda x, r, t: (x, r, [-1.0, *t[1:]]), "must not be negative"),
        (lambda x, r, t: (x, [20.0, *r[1:]], t), "must not exceed T"),
        (lambda x, r, t: ([1.5, *x[1:]], r, t), "whole numbers"),
        (lambda x, r, t: (x, [1.0, *r[1:]], t), "recency must be 0"),
        (lambda x, r, t: (x, r, t[:-1]), "same length"),
        (lambda x, r, t: (x, [math.nan, *r[1:]], t), "finite"),
    ],
)
def test_degenerate_samples_are_refused_naming_the_problem(
    change: Callable[[Columns, Columns, Columns], tuple[Columns, Columns, Columns]], message: str
) -> None:
    frequency, recency, age = change(*_sample())
    with pytest.raises(ValueError, match=message):
        fit(frequency, recency, age)


def test_the_valid_small_sample_fits() -> None:
    fitted = fit(*_sample())
    assert fitted.n_customers == 40
    assert fitted.log_likelihood is not None
    assert math.isfinite(fitted.log_likelihood)


def test_scoring_refuses_recency_after_age() -> None:
    with pytest.raises(ValueError, match="must not exceed T"):
        p_alive(PUBLISHED, 2, 40.0, 38.86)
    with pytest.raises(ValueError, match="horizon"):
        expected_purchases(PUBLISHED, -1, 2, 30.0, 38.86)
