"""RFM over ``report_customers`` (``/analytics/reports/rfm``): recency, frequency and monetary
value scored by quintile, and the segments they make."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from crm.analytics.application.reports.customers import order_days
from crm.analytics.application.reports.figures import money
from crm.kernel.read_store import Document

RFM_COLUMNS: dict[str, Sequence[str]] = {
    "customers": (
        "customer_id",
        "recency_days",
        "frequency",
        "monetary.amount",
        "monetary.currency",
        "r",
        "f",
        "m",
        "rfm",
        "segment",
    ),
    "segments": ("segment", "customers"),
}
SEGMENTS = ("champions", "loyal", "promising", "needs_attention", "at_risk", "hibernating")


def quintile(value: Decimal, values: Sequence[Decimal], higher_is_better: bool) -> int:
    """``ceil(5 x share of customers whose value is no better than this one)``: 5 for the top
    fifth, 1 for the bottom fifth; equal values score alike."""
    worse_or_equal = sum(1 for v in values if (v <= value if higher_is_better else v >= value))
    return max(1, math.ceil(Decimal(5 * worse_or_equal) / len(values)))


def segment(r_score: int, f_score: int) -> str:
    if r_score >= 4 and f_score >= 4:
        return "champions"
    if r_score >= 3 and f_score >= 3:
        return "loyal"
    if r_score >= 4:
        return "promising"
    if r_score == 3:
        return "needs_attention"
    if f_score >= 3:
        return "at_risk"
    return "hibernating"


def rfm_report(docs: list[Document], as_of: date, currency: str) -> dict[str, Any]:
    facts = []
    for d in docs:
        orders = [(day, amount) for day, amount in order_days(d, currency) if day <= as_of]
        if orders:
            recency = Decimal((as_of - orders[-1][0]).days)
            facts.append(
                (d["id"], recency, Decimal(len(orders)), sum((a for _, a in orders), Decimal(0)))
            )
    recencies = [x[1] for x in facts]
    frequencies = [x[2] for x in facts]
    monetaries = [x[3] for x in facts]
    rows = []
    for customer_id, recency, frequency, monetary in facts:
        rs = quintile(recency, recencies, higher_is_better=False)
        fs = quintile(frequency, frequencies, higher_is_better=True)
        ms = quintile(monetary, monetaries, higher_is_better=True)
        rows.append(
            {
                "customer_id": customer_id,
                "recency_days": int(recency),
                "frequency": int(frequency),
                "monetary": money(monetary, currency),
                "r": rs,
                "f": fs,
                "m": ms,
                "rfm": f"{rs}{fs}{ms}",
                "segment": segment(rs, fs),
            }
        )
    counts = Counter(row["segment"] for row in rows)
    return {
        "as_of": as_of.isoformat(),
        "currency": currency,
        "customers": rows,
        "segments": [{"segment": s, "customers": counts[s]} for s in SEGMENTS],
    }
