"""The sales funnel and the analysts' reports: ``/analytics/funnel`` and ``/analytics/reports/*``.

Routes only: each turns the request into a call of :class:`ReportQueries` and the report into
JSON or one table as CSV. Figures are counted at query time over the ``funnel`` and ``reports``
read models (the engines are in :mod:`crm.analytics.application.reports`), so periods and
windows are relative to the request, never to when an event was projected. Conventions shared
by every report:

- Rates are decimal strings with 4 places (``"0.5000"`` = 50 %), null when the denominator is
  0; durations are decimal strings (days and hours with 2 places, minutes with 2 places);
  money is ``{"amount": "<decimal string>", "currency": "EUR"}``, summed with Decimal and
  rounded (half to even) to the currency's minor unit only where a product made it longer.
- Each report is a JSON object whose lists are its tables. ``format=csv`` answers one table
  (``table=``, default the first named in the route's description) as ``text/csv``: a header
  row of the table's columns, one row per item, nested objects flattened to ``field.sub``
  (``revenue.amount``, ``revenue.currency``), null as an empty cell.
- Access: analysts, managers and admins read every report of their tenant; on the funnel a
  manager with a team sees their team's records only, and a sales rep their own; the
  service report is also the agents', of their own support group (a team manager's: their
  team's); any other role gets 403.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from crm.analytics.api.csv import report_response
from crm.analytics.application.periods import MONTH, month_of
from crm.analytics.application.report_queries import FunnelFilter, ReportQueries
from crm.analytics.application.reports.campaigns import CAMPAIGN_COLUMNS
from crm.analytics.application.reports.customers import CUSTOMER_COLUMNS
from crm.analytics.application.reports.funnel import FUNNEL_COLUMNS
from crm.analytics.application.reports.revenue import REVENUE_COLUMNS
from crm.analytics.application.reports.rfm import RFM_COLUMNS
from crm.analytics.application.reports.service import SERVICE_COLUMNS
from crm.analytics.projections.funnel_models import FunnelProjection
from crm.analytics.projections.report_models import ReportsProjection
from crm.kernel.auth import Actor
from crm.kernel.http import Authenticator, ReadConsistency
from crm.kernel.runtime import Runtime


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter(prefix="/analytics", tags=["analytics reports"])
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    funnel_read = ReadConsistency(runtime, FunnelProjection())
    reports_read = ReadConsistency(runtime, ReportsProjection())
    both_read = ReadConsistency(runtime, FunnelProjection(), ReportsProjection())
    Format = Annotated[str, Query(pattern="^(json|csv)$", description="json or csv")]  # noqa: N806
    Month = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM")]  # noqa: N806
    queries = ReportQueries(runtime.read_store)

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
        ``average_days`` = mean length of the finished visits of the stage; only the stages
        the pipeline has now); ``removed_stages`` (the same figures for stages opportunities
        visited that a later ``PUT /pipeline`` removed: their history, never listed as
        stages); ``conversion``
        (leads captured -> converted -> their opportunity won, and ``win_rate`` = won / (won +
        lost) of the opportunities); ``lost_reasons`` (per stage, most frequent first);
        ``forecast`` (open opportunities by expected close month within the period and
        currency: ``pipeline`` = sum of amounts, ``weighted`` = sum of amount x stage
        probability); ``attainment`` (targets whose period meets the period: ``won`` = amounts
        won by the rep or team with a close date in the target's period, ``collected`` =
        payments received on their invoices then; all their sales, whatever the campaign or
        source filters)."""
        wanted = FunnelFilter(from_, to, owner_id, team_id, campaign_id, source)
        report = await queries.funnel(actor, wanted)
        return report_response(report, FUNNEL_COLUMNS, "funnel", format, table)

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
        report = await queries.customers(actor, from_, to or month_of(today()))
        return report_response(report, CUSTOMER_COLUMNS, "customers", format, table)

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
        report = await queries.rfm(actor, as_of or today(), currency)
        return report_response(report, RFM_COLUMNS, "rfm", format, table)

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
        report = await queries.revenue(actor, from_, to)
        return report_response(report, REVENUE_COLUMNS, "revenue", format, table)

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
        report = await queries.campaigns(actor)
        return report_response(report, CAMPAIGN_COLUMNS, "campaigns", format, table)

    @api.get("/reports/service", response_model=None)
    async def service(
        actor: Who,
        _: Annotated[int, Depends(reports_read)],
        from_: Annotated[str | None, Query(alias="from", pattern=MONTH)] = None,
        to: Month = None,
        group_id: str | None = None,
        format: Format = "json",
        table: str = "months",
    ) -> dict[str, Any] | Response:
        """Service KPIs per month of opening (of one support group's tickets with
        ``group_id``; an agent's are always their own group's, a team manager's their
        team's): tickets and complaints; first responses and
        their mean wall-clock minutes after opening; tickets resolved and the mean hours to
        their first resolution; ``sla_breached`` = tickets with any breached target,
        ``sla_met`` = tickets resolved without one, ``sla_compliance`` = met / (met +
        breached); satisfaction scores (1-5) and their mean."""
        report = await queries.service(actor, from_, to, group_id)
        return report_response(report, SERVICE_COLUMNS, "service", format, table)

    return api
