"""The Gamma-Gamma spend model: how much a customer spends per purchase.

Fader, Hardie and Lee, "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
*Journal of Marketing Research* 42(4), 2005, and Fader and Hardie, "The Gamma-Gamma Model of
Monetary Value" (2013). The value of a customer's transactions varies around their own mean
spend; transaction values are Gamma(p, nu) with nu varying across customers as Gamma(q, gamma). A
customer is summarised by ``x``, the number of transactions averaged, and ``m``, their average
value (CDNOW: the repeat purchases and their mean value, customers with x = 0 carry no
information and are left out of the fit).

The individual likelihood of an average ``m`` over ``x`` transactions (the paper's equation 3,
written in log space):

    log L = lnGamma(px+q) - lnGamma(px) - lnGamma(q) + q·ln gamma
            + (px-1)·ln m + px·ln x - (px+q)·ln(gamma + x·m)

and the expected mean spend of a customer given (x, m) (equation 5), a weighted average of the
population mean gammap/(q-1) and the customer's own average:

    E[M | x, m] = (q-1)/(px+q-1) · gammap/(q-1) + px/(px+q-1) · m = p(gamma + x·m)/(px + q - 1)

The model assumes spend and purchase frequency are independent; :func:`spend_frequency_correlation`
measures that on the sample so a caller can say when it does not hold. Pure and vectorised
(numpy/scipy); money goes in and comes out as floats here, the callers turn it into decimals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import gammaln

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | int | npt.ArrayLike

MIN_REPEAT_CUSTOMERS = 10
"""Fewer customers with repeat purchases than this cannot identify three parameters."""


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters (p: shape of a transaction's value; q, gamma: the
    distribution of the scale across customers). ``q`` must exceed 1 for the mean to exist."""

    p: float
    q: float
    gamma: float
    log_likelihood: float | None = None
    n_customers: int = 0

    def __post_init__(self) -> None:
        for name in ("p", "q", "gamma"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(
                    f"Gamma-Gamma parameter {name} must be a positive number, got {value}"
                )

    @property
    def population_mean(self) -> float:
        """E[M] = gammap/(q-1), the mean spend per transaction over all customers (q > 1)."""
        if self.q <= 1:
            raise ValueError("the mean spend does not exist for q <= 1")
        return self.gamma * self.p / (self.q - 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "p": self.p,
            "q": self.q,
            "gamma": self.gamma,
            "log_likelihood": self.log_likelihood,
            "n_customers": self.n_customers,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GammaGammaParams:
        ll = data.get("log_likelihood")
        return cls(
            p=float(data["p"]),
            q=float(data["q"]),
            gamma=float(data["gamma"]),
            log_likelihood=None if ll is None else float(ll),
            n_customers=int(data.get("n_customers", 0)),
        )


def _log_likelihood(p: float, q: float, gamma: float, x: FloatArray, m: FloatArray) -> FloatArray:
    px = p * x
    result: FloatArray = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + x * m)
    )
    return result


def _validated(x: ArrayLike, m: ArrayLike) -> tuple[FloatArray, FloatArray]:
    xs = np.asarray(x, dtype=np.float64).ravel()
    ms = np.asarray(m, dtype=np.float64).ravel()
    if xs.shape != ms.shape:
        raise ValueError("frequency and monetary value must have the same length")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ms))):
        raise ValueError("frequency and monetary value must be finite numbers")
    if np.any(xs <= 0) or np.any(xs != np.floor(xs)):
        raise ValueError("frequency must be a whole number of transactions, at least 1")
    if np.any(ms <= 0):
        raise ValueError("monetary value (the average spend) must be positive")
    return xs, ms


def individual_log_likelihood(params: GammaGammaParams, x: ArrayLike, m: ArrayLike) -> FloatArray:
    """log L(p, q, gamma | x, m) per customer (see the module docstring)."""
    xs, ms = _validated(x, m)
    return _log_likelihood(params.p, params.q, params.gamma, xs, ms)


