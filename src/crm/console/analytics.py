"""The analytics pages: churn warnings with their reasons in plain words, the sales funnel
(stage conversion, lost reasons, forecast, target attainment), the revenue, customers and
service reports, and customer value by tier (high value and high risk first).

Every figure is the analytics context's own query (:class:`CustomerQueries`,
:class:`ReportQueries`, :class:`ValueQueries`) as the signed-in user, so its rules hold as
over the API: a rep reads their own customers' warnings and their own funnel, an agent only
their group's service report, an analyst every report with the customers' names redacted.

Charts are server-rendered SVG (:mod:`crm.console.charts`) beside the table of the same
numbers. Each table downloads as CSV from the console itself (``.../csv``, the page's own
filters): the API's CSV answers a bearer token, which a browser's session does not carry, so
the console route runs the same query and writes it with the API's own CSV writer and
columns; the rows, and their redaction, are the ones the API gives the same user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from crm.analytics.api.consistency import AssessedConsistency
from crm.analytics.api.csv import cells, csv_response
from crm.analytics.application.customer_view import WARNING_COLUMNS
from crm.analytics.application.periods import MONTH
from crm.analytics.application.policy import POLICY, AnalyticsAction
from crm.analytics.application.report_queries import FunnelFilter, ReportQueries
from crm.analytics.application.reports.customers import CUSTOMER_COLUMNS
from crm.analytics.application.reports.funnel import FUNNEL_COLUMNS
from crm.analytics.application.reports.revenue import REVENUE_COLUMNS
from crm.analytics.application.reports.service import SERVICE_COLUMNS
from crm.analytics.application.value_queries import VALUE_COLUMNS, ValueFilter, ValueQueries
from crm.analytics.projections.funnel_models import FunnelProjection
from crm.analytics.projections.report_models import ReportsProjection
from crm.console.charts import Bar, Series, bar_chart, funnel_chart, line_chart, number
from crm.console.i18n import Translator
from crm.console.pages import PREFIX, Console, guarded
from crm.kernel.access import Principal
from crm.kernel.auth import Actor
from crm.kernel.errors import InvalidCommand, RuleViolated
from crm.kernel.http import ReadConsistency

Month = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM")]
Level = Literal["any", "medium", "high"]
Tier = Literal["any", "high", "medium", "low"]
Risk = Literal["any", "low", "medium", "high"]
ANALYTICS_PAGES = ("churn", "value", "funnel", "revenue", "customers", "service")
"""The analytics pages (each has a title ``analytics.<page>`` and a line ``.about``)."""
CHURN_PAGE = 50
VALUE_PAGE = 200
"""The value page's customers by CLV (its CSV: the same page)."""

REASON_CODES = (
    "purchase_recency",
    "order_frequency",
    "spend",
    "complaints",
    "sla_breaches",
    "satisfaction",
    "no_contact",
    "overdue_invoices",
    "lost_opportunities",
    "open_tickets",
)
"""The codes :func:`crm.analytics.churn.assessment.assess` gives its reasons; each has a text
in the catalogue (``reason.<code>``); one not listed shows the assessment's own words."""

RATE_COLUMNS = frozenset(
    {
        "conversion_rate",
        "lead_to_opportunity",
        "opportunity_to_won",
        "lead_to_won",
        "win_rate",
        "won_attainment",
        "collected_attainment",
        "repeat_purchase_rate",
        "sla_compliance",
    }
)


@dataclass(frozen=True, slots=True)
class Table:
    """One table of a report as the page shows it, and where its CSV is."""

    name: str
    caption: str
    headers: list[str]
    rows: list[list[str]]
    csv: str


def reason_text(t: Translator, reason: Mapping[str, Any]) -> str:
    """A churn reason in the reader's words: its code's text (the assessment's own English
    text when the code is not one the catalogue knows)."""
    code = str(reason.get("code", ""))
    if code in REASON_CODES:
        return t(f"reason.{code}")
    return str(reason.get("text", ""))


def percent(t: Translator, rate: object) -> str:
    """A report's rate (``"0.5000"``) as a percentage in the reader's locale (``50 %``)."""
    if rate is None:
        return t("none")
    try:
        value = Decimal(str(rate)) * 100
    except InvalidOperation:
        return str(rate)
    return t.percent(float(value.quantize(Decimal("0.1"))))


