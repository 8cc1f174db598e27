"""The analyst API over the 360° view: one customer, the customer list, churn warnings and the
churn analysis report. JSON by default; ``?format=csv`` gives the same rows as CSV (header row
= the columns documented on each route).

Routes only: the reads are :class:`CustomerQueries`; who sees what
(:mod:`crm.analytics.application.policy`):

* ``analyst``, ``manager``, ``admin``: every customer of their tenant. Analysts work on
  behaviour, not on people: the personal fields (``name``, ``email``) read as
  :data:`~crm.analytics.application.policy.REDACTED`.
* ``sales_rep``: only the customers they own (others answer 404, as if absent); not the
  churn report, which is about the whole customer base (403).
* ``agent``: none of it (403). Agents work tickets; the ticket views give them the customer
  context they need, and the sales side of a customer is not theirs to read.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import AwareDatetime

from crm.analytics.api.consistency import AssessedConsistency
from crm.analytics.api.csv import csv_response
from crm.analytics.application.customer_queries import SORTS, CustomerFilter, CustomerQueries
from crm.analytics.application.customer_view import (
    CUSTOMER_COLUMNS,
    WARNING_COLUMNS,
    Customer360View,
    CustomerRow,
    WarningRow,
)
from crm.analytics.application.periods import MONTH
from crm.analytics.application.reports.churn import LOSS_COLUMNS
from crm.analytics.projections.customer_360_models import CUSTOMERS, Customer360Projection
from crm.analytics.projections.retention_models import RETENTION_PROJECTION
from crm.events.money import MAX_AMOUNT
from crm.kernel.as_of import about, replay
from crm.kernel.auth import Actor
from crm.kernel.http import Authenticator, PageOf
from crm.kernel.http.consistency import ReadConsistency
from crm.kernel.http.export import EXPORT_RESPONSES, ListFormat, export_response
from crm.kernel.http.params import Offset
from crm.kernel.read_store import ReadStore
from crm.kernel.runtime import Runtime

Format = Literal["json", "csv"]


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter(prefix="/analytics", tags=["analytics"])
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(AssessedConsistency(runtime))
    warnings_consistent = Depends(ReadConsistency(runtime, RETENTION_PROJECTION))
    queries = CustomerQueries(runtime.read_store)

    async def queries_as_of(
        as_of: datetime | None, customer_id: str | None = None
    ) -> CustomerQueries:
        """The live queries, or (``as_of`` given) the same queries over the 360° read model
        replayed from the events known by then (:mod:`crm.kernel.as_of`); for one customer,
        only their document is built, and those of the customers merged into them by then
        (a second replay, for a survivor only: which they are is known from the first)."""
        if as_of is None:
            return queries
        if customer_id is None:
            return CustomerQueries(
                await replay(Customer360Projection(), runtime.store, runtime.codec, as_of)
            )
        past = await replay_of(as_of, {customer_id})
        doc = await past.get(CUSTOMERS, customer_id)
        if doc is not None and (absorbed := doc.get("absorbed")):
            past = await replay_of(as_of, {customer_id, *absorbed})
        return CustomerQueries(past)

    async def replay_of(as_of: datetime, ids: set[str]) -> ReadStore:
        """The 360° documents of ``ids`` as the events about them known by ``as_of`` made
        them."""
        return await replay(
            Customer360Projection(),
            runtime.store,
            runtime.codec,
            as_of,
            only=lambda key: key[0] != CUSTOMERS or key[1] in ids,
            keep=about(*ids),
        )

    AsOf = Annotated[  # noqa: N806
        AwareDatetime | None,
        Query(description="the answer as of this moment (ISO 8601 with a time zone)"),
    ]

    @api.get("/customers/{customer_id}/360", response_model=Customer360View)
    async def customer_360(
        customer_id: str, actor: Who, _: int = consistent, as_of: AsOf = None
    ) -> Customer360View:
        """The customer's 360° view (see ``crm.analytics.projections.customer_360_models``),
        with the customer's tickets and opportunities joined and the windows computed as of
        now; given ``as_of``, as the events known by then made it (windows as of then; a
        moment to come answers what is known now)."""
        reads = await queries_as_of(as_of, customer_id)
        now = runtime.clock.now()
        return await reads.customer_360(actor, customer_id, min(as_of or now, now))

    @api.get("/customers", response_model=PageOf[CustomerRow], responses=EXPORT_RESPONSES)
    async def customers(
        actor: Who,
        _: int = consistent,
        risk: Literal["low", "medium", "high"] | None = None,
        segment: Literal["prospect", "new", "repeat", "loyal"] | None = None,
        value_tier: Literal["none", "bronze", "silver", "gold"] | None = None,
        owner_id: str | None = None,
        region: str | None = None,
        tag: str | None = None,
        min_spend: Annotated[Decimal | None, Query(ge=0, le=MAX_AMOUNT)] = None,
        max_spend: Annotated[Decimal | None, Query(ge=0, le=MAX_AMOUNT)] = None,
        sort: Annotated[
            str, Query(description=f"one of {sorted(SORTS)}, '-' for descending")
        ] = "-spend",
        limit: Annotated[
            int | None, Query(ge=1, le=1000, description="JSON: 50 if not given; csv/xlsx: all")
        ] = None,
        offset: Offset = 0,
        format: ListFormat = "json",
        as_of: AsOf = None,
    ) -> dict[str, Any] | Response:
        """Customers with their 360° key figures (columns: ``CUSTOMER_COLUMNS``). CSV is
        the complete list the filters select (from ``offset``, at most ``limit`` if given),
        streamed, with the redaction the actor's role gets on screen. ``as_of``: the list
        as the events known by then made it."""
        reads = await queries_as_of(as_of)
        wanted = CustomerFilter(
            risk, segment, value_tier, owner_id, region, tag, min_spend, max_spend
        )
        if format != "json":

            async def page(at: int, size: int) -> list[CustomerRow]:
                found = await reads.customers(actor, wanted, sort=sort, limit=size, offset=at)
                return found.items

            return await export_response(
                format, CUSTOMER_COLUMNS, page, "customers", offset=offset, limit=limit
            )
        size = 50 if limit is None else limit
        rows = await reads.customers(actor, wanted, sort=sort, limit=size, offset=offset)
        return {"items": rows.items, "total": rows.total, "limit": size, "offset": offset}

    @api.get("/churn/warnings", response_model=PageOf[WarningRow], responses=EXPORT_RESPONSES)
    async def churn_warnings(
        actor: Who,
        _: int = consistent,
        level: Literal["medium", "high"] | None = None,
        owner_id: str | None = None,
        limit: Annotated[
            int | None, Query(ge=1, le=1000, description="JSON: 100 if not given; csv/xlsx: all")
        ] = None,
        offset: Offset = 0,
        format: ListFormat = "json",
        as_of: AsOf = None,
    ) -> dict[str, Any] | Response:
        """Customers at medium or high churn risk, highest score first, with the reasons in
        plain words (columns: ``WARNING_COLUMNS``; CSV joins the reason texts with ``;``, and
        is every warning from ``offset``, at most ``limit`` if given, streamed). ``as_of``:
        the warnings (the assessments recorded) as of then."""
        reads = await queries_as_of(as_of)
        if format != "json":

            async def page(at: int, size: int) -> list[dict[str, Any]]:
                found = await reads.churn_warnings(actor, level, owner_id, limit=size, offset=at)
                return [{**i, "reasons": [r["text"] for r in i["reasons"]]} for i in found.items]

            return await export_response(
                format, WARNING_COLUMNS, page, "churn-warnings", offset=offset, limit=limit
            )
        size = 100 if limit is None else limit
        found = await reads.churn_warnings(actor, level, owner_id, limit=size, offset=offset)
        return {"items": found.items, "total": found.total, "limit": size, "offset": offset}

    @api.get("/churn/report", response_model=None)
    async def churn_analysis(
        actor: Who,
        _: int = consistent,
        __: int = warnings_consistent,
        period_from: Annotated[str | None, Query(pattern=MONTH, description="first month")] = None,
        period_to: Annotated[str | None, Query(pattern=MONTH, description="last month")] = None,
        format: Format = "json",
    ) -> dict[str, Any] | Response:
        """Customers lost (their risk went high) per month, the stage they were lost at (the
        stage of an opportunity open at the time, else their segment), the reasons ranked,
        the days from first contact to the loss, and win-backs; and ``retention``: of the
        warnings of those months, how many customers were contacted, how soon, how many were
        kept, per rep and per reason. CSV: one row per loss (columns: ``LOSS_COLUMNS``)."""
        report = await queries.churn_report(actor, period_from, period_to)
        if format == "csv":
            return csv_response(LOSS_COLUMNS, report["losses"], "churn-report")
        return report

    return api
