"""The BG/NBD purchase model: is a customer still active, and how much will they buy?

Fader, Hardie and Lee, "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", *Marketing Science* 24(2), 2005. While active, a customer buys as a Poisson
process with rate λ; rates vary across customers as Gamma(r, alpha). After each purchase the
customer drops out for good with probability p; p varies as Beta(a, b). A customer is summarised
by three numbers over their observation window, which starts at their first purchase:

- ``x``   repeat purchases (purchases after the first one),
- ``t_x`` the time of the last purchase (0 when ``x == 0``),
- ``T``   the time from the first purchase to now.

**Time unit.** The model has none of its own: ``t_x``, ``T``, the horizon ``t`` and therefore
alpha (a time scale) are all in the unit the caller chose when fitting. Parameters fitted on weeks
must be used with weeks. The CRM fits in weeks (``unit_days = 7``; see
``crm.analytics.churn.assessment``); the CDNOW reference is in weeks too.

Everything here is pure and vectorised with numpy: the functions accept scalars or arrays and
broadcast. The parameters are fitted by maximum likelihood on the closed-form individual
likelihood (paper, equation 6), computed in log space so that customers with hundreds of
purchases or long histories neither overflow nor underflow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | int | npt.ArrayLike

MIN_CUSTOMERS = 20
"""Fewer customers than this cannot identify four parameters: ``fit`` refuses them."""


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters: Gamma(r, alpha) purchase rates, Beta(a, b) dropout probabilities.

    ``log_likelihood`` (total over the fitted customers) and ``n_customers`` describe the fit;
    they are ``None``/0 for parameters given by hand. ``to_dict``/``from_dict`` round-trip
    through JSON (the CRM stores a tenant's model as an event on its ``churnmodel`` stream).
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float | None = None
    n_customers: int = 0

    def __post_init__(self) -> None:
        for name in ("r", "alpha", "a", "b"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"BG/NBD parameter {name} must be a positive number, got {value}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "r": self.r,
            "alpha": self.alpha,
            "a": self.a,
            "b": self.b,
            "log_likelihood": self.log_likelihood,
            "n_customers": self.n_customers,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BgNbdParams:
        ll = data.get("log_likelihood")
        return cls(
            r=float(data["r"]),
            alpha=float(data["alpha"]),
            a=float(data["a"]),
            b=float(data["b"]),
            log_likelihood=None if ll is None else float(ll),
            n_customers=int(data.get("n_customers", 0)),
        )


def _arrays(*values: ArrayLike) -> tuple[FloatArray, ...]:
    return tuple(np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values)))


def _check_scoring_input(x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> None:
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(big_t))):
        raise ValueError("frequency, recency and T must be finite numbers")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(big_t < 0):
        raise ValueError("frequency, recency and T must not be negative")
    if np.any(t_x > big_t):
        raise ValueError(
            "recency (time of the last purchase) must not exceed T (the customer's age)"
        )


def individual_log_likelihood(
    params: BgNbdParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803 (the paper's name)
) -> FloatArray:
    """log L(r, alpha, a, b | x, t_x, T) per customer (paper, equation 6), numerically stable.

    L = B(a, b+x)/B(a, b) · Γ(r+x) alpha^r / (Γ(r) (alpha+T)^(r+x))
        + 1{x>0} · B(a+1, b+x-1)/B(a, b) · Γ(r+x) alpha^r / (Γ(r) (alpha+t_x)^(r+x))

    evaluated as a common factor plus a log-sum-exp of the two terms; the second term is
    -inf (absent) for customers without repeat purchases.
    """
    xs, txs, ts = _arrays(x, t_x, T)
    return _log_likelihood(params.r, params.alpha, params.a, params.b, xs, txs, ts)


def _log_likelihood(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, big_t: FloatArray
) -> FloatArray:
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive_term = betaln(a, b + x) - (r + x) * np.log(alpha + big_t)
    repeat = x > 0
    # B(a+1, b+x-1) only exists for x > 0; use a harmless argument elsewhere and mask.
    safe_bx = np.where(repeat, b + x - 1, 1.0)
    dropped_term = np.where(repeat, betaln(a + 1, safe_bx) - (r + x) * np.log(alpha + t_x), -np.inf)
    result: FloatArray = common + np.logaddexp(alive_term, dropped_term)
    return result


def log_likelihood(
    params: BgNbdParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 (the paper's name)
    *,
    weights: ArrayLike | None = None,
) -> float:
    """The total log-likelihood of a sample (``weights`` count identical customers)."""
    ll = individual_log_likelihood(params, frequency, recency, T)
    w = np.ones_like(ll) if weights is None else np.asarray(weights, dtype=np.float64)
    return float(np.sum(w * ll))


def _validated_sample(
    frequency: ArrayLike, recency: ArrayLike, age: ArrayLike, weights: ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    x = np.asarray(frequency, dtype=np.float64).ravel()
    t_x = np.asarray(recency, dtype=np.float64).ravel()
    big_t = np.asarray(age, dtype=np.float64).ravel()
    if not (x.shape == t_x.shape == big_t.shape):
        raise ValueError("frequency, recency and T must have the same length")
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != x.shape:
        raise ValueError("weights must have the same length as frequency")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and not negative")
    _check_scoring_input(x, t_x, big_t)
    if np.any(x != np.floor(x)):
        raise ValueError("frequency (repeat purchases) must be whole numbers")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("recency must be 0 for customers without repeat purchases")
    n = float(np.sum(w))
    if n < MIN_CUSTOMERS:
        raise ValueError(
            f"too few customers to fit BG/NBD: {n:g}, at least {MIN_CUSTOMERS} are needed"
        )
    if not np.any((x > 0) & (w > 0)):
        raise ValueError("no repeat purchases at all: BG/NBD cannot be fitted on this sample")
    if not np.any((big_t > 0) & (w > 0)):
        raise ValueError("every customer has T = 0: there is no observation time to fit on")
    return x, t_x, big_t, w


def _compress(
    x: FloatArray, t_x: FloatArray, big_t: FloatArray, w: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Merge identical (x, t_x, T) rows, summing their weights: same likelihood, fewer rows."""
    rows = np.stack([x, t_x, big_t], axis=1)
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=w, minlength=unique.shape[0])
    return unique[:, 0], unique[:, 1], unique[:, 2], counts.astype(np.float64)


