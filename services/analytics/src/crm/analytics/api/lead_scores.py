"""Lead scores: ``GET /analytics/leads/scores``, ``GET /analytics/opportunities/scores`` and
the model's quality, ``GET /analytics/leads/model``.

A score is 0-100, the chance in percent that the lead converts (or the opportunity is won),
with its reasons in English (``text``) and Chinese (``text_zh``), and the ``model`` that gave
it: ``fitted`` on the tenant's own decided history, or ``rules`` when that history is too short
(``model_reason`` says why). Filters: ``owner_id``, ``status`` (the funnel's), ``model``,
``min_score``/``max_score``, ``source``; ``sort`` by ``score`` or ``scored_at`` (``-`` for
descending; default ``-score``); ``format=csv`` for the same page as CSV. Access: see
:mod:`crm.analytics.application.lead_score_queries`.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from crm.analytics.api.csv import csv_response
from crm.analytics.application.lead_score_queries import (
    SCORE_COLUMNS,
    SORTS,
    LeadScoreQueries,
    ScoreFilter,
    csv_rows,
)
from crm.analytics.leads.scoring import Kind
from crm.analytics.projections.funnel_models import FunnelProjection
from crm.analytics.projections.lead_scoring_models import LeadScoringProjection
from crm.kernel.auth import Actor
from crm.kernel.http import Authenticator, ReadConsistency
from crm.kernel.http.params import Offset, checked_sort
from crm.kernel.runtime import Runtime

Score = Annotated[int | None, Query(ge=0, le=100)]


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter(prefix="/analytics", tags=["analytics lead scores"])
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    read = ReadConsistency(runtime, LeadScoringProjection(), FunnelProjection())
    Consistent = Annotated[int, Depends(read)]  # noqa: N806
    queries = LeadScoreQueries(runtime)

    async def listed(
        actor: Actor,
        kind: Kind,
        wanted: ScoreFilter,
        sort: str,
        limit: int,
        offset: int,
        format: str,
    ) -> dict[str, Any] | Response:
        found = await queries.scores(
            actor, kind, wanted, sort=checked_sort(sort, SORTS), limit=limit, offset=offset
        )
        if format == "csv":
            return csv_response(SCORE_COLUMNS, csv_rows(found["items"]), f"{kind}-scores")
        return found

    @api.get("/leads/scores", response_model=None)
    async def lead_scores(
        actor: Who,
        _: Consistent,
        owner_id: str | None = None,
        status: Literal["open", "qualified", "disqualified", "converted"] | None = None,
        model: Literal["fitted", "rules"] | None = None,
        min_score: Score = None,
        max_score: Score = None,
        source: str | None = None,
        sort: str = "-score",
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Offset = 0,
        format: Literal["json", "csv"] = "json",
    ) -> dict[str, Any] | Response:
        """The leads' scores (the latest recorded per lead), highest first by default."""
        wanted = ScoreFilter(owner_id, status, model, min_score, max_score, source)
        return await listed(actor, "lead", wanted, sort, limit, offset, format)

    @api.get("/opportunities/scores", response_model=None)
    async def opportunity_scores(
        actor: Who,
        _: Consistent,
        owner_id: str | None = None,
        status: Literal["open", "won", "lost"] | None = None,
        model: Literal["fitted", "rules"] | None = None,
        min_score: Score = None,
        max_score: Score = None,
        source: Annotated[str | None, Query(description="the opportunity's lead's")] = None,
        sort: str = "-score",
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Offset = 0,
        format: Literal["json", "csv"] = "json",
    ) -> dict[str, Any] | Response:
        """The opportunities' scores (the chance to be won), highest first by default."""
        wanted = ScoreFilter(owner_id, status, model, min_score, max_score, source)
        return await listed(actor, "opportunity", wanted, sort, limit, offset, format)

    @api.get("/leads/model", response_model=None)
    async def lead_model(actor: Who, _: Consistent) -> dict[str, Any]:
        """Per kind (``lead``, ``opportunity``): the model as fitted on the tenant's history now
        (or why the rules score instead) with its weights, and its quality on a time-based
        split: AUC, Brier score and a reliability table of the model and of the naive
        baseline (the source alone) on the newer 30 % of the decided history."""
        return await queries.model(actor)

    return api
