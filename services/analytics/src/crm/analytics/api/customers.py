"""The analyst API over the 360° view: one customer, the customer list, churn warnings and the
churn analysis report. JSON by default; ``?format=csv`` gives the same rows as CSV (header row
= the columns documented on each route).

Who sees what (object-level rules here, not in a UI):

* ``analyst``, ``manager``, ``admin``: every customer of their tenant. Analysts work on
  behaviour, not on people: the personal fields (``name``, ``email``) read as
  :data:`REDACTED`.
* ``sales_rep``: only the customers they own (others answer 404, as if absent); not the
  churn report, which is about the whole customer base (403).
* ``agent``: none of it (403). Agents work tickets; the ticket views give them the customer
  context they need, and the sales side of a customer is not theirs to read.
"""

import csv
import io
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from crm.analytics.projections.customer360 import (
    CUSTOMERS,
    OPPORTUNITIES,
    TICKETS,
    Customer360Projection,
    view,
)
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound
from crm.kernel.http import Authenticator, ReadConsistency
from crm.kernel.read_store import Document, ReadStore, find_all
from crm.kernel.read_store import Query as ReadQuery
from crm.kernel.runtime import Runtime

REDACTED = "\u2039redacted\u203a"
READERS = frozenset({Role.ADMIN, Role.MANAGER, Role.ANALYST, Role.SALES_REP})
PERSONAL = ("name", "email")
PAGE = 500

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
LOSS_COLUMNS = (
    "customer_id",
    "lost_at",
    "period",
    "stage",
    "reason_codes",
    "days_from_first_contact",
    "won_back_at",
)
SORTS = {
    "spend": "spend",
    "risk": "churn.score",
    "last_order": "orders.last_at",
    "registered": "registered_at",
    "orders": "orders.count",
}

Format = Literal["json", "csv"]