def shown(t: Translator, column: str, row: Mapping[str, str]) -> str:
    """A CSV cell (:func:`cells`) as the page shows it: rates as percentages, amounts as
    money in the row's currency, numbers formatted for the locale, an empty cell as "none"."""
    value = row.get(column, "")
    if value == "":
        return t("none")
    if column in RATE_COLUMNS:
        return percent(t, value)
    if column.endswith(".amount"):
        return t.money(value, row.get(column.removesuffix(".amount") + ".currency") or None)
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        return t.stage(value) if column == "stage" else value
    return t.number(int(parsed) if parsed == parsed.to_integral_value() else float(parsed))


def table(
    t: Translator,
    name: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    csv: str,
) -> Table:
    flat = [cells(r) for r in rows]
    return Table(
        name,
        t(f"table.{name}"),
        [t(f"col.{c}") for c in columns],
        [[shown(t, c, f) for c in columns] for f in flat],
        csv,
    )


def may(actor: Actor, action: AnalyticsAction) -> bool:
    return POLICY.may(Principal.of(actor), action)


def reports_of(actor: Actor) -> list[str]:
    """The analytics pages ``actor`` may open, in the index's order."""
    pages: list[str] = []
    if may(actor, AnalyticsAction.CUSTOMERS):
        pages += ["churn", "value"]
    if may(actor, AnalyticsAction.FUNNEL):
        pages.append("funnel")
    if may(actor, AnalyticsAction.REPORTS):
        pages += ["revenue", "customers"]
    if may(actor, AnalyticsAction.SERVICE_REPORT):
        pages.append("service")
    return pages


def _query(**values: object) -> dict[str, str]:
    return {k: str(v) for k, v in values.items() if v not in (None, "", "any")}


def _csv_link(name: str, query: Mapping[str, str], table_name: str | None = None) -> str:
    wanted = dict(query)
    if table_name is not None:
        wanted["table"] = table_name
    tail = f"?{urlencode(wanted)}" if wanted else ""
    return f"{PREFIX}/analytics/{name}/csv{tail}"


# -- the charts of each report (pure) --------------------------------------------------------


def funnel_charts(t: Translator, report: Mapping[str, Any]) -> list[Markup]:
    stages = report["stages"]
    entered = [Bar(t.stage(s["stage"]), s["entered"], t.number(s["entered"])) for s in stages]
    rates = [
        Bar(t.stage(s["stage"]), number(s["conversion_rate"]), percent(t, s["conversion_rate"]))
        for s in stages
    ]
    lost = [
        Bar(
            f"{r['reason'] or t('none')} · {t.stage(r['stage'])}",
            r["count"],
            t.number(r["count"]),
        )
        for r in report["lost_reasons"]
    ]
    forecast = [
        Bar(
            f"{f['month']} {f['weighted']['currency']}",
            number(f["weighted"]["amount"]),
            t.money(f["weighted"]),
        )
        for f in report["forecast"]
    ]
    attainment = [
        Bar(
            f"{a['owner_id']} {a['period']}",
            number(a["won_attainment"]),
            percent(t, a["won_attainment"]),
        )
        for a in report["attainment"]
    ]
    return [
        funnel_chart("chart-entered", t("chart.entered"), t("chart.entered.desc"), entered),
        bar_chart("chart-conversion", t("chart.conversion"), t("chart.conversion.desc"), rates),
        bar_chart("chart-lost", t("chart.lost"), t("chart.lost.desc"), lost),
        bar_chart("chart-forecast", t("chart.forecast"), t("chart.forecast.desc"), forecast),
        bar_chart(
            "chart-attainment", t("chart.attainment"), t("chart.attainment.desc"), attainment
        ),
    ]


def revenue_line(t: Translator, months: Sequence[Mapping[str, Any]]) -> Markup:
    """Revenue by month as a line per currency (the months in the report's order)."""
    by_currency: dict[str, list[Bar]] = {}
    for m in months:
        point = Bar(m["month"], number(m["revenue"]["amount"]), t.money(m["revenue"]))
        by_currency.setdefault(m["currency"], []).append(point)
    largest = max(months, key=lambda m: number(m["revenue"]["amount"]), default=None)
    return line_chart(
        "chart-revenue",
        t("chart.revenue"),
        t("chart.revenue.desc"),
        [Series(currency, points) for currency, points in by_currency.items()],
        top_shown=t.money(largest["revenue"]) if largest else "",
    )


def revenue_charts(t: Translator, report: Mapping[str, Any]) -> list[Markup]:
    months = report["months"]
    collected = [
        Bar(
            f"{m['month']} {m['currency']}",
            number(m["collected"]["amount"]),
            t.money(m["collected"]),
        )
        for m in months
    ]
    return [
        revenue_line(t, months),
        bar_chart("chart-collected", t("chart.collected"), t("chart.collected.desc"), collected),
    ]