def fit(
    frequency: ArrayLike, monetary_value: ArrayLike, *, initial: GammaGammaParams | None = None
) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters on customers with ``frequency`` >= 1
    transactions averaging ``monetary_value`` each (pass only those: a customer without
    repeat purchases has no average).

    Minimises the mean negative log-likelihood over the logarithms of the parameters
    (Nelder-Mead from ``initial``, by default from four starts matching the sample's mean
    spend, then L-BFGS-B to polish; the best optimum wins). Raises
    ``ValueError`` naming the problem for degenerate samples and when no finite optimum is
    reached.
    """
    x, m = _validated(frequency, monetary_value)
    n = x.shape[0]
    if n < MIN_REPEAT_CUSTOMERS:
        raise ValueError(
            f"too few customers with repeat purchases to fit Gamma-Gamma: {n}, "
            f"at least {MIN_REPEAT_CUSTOMERS} are needed"
        )
    if float(np.ptp(m)) == 0.0:
        raise ValueError("every customer spends the same: Gamma-Gamma cannot be fitted")

    def objective(log_params: FloatArray) -> float:
        p, q, gamma = np.exp(log_params)
        value = -float(np.sum(_log_likelihood(p, q, gamma, x, m))) / n
        return value if math.isfinite(value) else 1e300

    if initial is not None:
        starts = [np.log([initial.p, initial.q, initial.gamma])]
    else:
        # A few starts whose population mean gamma p / (q - 1) is the sample's mean spend: the
        # likelihood has a long ridge (p and gamma growing together) a single start can slide
        # along.
        mean = float(np.mean(m))
        starts = [np.log([p0, q0, mean * (q0 - 1) / p0]) for p0 in (1.0, 5.0) for q0 in (2.0, 4.0)]
    best: Any = None
    for start in starts:
        coarse = minimize(
            objective,
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-7, "fatol": 1e-11, "maxiter": 4000, "maxfev": 8000},
        )
        polished = minimize(
            objective,
            coarse.x,
            method="L-BFGS-B",
            bounds=[(-20.0, 20.0)] * 3,
            options={"ftol": 1e-14, "gtol": 1e-10},
        )
        for found in (coarse, polished):
            if best is None or found.fun < best.fun:
                best = found
    p, q, gamma = (float(v) for v in np.exp(best.x))
    total = -float(best.fun) * n
    if not (math.isfinite(total) and all(math.isfinite(v) and v > 0 for v in (p, q, gamma))):
        raise ValueError("Gamma-Gamma fit did not converge to a finite optimum")
    return GammaGammaParams(p, q, gamma, log_likelihood=total, n_customers=n)


def expected_spend(params: GammaGammaParams, x: ArrayLike, m: ArrayLike) -> FloatArray:
    """E[M | x, m]: the customer's expected value per transaction (equation 5).

    ``x`` = 0 (no repeat purchase; ``m`` is then ignored) gives the population mean
    gammap/(q-1). Requires q > 1.
    """
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(m, dtype=np.float64)
    xs, ms = np.broadcast_arrays(xs, ms)
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ms))):
        raise ValueError("frequency and monetary value must be finite numbers")
    if np.any(xs < 0) or np.any((xs > 0) & (ms <= 0)):
        raise ValueError("frequency must not be negative; an average spend must be positive")
    p = params
    mean = p.population_mean
    safe_m = np.where(xs > 0, ms, 0.0)
    result: FloatArray = np.where(
        xs > 0, p.p * (p.gamma + xs * safe_m) / (p.p * xs + p.q - 1), mean
    )
    return result


def spend_frequency_correlation(x: ArrayLike, m: ArrayLike) -> float:
    """Pearson correlation of frequency and average spend over the sample: the model assumes
    it is near 0 (CDNOW: 0.11)."""
    xs, ms = _validated(x, m)
    if xs.shape[0] < 2 or float(np.ptp(xs)) == 0.0 or float(np.ptp(ms)) == 0.0:
        return 0.0
    return float(np.corrcoef(xs, ms)[0, 1])