def csv_response(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], name: str) -> Response:
    """Rows as CSV: the header row is ``columns``; lists are joined with ``;``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                ";".join(map(str, v)) if isinstance(v, list | tuple) else ("" if v is None else v)
                for v in (row.get(c) for c in columns)
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _allowed(actor: Actor) -> None:
    if actor.role not in READERS:
        raise Forbidden(f"role {actor.role.value} may not read the customer analytics")


def _scope(actor: Actor) -> dict[str, Any]:
    """The read-store filter of what ``actor`` may see."""
    scope: dict[str, Any] = {"tenant": actor.tenant}
    if actor.role is Role.SALES_REP:
        scope["owner_id"] = actor.id
    return scope


def _redact(actor: Actor, doc: dict[str, Any]) -> dict[str, Any]:
    if actor.role is Role.ANALYST:
        for key in PERSONAL:
            if doc.get(key) is not None:
                doc[key] = REDACTED
    return doc


async def _all(read_store: ReadStore, collection: str, flt: Mapping[str, Any]) -> list[Document]:
    return await find_all(read_store, collection, flt, page_size=PAGE)


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


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter(prefix="/analytics", tags=["analytics"])
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, Customer360Projection()))
    store = runtime.read_store

    @api.get("/customers/{customer_id}/360")
    async def customer_360(customer_id: str, actor: Who, _: int = consistent) -> dict[str, Any]:
        """The customer's 360° view (see ``crm.analytics.projections.customer360``), with the
        customer's tickets and opportunities joined and the windows computed as of now."""
        _allowed(actor)
        doc = await store.get(CUSTOMERS, customer_id)
        scope = _scope(actor)
        if doc is None or any(doc.get(k) != v for k, v in scope.items()):
            raise NotFound(f"no customer {customer_id}")
        flt = {"tenant": actor.tenant, "customer_id": customer_id}
        tickets = await _all(store, TICKETS, flt)
        opportunities = await _all(store, OPPORTUNITIES, flt)
        return _redact(actor, view(doc, tickets, opportunities, runtime.clock.now()))

    @api.get("/customers", response_model=None)
    async def customers(
        actor: Who,
        _: int = consistent,
        risk: Literal["low", "medium", "high"] | None = None,
        segment: Literal["prospect", "new", "repeat", "loyal"] | None = None,
        value_tier: Literal["none", "bronze", "silver", "gold"] | None = None,
        owner_id: str | None = None,
        region: str | None = None,
        tag: str | None = None,
        min_spend: Annotated[float | None, Query(ge=0)] = None,
        max_spend: Annotated[float | None, Query(ge=0)] = None,
        sort: Annotated[
            str, Query(description=f"one of {sorted(SORTS)}, '-' for descending")
        ] = "-spend",
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
        format: Format = "json",
    ) -> dict[str, Any] | Response:
        """Customers with their 360° key figures (columns: ``CUSTOMER_COLUMNS``)."""
        _allowed(actor)
        field = sort.removeprefix("-")
        if field not in SORTS:
            raise InvalidCommand("sort", f"must be one of {sorted(SORTS)}, '-' for descending")
        flt: dict[str, Any] = _scope(actor)
        if owner_id is not None:
            if "owner_id" in flt and flt["owner_id"] != owner_id:
                return _empty(format, limit, offset)
            flt["owner_id"] = owner_id
        for key, value in (
            ("churn.level", risk),
            ("segment", segment),
            ("value_tier", value_tier),
            ("region", region),
        ):
            if value is not None:
                flt[key] = value
        if tag is not None:
            flt["tags"] = {"$contains": tag}
        spend: dict[str, float] = {}
        if min_spend is not None:
            spend["$gte"] = min_spend
        if max_spend is not None:
            spend["$lte"] = max_spend
        if spend:
            flt["spend"] = spend
        direction = -1 if sort.startswith("-") else 1
        page = await store.find(
            CUSTOMERS,
            ReadQuery(filter=flt, sort=((SORTS[field], direction),), limit=limit, offset=offset),
        )
        rows = [_redact(actor, customer_row(doc)) for doc in page.items]
        if format == "csv":
            return csv_response(CUSTOMER_COLUMNS, rows, "customers")
        return {"items": rows, "total": page.total, "limit": limit, "offset": offset}

    def _empty(format: Format, limit: int, offset: int) -> dict[str, Any] | Response:
        if format == "csv":
            return csv_response(CUSTOMER_COLUMNS, [], "customers")
        return {"items": [], "total": 0, "limit": limit, "offset": offset}

    @api.get("/churn/warnings", response_model=None)
    async def churn_warnings(
        actor: Who,
        _: int = consistent,
        level: Literal["medium", "high"] | None = None,
        owner_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
        format: Format = "json",
    ) -> dict[str, Any] | Response:
        """Customers at medium or high churn risk, highest score first, with the reasons in
        plain words (columns: ``WARNING_COLUMNS``; CSV joins the reason texts with ``;``)."""
        _allowed(actor)
        flt: dict[str, Any] = _scope(actor)
        flt["churn.level"] = level if level is not None else {"$in": ["medium", "high"]}
        if owner_id is not None and flt.setdefault("owner_id", owner_id) != owner_id:
            flt["owner_id"] = {"$in": []}
        page = await store.find(
            CUSTOMERS,
            ReadQuery(filter=flt, sort=(("churn.score", -1),), limit=limit, offset=offset),
        )
        items = [
            _redact(
                actor,
                {
                    "customer_id": doc["id"],
                    "name": doc["name"],
                    "owner_id": doc["owner_id"],
                    "level": doc["churn"]["level"],
                    "score": doc["churn"]["score"],
                    "p_alive": doc["churn"]["p_alive"],
                    "reasons": doc["churn"]["reasons"],
                    "assessed_at": doc["churn"]["assessed_at"],
                },
            )
            for doc in page.items
        ]
        if format == "csv":
            rows = [{**i, "reasons": [r["text"] for r in i["reasons"]]} for i in items]
            return csv_response(WARNING_COLUMNS, rows, "churn-warnings")
        return {"items": items, "total": page.total, "limit": limit, "offset": offset}

    @api.get("/churn/report", response_model=None)
    async def churn_analysis(
        actor: Who,
        _: int = consistent,
        period_from: Annotated[
            str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="first month")
        ] = None,
        period_to: Annotated[
            str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="last month")
        ] = None,
        format: Format = "json",
    ) -> dict[str, Any] | Response:
        """Customers lost (their risk went high) per month, the stage they were lost at (the
        stage of an opportunity open at the time, else their segment), the reasons ranked,
        the days from first contact to the loss, and win-backs. CSV: one row per loss
        (columns: ``LOSS_COLUMNS``)."""
        _allowed(actor)
        if actor.role is Role.SALES_REP:
            raise Forbidden("the churn report covers the whole customer base: analysts, managers")
        docs = await _all(
            store, CUSTOMERS, {"tenant": actor.tenant, "churn.level": {"$exists": True}}
        )
        opportunities = await _all(store, OPPORTUNITIES, {"tenant": actor.tenant})
        report = churn_report(docs, opportunities, period_from, period_to)
        if format == "csv":
            return csv_response(LOSS_COLUMNS, report["losses"], "churn-report")
        return report

    return api
