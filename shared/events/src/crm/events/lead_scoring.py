"""Events of the lead score (analytics context, topic ``crm.analytics.events``).

Stream ``leadscore-<lead or opportunity id>``: the history of one lead's or open opportunity's
score, recorded only when it changed materially (by 5 points or more, another set of reasons,
or another kind of model), so read models rebuild from it and other services can follow it.
Reasons are plain words about the lead's facts (source, touches, stage), never personal data.

Stream ``leadmodel-<kind>-<tenant>``: each fit of the tenant's lead or opportunity model, at
most one a day, with its coefficients (the scores name it by ``version``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from crm.events.base import DomainEvent
from crm.events.registry import event

Score = Annotated[int, Field(ge=0, le=100)]


class ScoredKind(StrEnum):
    LEAD = "lead"
    OPPORTUNITY = "opportunity"


class ScoreModelKind(StrEnum):
    FITTED = "fitted"
    """A regression fitted on the tenant's own decided leads or opportunities."""
    RULES = "rules"
    """Documented rules: the tenant's history is too short to fit."""


class LeadScoreReason(BaseModel):
    """One reason: a stable ``code``, its plain words in English (``text``) and Chinese
    (``text_zh``), and its ``weight`` (log-odds added by a fitted model, points by the rules;
    negative: it lowers the score)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    text: str
    text_zh: str
    weight: float


@event("analytics.lead.scored")
class LeadScored(DomainEvent):
    """A lead's chance to convert, or an open opportunity's to be won, as scored at
    ``scored_at``: ``score`` 0-100, by a ``model`` (``model_version`` names which fit) chosen
    for ``model_reason``."""

    kind: ScoredKind
    subject_id: str
    score: Score
    previous_score: Score | None = None
    model: ScoreModelKind
    model_version: str
    model_reason: str
    reasons: tuple[LeadScoreReason, ...] = ()
    scored_at: datetime


@event("analytics.lead_model.fitted")
class LeadModelFitted(DomainEvent):
    """A tenant's lead (or opportunity) model as fitted at ``fitted_at``, on stream
    ``leadmodel-<kind>-<tenant>``: a ridge logistic regression on standardised features, given
    in full (``features`` with their ``coefficients``, ``means`` and ``scales``, and the
    ``intercept``), so that a scorer, restarted or rebuilt, scores with this fit exactly;
    ``version`` is what each score's ``model_version`` names. ``n_decided`` rows (``n_positive``
    won or converted) were fitted; ``holdout_auc``: its ROC AUC on the newer share of the
    decided rows when fitted on the older (``holdout_size`` rows; None: too few to measure)."""

    kind: ScoredKind
    version: str
    reason: str
    features: tuple[str, ...]
    intercept: float
    coefficients: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    n_decided: int = Field(ge=1)
    n_positive: int = Field(ge=0)
    holdout_auc: float | None = Field(default=None, ge=0, le=1)
    holdout_size: int = Field(default=0, ge=0)
    fitted_at: datetime


LEAD_SCORING_EVENTS: tuple[type[DomainEvent], ...] = (LeadScored, LeadModelFitted)
