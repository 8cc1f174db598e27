"""Events of the analytics context: fitted churn models and churn assessments.
Topic ``crm.analytics.events``.

Streams: ``churnmodel-<tenant>`` (the tenant's purchase model, refitted daily),
``churnrisk-<customer id>`` (one per customer: the assessments of their churn risk) and
``valuetier-<customer id>`` (one per customer: the changes of their value tier).

An assessment is recorded only when its level or its set of reasons changes, so the stream
reads as the history of the customer's risk, not as a log of every daily check. A change of
level is recorded once more as its own event, :class:`ChurnRiskLevelChanged`, the one other
services react to (e.g. to open a retention task): a consumer need not compare levels itself,
and one that only cares about moves between levels does not wake for a changed reason.

Reasons are plain words about behaviour ("no order for 120 days, usually orders every 30"),
never personal data, so these events carry no personal field.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from crm.events.base import DomainEvent
from crm.events.registry import event

Score = Annotated[int, Field(ge=0, le=100)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class ChurnLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ChurnReason(BaseModel):
    """One reason in an assessment: a stable ``code`` to group by, the ``text`` a person
    reads, and its ``weight`` (the points it added to the score)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    text: str
    weight: float


@event("analytics.churn_model.fitted")
class ChurnModelFitted(DomainEvent):
    """A tenant's BG/NBD purchase model, fitted by maximum likelihood on every customer's
    order history (distinct purchase days), in a time unit of ``unit_days`` days."""

    r: float = Field(gt=0)
    alpha: float = Field(gt=0)
    a: float = Field(gt=0)
    b: float = Field(gt=0)
    n_customers: int = Field(ge=1)
    log_likelihood: float
    unit_days: float = Field(default=7.0, gt=0)
    fitted_at: datetime


@event("analytics.churn_risk.assessed")
class ChurnRiskAssessed(DomainEvent):
    """The customer's churn risk as assessed at ``assessed_at``. ``p_alive`` is the purchase
    model's probability that the customer is still active (None: no model or no order)."""

    customer_id: str
    score: Score
    level: ChurnLevel
    previous_level: ChurnLevel | None = None
    p_alive: Probability | None = None
    reasons: tuple[ChurnReason, ...] = ()
    assessed_at: datetime
    source_position: int = Field(default=0, ge=0)
    """The last position of the customer's other events the assessment saw: the monitor
    re-assesses a customer whose view has moved past it."""


@event("analytics.churn_risk.level_changed")
class ChurnRiskLevelChanged(DomainEvent):
    """The customer's level moved (recorded right after the assessment that moved it)."""

    customer_id: str
    level: ChurnLevel
    previous_level: ChurnLevel | None = None
    """None: the customer's first assessment."""
    score: Score
    reason_codes: tuple[str, ...] = ()
    changed_at: datetime


class ValueTier(StrEnum):
    """A customer's rank by expected lifetime value among the tenant's valued customers."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@event("analytics.value_tier.changed")
class ValueTierChanged(DomainEvent):
    """The customer's value tier (``GET /analytics/value``) moved, as the value monitor
    found it on its daily round (stream ``valuetier-<customer id>``; a first valuation moves
    from None). Published so other contexts (customer care: valuable customers not contacted
    for a while) know a customer's tier without computing it."""

    customer_id: str
    tier: ValueTier
    previous_tier: ValueTier | None = None
    changed_at: datetime


ANALYTICS_EVENTS: tuple[type[DomainEvent], ...] = (
    ChurnModelFitted,
    ChurnRiskAssessed,
    ChurnRiskLevelChanged,
    ValueTierChanged,
)