def fit(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 (the paper's name)
    *,
    weights: ArrayLike | None = None,
    initial: BgNbdParams | None = None,
) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters for a sample of customers.

    ``frequency`` = repeat purchases x, ``recency`` = t_x, ``T`` = age, all in one time unit;
    ``weights`` (optional) = how many customers share each row. Identical rows are merged
    before optimising. The negative total log-likelihood is minimised over the logarithms of
    the parameters (which keeps them positive without bounds): Nelder-Mead from ``initial``
    (default r = alpha = a = b = 1) to find the basin, then L-BFGS-B to polish.

    Raises ``ValueError`` naming the problem for degenerate samples (too few customers, no
    repeat purchases, negative values, recency after T, fractional frequencies) and when the
    optimiser does not reach a finite optimum.
    """
    x, t_x, big_t, w = _compress(*_validated_sample(frequency, recency, T, weights))
    n = float(np.sum(w))

    def objective(log_params: FloatArray) -> float:
        r, alpha, a, b = np.exp(log_params)
        # The optimiser tries extreme points where the terms overflow: those count as +inf.
        with np.errstate(over="ignore", invalid="ignore"):
            value = -float(np.sum(w * _log_likelihood(r, alpha, a, b, x, t_x, big_t))) / n
        return value if math.isfinite(value) else 1e300

    start = (
        np.zeros(4) if initial is None else np.log([initial.r, initial.alpha, initial.a, initial.b])
    )
    coarse = minimize(
        objective,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000, "maxfev": 8000},
    )
    polished = minimize(
        objective,
        coarse.x,
        method="L-BFGS-B",
        bounds=[(-20.0, 20.0)] * 4,
        options={"ftol": 1e-13, "gtol": 1e-9},
    )
    best = polished if polished.fun <= coarse.fun else coarse
    r, alpha, a, b = (float(v) for v in np.exp(best.x))
    total = -float(best.fun) * n
    if not (math.isfinite(total) and all(math.isfinite(v) and v > 0 for v in (r, alpha, a, b))):
        raise ValueError("BG/NBD fit did not converge to a finite optimum")
    return BgNbdParams(r, alpha, a, b, log_likelihood=total, n_customers=round(n))


def p_alive(
    params: BgNbdParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803 (the paper's name)
) -> FloatArray:
    """P(the customer is still active at T | x, t_x, T) (paper, equation 11).

    1 / (1 + 1{x>0} · a/(b+x-1) · ((alpha+T)/(alpha+t_x))^(r+x)). A customer without repeat
    purchases is alive with probability 1: in BG/NBD dropout only happens right after a purchase.
    Returns a float array broadcast over the inputs (a 0-d array for scalars: ``float()`` it).
    """
    xs, txs, ts = _arrays(x, t_x, T)
    _check_scoring_input(xs, txs, ts)
    p = params
    repeat = xs > 0
    safe_bx = np.where(repeat, p.b + xs - 1, 1.0)
    log_odds = (
        np.log(p.a) - np.log(safe_bx) + (p.r + xs) * (np.log(p.alpha + ts) - np.log(p.alpha + txs))
    )
    # 1/(1+e^z) computed as e^{-logaddexp(0, z)} so huge odds give 0, not a warning.
    result: FloatArray = np.where(repeat, np.exp(-np.logaddexp(0.0, log_odds)), 1.0)
    return result


def expected_purchases(
    params: BgNbdParams,
    t: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803 (the paper's name)
) -> FloatArray:
    """E[purchases in (T, T+t] | x, t_x, T] (paper, equation 10).

    (a+b+x-1)/(a-1) · [1 - ((alpha+T)/(alpha+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
    divided by 1 + 1{x>0} · a/(b+x-1) · ((alpha+T)/(alpha+t_x))^(r+x).
    """
    ts_h, xs, txs, ts = _arrays(t, x, t_x, T)
    _check_scoring_input(xs, txs, ts)
    if np.any(ts_h < 0):
        raise ValueError("the horizon t must not be negative")
    p = params
    z = ts_h / (p.alpha + ts + ts_h)
    hyp = hyp2f1(p.r + xs, p.b + xs, p.a + p.b + xs - 1, z)
    ratio = np.exp((p.r + xs) * (np.log(p.alpha + ts) - np.log(p.alpha + ts + ts_h)))
    numerator = (p.a + p.b + xs - 1) / (p.a - 1) * (1 - ratio * hyp)
    result: FloatArray = numerator * p_alive(params, xs, txs, ts)
    return result


def expected_purchases_unconditional(params: BgNbdParams, t: ArrayLike) -> FloatArray:
    """E[X(t)]: purchases a newly acquired customer makes in (0, t] (paper, equation 9).

    (a+b-1)/(a-1) · [1 - (alpha/(alpha+t))^r · ₂F₁(r, b; a+b-1; t/(alpha+t))].
    """
    ts = np.asarray(t, dtype=np.float64)
    if np.any(ts < 0) or not np.all(np.isfinite(ts)):
        raise ValueError("the horizon t must be a finite number, not negative")
    p = params
    hyp = hyp2f1(p.r, p.b, p.a + p.b - 1, ts / (p.alpha + ts))
    ratio = np.exp(p.r * (np.log(p.alpha) - np.log(p.alpha + ts)))
    result: FloatArray = (p.a + p.b - 1) / (p.a - 1) * (1 - ratio * hyp)
    return result


def p_no_purchase(
    params: BgNbdParams,
    t: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803 (the paper's name)
) -> FloatArray:
    """P(no purchase in (T, T+t] | x, t_x, T): the customer has dropped out, or is alive and
    the Poisson process gives nothing in t.

    = 1 - P(alive) + P(alive) · ((alpha+T)/(alpha+T+t))^(r+x)

    since an active customer drops out only right after a purchase, and their rate's posterior
    is Gamma(r+x, alpha+T), whose Poisson zero probability over t is that ratio. Unlike
    P(alive) it is not 1 for a one-time buyer: a long silence lowers the posterior rate, so
    a one-time buyer gone quiet for a year is likely to stay quiet.
    """
    ts_h, xs, txs, ts = _arrays(t, x, t_x, T)
    _check_scoring_input(xs, txs, ts)
    if np.any(ts_h < 0):
        raise ValueError("the horizon t must not be negative")
    p = params
    alive = p_alive(params, xs, txs, ts)
    quiet = np.exp((p.r + xs) * (np.log(p.alpha + ts) - np.log(p.alpha + ts + ts_h)))
    result: FloatArray = 1.0 - alive + alive * quiet
    return result
