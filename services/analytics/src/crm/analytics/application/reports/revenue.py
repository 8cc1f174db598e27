"""Revenue per month and currency over ``report_revenue`` (``/analytics/reports/revenue``)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from crm.analytics.application.periods import in_months
from crm.analytics.application.reports.figures import money
from crm.analytics.projections.report_models import MONEY_FIELDS
from crm.kernel.read_store import Document

REVENUE_COLUMNS: dict[str, Sequence[str]] = {
    "months": (
        "month",
        "currency",
        "orders",
        "booked.amount",
        "booked.currency",
        "cancelled.amount",
        "cancelled.currency",
        "returned.amount",
        "returned.currency",
        "revenue.amount",
        "revenue.currency",
        "payments",
        "collected.amount",
        "collected.currency",
    )
}


def revenue_report(docs: list[Document], first: str | None, last: str | None) -> dict[str, Any]:
    rows = []
    for doc in sorted(docs, key=lambda d: d["month"]):
        if not in_months(doc["month"], first, last):
            continue
        for currency, t in sorted(doc["currencies"].items()):
            booked, cancelled, returned, collected = (Decimal(t[name]) for name in MONEY_FIELDS)
            rows.append(
                {
                    "month": doc["month"],
                    "currency": currency,
                    "orders": t["orders"],
                    "booked": money(booked, currency),
                    "cancelled": money(cancelled, currency),
                    "returned": money(returned, currency),
                    "revenue": money(booked - cancelled - returned, currency),
                    "payments": t["payments"],
                    "collected": money(collected, currency),
                }
            )
    return {"months": rows}
