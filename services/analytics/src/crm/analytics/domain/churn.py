"""The aggregates of what analytics records: a tenant's fitted purchase model
(``churnmodel-<tenant>``) and a customer's churn risk (``churnrisk-<customer id>``).

Each is its own guard against recording a fact twice: a model is fitted once a day, and a
risk records an assessment only when it says something new (the level, the set of reason
codes, or the score band of :data:`SCORE_BAND` points changed), so a monitor that runs again,
or a second one, finds nothing to record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Self

from crm.analytics.churn.assessment import Assessment
from crm.analytics.churn.bgnbd import BgNbdParams
from crm.events import DomainEvent
from crm.events.analytics import (
    ChurnLevel,
    ChurnModelFitted,
    ChurnReason,
    ChurnRiskAssessed,
    ChurnRiskLevelChanged,
)
from crm.kernel.aggregate import Aggregate

UNIT_DAYS = 7.0
"""The model's time unit: weeks, as in the published BG/NBD results (and CDNOW)."""
SCORE_BAND = 10
"""A score that moved into another band of this many points is worth recording."""


@dataclass(frozen=True)
class RiskState:
    level: str | None = None
    reason_codes: frozenset[str] = frozenset()
    score: int = 0

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, ChurnRiskAssessed):
            codes = frozenset(r.code for r in event.reasons)
            return replace(self, level=event.level.value, reason_codes=codes, score=event.score)
        return self


class CustomerRisk(Aggregate[RiskState]):
    """A customer's churn risk as analytics last recorded it (stream ``churnrisk-<id>``)."""

    category = "churnrisk"

    @classmethod
    def initial_state(cls) -> RiskState:
        return RiskState()

    def record(self, verdict: Assessment, now: datetime, source_position: int) -> None:
        """Record ``verdict`` if it says something new (see the module docstring), and the
        change of level with it if the level moved (a first assessment moves from "low")."""
        state = self.state
        codes = frozenset(r.code for r in verdict.reasons)
        if (
            state.level == verdict.level
            and state.reason_codes == codes
            and state.score // SCORE_BAND == verdict.score // SCORE_BAND
        ):
            return
        level = ChurnLevel(verdict.level)
        previous = ChurnLevel(state.level) if state.level else None
        self.trigger(
            ChurnRiskAssessed(
                customer_id=self.id,
                score=verdict.score,
                level=level,
                previous_level=previous,
                p_alive=verdict.p_alive,
                reasons=tuple(
                    ChurnReason(code=r.code, text=r.text, weight=round(r.weight, 4))
                    for r in verdict.reasons
                ),
                assessed_at=now,
                source_position=source_position,
            )
        )
        if level is not (previous or ChurnLevel.LOW):
            self.trigger(
                ChurnRiskLevelChanged(
                    customer_id=self.id,
                    level=level,
                    previous_level=previous,
                    score=verdict.score,
                    reason_codes=tuple(r.code for r in verdict.reasons),
                    changed_at=now,
                )
            )


@dataclass(frozen=True)
class ModelState:
    params: BgNbdParams | None = None
    fitted_on: date | None = None

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, ChurnModelFitted):
            params = BgNbdParams(
                event.r,
                event.alpha,
                event.a,
                event.b,
                log_likelihood=event.log_likelihood,
                n_customers=event.n_customers,
            )
            return replace(self, params=params, fitted_on=event.fitted_at.date())
        return self


class ChurnModel(Aggregate[ModelState]):
    """A tenant's fitted purchase model (stream ``churnmodel-<tenant>``)."""

    category = "churnmodel"

    @classmethod
    def initial_state(cls) -> ModelState:
        return ModelState()

    def record_fit(self, params: BgNbdParams, now: datetime) -> None:
        """Record the fit, unless the model was already fitted that day."""
        if self.state.fitted_on == now.date():
            return
        self.trigger(
            ChurnModelFitted(
                r=params.r,
                alpha=params.alpha,
                a=params.a,
                b=params.b,
                n_customers=params.n_customers,
                log_likelihood=params.log_likelihood or 0.0,
                unit_days=UNIT_DAYS,
                fitted_at=now,
            )
        )
