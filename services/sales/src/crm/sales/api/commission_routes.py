"""Routes of commissions under ``/commissions``: plans (admins and managers change them, every
sales role reads them), an order's split, the entries (``earnings``) and the monthly
statements with their approval; the lists also answer CSV (``format=csv``)."""

import csv
import io
from collections.abc import Sequence
from typing import Annotated, Any, Literal
from urllib.parse import quote
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, Depends, Query, Response

from crm.events.commissions import MONTH_PATTERN, EntryKind
from crm.kernel.auth import Actor
from crm.kernel.directory import Customers
from crm.kernel.http import (
    Authenticator,
    CommandAccepted,
    Commands,
    PageOf,
    ReadConsistency,
    accepted,
    checked_sort,
    paged,
)
from crm.kernel.http.params import Limit, Offset
from crm.kernel.http.routers import api_router
from crm.kernel.read_store import Document
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.kernel.tenancy import tenant_own
from crm.sales.api.commission_schemas import Approval, NewPlan, PlanEnd, PlanRevision, Split
from crm.sales.application.catalogue import NAMESPACE
from crm.sales.application.commission_commands import (
    ApproveStatement,
    CreatePlan,
    EndPlan,
    RevisePlan,
    SetSplit,
)
from crm.sales.application.commission_queries import (
    CommissionQueries,
    EntryFilter,
    StatementFilter,
)
from crm.sales.projections.commission_models import (
    PROJECTION,
    EntryDoc,
    PlanDoc,
    StatementDoc,
)
from crm.sales.projections.customer_directory import CUSTOMER_DIRECTORY

Month = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]
Format = Literal["json", "csv"]
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
        },
        "description": "one page as JSON, or (format=csv) every row as CSV",
    }
}

ENTRY_COLUMNS = (
    "id",
    "statement_id",
    "rep_id",
    "period",
    "kind",
    "reason",
    "source",
    "order_id",
    "customer_id",
    "invoice_id",
    "payment_id",
    "refund_id",
    "plan_id",
    "plan_version",
    "share_percent",
    "attainment_before",
    "multiplier",
    "revenue",
    "commission",
    "held",
    "currency",
    "occurred_on",
)
STATEMENT_COLUMNS = (
    "statement_id",
    "rep_id",
    "period",
    "status",
    "revenue",
    "earned",
    "held",
    "released",
    "clawed_back",
    "payable",
    "currency",
    "entries",
    "approved_by",
    "approved_at",
)


def _cell(doc: Document, name: str) -> str:
    if name == "currency":
        return str(doc["commission" if "commission" in doc else "payable"]["currency"])
    value = doc.get(name)
    if isinstance(value, dict):
        return str(value["amount"])
    return "" if value is None else str(value)


