"""Service KPIs per month of opening over ``report_tickets`` (``/analytics/reports/service``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from crm.analytics.application.periods import in_months
from crm.analytics.application.reports.figures import mean, rate, seconds_between
from crm.kernel.read_store import Document

SERVICE_COLUMNS: dict[str, Sequence[str]] = {
    "months": (
        "month",
        "tickets",
        "complaints",
        "first_responses",
        "first_response_avg_minutes",
        "resolved",
        "resolution_avg_hours",
        "sla_breached",
        "sla_met",
        "sla_compliance",
        "satisfaction_responses",
        "satisfaction_avg",
    )
}


def service_report(docs: list[Document], first: str | None, last: str | None) -> dict[str, Any]:
    by_month: dict[str, list[Document]] = defaultdict(list)
    for t in docs:
        if "opened_at" in t:
            by_month[t["opened_at"][:7]].append(t)
    rows = []
    for month in sorted(by_month):
        if not in_months(month, first, last):
            continue
        tickets = by_month[month]
        responses = [
            seconds_between(t["opened_at"], t["first_response_at"]) / 60
            for t in tickets
            if t["first_response_at"] is not None
        ]
        resolutions = [
            seconds_between(t["opened_at"], t["resolved_at"]) / 3600
            for t in tickets
            if t["resolved_at"] is not None
        ]
        breached = sum(1 for t in tickets if t["breaches"])
        met = sum(1 for t in tickets if t["resolved_at"] is not None and not t["breaches"])
        scores = [Decimal(t["satisfaction"]) for t in tickets if t["satisfaction"] is not None]
        rows.append(
            {
                "month": month,
                "tickets": len(tickets),
                "complaints": sum(1 for t in tickets if t["kind"] == "complaint"),
                "first_responses": len(responses),
                "first_response_avg_minutes": mean(responses),
                "resolved": len(resolutions),
                "resolution_avg_hours": mean(resolutions),
                "sla_breached": breached,
                "sla_met": met,
                "sla_compliance": rate(met, met + breached),
                "satisfaction_responses": len(scores),
                "satisfaction_avg": mean(scores),
            }
        )
    return {"months": rows}
