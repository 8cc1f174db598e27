"""The churn analysis over ``customer_360`` and ``analytics_opportunities``
(``/analytics/churn/report``): losses per month, the stage they were lost at, the reasons
ranked, the time to loss and the win-backs; and what came of the warnings (``retention``,
over ``analytics_retention``): how many warned customers were contacted, how soon, how many
were kept, per rep and per reason."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

LOSS_COLUMNS = (
    "customer_id",
    "lost_at",
    "period",
    "stage",
    "reason_codes",
    "days_from_first_contact",
    "won_back_at",
)


def _stage_at(opportunities: Sequence[Mapping[str, Any]], at: str) -> str | None:
    """The stage of the customer's opportunity that was open at ``at`` (the latest opened)."""
    open_then = [
        o
        for o in opportunities
        if o["opened_at"] is not None
        and o["opened_at"] <= at
        and (o["closed_at"] is None or o["closed_at"] > at)
    ]
    if not open_then:
        return None
    latest = max(open_then, key=lambda o: o["opened_at"])
    entered = [str(s["stage"]) for s in latest["stages"] if s["at"] <= at]
    return entered[-1] if entered else str(latest["stage"])


def churn_report(
    docs: Sequence[Mapping[str, Any]],
    opportunities: Sequence[Mapping[str, Any]],
    period_from: str | None,
    period_to: str | None,
) -> dict[str, Any]:
    """Losses (a move to "high") per month, the stage they were lost at, the reasons ranked,
    the time from first contact to the loss, and the win-backs (back to "low" after a loss,
    with an order placed since)."""
    by_customer: dict[str, list[Mapping[str, Any]]] = {}
    for o in opportunities:
        by_customer.setdefault(o["customer_id"], []).append(o)

    def within(period: str) -> bool:
        return (period_from is None or period >= period_from) and (
            period_to is None or period <= period_to
        )

    losses: list[dict[str, Any]] = []
    for doc in docs:
        history = doc["churn_history"]
        for i, entry in enumerate(history):
            if entry["level"] != "high" or entry["previous_level"] == "high":
                continue
            period = entry["at"][:7]
            if not within(period):
                continue
            later = [h for h in history[i + 1 :] if h["win_back"]]
            opp_stage = _stage_at(by_customer.get(doc["id"], []), entry["at"])
            first_contact = doc["registered_at"] or (doc["orders"]["first_at"])
            days = (
                (datetime.fromisoformat(entry["at"]) - datetime.fromisoformat(first_contact)).days
                if first_contact
                else None
            )
            losses.append(
                {
                    "customer_id": doc["id"],
                    "lost_at": entry["at"],
                    "period": period,
                    "stage": f"opportunity: {opp_stage}" if opp_stage else entry["segment"],
                    "reason_codes": entry["reason_codes"],
                    "days_from_first_contact": days,
                    "won_back_at": later[0]["at"] if later else None,
                }
            )
    losses.sort(key=lambda row: (row["lost_at"], row["customer_id"]))
    periods: dict[str, dict[str, Any]] = {}
    for row in losses:
        p = periods.setdefault(row["period"], {"period": row["period"], "lost": 0, "won_back": 0})
        p["lost"] += 1
        p["won_back"] += row["won_back_at"] is not None
    reasons = Counter(code for row in losses for code in row["reason_codes"])
    stages = Counter(row["stage"] for row in losses)
    spans: list[int] = [
        row["days_from_first_contact"]
        for row in losses
        if row["days_from_first_contact"] is not None
    ]
    return {
        "periods": [periods[k] for k in sorted(periods)],
        "stages": [{"stage": s, "lost": n} for s, n in stages.most_common()],
        "reasons": [
            {"code": code, "lost": n, "share": round(n / len(losses), 3)}
            for code, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        ],
        "time_to_loss_days": {
            "count": len(spans),
            "average": round(statistics.fmean(spans), 1) if spans else None,
            "median": statistics.median(spans) if spans else None,
        },
        "lost": len(losses),
        "won_back": sum(1 for row in losses if row["won_back_at"] is not None),
        "losses": losses,
    }


def retention_figures(warnings: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``warned`` (retention tasks opened on a churn warning), ``contacted`` (completed with
    an outcome that says the customer was spoken to), ``median_hours_to_contact`` (null:
    none contacted), ``kept`` (won back) and ``lost``."""
    rows = list(warnings)
    hours = [float(w["hours_to_contact"]) for w in rows if w["contacted_at"] is not None]
    return {
        "warned": len(rows),
        "contacted": len(hours),
        "median_hours_to_contact": round(statistics.median(hours), 2) if hours else None,
        "kept": sum(1 for w in rows if w["outcome"] == "won_back"),
        "lost": sum(1 for w in rows if w["outcome"] == "lost"),
    }


def retention_section(
    warnings: Sequence[Mapping[str, Any]], period_from: str | None, period_to: str | None
) -> dict[str, Any]:
    """The retention figures of the warnings of the months ``period_from`` to ``period_to``,
    in total, per rep (the task's current assignee; null: still in a team's queue) and per
    reason code (a warning with two reasons counts under each)."""
    rows = [
        w
        for w in warnings
        if (period_from is None or w["period"] >= period_from)
        and (period_to is None or w["period"] <= period_to)
    ]
    reps = sorted({w["assignee_id"] for w in rows}, key=lambda r: (r is None, r or ""))
    codes = sorted({c for w in rows for c in w["reasons"]})
    by_reason = [
        {"reason": c, **retention_figures(w for w in rows if c in w["reasons"])} for c in codes
    ]
    return {
        "total": retention_figures(rows),
        "by_rep": [
            {"assignee_id": r, **retention_figures(w for w in rows if w["assignee_id"] == r)}
            for r in reps
        ],
        "by_reason": sorted(by_reason, key=lambda r: (-r["warned"], r["reason"])),
    }