def csv_answer(rows: Sequence[Document], columns: Sequence[str], name: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row, c) for c in columns])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def plan_id_for(ctx: CommandContext) -> str:
    """Derived from the request's Idempotency-Key (a retried creation is the same plan), else
    new."""
    if ctx.idempotency is not None:
        return str(uuid5(NAMESPACE, f"commission-plan\x00{ctx.tenant}\x00{ctx.idempotency.key}"))
    return str(uuid4())


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(prefix="/commissions", tags=["sales: commissions"])
    bus = runtime.commands
    queries = CommissionQueries(runtime.read_store, Customers(runtime, CUSTOMER_DIRECTORY))
    Ctx = Annotated[CommandContext, Depends(Commands(runtime, authenticate).context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, PROJECTION))

    async def run(command: object, ctx: CommandContext, response: Response) -> CommandAccepted:
        return accepted(tenant_own(await bus.execute(command, ctx)), response)

    # -- plans -------------------------------------------------------------------------------

    @api.post("/plans", status_code=201, response_model=CommandAccepted)
    async def create_plan(body: NewPlan, ctx: Ctx, response: Response) -> CommandAccepted:
        plan_id = plan_id_for(ctx)
        command = CreatePlan(
            plan_id, body.name, body.terms.terms(), body.effective_from, body.effective_to
        )
        answer = await run(command, ctx, response)
        response.status_code = 201
        response.headers["Location"] = f"/commissions/plans/{quote(plan_id, safe='')}"
        return CommandAccepted(id=plan_id, position=answer.position, version=answer.version)

    @api.get("/plans", response_model=PageOf[PlanDoc])
    async def list_plans(
        actor: Who, _: int = consistent, limit: Limit = 50, offset: Offset = 0
    ) -> dict[str, Any]:
        return paged(await queries.plans(actor, limit=limit, offset=offset))

    @api.get("/plans/{plan_id}", response_model=PlanDoc)
    async def get_plan(plan_id: UUID, actor: Who, _: int = consistent) -> Any:
        return await queries.plan(actor, str(plan_id))

    @api.post("/plans/{plan_id}/versions", response_model=CommandAccepted)
    async def revise_plan(
        plan_id: UUID, body: PlanRevision, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = RevisePlan(str(plan_id), body.terms.terms(), body.effective_from)
        answer = await run(command, ctx, response)
        return CommandAccepted(id=str(plan_id), position=answer.position, version=answer.version)

    @api.post("/plans/{plan_id}/end", response_model=CommandAccepted)
    async def end_plan(
        plan_id: UUID, body: PlanEnd, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        answer = await run(EndPlan(str(plan_id), body.effective_to), ctx, response)
        return CommandAccepted(id=str(plan_id), position=answer.position, version=answer.version)

    # -- splits ------------------------------------------------------------------------------

    @api.put("/splits/{order_id}", response_model=CommandAccepted)
    async def set_split(
        order_id: UUID, body: Split, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        return accepted(await bus.execute(SetSplit(str(order_id), body.shares_()), ctx), response)

    # -- earnings and statements -------------------------------------------------------------

    @api.get("/earnings", response_model=PageOf[EntryDoc], responses=ANSWERS)
    async def list_earnings(
        actor: Who,
        _: int = consistent,
        rep_id: str | None = None,
        period: Month = None,
        statement_id: str | None = None,
        order_id: str | None = None,
        customer_id: Annotated[str | None, Query(max_length=64)] = None,
        kind: EntryKind | None = None,
        format: Format = "json",
        sort: str = "recorded_at",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Any:
        flt = EntryFilter(
            rep_id=rep_id,
            period=period,
            statement_id=statement_id,
            order_id=order_id,
            kind=None if kind is None else kind.value,
            customer_id=customer_id,
        )
        order = checked_sort(sort, frozenset({"recorded_at", "occurred_on", "period"}))
        if format == "csv":
            rows = await queries.all_entries(actor, flt, order)
            return csv_answer(rows, ENTRY_COLUMNS, "commission-earnings")
        return paged(await queries.entries(actor, flt, sort=order, limit=limit, offset=offset))

    @api.get("/statements", response_model=PageOf[StatementDoc], responses=ANSWERS)
    async def list_statements(
        actor: Who,
        _: int = consistent,
        rep_id: str | None = None,
        period: Month = None,
        status: Literal["open", "approved"] | None = None,
        format: Format = "json",
        sort: str = "period",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Any:
        flt = StatementFilter(rep_id=rep_id, period=period, status=status)
        order = checked_sort(sort, frozenset({"period", "rep_id", "updated_at"}))
        if format == "csv":
            rows = await queries.all_statements(actor, flt, order)
            return csv_answer(rows, STATEMENT_COLUMNS, "commission-statements")
        return paged(await queries.statements(actor, flt, sort=order, limit=limit, offset=offset))

    @api.get("/statements/{statement_id}", response_model=StatementDoc)
    async def get_statement(statement_id: str, actor: Who, _: int = consistent) -> Any:
        return await queries.statement(actor, statement_id)

    @api.post("/statements/{statement_id}/approve", response_model=CommandAccepted)
    async def approve_statement(
        statement_id: str, ctx: Ctx, response: Response, body: Approval | None = None
    ) -> CommandAccepted:
        note = body.note if body else None
        return await run(ApproveStatement(statement_id, note), ctx, response)

    return api