def customers_charts(t: Translator, report: Mapping[str, Any]) -> list[Markup]:
    periods = report["periods"]
    active = [Bar(p["month"], p["active"], t.number(p["active"])) for p in periods]
    new = [Bar(p["month"], p["new"], t.number(p["new"])) for p in periods]
    return [
        bar_chart("chart-active", t("chart.active"), t("chart.active.desc"), active),
        bar_chart("chart-new", t("chart.new"), t("chart.new.desc"), new),
    ]


def service_charts(t: Translator, report: Mapping[str, Any]) -> list[Markup]:
    months = report["months"]
    tickets = [Bar(m["month"], m["tickets"], t.number(m["tickets"])) for m in months]
    compliance = [
        Bar(m["month"], number(m["sla_compliance"]), percent(t, m["sla_compliance"]))
        for m in months
    ]
    return [
        bar_chart("chart-tickets", t("chart.tickets"), t("chart.tickets.desc"), tickets),
        bar_chart(
            "chart-compliance", t("chart.compliance"), t("chart.compliance.desc"), compliance
        ),
    ]


def high_value_first(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """High value and high risk first (the list to act on), then by CLV as the query gave."""
    first = [r for r in rows if r["tier"] == "high" and r["risk"] == "high"]
    return first + [r for r in rows if not (r["tier"] == "high" and r["risk"] == "high")]


def analytics_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    page = guarded(console)
    reports = ReportQueries(runtime.read_store)
    values = ValueQueries(runtime)
    assessed = Depends(AssessedConsistency(runtime))
    funnel_read = Depends(ReadConsistency(runtime, FunnelProjection()))
    reports_read = Depends(ReadConsistency(runtime, ReportsProjection()))

    def today() -> date:
        return runtime.clock.now().date()

    @api.get(f"{PREFIX}/analytics")
    @page
    async def index(request: Request, min_position: int | None = None) -> Response:
        visit, actor = await console.signed_in(request)
        return console.render(visit, request, "analytics.html", pages=reports_of(actor))

    # -- churn warnings ----------------------------------------------------------------------

    @api.get(f"{PREFIX}/analytics/churn")
    @page
    async def churn(
        request: Request,
        level: Level = "any",
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        min_position: int | None = None,
        _: int = assessed,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        wanted = None if level == "any" else level
        found = await console.analytics.churn_warnings(
            actor, wanted, None, limit=CHURN_PAGE, offset=(page - 1) * CHURN_PAGE
        )
        query = _query(level=level)
        pages = max(1, -(-found.total // CHURN_PAGE))
        return console.render(
            visit,
            request,
            "analytics_churn.html",
            items=found.items,
            total=found.total,
            level=level,
            page=page,
            pages=pages,
            link=lambda p: f"{PREFIX}/analytics/churn?{urlencode({**query, 'page': p})}",
            reason=lambda r: reason_text(visit.t, r),
            csv=_csv_link("churn", query),
            names=await console.directory.names(actor.tenant),
        )

    @api.get(f"{PREFIX}/analytics/churn/csv")
    @page
    async def churn_csv(request: Request, level: Level = "any", _: int = assessed) -> Response:
        _visit, actor = await console.signed_in(request)
        wanted = None if level == "any" else level
        rows: list[dict[str, Any]] = []
        while True:  # every warning, a page at a time (the API's CSV gives them all too)
            found = await console.analytics.churn_warnings(
                actor, wanted, None, limit=500, offset=len(rows)
            )
            rows += [{**i, "reasons": [r["text"] for r in i["reasons"]]} for i in found.items]
            if not found.items or len(rows) >= found.total:
                break
        return csv_response(WARNING_COLUMNS, rows, "churn-warnings")

    # -- the funnel --------------------------------------------------------------------------

    FUNNEL_TABLES = ("stages", "conversion", "lost_reasons", "forecast", "attainment")  # noqa: N806

    @api.get(f"{PREFIX}/analytics/funnel")
    @page
    async def funnel(
        request: Request,
        from_: Annotated[date | None, Query(alias="from")] = None,
        to: date | None = None,
        min_position: int | None = None,
        _: int = funnel_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        t = visit.t
        report = await reports.funnel(actor, FunnelFilter(from_, to))
        query = _query(**{"from": from_, "to": to})
        tables = [
            table(t, n, FUNNEL_COLUMNS[n], report[n], _csv_link("funnel", query, n))
            for n in FUNNEL_TABLES
        ]
        return console.render(
            visit,
            request,
            "analytics_report.html",
            report="funnel",
            months=False,
            start=query.get("from", ""),
            end=query.get("to", ""),
            charts=funnel_charts(t, report),
            tables=tables,
        )

    @api.get(f"{PREFIX}/analytics/funnel/csv")
    @page
    async def funnel_csv(
        request: Request,
        from_: Annotated[date | None, Query(alias="from")] = None,
        to: date | None = None,
        table: str = "stages",
        _: int = funnel_read,
    ) -> Response:
        _visit, actor = await console.signed_in(request)
        if table not in FUNNEL_COLUMNS:
            raise InvalidCommand("table", f"must be one of {', '.join(FUNNEL_COLUMNS)}")
        report = await reports.funnel(actor, FunnelFilter(from_, to))
        return csv_response(FUNNEL_COLUMNS[table], report[table], f"funnel-{table}")

    # -- revenue, customers, service ---------------------------------------------------------

    async def monthly(
        actor: Actor, name: str, start: str | None, end: str | None
    ) -> tuple[dict[str, Any], Mapping[str, Sequence[str]]]:
        if start is not None and end is not None and start > end:
            raise InvalidCommand("from", "must not be after to")
        if name == "revenue":
            return await reports.revenue(actor, start, end), REVENUE_COLUMNS
        if name == "customers":
            last = end or f"{today():%Y-%m}"
            return await reports.customers(actor, start, last), CUSTOMER_COLUMNS
        return await reports.service(actor, start, end), SERVICE_COLUMNS

    charts_of = {
        "revenue": revenue_charts,
        "customers": customers_charts,
        "service": service_charts,
    }

    def monthly_page(name: str) -> None:
        @api.get(f"{PREFIX}/analytics/{name}", name=f"console_{name}_report")
        @page
        async def report_page(
            request: Request,
            from_: Annotated[str | None, Query(alias="from", pattern=MONTH)] = None,
            to: Month = None,
            min_position: int | None = None,
            _: int = reports_read,
        ) -> Response:
            visit, actor = await console.signed_in(request)
            t = visit.t
            report, columns = await monthly(actor, name, from_, to)
            query = _query(**{"from": from_, "to": to})
            tables = [
                table(t, n, columns[n], report[n], _csv_link(name, query, n)) for n in columns
            ]
            return console.render(
                visit,
                request,
                "analytics_report.html",
                report=name,
                months=True,
                start=from_ or "",
                end=to or "",
                charts=charts_of[name](t, report),
                tables=tables,
            )

        @api.get(f"{PREFIX}/analytics/{name}/csv", name=f"console_{name}_csv")
        @page
        async def report_csv(
            request: Request,
            from_: Annotated[str | None, Query(alias="from", pattern=MONTH)] = None,
            to: Month = None,
            table: str | None = None,
            _: int = reports_read,
        ) -> Response:
            _visit, actor = await console.signed_in(request)
            report, columns = await monthly(actor, name, from_, to)
            chosen = table or next(iter(columns))
            if chosen not in columns:
                raise InvalidCommand("table", f"must be one of {', '.join(columns)}")
            return csv_response(columns[chosen], report[chosen], f"{name}-{chosen}")

    for name in charts_of:
        monthly_page(name)

    # -- customer value ----------------------------------------------------------------------

    async def valued(actor: Actor, tier: Tier, risk: Risk) -> dict[str, Any] | None:
        """The value page's rows, high value and high risk first; None: too little history
        to fit the models yet."""
        wanted = ValueFilter(
            None if tier == "any" else tier, None if risk == "any" else risk, None, None
        )
        try:
            found = await values.value(
                actor, wanted, limit=VALUE_PAGE, offset=0, now=runtime.clock.now()
            )
        except RuleViolated as e:
            if e.code == "value_model_unavailable":
                return None
            raise
        return {**found, "items": high_value_first(found["items"])}

    @api.get(f"{PREFIX}/analytics/value")
    @page
    async def value(
        request: Request,
        tier: Tier = "any",
        risk: Risk = "any",
        min_position: int | None = None,
        _: int = assessed,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        found = await valued(actor, tier, risk)
        query = _query(tier=tier, risk=risk)
        return console.render(
            visit,
            request,
            "analytics_value.html",
            found=found,
            tier=tier,
            risk=risk,
            csv=_csv_link("value", query),
            names=await console.directory.names(actor.tenant),
        )

    @api.get(f"{PREFIX}/analytics/value/csv")
    @page
    async def value_csv(
        request: Request, tier: Tier = "any", risk: Risk = "any", _: int = assessed
    ) -> Response:
        _visit, actor = await console.signed_in(request)
        found = await valued(actor, tier, risk)
        return csv_response(VALUE_COLUMNS, [] if found is None else found["items"], "value")

    return api
