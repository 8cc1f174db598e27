"""How good the lead score is: on a time-based split of the decided history (the older
:data:`TRAIN_SHARE` to fit, the newer rest to test), the score's AUC, Brier score and a
reliability table, beside the naive baseline (a regression on the source alone) fitted on the
same rows. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from crm.analytics.leads.scoring import (
    Facts,
    Kind,
    Pipeline,
    as_of,
    decided,
    fit,
    normals_of,
    probability,
    too_little,
)

TRAIN_SHARE = 0.7
BINS = 5


def auc(y: Sequence[bool], p: Sequence[float]) -> float:
    """The area under the ROC curve: P(a random positive scores above a random negative),
    ties counting half (the Mann-Whitney statistic)."""
    pos = [q for q, v in zip(p, y, strict=True) if v]
    neg = [q for q, v in zip(p, y, strict=True) if not v]
    if not pos or not neg:
        raise ValueError("AUC needs both outcomes")
    ranked = sorted((q, i) for i, q in enumerate(p))
    ranks = [0.0] * len(p)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k][1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_sum = sum(r for r, v in zip(ranks, y, strict=True) if v)
    n_pos, n_neg = len(pos), len(neg)
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def brier(y: Sequence[bool], p: Sequence[float]) -> float:
    """The mean squared gap between the probability and the outcome (0 is perfect)."""
    return sum((q - (1.0 if v else 0.0)) ** 2 for q, v in zip(p, y, strict=True)) / len(y)


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    n: int
    predicted: float | None
    """The mean probability of the rows in the bin."""
    observed: float | None
    """The share of them that converted or were won."""


def reliability(y: Sequence[bool], p: Sequence[float], bins: int = BINS) -> list[Bin]:
    """Rows grouped by probability into ``bins`` equal-width bins: predicted against observed."""
    out: list[Bin] = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [
            (q, v)
            for q, v in zip(p, y, strict=True)
            if low <= q < high or (b == bins - 1 and q == 1)
        ]
        n = len(members)
        out.append(
            Bin(
                low,
                high,
                n,
                sum(q for q, _ in members) / n if n else None,
                sum(1 for _, v in members if v) / n if n else None,
            )
        )
    return out


@dataclass(frozen=True)
class Quality:
    auc: float
    brier: float
    reliability: list[Bin]

    def to_dict(self) -> dict[str, Any]:
        return {
            "auc": round(self.auc, 4),
            "brier": round(self.brier, 4),
            "reliability": [
                {
                    "low": b.low,
                    "high": b.high,
                    "n": b.n,
                    "predicted": None if b.predicted is None else round(b.predicted, 4),
                    "observed": None if b.observed is None else round(b.observed, 4),
                }
                for b in self.reliability
            ],
        }


def quality(y: Sequence[bool], p: Sequence[float]) -> Quality:
    return Quality(auc(y, p), brier(y, p), reliability(y, p))


@dataclass(frozen=True)
class Evaluation:
    kind: Kind
    n_train: int
    n_test: int
    split_at: str | None
    """When the first test row was decided (ISO 8601)."""
    model: Quality | None
    baseline: Quality | None
    reason: str
    """What was measured, or why nothing could be."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "split_at": self.split_at,
            "model": None if self.model is None else self.model.to_dict(),
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "baseline_is": "a logistic regression on the source alone",
            "reason": self.reason,
        }


def evaluate(
    kind: Kind,
    history: Sequence[Facts],
    pipeline: Pipeline,
    today: date,
    *,
    train_share: float = TRAIN_SHARE,
) -> Evaluation:
    """Fit on the older ``train_share`` of the decided rows of ``kind``, measure on the rest
    (the stage normals, too, come from visits finished before the split)."""
    rows = [f for f in decided(history) if f.kind == kind]
    cut = int(len(rows) * train_share)
    train, test = rows[:cut], rows[cut:]
    split = test[0].decided_at if test else None
    split_at = None if split is None else split.isoformat()
    why = too_little(train)
    y = [bool(f.outcome) for f in test]
    if why is not None or not test or all(y) or not any(y):
        reason = why or "the newer rows hold only one outcome, nothing to rank"
        return Evaluation(kind, len(train), len(test), split_at, None, None, reason)
    visits = [v for f in history for v in f.visits]
    trained = Pipeline(pipeline.probabilities, normals_of(visits, before=split))
    model = fit(kind, train, trained, today)
    baseline = fit(kind, train, trained, today, sources_only=True)
    p_model = [probability(model, f, as_of(f), trained) for f in test]
    p_base = [probability(baseline, f, as_of(f), trained) for f in test]
    reason = (
        f"fitted on the {len(train)} decided before {split_at}, "
        f"measured on the {len(test)} decided since"
    )
    return Evaluation(
        kind, len(train), len(test), split_at, quality(y, p_model), quality(y, p_base), reason
    )
