"""The lead scorer's one command, and the table that runs it.

Only the scorer sends it, as the system (no route does), so the row names no access rule;
the aggregate decides whether the score is news (:mod:`crm.analytics.domain.lead_score`).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.analytics.domain.lead_score import LeadModel, LeadScore
from crm.analytics.leads.scoring import Kind, Score, ScoreModel
from crm.kernel.commands import CommandTable, Expect

ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class RecordLeadScore:
    """Record the lead's or opportunity's score if it changed materially."""

    subject_id: str
    kind: Kind
    verdict: Score


@dataclass(frozen=True, slots=True)
class RecordLeadModel:
    """Record the tenant's fitted model, unless one was recorded that day."""

    model_id: str
    model: ScoreModel
    holdout_auc: float | None
    holdout_size: int


def lead_model_commands() -> CommandTable[LeadModel]:
    t = CommandTable(LeadModel, id_field="model_id")
    t.on(
        RecordLeadModel,
        Expect.ANY,
        None,
        lambda agg, cmd, ctx: agg.record_fit(cmd.model, cmd.holdout_auc, cmd.holdout_size, ctx.now),
        attempts=ATTEMPTS,
    )
    return t


def lead_score_commands() -> CommandTable[LeadScore]:
    t = CommandTable(LeadScore, id_field="subject_id")
    t.on(
        RecordLeadScore,
        Expect.ANY,
        None,
        lambda agg, cmd, ctx: agg.record(cmd.kind, cmd.verdict, ctx.now),
        attempts=ATTEMPTS,
    )
    return t
