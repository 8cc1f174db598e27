"""The 360° figures of a customer others were merged into: theirs added to its own.

A merge (``customer.absorbed`` on the survivor, ``customer.merged_into`` on the duplicate) is
resolved when the view is read, not by re-pointing documents: every document stays keyed by
the id its events name (so the projection's keys still come from each event alone, and a
rebuild gives the same documents), and the survivor's view adds up its own document and those
of the customers merged into it. Pure: documents in, a document out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from crm.analytics.projections.customer_360_models import (
    COMPLAINT_DATES,
    ORDER_DATES,
    OVERDUE_DATES,
    TIMELINE_LENGTH,
    Customer360Doc,
    main_spend,
    segment_of,
    spend_text,
    tier_of,
)


def _added(a: Mapping[str, str], b: Mapping[str, str]) -> dict[str, str]:
    totals = dict(a)
    for currency, amount in b.items():
        totals[currency] = str(Decimal(totals.get(currency, "0")) + Decimal(amount))
    return totals


def _counts(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in sorted({*a, *b})}


def _earliest(a: str | None, b: str | None) -> str | None:
    return min(x for x in (a, b) if x is not None) if a or b else None


def _latest(a: str | None, b: str | None) -> str | None:
    return max(x for x in (a, b) if x is not None) if a or b else None


def _add(doc: Customer360Doc, other: Customer360Doc) -> None:
    orders, theirs = doc["orders"], other["orders"]
    whole = len(orders["recent"]) < ORDER_DATES and len(theirs["recent"]) < ORDER_DATES
    recent = sorted([*orders["recent"], *theirs["recent"]], key=lambda o: o["at"])
    days = len({o["at"][:10] for o in recent})
    orders.update(
        {
            "count": orders["count"] + theirs["count"],
            "cancelled": orders["cancelled"] + theirs["cancelled"],
            "returned": orders["returned"] + theirs["returned"],
            "totals": _added(orders["totals"], theirs["totals"]),
            "first_at": _earliest(orders["first_at"], theirs["first_at"]),
            "last_at": _latest(orders["last_at"], theirs["last_at"]),
            "recent": recent[-ORDER_DATES:],
            # a day both bought on is one purchase day (exact while both lists are whole)
            "purchase_days": days if whole else orders["purchase_days"] + theirs["purchase_days"],
        }
    )
    first, last = orders["first_at"], orders["last_at"]
    if orders["purchase_days"] > 1 and first and last:
        span = datetime.fromisoformat(last) - datetime.fromisoformat(first)
        orders["average_interval_days"] = round(
            span.total_seconds() / 86400 / (orders["purchase_days"] - 1), 1
        )
    payments, paid = doc["payments"], other["payments"]
    payments.update(
        {
            "count": payments["count"] + paid["count"],
            "collected": _added(payments["collected"], paid["collected"]),
            "last_on": _latest(payments["last_on"], paid["last_on"]),
        }
    )
    invoices, owed = doc["invoices"], other["invoices"]
    invoices.update(
        {
            "open": {**invoices["open"], **owed["open"]},
            "open_count": invoices["open_count"] + owed["open_count"],
            "open_amount": _added(invoices["open_amount"], owed["open_amount"]),
            "overdue_count": invoices["overdue_count"] + owed["overdue_count"],
            "overdue_amount": _added(invoices["overdue_amount"], owed["overdue_amount"]),
            "overdue_dates": sorted({*invoices["overdue_dates"], *owed["overdue_dates"]})[
                -OVERDUE_DATES:
            ],
        }
    )
    tickets, raised = doc["tickets"], other["tickets"]
    tickets["opened"] += raised["opened"]
    tickets["by_kind"] = _counts(tickets["by_kind"], raised["by_kind"])
    tickets["complaint_dates"] = sorted([*tickets["complaint_dates"], *raised["complaint_dates"]])[
        -COMPLAINT_DATES:
    ]
    mine, said = tickets["satisfaction"], raised["satisfaction"]
    if said["at"] is not None and (mine["at"] is None or said["at"] > mine["at"]):
        tickets["satisfaction"] = copy.deepcopy(said)
    talks, theirs_talks = doc["interactions"], other["interactions"]
    talks["count"] += theirs_talks["count"]
    talks["by_channel"] = _counts(talks["by_channel"], theirs_talks["by_channel"])
    talks["last_at"] = _latest(talks["last_at"], theirs_talks["last_at"])
    doc["opportunities_opened"] += other["opportunities_opened"]
    doc["timeline"] = sorted(
        [*doc["timeline"], *other["timeline"]], key=lambda e: e["position"], reverse=True
    )[:TIMELINE_LENGTH]
    doc["last_activity_at"] = _latest(doc["last_activity_at"], other["last_activity_at"])
    doc["updated_position"] = max(doc["updated_position"], other["updated_position"])


def combined(doc: Customer360Doc, merged: Iterable[Customer360Doc]) -> Customer360Doc:
    """``doc``, a survivor's, with the figures of the ``merged`` customers' documents added:
    orders, payments, invoices, tickets, interactions, opportunities and the timeline; the
    stored rules (segment, value tier, spend) recomputed. Its profile, owner, tags and churn
    assessment stay its own."""
    new = copy.deepcopy(doc)
    for other in merged:
        _add(new, other)
    currency, spend = main_spend(new["orders"]["totals"])
    new.update(
        {
            "segment": segment_of(new["orders"]["purchase_days"]),
            "value_tier": tier_of(spend),
            "spend": spend_text(currency, spend),
            "spend_sort": float(spend),
            "spend_currency": currency,
        }
    )
    return new
