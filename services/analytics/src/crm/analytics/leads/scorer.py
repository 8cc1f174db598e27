"""The lead scorer: keeps every open lead's and open opportunity's score current, as the
system.

A tick, per tenant (:meth:`LeadScorer.tick`):

1. **Models.** Once a day, fit the tenant's lead model (converted or disqualified leads) and
   opportunity model (won or lost opportunities) on its read models
   (:func:`crm.analytics.leads.scoring.fit`); too little history keeps the documented rules,
   and the score says so. A fit is recorded as ``analytics.lead_model.fitted`` on
   ``leadmodel-<kind>-<tenant>`` (its coefficients and standardisation, features, sample size,
   and its AUC on the newer 30 % of the decided rows when fitted on the older 70 %,
   :func:`crm.analytics.leads.evaluation.evaluate`), at most once a day: a scorer that starts
   again that day, or a second one, scores with the recorded fit, not a refit of read models
   that may have moved; each score names the fit (``model_version``).
2. **Scores.** Score every open lead and opportunity as of now; a relevant event (a lead
   captured or qualified, an interaction, a completed task, a stage move, a quote sent) moves
   the facts, so the next tick's score moves with it.
3. **Record.** Only where the score changed materially against the one in ``lead_scores``
   (:func:`crm.analytics.leads.scoring.material`) a
   :class:`~crm.analytics.application.lead_score_commands.RecordLeadScore` goes on the
   command bus, whose aggregate checks again (another scorer may have recorded it).

**When.** Every ``interval`` seconds (:func:`crm.kernel.scheduling.tick_forever`), like the
other schedulers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from crm.analytics.application.lead_score_commands import RecordLeadModel, RecordLeadScore
from crm.analytics.domain.lead_score import LeadModel, model_id
from crm.analytics.leads.evaluation import evaluate
from crm.analytics.leads.history import TenantHistory, tenant_history
from crm.analytics.leads.scoring import (
    KINDS,
    Facts,
    Kind,
    ModelKind,
    Reason,
    Score,
    ScoreModel,
    fit,
    material,
    score,
)
from crm.analytics.projections.funnel_models import LEADS as FUNNEL_LEADS
from crm.analytics.projections.funnel_models import OPPORTUNITIES as FUNNEL_OPPORTUNITIES
from crm.analytics.projections.lead_scoring_models import SCORES
from crm.kernel.clock import Clock
from crm.kernel.errors import NotFound
from crm.kernel.reactor import system_context
from crm.kernel.read_store import Document, find_all
from crm.kernel.runtime import Runtime
from crm.kernel.scheduling import tick_forever

log = logging.getLogger(__name__)

ACTOR = "process:lead-scorer"
PAGE = 500


@dataclass(frozen=True)
class TickReport:
    now: datetime
    fitted: tuple[tuple[str, str], ...] = ()
    """(tenant, kind) fitted by this tick."""
    rules: Mapping[tuple[str, Kind], str] = field(default_factory=dict)
    """(tenant, kind) scored by the rules today, with why."""
    scored: tuple[str, ...] = ()
    recorded: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


def _previous(doc: Document | None) -> Score | None:
    if doc is None:
        return None
    reasons = tuple(
        Reason(r["code"], r["text"], r["text_zh"], float(r["weight"])) for r in doc["reasons"]
    )
    model: ModelKind = "fitted" if doc["model"] == "fitted" else "rules"
    return Score(int(doc["score"]), model, doc["model_reason"], doc["model_version"], reasons)


class LeadScorer:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.read_store = runtime.read_store
        self.commands = runtime.commands
        self._models: dict[tuple[str, Kind], tuple[date, ScoreModel]] = {}
        self.fits = runtime.commands.repository(LeadModel)

    async def _tenants(self) -> list[str]:
        tenants: set[str] = set()
        for collection in (FUNNEL_LEADS, FUNNEL_OPPORTUNITIES):
            for doc in await find_all(self.read_store, collection, {}, page_size=PAGE):
                tenants.add(doc["tenant"])
        return sorted(tenants)

    async def recorded(self, tenant: str, kind: Kind) -> LeadModel | None:
        """The tenant's recorded fits of ``kind`` (None: never fitted)."""
        try:
            return await self.fits.load(model_id(kind, tenant), tenant=tenant)
        except NotFound:
            return None

    async def models(
        self, tenant: str, history: TenantHistory, now: datetime
    ) -> tuple[dict[Kind, ScoreModel], list[Kind]]:
        """The tenant's models for today (on the day's first call: the fit recorded today, or
        a new fit, recorded), and the kinds fitted by this call."""
        today = now.date()
        out: dict[Kind, ScoreModel] = {}
        refitted: list[Kind] = []
        for kind in KINDS:
            known = self._models.get((tenant, kind))
            if known is not None and known[0] == today:
                out[kind] = known[1]
                continue
            stored = await self.recorded(tenant, kind)
            if stored is not None and stored.fitted_on == today and stored.state.model:
                model = stored.state.model
            else:
                model = await asyncio.to_thread(fit, kind, history.facts, history.pipeline, today)
                if model.logistic is not None:
                    model = await self._record(tenant, model, history, now)
                    refitted.append(kind)
            log.info("tenant %s, %s score: %s", tenant, kind, model.reason)
            self._models[(tenant, kind)] = (today, model)
            out[kind] = model
        return out, refitted

    async def _record(
        self, tenant: str, model: ScoreModel, history: TenantHistory, now: datetime
    ) -> ScoreModel:
        """Record the fit with its holdout AUC; the fit that stands (another scorer's, if it
        recorded one first)."""
        found = await asyncio.to_thread(
            evaluate, model.kind, history.facts, history.pipeline, now.date()
        )
        auc = None if found.model is None else round(found.model.auc, 4)
        command = RecordLeadModel(model_id(model.kind, tenant), model, auc, found.n_test)
        key = f"lead-scorer:model:{model.kind}:{tenant}:{now.date().isoformat()}"
        done = await self.commands.run(command, system_context(ACTOR, tenant, now, key))
        return done.aggregate.state.model or model

    async def tick(self, now: datetime) -> TickReport:
        today = now.date()
        fitted: list[tuple[str, str]] = []
        scored: list[str] = []
        recorded: list[str] = []
        failed: list[str] = []
        for tenant in await self._tenants():
            history = await tenant_history(self.read_store, tenant)
            models, refitted = await self.models(tenant, history, now)
            fitted.extend((tenant, k) for k in refitted)
            last = {
                d["id"]: d
                for d in await find_all(self.read_store, SCORES, {"tenant": tenant}, page_size=PAGE)
            }
            for facts in history.facts:
                if facts.id not in history.open_ids:
                    continue
                try:
                    verdict = score(models[facts.kind], facts, now, history.pipeline)
                    scored.append(facts.id)
                    if await self.record(tenant, facts, verdict, last.get(facts.id), now):
                        recorded.append(facts.id)
                except Exception:
                    log.exception("lead score of %s failed; next tick retries", facts.id)
                    failed.append(facts.id)
        rules = {
            (t, k): m.reason
            for (t, k), (d, m) in self._models.items()
            if d == today and m.logistic is None
        }
        return TickReport(now, tuple(fitted), rules, tuple(scored), tuple(recorded), tuple(failed))

    async def record(
        self, tenant: str, facts: Facts, verdict: Score, last: Document | None, now: datetime
    ) -> bool:
        """Record ``verdict`` if it changed materially; whether it was recorded."""
        if not material(_previous(last), verdict):
            return False
        key = f"lead-scorer:{facts.id}:{now.isoformat()}:{verdict.score}:{verdict.model_version}"
        done = await self.commands.run(
            RecordLeadScore(facts.id, facts.kind, verdict),
            system_context(ACTOR, tenant, now, key),
        )
        return done.recorded

    async def run(self, clock: Clock, interval: float) -> None:
        """Tick every ``interval`` seconds, forever (cancel the task to stop it)."""
        await tick_forever("lead-scorer", self.tick, clock, interval, _summary)


def _summary(report: TickReport) -> tuple[dict[str, int], str | None]:
    due = {
        "recorded": len(report.recorded),
        "unchanged": len(report.scored) - len(report.recorded),
        "failed": len(report.failed),
    }
    line = f"{len(report.recorded)} scores recorded of {len(report.scored)}"
    return due, line if report.recorded or report.fitted else None
