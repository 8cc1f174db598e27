"""The aggregate of a lead's score (``leadscore-<lead or opportunity id>``).

It is its own guard against noise: a score is recorded only when it changed materially
(:func:`crm.analytics.leads.scoring.material`), so a scorer that runs again, or a second one,
finds nothing to record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Self

from crm.analytics.leads.scoring import ModelKind, Reason, Score, material
from crm.events import DomainEvent
from crm.events.lead_scoring import LeadScored, LeadScoreReason, ScoredKind, ScoreModelKind
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
