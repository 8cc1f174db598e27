"""The sales funnel and the analysts' reports: ``/analytics/funnel`` and ``/analytics/reports/*``.

Figures are counted at query time over the ``funnel`` and ``reports`` read models (see their
modules for the documents), so periods and windows are relative to the request, never to when
an event was projected. Conventions shared by every report:

- Rates are decimal strings with 4 places (``"0.5000"`` = 50 %), null when the denominator is
  0; durations are decimal strings (days and hours with 2 places, minutes with 2 places);
  money is ``{"amount": "<decimal string>", "currency": "EUR"}``, summed with Decimal and
  rounded (half to even) to the currency's minor unit only where a product made it longer.
- Each report is a JSON object whose lists are its tables. ``format=csv`` answers one table
  (``table=``, default the first named in the route's description) as ``text/csv``: a header
  row of the table's columns, one row per item, nested objects flattened to ``field.sub``
  (``revenue.amount``, ``revenue.currency``), null as an empty cell.
- Access: analysts, managers and admins read every report of their tenant; on the funnel a
  manager with a team sees their team's records only, and a sales rep their own; any other
  role gets 403.
"""

import asyncio
import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from crm.analytics.projections import funnel as f
from crm.analytics.projections import reports as r
from crm.analytics.projections.funnel import FunnelProjection
from crm.analytics.projections.reports import ReportsProjection
from crm.events.money import MINOR_UNITS
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden, InvalidCommand
from crm.kernel.http import Authenticator
from crm.kernel.projection import Projection, wait_until
from crm.kernel.read_store import Document, ReadStore
from crm.kernel.read_store import Query as StoreQuery
from crm.kernel.runtime import Runtime

DEFAULT_STAGES = (
    ("prospecting", 10),
    ("qualification", 20),
    ("needs_analysis", 40),
    ("proposal", 60),
    ("negotiation", 80),
)
"""The open stages of the sales context's default pipeline, for a tenant that never
configured its own (the sales context's ``DEFAULT_PIPELINE``; analytics does not import it)."""
ACTIVE_DAYS = 180
"""A customer is active at a date if they placed an order (not cancelled or returned) in the
180 days up to it, and lost in the month in which 180 days passed since their last order."""
RATE = Decimal("0.0001")
TWO = Decimal("0.01")
PAGE = 1000
READERS = frozenset({Role.ANALYST, Role.MANAGER, Role.ADMIN})
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"

Row = dict[str, Any]


# -- small pure helpers --------------------------------------------------------------------------


def rate(numerator: int | Decimal, denominator: int | Decimal) -> str | None:
    if not denominator:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(RATE, ROUND_HALF_EVEN))


def mean(values: Sequence[Decimal], places: Decimal = TWO) -> str | None:
    if not values:
        return None
    return str((sum(values, Decimal(0)) / len(values)).quantize(places, ROUND_HALF_EVEN))


def seconds_between(start: str, end: str) -> Decimal:
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 10**6


def money(amount: Decimal, currency: str) -> dict[str, str]:
    quantum = Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))
    return {"amount": format(amount.quantize(quantum, ROUND_HALF_EVEN), "f"), "currency": currency}


def day_of(iso: str) -> date:
    return date.fromisoformat(iso[:10])


