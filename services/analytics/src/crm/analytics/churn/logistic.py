"""A regularised (L2, ridge) logistic regression, fitted by maximum penalised likelihood.

The calibrated churn model (:mod:`crm.analytics.churn.calibrated`) and the lead score fit it on
a tenant's own history. Why this and not a library: scikit-learn is not a dependency, the
model is tiny (a dozen features, thousands of rows), and its coefficients must be readable to
give reasons, so it is written out here on numpy and scipy.

Features are standardised first (mean 0, standard deviation 1 over the training rows; a
constant column gets scale 1), so one penalty ``l2`` treats them alike and the coefficients
compare; the intercept is not penalised. The objective, minimised with L-BFGS on its exact
gradient:

    sum_i w_i · [log(1 + e^{z_i}) - y_i · z_i] + l2/2 · |beta|^2,   z_i = b0 + beta · x_i

A feature's *contribution* to one prediction is ``beta_j · (x_j - mean_j) / scale_j``: the
log-odds it adds against an average customer of the training set (the sum of the
contributions plus ``logit(mean prediction)``-ish intercept is the prediction's log-odds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LogisticModel:
    """Named coefficients on standardised features, and the standardisation itself."""

    names: tuple[str, ...]
    intercept: float
    coef: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def _z(self, x: FloatArray) -> FloatArray:
        m = np.asarray(self.mean)
        s = np.asarray(self.scale)
        result: FloatArray = (np.atleast_2d(np.asarray(x, dtype=np.float64)) - m) / s
        return result

    def log_odds(self, x: npt.ArrayLike) -> FloatArray:
        z = self._z(np.asarray(x, dtype=np.float64))
        result: FloatArray = self.intercept + z @ np.asarray(self.coef)
        return result

    def predict(self, x: npt.ArrayLike) -> FloatArray:
        """P(y = 1) per row of ``x`` (one row: a 1-element array)."""
        result: FloatArray = expit(self.log_odds(x))
        return result

    def contributions(self, x: Sequence[float]) -> dict[str, float]:
        """Per feature, the log-odds it adds for this row against the training average."""
        z = self._z(np.asarray(x, dtype=np.float64))[0]
        return {n: float(c * v) for n, c, v in zip(self.names, self.coef, z, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "intercept": self.intercept,
            "coef": list(self.coef),
            "mean": list(self.mean),
            "scale": list(self.scale),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogisticModel:
        return cls(
            names=tuple(str(n) for n in data["names"]),
            intercept=float(data["intercept"]),
            coef=tuple(float(v) for v in data["coef"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
        )


def fit_logistic(
    names: Sequence[str],
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    l2: float = 1.0,
    weights: npt.ArrayLike | None = None,
) -> LogisticModel:
    """The L2-penalised maximum-likelihood fit (see the module docstring).

    Raises ``ValueError`` for mismatched shapes, non-finite values, labels other than 0/1, a
    negative penalty, or a sample with only one class (nothing to learn from).
    """
    xs = np.atleast_2d(np.asarray(x, dtype=np.float64))
    ys = np.asarray(y, dtype=np.float64).ravel()
    if xs.shape[0] != ys.shape[0] or xs.shape[1] != len(names):
        raise ValueError(f"x must be {ys.shape[0]} rows of {len(names)} features, got {xs.shape}")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("features and labels must be finite numbers")
    if not np.all((ys == 0) | (ys == 1)):
        raise ValueError("labels must be 0 or 1")
    if l2 < 0 or not math.isfinite(l2):
        raise ValueError("the penalty l2 must be a finite number, not negative")
    w = np.ones_like(ys) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    positives = float(np.sum(w * ys))
    if positives <= 0 or positives >= float(np.sum(w)):
        raise ValueError("both outcomes must occur in the sample to fit a logistic regression")
    mean = xs.mean(axis=0)
    scale = xs.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    z = (xs - mean) / scale
    k = z.shape[1]

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        eta = theta[0] + z @ theta[1:]
        p = expit(eta)
        loss = float(np.sum(w * (np.logaddexp(0.0, eta) - ys * eta)))
        loss += 0.5 * l2 * float(theta[1:] @ theta[1:])
        residual = w * (p - ys)
        grad = np.empty(k + 1)
        grad[0] = residual.sum()
        grad[1:] = z.T @ residual + l2 * theta[1:]
        return loss, grad

    base = positives / float(np.sum(w))
    start = np.zeros(k + 1)
    start[0] = math.log(base / (1 - base))
    result = minimize(objective, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-8})
    theta = result.x
    if not np.all(np.isfinite(theta)):
        raise ValueError("the logistic regression did not converge to finite coefficients")
    return LogisticModel(
        names=tuple(names),
        intercept=float(theta[0]),
        coef=tuple(float(v) for v in theta[1:]),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
    )
