"""Routes of the work reports (日报 / 周报 / 月报): ``GET /reports/work`` (the figures per user
and period, JSON or CSV), ``PUT /reports/work/{user_id}/{period}`` (the user's own summary
and plan) and ``POST /reports/work/{user_id}/{period}/comments`` (their manager's comment).
Who reads and comments on whose: :mod:`crm.activities.application.work_reports`."""

import csv
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field

from crm.activities.application.work_reports import (
    CHANNELS,
    CommentWorkReport,
    SubmitWorkReport,
    WorkReportQueries,
    checked_period,
    report_zone,
)
from crm.activities.domain.work_reports import MAX_COMMENT, MAX_PLAN, MAX_SUMMARY
from crm.activities.projections.work_models import COUNTERS, WORK_DAYS_PROJECTION
from crm.events.activities import WorkPeriod
from crm.kernel.auth import Actor
from crm.kernel.http import Authenticator, CommandAccepted, Commands, ReadConsistency, accepted
from crm.kernel.http.body import Body
from crm.kernel.http.routers import api_router
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime

UserId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[^:/]+$")]
PeriodKey = Annotated[
    str, Path(description="2026-03-02 (a day), 2026-W10 (an ISO week) or 2026-03 (a month)")
]


class WorkReportBody(Body):
    summary: Annotated[str, Field(max_length=MAX_SUMMARY)] = ""
    plan: Annotated[str, Field(max_length=MAX_PLAN, description="the plan for the next period")] = (
        ""
    )


class CommentBody(Body):
    comment: Annotated[str, Field(min_length=1, max_length=MAX_COMMENT)]


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """The CSV header: the row's fields, the interactions per channel and the payments per
    currency met in the rows."""
    currencies = sorted({c for r in rows for c in r["payments_amount"]})
    return [
        "user_id",
        "team_id",
        "period",
        "start",
        "end",
        *(f"interactions.{c}" for c in CHANNELS),
        *COUNTERS,
        *(f"payments_amount.{c}" for c in currencies),
        "summary",
        "plan",
        "revision",
        "submitted_at",
        "comments",
    ]


def cells(row: dict[str, Any]) -> dict[str, str]:
    """A row as CSV cells: nested objects flattened to ``field.sub``, null an empty cell, the
    comments one cell (``by: comment`` each, joined with `` | ``)."""
    out: dict[str, str] = {}
    for name, value in row.items():
        if name == "comments":
            out[name] = " | ".join(f"{c['by']}: {c['comment']}" for c in value)
        elif isinstance(value, dict):
            out.update({f"{name}.{k}": str(v) for k, v in value.items()})
        else:
            out[name] = "" if value is None else str(value)
    return out


def csv_answer(report: dict[str, Any]) -> Response:
    rows = report["items"]
    header = columns(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        flat = cells(row)
        writer.writerow(
            [flat.get(c, "0" if c.startswith("payments_amount.") else "") for c in header]
        )
    name = f"work-{report['period']}-{report['from']}-{report['to']}"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(prefix="/reports/work", tags=["activities: work reports"])
    queries = WorkReportQueries(runtime.read_store)
    bus = runtime.commands
    Ctx = Annotated[CommandContext, Depends(Commands(runtime, authenticate).context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, WORK_DAYS_PROJECTION))

    @api.get("", response_model=None)
    async def work_report(
        actor: Who,
        period: WorkPeriod,
        from_: Annotated[date, Query(alias="from", description="first day (YYYY-MM-DD)")],
        to: Annotated[date, Query(description="last day (YYYY-MM-DD), inclusive")],
        _: int = consistent,
        user_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        format: Annotated[str, Query(pattern="^(json|csv)$", description="json or csv")] = "json",
        zone: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=60,
                description="IANA time zone whose days the figures count (default UTC)",
            ),
        ] = None,
    ) -> dict[str, Any] | Response:
        """Per user and period (day, ISO week, month) from the one holding ``from`` to the
        one holding ``to`` (whole periods): interactions per channel, tasks done and overdue,
        leads created and qualified, opportunities advanced (forward stage changes), won and
        lost, quotes sent, orders placed, payments recorded (and their sum per currency),
        tickets resolved; with the user's summary and plan and the comments on them. A rep
        reads their own, a manager their team's and their own, admins and analysts all.
        Each piece of work counts on its day in ``zone`` (by the quarter of an hour)."""
        report = await queries.report(actor, period, from_, to, user_id, report_zone(zone))
        return csv_answer(report) if format == "csv" else report

    @api.put("/{user_id}/{period}", response_model=CommandAccepted)
    async def submit(
        user_id: UserId, period: PeriodKey, body: WorkReportBody, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        """Submit (or change) one's own summary of the period and plan for the next."""
        command = SubmitWorkReport(user_id, checked_period(period), body.summary, body.plan)
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/{user_id}/{period}/comments", status_code=201, response_model=CommandAccepted)
    async def comment(
        user_id: UserId, period: PeriodKey, body: CommentBody, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        """The user's manager (or an admin) comments on their submitted report."""
        command = CommentWorkReport(user_id, checked_period(period), body.comment)
        return accepted(await bus.execute(command, ctx), response)

    return api
