"""Campaigns over ``report_campaigns`` and the funnel's leads and opportunities
(``/analytics/reports/campaigns``): what each brought in against its budget."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from crm.analytics.application.reports.figures import money, rate
from crm.kernel.read_store import Document

CAMPAIGN_COLUMNS: dict[str, Sequence[str]] = {
    "campaigns": (
        "campaign_id",
        "name",
        "channel",
        "status",
        "budget.amount",
        "budget.currency",
        "leads",
        "opportunities",
        "won",
        "orders",
        "revenue.amount",
        "revenue.currency",
        "return_on_budget",
    )
}


def campaigns_report(
    campaigns: list[Document], leads: list[Document], opportunities: list[Document]
) -> dict[str, Any]:
    lead_counts = Counter(x.get("campaign_id") for x in leads if "captured_at" in x)
    opp_counts = Counter(o.get("campaign_id") for o in opportunities if "opened_at" in o)
    won_counts = Counter(o.get("campaign_id") for o in opportunities if o.get("status") == "won")
    rows = []
    for c in campaigns:
        if "budget" not in c:
            continue
        currency = c["budget"]["currency"]
        budget = Decimal(c["budget"]["amount"])
        earned = c["revenue"].get(currency, {"amount": "0", "orders": 0})
        revenue = Decimal(earned["amount"])
        rows.append(
            {
                "campaign_id": c["id"],
                "name": c["name"],
                "channel": c["channel"],
                "status": c["status"],
                "budget": money(budget, currency),
                "leads": lead_counts[c["id"]],
                "opportunities": opp_counts[c["id"]],
                "won": won_counts[c["id"]],
                "orders": earned["orders"],
                "revenue": money(revenue, currency),
                "return_on_budget": rate(revenue, budget),
            }
        )
    return {"campaigns": sorted(rows, key=lambda x: (x["name"], x["campaign_id"]))}
