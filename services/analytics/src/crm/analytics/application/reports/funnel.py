"""The sales funnel over the ``funnel`` read models (``GET /analytics/funnel``): stages in
pipeline order, lead-to-won conversion, lost reasons, the forecast of open opportunities and
target attainment."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from crm.analytics.application.periods import day_of, month_of, period_bounds, within
from crm.analytics.application.reports.figures import Row, mean, money, rate, seconds_between
from crm.events.sales import DEFAULT_PIPELINE_STAGES, StageOutcome
from crm.kernel.read_store import Document

DEFAULT_STAGES: tuple[tuple[str, int], ...] = tuple(
    (s.name, s.probability) for s in DEFAULT_PIPELINE_STAGES if s.outcome is StageOutcome.OPEN
)
"""The open stages of the default pipeline, for a tenant that never configured its own."""

FUNNEL_COLUMNS: dict[str, Sequence[str]] = {
    "stages": (
        "stage",
        "probability",
        "entered",
        "moved_on",
        "lost",
        "open_now",
        "conversion_rate",
        "average_days",
    ),
    "conversion": (
        "leads",
        "qualified",
        "disqualified",
        "converted",
        "converted_won",
        "lead_to_opportunity",
        "opportunity_to_won",
        "lead_to_won",
        "opportunities",
        "open",
        "won",
        "lost",
        "win_rate",
    ),
    "removed_stages": (
        "stage",
        "probability",
        "entered",
        "moved_on",
        "lost",
        "open_now",
        "conversion_rate",
        "average_days",
    ),
    "lost_reasons": ("stage", "reason", "count"),
    "forecast": (
        "month",
        "opportunities",
        "pipeline.amount",
        "pipeline.currency",
        "weighted.amount",
        "weighted.currency",
    ),
    "attainment": (
        "owner_kind",
        "owner_id",
        "period",
        "target.amount",
        "target.currency",
        "won.amount",
        "won.currency",
        "collected.amount",
        "collected.currency",
        "won_attainment",
        "collected_attainment",
    ),
}


def _stage_order(
    pipeline: Document | None, opportunities: Iterable[Document]
) -> tuple[list[tuple[str, int | None]], list[tuple[str, int | None]]]:
    """The open stages of the tenant's pipeline as it is now, in its order; and, apart, the
    stages opportunities visited that the pipeline no longer has (removed by a later
    ``PUT /pipeline``), in the order they were first entered: history, not stages."""
    if pipeline is not None:
        order: list[tuple[str, int | None]] = [
            (s["name"], s["probability"]) for s in pipeline["stages"] if s["outcome"] == "open"
        ]
    else:
        order = list(DEFAULT_STAGES)
    known = {name for name, _ in order}
    removed: list[tuple[str, int | None]] = []
    for o in opportunities:
        for visit in o["stages"]:
            if visit["stage"] not in known:
                known.add(visit["stage"])
                removed.append((visit["stage"], None))
    return order, removed


def _stage_rows(order: list[tuple[str, int | None]], opps: list[Document]) -> list[Row]:
    rows = []
    for stage, probability in order:
        visits = [(o, v) for o in opps for v in o["stages"] if v["stage"] == stage]
        entered = {o["id"] for o, _ in visits}
        moved_on = {o["id"] for o, v in visits if v["exit"] in ("forward", "won")}
        lost = sum(1 for o in opps if o["status"] == "lost" and o["lost_at_stage"] == stage)
        open_now = sum(1 for o in opps if o["status"] == "open" and o["stage"] == stage)
        days = [
            seconds_between(v["entered_at"], v["exited_at"]) / 86400
            for _, v in visits
            if v["exited_at"] is not None
        ]
        rows.append(
            {
                "stage": stage,
                "probability": probability,
                "entered": len(entered),
                "moved_on": len(moved_on),
                "lost": lost,
                "open_now": open_now,
                "conversion_rate": rate(len(moved_on), len(entered)),
                "average_days": mean(days),
            }
        )
    return rows


def _forecast(opps: Iterable[Document], start: date | None, end: date | None) -> list[Row]:
    totals: dict[tuple[str, str], list[Any]] = {}
    for o in opps:
        close = date.fromisoformat(o["expected_close_date"])
        if o["status"] != "open" or not within(close, start, end):
            continue
        amount = Decimal(o["amount"]["amount"])
        entry = totals.setdefault(
            (month_of(close), o["amount"]["currency"]), [0, Decimal(0), Decimal(0)]
        )
        entry[0] += 1
        entry[1] += amount
        entry[2] += amount * o["probability"] / 100
    return [
        {
            "month": month,
            "opportunities": count,
            "pipeline": money(pipeline, currency),
            "weighted": money(weighted, currency),
        }
        for (month, currency), (count, pipeline, weighted) in sorted(totals.items())
    ]


def _attainment(
    targets: list[Document],
    opps: list[Document],
    invoices: list[Document],
    owner_id: str | None,
    team_id: str | None,
    start: date | None,
    end: date | None,
) -> list[Row]:
    team_reps = (
        {o["owner_id"] for o in opps if o.get("team_id") == team_id}
        | {i["owner_id"] for i in invoices if i.get("team_id") == team_id}
        if team_id is not None
        else set()
    )
    rows = []
    for t in targets:
        if "period" not in t:
            continue
        first, last = period_bounds(t["period"])
        if (start is not None and last < start) or (end is not None and first > end):
            continue
        rep = t["owner_kind"] == "rep"
        if owner_id is not None and not (rep and t["owner_id"] == owner_id):
            continue
        if team_id is not None and not (
            (rep and t["owner_id"] in team_reps) or (not rep and t["owner_id"] == team_id)
        ):
            continue
        field = "owner_id" if rep else "team_id"
        currency = t["amount"]["currency"]
        won = sum(
            (
                Decimal(o["won_amount"]["amount"])
                for o in opps
                if o.get(field) == t["owner_id"]
                and o["status"] == "won"
                and o["won_amount"]["currency"] == currency
                and first <= day_of(o["closed_at"]) <= last
            ),
            Decimal(0),
        )
        collected = sum(
            (
                Decimal(p["amount"]["amount"])
                for i in invoices
                if i.get(field) == t["owner_id"]
                for p in i.get("payments", [])
                if p["amount"]["currency"] == currency
                and first <= date.fromisoformat(p["received_on"]) <= last
            ),
            Decimal(0),
        )
        target = Decimal(t["amount"]["amount"])
        rows.append(
            {
                "owner_kind": t["owner_kind"],
                "owner_id": t["owner_id"],
                "period": t["period"],
                "target": money(target, currency),
                "won": money(won, currency),
                "collected": money(collected, currency),
                "won_attainment": rate(won, target),
                "collected_attainment": rate(collected, target),
            }
        )
    return sorted(rows, key=lambda x: (x["owner_kind"], x["owner_id"], x["period"]))


def funnel_report(
    *,
    opportunities: list[Document],
    leads: list[Document],
    targets: list[Document],
    invoices: list[Document],
    pipeline: Document | None,
    start: date | None,
    end: date | None,
    owner_id: str | None,
    team_id: str | None,
    campaign_id: str | None,
    source: str | None,
) -> dict[str, Any]:
    """The funnel of the opportunities opened in [start, end] (and the leads captured then)
    that match the filters; see the route for the definitions."""
    lead_by_id = {lead["id"]: lead for lead in leads if "captured_at" in lead}
    opps_by_id = {o["id"]: o for o in opportunities if "opened_at" in o}

    def matches(doc: Document, source_of: Callable[[Document], str | None]) -> bool:
        return (
            (owner_id is None or doc.get("owner_id") == owner_id)
            and (team_id is None or doc.get("team_id") == team_id)
            and (campaign_id is None or doc.get("campaign_id") == campaign_id)
            and (source is None or source_of(doc) == source)
        )

    def opp_source(o: Document) -> str | None:
        lead = lead_by_id.get(o.get("lead_id") or "")
        return None if lead is None else lead.get("source")

    scoped = [o for o in opps_by_id.values() if matches(o, opp_source)]
    cohort = [o for o in scoped if within(day_of(o["opened_at"]), start, end)]
    cohort_leads = [
        lead
        for lead in lead_by_id.values()
        if matches(lead, lambda d: d.get("source"))
        and within(day_of(lead["captured_at"]), start, end)
    ]
    converted = [lead for lead in cohort_leads if lead["status"] == "converted"]
    converted_won = sum(
        1 for lead in converted if opps_by_id.get(lead["opportunity_id"], {}).get("status") == "won"
    )
    won = sum(1 for o in cohort if o["status"] == "won")
    lost = sum(1 for o in cohort if o["status"] == "lost")
    order, removed = _stage_order(pipeline, cohort)
    rank = {name: i for i, (name, _) in enumerate([*order, *removed])}
    reasons = Counter(
        (o["lost_at_stage"], o["lost_reason"]) for o in cohort if o["status"] == "lost"
    )
    return {
        "filters": {
            "from": None if start is None else start.isoformat(),
            "to": None if end is None else end.isoformat(),
            "owner_id": owner_id,
            "team_id": team_id,
            "campaign_id": campaign_id,
            "source": source,
        },
        "stages": _stage_rows(order, cohort),
        "removed_stages": _stage_rows(removed, cohort),
        "conversion": [
            {
                "leads": len(cohort_leads),
                "qualified": sum(1 for x in cohort_leads if x["qualified_at"] is not None),
                "disqualified": sum(1 for x in cohort_leads if x["status"] == "disqualified"),
                "converted": len(converted),
                "converted_won": converted_won,
                "lead_to_opportunity": rate(len(converted), len(cohort_leads)),
                "opportunity_to_won": rate(converted_won, len(converted)),
                "lead_to_won": rate(converted_won, len(cohort_leads)),
                "opportunities": len(cohort),
                "open": len(cohort) - won - lost,
                "won": won,
                "lost": lost,
                "win_rate": rate(won, won + lost),
            }
        ],
        "lost_reasons": [
            {"stage": stage, "reason": reason, "count": count}
            for (stage, reason), count in sorted(
                reasons.items(), key=lambda kv: (rank.get(kv[0][0], len(rank)), -kv[1], kv[0][1])
            )
        ],
        "forecast": _forecast(scoped, start, end),
        "attainment": _attainment(
            targets, list(opps_by_id.values()), invoices, owner_id, team_id, start, end
        ),
    }
