"""The aggregates of a lead's score (``leadscore-<lead or opportunity id>``) and of a tenant's
fitted lead or opportunity model (``leadmodel-<kind>-<tenant>``, :class:`LeadModel`).

It is its own guard against noise: a score is recorded only when it changed materially
(:func:`crm.analytics.leads.scoring.material`), so a scorer that runs again, or a second one,
finds nothing to record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Self

from crm.analytics.churn.logistic import LogisticModel
from crm.analytics.leads.scoring import Kind, ModelKind, Reason, Score, ScoreModel, material
from crm.events import DomainEvent
from crm.events.lead_scoring import (
    LeadModelFitted,
    LeadScored,
    LeadScoreReason,
    ScoredKind,
    ScoreModelKind,
)
from crm.kernel.aggregate import Aggregate


@dataclass(frozen=True)
class LeadScoreState:
    last: Score | None = None

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, LeadScored):
            reasons = tuple(Reason(r.code, r.text, r.text_zh, r.weight) for r in event.reasons)
            model: ModelKind = "fitted" if event.model is ScoreModelKind.FITTED else "rules"
            last = Score(event.score, model, event.model_reason, event.model_version, reasons)
            return replace(self, last=last)
        return self


class LeadScore(Aggregate[LeadScoreState]):
    """A lead's or opportunity's score as analytics last recorded it."""

    category = "leadscore"

    @classmethod
    def initial_state(cls) -> LeadScoreState:
        return LeadScoreState()

    def record(self, kind: str, verdict: Score, now: datetime) -> None:
        """Record ``verdict`` if it changed materially since the last one."""
        previous = self.state.last
        if not material(previous, verdict):
            return
        self.trigger(
            LeadScored(
                kind=ScoredKind(kind),
                subject_id=self.id,
                score=verdict.score,
                previous_score=None if previous is None else previous.score,
                model=ScoreModelKind(verdict.model),
                model_version=verdict.model_version,
                model_reason=verdict.model_reason,
                reasons=tuple(
                    LeadScoreReason(code=r.code, text=r.text, text_zh=r.text_zh, weight=r.weight)
                    for r in verdict.reasons
                ),
                scored_at=now,
            )
        )


def model_id(kind: Kind, tenant: str) -> str:
    """The id of the tenant's ``kind`` model (its stream is ``leadmodel-<id>``)."""
    return f"{kind}-{tenant}"


@dataclass(frozen=True)
class LeadModelState:
    model: ScoreModel | None = None
    """The latest recorded fit."""
    fits: int = 0

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, LeadModelFitted):
            logistic = LogisticModel(
                names=tuple(event.features),
                intercept=event.intercept,
                coef=tuple(event.coefficients),
                mean=tuple(event.means),
                scale=tuple(event.scales),
            )
            kind: Kind = "lead" if event.kind is ScoredKind.LEAD else "opportunity"
            model = ScoreModel(
                kind,
                logistic,
                event.reason,
                event.n_decided,
                event.n_positive,
                event.fitted_at.date(),
            )
            return replace(self, model=model, fits=self.fits + 1)
        return self


class LeadModel(Aggregate[LeadModelState]):
    """A tenant's fitted lead or opportunity model (stream ``leadmodel-<kind>-<tenant>``)."""

    category = "leadmodel"

    @classmethod
    def initial_state(cls) -> LeadModelState:
        return LeadModelState()

    @property
    def fitted_on(self) -> date | None:
        model = self.state.model
        return None if model is None else model.fitted_on

    def record_fit(
        self, model: ScoreModel, holdout_auc: float | None, holdout_size: int, now: datetime
    ) -> None:
        """Record the fit, unless a fit was already recorded that day (or it is no fit)."""
        logistic = model.logistic
        if logistic is None or self.fitted_on == now.date():
            return
        self.trigger(
            LeadModelFitted(
                kind=ScoredKind(model.kind),
                version=model.version,
                reason=model.reason,
                features=logistic.names,
                intercept=logistic.intercept,
                coefficients=logistic.coef,
                means=logistic.mean,
                scales=logistic.scale,
                n_decided=model.n_decided,
                n_positive=model.n_positive,
                holdout_auc=holdout_auc,
                holdout_size=holdout_size,
                fitted_at=now,
            )
        )
