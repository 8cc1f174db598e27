"""Customers per month over ``report_customers`` (``/analytics/reports/customers``): new,
active, lost, total and repeat purchases, counted on orders that still stand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from crm.analytics.application.periods import day_of, month_bounds, month_of, months_between
from crm.analytics.application.reports.figures import rate
from crm.kernel.read_store import Document

ACTIVE_DAYS = 180
"""A customer is active at a date if they placed an order (not cancelled or returned) in the
180 days up to it, and lost in the month in which 180 days passed since their last order."""

CUSTOMER_COLUMNS: dict[str, Sequence[str]] = {
    "periods": (
        "month",
        "new",
        "active",
        "lost",
        "total",
        "repeat_customers",
        "repeat_purchase_rate",
    )
}


def order_days(doc: Document, currency: str | None = None) -> list[tuple[date, Decimal]]:
    """A customer's orders that still stand (not cancelled or returned), oldest first."""
    return sorted(
        (day_of(o["at"]), Decimal(o["amount"]["amount"]))
        for o in doc.get("orders", [])
        if o["status"] == "placed" and (currency is None or o["amount"]["currency"] == currency)
    )


def customers_report(docs: list[Document], first: str | None, last: str) -> dict[str, Any]:
    histories = [days for d in docs if (days := [day for day, _ in order_days(d)])]
    if first is None:
        first = min((month_of(h[0]) for h in histories), default=last)
    rows = []
    window = timedelta(days=ACTIVE_DAYS)
    for month in months_between(first, last):
        start, end = month_bounds(month)
        total = new = active = lost = repeat = 0
        for days in histories:
            upto = [d for d in days if d <= end]
            if not upto:
                continue
            total += 1
            new += start <= upto[0]
            active += upto[-1] > end - window
            lost += start <= upto[-1] + window <= end
            repeat += len(upto) >= 2
        rows.append(
            {
                "month": month,
                "new": new,
                "active": active,
                "lost": lost,
                "total": total,
                "repeat_customers": repeat,
                "repeat_purchase_rate": rate(repeat, total),
            }
        )
    return {"active_days": ACTIVE_DAYS, "periods": rows}
