"""Route of the retention report: ``GET /reports/retention?from=&to=[&format=csv]`` (see
:mod:`crm.activities.application.retention_report`)."""

import csv
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from crm.activities.application.retention_report import FIGURES, RetentionReport
from crm.activities.projections.retention_models import RETENTION_PROJECTION
from crm.kernel.auth import Actor
from crm.kernel.http import Authenticator, ReadConsistency
from crm.kernel.http.routers import api_router
from crm.kernel.runtime import Runtime

HEADER = ("group", "assignee_id", "reason", *FIGURES)
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
        },
        "description": "the report, as JSON or (format=csv) CSV",
    }
}


def csv_answer(report: dict[str, Any]) -> Response:
    """One line per rep, one per reason, and the total (``group`` says which)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)

    def line(group: str, row: dict[str, Any]) -> None:
        cells = [row.get(name) for name in HEADER[1:]]
        writer.writerow([group, *("" if c is None else str(c) for c in cells)])

    for row in report["by_rep"]:
        line("rep", row)
    for row in report["by_reason"]:
        line("reason", row)
    line("total", report["total"])
    name = f"retention-{report['from']}-{report['to']}"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(prefix="/reports/retention", tags=["activities: retention report"])
    report = RetentionReport(runtime.read_store)
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, RETENTION_PROJECTION))

    @api.get("", response_model=None, responses=ANSWERS)
    async def retention_report(
        actor: Who,
        from_: Annotated[date, Query(alias="from", description="first day (YYYY-MM-DD, UTC)")],
        to: Annotated[date, Query(description="last day (YYYY-MM-DD, UTC), inclusive")],
        _: int = consistent,
        format: Annotated[str, Query(pattern="^(json|csv)$", description="json or csv")] = "json",
    ) -> dict[str, Any] | Response:
        """What came of the churn warnings of the days ``from`` to ``to``: per rep (the
        retention task's assignee), per reason code and in total, the customers warned of,
        contacted (reached, offer made, won back or lost), the median hours from warning to
        that contact, kept (won back) and lost. A rep reads their own warnings, a manager
        their team's and their own, admins and analysts all."""
        answer = await report.report(actor, from_, to)
        return csv_answer(answer) if format == "csv" else answer

    return api