def within(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def month_of(day: date) -> str:
    return day.strftime("%Y-%m")


def month_bounds(month: str) -> tuple[date, date]:
    first = date.fromisoformat(month + "-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def months_between(first: str, last: str) -> list[str]:
    months: list[str] = []
    current = first
    while current <= last:
        months.append(current)
        current = month_of(month_bounds(current)[1] + timedelta(days=1))
    return months


def period_bounds(period: str) -> tuple[date, date]:
    """A target's period, ``2026-04`` or ``2026-Q2``, as its first and last day."""
    year, _, part = period.partition("-")
    if part.startswith("Q"):
        quarter = int(part[1])
        first, _ = month_bounds(f"{year}-{3 * quarter - 2:02d}")
        _, last = month_bounds(f"{year}-{3 * quarter:02d}")
        return first, last
    return month_bounds(period)


def flatten(row: Row, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


def csv_response(rows: Sequence[Row], columns: Sequence[str], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(flatten(row))
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def answer(
    report: dict[str, Any], columns: dict[str, Sequence[str]], name: str, fmt: str, table: str
) -> dict[str, Any] | Response:
    if fmt == "json":
        return report
    if table not in columns:
        raise InvalidCommand("table", f"must be one of {', '.join(columns)}")
    return csv_response(report[table], columns[table], f"{name}-{table}")


# -- reading -------------------------------------------------------------------------------------


async def load(store: ReadStore, collection: str, tenant: str) -> list[Document]:
    docs: list[Document] = []
    offset = 0
    while True:
        page = await store.find(
            collection, StoreQuery({"tenant": tenant}, (("id", 1),), limit=PAGE, offset=offset)
        )
        docs.extend({k: v for k, v in d.items() if not k.startswith("_")} for d in page.items)
        offset += PAGE
        if offset >= page.total:
            return docs


class Consistent:
    """Read-your-writes over several projections: waits for ``min_position`` in each."""

    def __init__(self, runtime: Runtime, *projections: Projection) -> None:
        self.runtime = runtime
        self.projections = projections

    async def __call__(
        self,
        response: Response,
        min_position: int | None = Query(
            None, ge=0, description="Wait until the read models have applied this position"
        ),
    ) -> int:
        results = await asyncio.gather(
            *(
                wait_until(
                    self.runtime.read_store,
                    p.name,
                    min_position or 0,
                    self.runtime.read_wait_seconds,
                    store=self.runtime.store,
                    categories=p.categories,
                )
                for p in self.projections
            )
        )
        reached = min(position for position, _ in results)
        response.headers["X-CRM-Read-Position"] = str(reached)
        if not all(caught_up for _, caught_up in results):
            response.headers["X-CRM-Stale"] = "true"
        return reached


def funnel_scope(
    actor: Actor, owner_id: str | None, team_id: str | None
) -> tuple[str | None, str | None]:
    """The owner and team filters an actor's funnel is bound to."""
    if actor.role in (Role.ANALYST, Role.ADMIN):
        return owner_id, team_id
    if actor.role is Role.MANAGER:
        if actor.team is None:
            return owner_id, team_id
        if team_id not in (None, actor.team):
            raise Forbidden(f"a manager of team {actor.team} sees that team's funnel only")
        return owner_id, actor.team
    if actor.role is Role.SALES_REP:
        if owner_id not in (None, actor.id):
            raise Forbidden("a sales rep sees their own funnel only")
        return actor.id, team_id
    raise Forbidden(f"role {actor.role.value} may not read the sales funnel")


def reader(actor: Actor) -> None:
    if actor.role not in READERS:
        raise Forbidden(f"role {actor.role.value} may not read reports")


# -- the funnel ----------------------------------------------------------------------------------

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
) -> list[tuple[str, int | None]]:
    if pipeline is not None:
        order: list[tuple[str, int | None]] = [
            (s["name"], s["probability"]) for s in pipeline["stages"] if s["outcome"] == "open"
        ]
    else:
        order = list(DEFAULT_STAGES)
    known = {name for name, _ in order}
    for o in opportunities:
        for visit in o["stages"]:
            if visit["stage"] not in known:
                known.add(visit["stage"])
                order.append((visit["stage"], None))
    return order


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
    order = _stage_order(pipeline, cohort)
    rank = {name: i for i, (name, _) in enumerate(order)}
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


# -- customer reports ----------------------------------------------------------------------------

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


# -- revenue, campaigns, service -----------------------------------------------------------------

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


def revenue_report(docs: list[Document], first: str | None, last: str | None) -> dict[str, Any]:
    rows = []
    for doc in sorted(docs, key=lambda d: d["month"]):
        if (first is not None and doc["month"] < first) or (
            last is not None and doc["month"] > last
        ):
            continue
        for currency, t in sorted(doc["currencies"].items()):
            booked, cancelled, returned, collected = (Decimal(t[name]) for name in r.MONEY_FIELDS)
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


def service_report(docs: list[Document], first: str | None, last: str | None) -> dict[str, Any]:
    by_month: dict[str, list[Document]] = defaultdict(list)
    for t in docs:
        if "opened_at" in t:
            by_month[t["opened_at"][:7]].append(t)
    rows = []
    for month in sorted(by_month):
        if (first is not None and month < first) or (last is not None and month > last):
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


# -- the router ----------------------------------------------------------------------------------


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter(prefix="/analytics", tags=["analytics reports"])
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    funnel_read = Consistent(runtime, FunnelProjection())
    reports_read = Consistent(runtime, ReportsProjection())
    both_read = Consistent(runtime, FunnelProjection(), ReportsProjection())
    Format = Annotated[str, Query(pattern="^(json|csv)$", description="json or csv")]  # noqa: N806
    Month = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM")]  # noqa: N806
    store = runtime.read_store

    def today() -> date:
        return runtime.clock.now().date()

    @api.get("/funnel", response_model=None)
    async def sales_funnel(
        actor: Who,
        _: Annotated[int, Depends(funnel_read)],
        from_: Annotated[date | None, Query(alias="from")] = None,
        to: date | None = None,
        owner_id: str | None = None,
        team_id: str | None = None,
        campaign_id: str | None = None,
        source: Annotated[str | None, Query(description="the leads' source")] = None,
        format: Format = "json",
        table: str = "stages",
    ) -> dict[str, Any] | Response:
        """The sales funnel of the opportunities opened (and leads captured) between ``from``
        and ``to`` (inclusive dates), filtered by owner, team, campaign and lead source (an
        opportunity's source is its lead's).

        Tables: ``stages`` (per open stage in pipeline order: ``entered`` = opportunities that
        ever entered it, ``moved_on`` = those that left it forward or won from it, ``lost`` =
        lost while in it, ``open_now``, ``conversion_rate`` = moved_on / entered,
        ``average_days`` = mean length of the finished visits of the stage); ``conversion``
        (leads captured -> converted -> their opportunity won, and ``win_rate`` = won / (won +
        lost) of the opportunities); ``lost_reasons`` (per stage, most frequent first);
        ``forecast`` (open opportunities by expected close month within the period and
        currency: ``pipeline`` = sum of amounts, ``weighted`` = sum of amount x stage
        probability); ``attainment`` (targets whose period meets the period: ``won`` = amounts
        won by the rep or team with a close date in the target's period, ``collected`` =
        payments received on their invoices then; all their sales, whatever the campaign or
        source filters)."""
        owner_id, team_id = funnel_scope(actor, owner_id, team_id)
        if from_ is not None and to is not None and from_ > to:
            raise InvalidCommand("from", "must not be after to")
        opportunities, leads, targets, invoices = await asyncio.gather(
            load(store, f.OPPORTUNITIES, actor.tenant),
            load(store, f.LEADS, actor.tenant),
            load(store, f.TARGETS, actor.tenant),
            load(store, f.INVOICES, actor.tenant),
        )
        report = funnel_report(
            opportunities=opportunities,
            leads=leads,
            targets=targets,
            invoices=invoices,
            pipeline=await store.get(f.PIPELINES, actor.tenant),
            start=from_,
            end=to,
            owner_id=owner_id,
            team_id=team_id,
            campaign_id=campaign_id,
            source=source,
        )
        return answer(report, FUNNEL_COLUMNS, "funnel", format, table)

    @api.get("/reports/customers", response_model=None)
    async def customers(
        actor: Who,
        _: Annotated[int, Depends(reports_read)],
        from_: Annotated[str | None, Query(alias="from", pattern=MONTH)] = None,
        to: Month = None,
        format: Format = "json",
        table: str = "periods",
    ) -> dict[str, Any] | Response:
        """Customers per month (``from`` default: the first order's month; ``to`` default:
        this month), counted on orders that still stand: ``new`` = first order in the month,
        ``active`` = ordered in the 180 days up to the month's end, ``lost`` = the month in
        which 180 days passed since their last order, ``total`` = ordered by the month's end;
        ``repeat_purchase_rate`` = share of the total with two or more orders."""
        reader(actor)
        docs = await load(store, r.CUSTOMERS, actor.tenant)
        report = customers_report(docs, from_, to or month_of(today()))
        return answer(report, CUSTOMER_COLUMNS, "customers", format, table)

    @api.get("/reports/rfm", response_model=None)
    async def rfm(
        actor: Who,
        _: Annotated[int, Depends(reports_read)],
        as_of: date | None = None,
        currency: Annotated[str, Query(pattern=r"^[A-Z]{3}$")] = "EUR",
        format: Format = "json",
        table: str = "customers",
    ) -> dict[str, Any] | Response:
        """RFM of the customers with orders in ``currency`` up to ``as_of`` (default today).
        Recency = days since the last order, frequency = orders, monetary = their sum. Each
        is scored 1-5 by quintile: ``ceil(5 x share of customers no better)``, fewer days being
        better for recency; equal values score alike. Segments by (R, F): champions R≥4 F≥4,
        loyal R≥3 F≥3, promising R≥4 (F≤2), needs_attention R=3 (F≤2), at_risk R≤2 F≥3,
        hibernating R≤2 F≤2. Tables: ``customers``, ``segments``."""
        reader(actor)
        docs = await load(store, r.CUSTOMERS, actor.tenant)
        report = rfm_report(docs, as_of or today(), currency)
        return answer(report, RFM_COLUMNS, "rfm", format, table)

    @api.get("/reports/revenue", response_model=None)
    async def revenue(
        actor: Who,
        _: Annotated[int, Depends(reports_read)],
        from_: Annotated[str | None, Query(alias="from", pattern=MONTH)] = None,
        to: Month = None,
        format: Format = "json",
        table: str = "months",
    ) -> dict[str, Any] | Response:
        """Per month and currency: orders placed and ``booked`` (their totals), ``cancelled``
        and ``returned`` in the month, ``revenue`` = booked - cancelled - returned, and the
        ``payments`` received in the month with what they ``collected``. Amounts are decimal
        strings in the row's currency."""
        reader(actor)
        docs = await load(store, r.REVENUE, actor.tenant)
        return answer(revenue_report(docs, from_, to), REVENUE_COLUMNS, "revenue", format, table)

    @api.get("/reports/campaigns", response_model=None)
    async def campaigns(
        actor: Who,
        _: Annotated[int, Depends(both_read)],
        format: Format = "json",
        table: str = "campaigns",
    ) -> dict[str, Any] | Response:
        """Per campaign: leads captured for it, opportunities opened for it and won, orders
        attributed to it and their ``revenue`` in the budget's currency (less cancellations
        and returns), ``return_on_budget`` = revenue / budget."""
        reader(actor)
        docs, leads, opportunities = await asyncio.gather(
            load(store, r.CAMPAIGNS, actor.tenant),
            load(store, f.LEADS, actor.tenant),
            load(store, f.OPPORTUNITIES, actor.tenant),
        )
        report = campaigns_report(docs, leads, opportunities)
        return answer(report, CAMPAIGN_COLUMNS, "campaigns", format, table)

    @api.get("/reports/service", response_model=None)
    async def service(
        actor: Who,
        _: Annotated[int, Depends(reports_read)],
        from_: Annotated[str | None, Query(alias="from", pattern=MONTH)] = None,
        to: Month = None,
        format: Format = "json",
        table: str = "months",
    ) -> dict[str, Any] | Response:
        """Service KPIs per month of opening: tickets and complaints; first responses and
        their mean wall-clock minutes after opening; tickets resolved and the mean hours to
        their first resolution; ``sla_breached`` = tickets with any breached target,
        ``sla_met`` = tickets resolved without one, ``sla_compliance`` = met / (met +
        breached); satisfaction scores (1-5) and their mean."""
        reader(actor)
        docs = await load(store, r.TICKETS, actor.tenant)
        return answer(service_report(docs, from_, to), SERVICE_COLUMNS, "service", format, table)

    return api
