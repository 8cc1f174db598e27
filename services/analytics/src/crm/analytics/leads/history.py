"""A tenant's leads and opportunities as :class:`~crm.analytics.leads.scoring.Facts`, joined
from the read models (``funnel_leads``, ``funnel_opportunities``, ``funnel_pipelines`` and the
``lead_scoring`` collections): what the scorer scores, the fit learns from and the model route
evaluates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm.analytics.leads.scoring import Facts, Pipeline, Visit, normals_of
from crm.analytics.projections.funnel_models import LEADS as FUNNEL_LEADS
from crm.analytics.projections.funnel_models import OPPORTUNITIES as FUNNEL_OPPORTUNITIES
from crm.analytics.projections.funnel_models import PIPELINES
from crm.analytics.projections.lead_scoring_models import LEAD_TASKS, LEADS, QUOTES, TOUCHES
from crm.events.sales import DEFAULT_PIPELINE_STAGES
from crm.kernel.read_store import Document, Query, ReadStore, find_all

PAGE = 500


def _at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _times(values: Sequence[str]) -> tuple[datetime, ...]:
    return tuple(sorted(datetime.fromisoformat(v) for v in values))


@dataclass(frozen=True)
class TenantHistory:
    """Every lead and opportunity of a tenant, with the owner each read model names."""

    facts: tuple[Facts, ...]
    pipeline: Pipeline
    owners: Mapping[str, str | None]
    """Lead or opportunity id -> its owner (the funnel's)."""
    open_ids: frozenset[str]
    """The open leads (open or qualified) and open opportunities."""


def lead_facts(doc: Document, extra: Document | None, touches: Sequence[datetime]) -> Facts | None:
    captured = _at(doc.get("captured_at"))
    if captured is None:
        return None
    status = doc.get("status")
    outcome: bool | None = None
    decided: datetime | None = None
    if status == "converted":
        outcome, decided = True, _at(doc.get("converted_at"))
    elif status == "disqualified":
        outcome, decided = False, _at(doc.get("disqualified_at"))
    return Facts(
        kind="lead",
        id=doc["id"],
        started_at=captured,
        source=doc.get("source"),
        campaign=doc.get("campaign_id") is not None,
        company=bool(extra and extra.get("company")),
        title=bool(extra and extra.get("title")),
        qualified_at=_at(doc.get("qualified_at")),
        touches=tuple(sorted(touches)),
        decided_at=decided,
        outcome=None if decided is None else outcome,
    )


def opportunity_facts(
    doc: Document,
    lead: Document | None,
    touches: Sequence[datetime],
    quotes: Sequence[datetime],
) -> Facts | None:
    opened = _at(doc.get("opened_at"))
    if opened is None:
        return None
    visits = tuple(
        Visit(v["stage"], datetime.fromisoformat(v["entered_at"]), _at(v["exited_at"]))
        for v in doc.get("stages", [])
    )
    status = doc.get("status")
    closed = _at(doc.get("closed_at")) if status in ("won", "lost") else None
    amount = doc.get("amount") or {}
    campaign = doc.get("campaign_id") or (lead or {}).get("campaign_id")
    return Facts(
        kind="opportunity",
        id=doc["id"],
        started_at=opened,
        source=(lead or {}).get("source"),
        campaign=campaign is not None,
        touches=tuple(sorted(touches)),
        quotes_sent=tuple(sorted(quotes)),
        visits=visits,
        amount=float(amount.get("amount", "0")),
        decided_at=closed,
        outcome=None if closed is None else status == "won",
    )


async def tenant_history(read_store: ReadStore, tenant: str) -> TenantHistory:
    """The tenant's leads and opportunities as facts (see the module docstring)."""

    async def every(collection: str) -> list[Document]:
        return await find_all(read_store, collection, {"tenant": tenant}, page_size=PAGE)

    funnel_leads = await every(FUNNEL_LEADS)
    extras = {d["id"]: d for d in await every(LEADS)}
    customer_touches: dict[str, list[datetime]] = {
        d["id"]: list(_times(d["touches"])) for d in await every(TOUCHES)
    }
    lead_touches: dict[str, list[datetime]] = defaultdict(list)
    for d in await every(LEAD_TASKS):
        lead_touches[d["lead_id"]].extend(_times(d["completed"]))
    quotes: dict[str, list[datetime]] = defaultdict(list)
    for d in await every(QUOTES):
        if d.get("opportunity_id"):
            quotes[d["opportunity_id"]].extend(_times(d["sent"]))
    facts: list[Facts] = []
    owners: dict[str, str | None] = {}
    open_ids: set[str] = set()
    by_lead: dict[str, Document] = {}
    for doc in funnel_leads:
        by_lead[doc["id"]] = doc
        customer = doc.get("customer_id")
        touched = [*lead_touches.get(doc["id"], []), *customer_touches.get(customer or "", [])]
        f = lead_facts(doc, extras.get(doc["id"]), touched)
        if f is None:
            continue
        facts.append(f)
        owners[f.id] = doc.get("owner_id")
        if doc.get("status") in ("open", "qualified"):
            open_ids.add(f.id)
    for doc in await every(FUNNEL_OPPORTUNITIES):
        lead = by_lead.get(doc.get("lead_id") or "")
        touched = customer_touches.get(doc.get("customer_id") or "", [])
        f = opportunity_facts(doc, lead, touched, quotes.get(doc["id"], []))
        if f is None:
            continue
        facts.append(f)
        owners[f.id] = doc.get("owner_id")
        if doc.get("status") == "open":
            open_ids.add(f.id)
    return TenantHistory(
        tuple(facts), await pipeline_of(read_store, tenant, facts), owners, frozenset(open_ids)
    )


async def pipeline_of(read_store: ReadStore, tenant: str, facts: Sequence[Facts]) -> Pipeline:
    """The tenant's stage percents (its configured pipeline, else the default) and normals."""
    found = await read_store.find(PIPELINES, Query(filter={"tenant": tenant}, limit=1))
    stages: list[Any] = found.items[0].get("stages", []) if found.items else []
    probabilities = (
        {s["name"]: int(s["probability"]) for s in stages}
        if stages
        else {s.name: s.probability for s in DEFAULT_PIPELINE_STAGES}
    )
    return Pipeline(probabilities, normals_of(v for f in facts for v in f.visits))
