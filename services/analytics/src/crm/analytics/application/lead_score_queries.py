"""The lead scores as lists, and the model's quality, for ``/analytics/*/scores`` and
``/analytics/leads/model``.

Who sees what: analysts, managers and admins every score of their tenant; a sales rep the
scores of the leads and opportunities they own (the funnel's owner, joined at query time, so
a reassignment shows at once); agents none (403). The model report is the analysts' (the
reports' rule: analysts, managers, admins).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from crm.analytics.application.policy import POLICY, AnalyticsAction, report_reader
from crm.analytics.leads.evaluation import evaluate
from crm.analytics.leads.history import tenant_history
from crm.analytics.leads.scoring import KINDS as _KINDS
from crm.analytics.leads.scoring import Kind, fit
from crm.analytics.projections.funnel_models import LEADS as FUNNEL_LEADS
from crm.analytics.projections.funnel_models import OPPORTUNITIES as FUNNEL_OPPORTUNITIES
from crm.analytics.projections.lead_scoring_models import SCORES
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden
from crm.kernel.read_store import Query, find_all
from crm.kernel.runtime import Runtime

PAGE = 500
SORTS = ("score", "-score", "scored_at", "-scored_at")
SCORE_COLUMNS = (
    "id",
    "kind",
    "status",
    "owner_id",
    "score",
    "previous_score",
    "model",
    "model_version",
    "reasons",
    "reasons_zh",
    "scored_at",
)


@dataclass(frozen=True)
class ScoreFilter:
    owner_id: str | None = None
    status: str | None = None
    model: str | None = None
    min_score: int | None = None
    max_score: int | None = None
    source: str | None = None


class LeadScoreQueries:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.read_store = runtime.read_store

    def _owner(self, actor: Actor, owner_id: str | None) -> str | None:
        POLICY.authorize(actor, AnalyticsAction.FUNNEL, what="tenant", whole_action=True)
        if actor.role is Role.SALES_REP:
            if owner_id not in (None, actor.id):
                raise Forbidden("a sales rep sees the scores of their own leads only")
            return actor.id
        return owner_id

    async def scores(
        self, actor: Actor, kind: Kind, wanted: ScoreFilter, *, sort: str, limit: int, offset: int
    ) -> dict[str, Any]:
        """One page of the scores of ``kind`` the actor may see, filtered and sorted."""
        owner = self._owner(actor, wanted.owner_id)
        tenant = {"tenant": actor.tenant}
        funnel = FUNNEL_LEADS if kind == "lead" else FUNNEL_OPPORTUNITIES
        subjects = {
            d["id"]: d for d in await find_all(self.read_store, funnel, tenant, page_size=PAGE)
        }
        leads: dict[str, Any] = {}
        if kind == "opportunity" and wanted.source is not None:
            found = await find_all(self.read_store, FUNNEL_LEADS, tenant, page_size=PAGE)
            leads = {d["id"]: d for d in found}
        rows: list[dict[str, Any]] = []
        flt = {"tenant": actor.tenant, "kind": kind}
        for doc in await find_all(self.read_store, SCORES, flt, page_size=PAGE):
            subject = subjects.get(doc["id"], {})
            if owner is not None and subject.get("owner_id") != owner:
                continue
            if wanted.status is not None and subject.get("status") != wanted.status:
                continue
            if wanted.model is not None and doc["model"] != wanted.model:
                continue
            if wanted.min_score is not None and doc["score"] < wanted.min_score:
                continue
            if wanted.max_score is not None and doc["score"] > wanted.max_score:
                continue
            if wanted.source is not None:
                lead = subject if kind == "lead" else leads.get(subject.get("lead_id") or "", {})
                if lead.get("source") != wanted.source:
                    continue
            rows.append(
                {
                    "id": doc["id"],
                    "kind": kind,
                    "status": subject.get("status"),
                    "owner_id": subject.get("owner_id"),
                    "score": doc["score"],
                    "previous_score": doc["previous_score"],
                    "model": doc["model"],
                    "model_version": doc["model_version"],
                    "model_reason": doc["model_reason"],
                    "reasons": doc["reasons"],
                    "scored_at": doc["scored_at"],
                }
            )
        field, descending = sort.lstrip("-"), sort.startswith("-")
        rows.sort(key=lambda r: r["id"])
        rows.sort(key=lambda r: r[field], reverse=descending)
        return {"items": rows[offset : offset + limit], "total": len(rows), "offset": offset}

    async def of(self, tenant: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The latest score of each of ``ids`` (leads or opportunities the caller already
        showed the actor: the console's lists, which apply their own access rule)."""
        if not ids:
            return {}
        found = await self.read_store.find(
            SCORES, Query(filter={"tenant": tenant, "id": {"$in": ids}}, limit=len(ids))
        )
        return {d["id"]: dict(d) for d in found.items}

    async def fits(self, tenant: str, kind: str) -> list[dict[str, Any]]:
        """The recorded fits of the tenant's ``kind`` model (``analytics.lead_model.fitted`` on
        its own stream, one a day at most), newest first."""
        events = await self.runtime.store.read_stream(f"leadmodel-{kind}-{tenant}")
        keep = ("version", "fitted_at", "n_decided", "n_positive", "holdout_auc", "holdout_size")
        rows = [{k: p[k] for k in keep} for p in (e.payload for e in events)]
        return rows[::-1]

    async def model(self, actor: Actor) -> dict[str, Any]:
        """The tenant's lead and opportunity models as fitted now, and how good each is on a
        time-based split against the source-only baseline; ``history``: the scorer's recorded
        fits, newest first."""
        report_reader(actor)
        history = await tenant_history(self.read_store, actor.tenant)
        today = self.runtime.clock.now().date()
        fits = {kind: await self.fits(actor.tenant, kind) for kind in _KINDS}

        def work() -> dict[str, Any]:
            out: dict[str, Any] = {}
            for kind in _KINDS:
                model = fit(kind, history.facts, history.pipeline, today)
                quality = evaluate(kind, history.facts, history.pipeline, today)
                out[kind] = {
                    "model": model.to_dict(),
                    "evaluation": quality.to_dict(),
                    "history": fits[kind],
                }
            return out

        return await asyncio.to_thread(work)


def csv_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The score rows with their reasons as one text per language (``;``-joined)."""
    return [
        {
            **r,
            "reasons": [x["text"] for x in r["reasons"]],
            "reasons_zh": [x["text_zh"] for x in r["reasons"]],
        }
        for r in items
    ]
