"""The 360° view at query time: the stored ``customer_360`` document with the customer's
``analytics_tickets`` and ``analytics_opportunities`` joined in and the windows ("complaints in
the last 90 days", "days since the last order") computed as of now; and the flat rows of the
customer list and the churn warnings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from crm.analytics.projections.customer_360_models import add_money
from crm.analytics.projections.ticket_models import BREACHES
from crm.events.money import Money

COMPLAINT_WINDOW_DAYS = 90

CUSTOMER_COLUMNS = (
    "id",
    "name",
    "company",
    "kind",
    "region",
    "owner_id",
    "tags",
    "segment",
    "value_tier",
    "spend",
    "spend_currency",
    "orders",
    "first_order_at",
    "last_order_at",
    "average_interval_days",
    "open_invoices",
    "overdue_invoices",
    "complaints",
    "last_satisfaction",
    "last_contact_at",
    "risk_level",
    "risk_score",
)
WARNING_COLUMNS = (
    "customer_id",
    "name",
    "owner_id",
    "level",
    "score",
    "p_alive",
    "reasons",
    "assessed_at",
)


def customer_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A customer in the list: the flat columns of :data:`CUSTOMER_COLUMNS`."""
    orders = doc["orders"]
    churn = doc["churn"] or {}
    return {
        "id": doc["id"],
        "name": doc["name"],
        "company": doc["company"],
        "kind": doc["kind"],
        "region": doc["region"],
        "owner_id": doc["owner_id"],
        "tags": doc["tags"],
        "segment": doc["segment"],
        "value_tier": doc["value_tier"],
        "spend": doc["spend"],
        "spend_currency": doc["spend_currency"],
        "orders": orders["count"],
        "first_order_at": orders["first_at"],
        "last_order_at": orders["last_at"],
        "average_interval_days": orders["average_interval_days"],
        "open_invoices": doc["invoices"]["open_count"],
        "overdue_invoices": doc["invoices"]["overdue_count"],
        "complaints": doc["tickets"]["by_kind"].get("complaint", 0),
        "last_satisfaction": doc["tickets"]["satisfaction"]["last"],
        "last_contact_at": doc["interactions"]["last_at"],
        "risk_level": churn.get("level"),
        "risk_score": churn.get("score"),
    }


def _days(since: str | None, now: datetime) -> int | None:
    if since is None:
        return None
    return (now - datetime.fromisoformat(since)).days


def _public(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def view(
    doc: Mapping[str, Any],
    tickets: Sequence[Mapping[str, Any]],
    opportunities: Sequence[Mapping[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """The 360° document as the API shows it at ``now``: the stored customer document, the
    customer's ticket and opportunity documents joined in, and the windows computed."""
    out = _public(doc)
    out.pop("sources", None)
    window_start = (now - timedelta(days=COMPLAINT_WINDOW_DAYS)).isoformat()
    stored = doc["tickets"]
    resolution = [t["resolution_hours"] for t in tickets if t["resolution_hours"] is not None]
    breaches = sorted((b["detected_at"] for t in tickets for b in t["breaches"]), reverse=True)
    out["tickets"] = {
        **stored,
        "open": sum(1 for t in tickets if t["status"] == "open"),
        "complaints_last_90_days": sum(1 for d in stored["complaint_dates"] if d >= window_start),
        "breaches": {"count": len(breaches), "dates": breaches[:BREACHES]},
        "resolution_hours": sorted(resolution)[-50:],
        "average_resolution_hours": (
            round(sum(resolution) / len(resolution), 2) if resolution else None
        ),
    }
    open_opps = [o for o in opportunities if o["status"] == "open"]
    pipeline: dict[str, str] = {}
    weighted: dict[str, str] = {}
    for o in open_opps:
        if o["amount"] is None:
            continue
        amount = Money.of(o["amount"]["amount"], o["amount"]["currency"])
        pipeline = add_money(pipeline, amount)
        weighted = add_money(weighted, amount.times(Decimal(o["probability"]) / 100).rounded())
    out["opportunities"] = {
        "opened": doc["opportunities_opened"],
        "open": [
            {k: o[k] for k in ("id", "name", "stage", "amount", "probability", "owner_id")}
            for o in sorted(open_opps, key=lambda o: o["opened_at"] or "")
        ],
        "pipeline_value": pipeline,
        "weighted_pipeline_value": weighted,
        "won": sum(1 for o in opportunities if o["status"] == "won"),
        "lost": [
            {
                "id": o["id"],
                "closed_at": o["closed_at"],
                "stage": o["lost_at_stage"],
                "reason": o["lost_reason"],
            }
            for o in sorted(opportunities, key=lambda o: o["closed_at"] or "")
            if o["status"] == "lost"
        ],
    }
    out["orders"] = {
        **doc["orders"],
        "recent": doc["orders"]["recent"][-20:],
        "days_since_last": _days(doc["orders"]["last_at"], now),
    }
    out["invoices"] = {k: v for k, v in doc["invoices"].items() if k != "open"} | {
        "open_invoices": [{"id": k, **v} for k, v in sorted(doc["invoices"]["open"].items())]
    }
    out["interactions"] = {
        **doc["interactions"],
        "days_since_last": _days(doc["interactions"]["last_at"], now),
    }
    out["as_of"] = now.isoformat()
    return out


def warning_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A customer at risk: the columns of :data:`WARNING_COLUMNS`."""
    return {
        "customer_id": doc["id"],
        "name": doc["name"],
        "owner_id": doc["owner_id"],
        "level": doc["churn"]["level"],
        "score": doc["churn"]["score"],
        "p_alive": doc["churn"]["p_alive"],
        "reasons": doc["churn"]["reasons"],
        "assessed_at": doc["churn"]["assessed_at"],
    }
