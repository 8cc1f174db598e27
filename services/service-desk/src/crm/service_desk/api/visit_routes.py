"""Routes of field visits: /visits and /visits/{id}/reschedule|complete|cancel. Each command
is a few lines: parse, run, answer with its position; a slot another visit holds is a 409
``technician_double_booked``."""

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from crm.kernel.auth import Actor
from crm.kernel.http import Authenticator, CommandAccepted, Commands, ReadConsistency, accepted
from crm.kernel.http.params import checked_sort, paged
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.service_desk.api.visit_schemas import (
    Cancellation,
    Completion,
    NewVisit,
    Rescheduling,
    VisitPage,
    VisitStatusName,
    VisitView,
)
from crm.service_desk.application.visit_queries import SORTS, VisitFilter, VisitQueries
from crm.service_desk.application.visit_service import VisitService
from crm.service_desk.projections.visit_models import VISITS_PROJECTION

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter(tags=["service desk: field visits"])
    service = VisitService(runtime.store, runtime.codec)
    queries = VisitQueries(runtime.read_store, runtime.codec.keys)
    commands = Commands(runtime, authenticate)
    Ctx = Annotated[CommandContext, Depends(commands.context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, VISITS_PROJECTION))

    @api.post("/visits", status_code=201, response_model=CommandAccepted)
    async def schedule(body: NewVisit, ctx: Ctx, response: Response) -> CommandAccepted:
        result = await commands.run(
            ctx,
            lambda: service.schedule(
                ctx,
                ticket_id=body.ticket_id,
                customer_id=body.customer_id,
                technician_id=body.technician_id,
                slot=body.slot,
                address=body.address,
                notes=body.notes,
            ),
        )
        return accepted(result, response, created_under="/visits")

    @api.post("/visits/{visit_id}/reschedule", response_model=CommandAccepted)
    async def reschedule(
        visit_id: UUID, body: Rescheduling, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(
            ctx,
            lambda: service.reschedule(
                ctx,
                str(visit_id),
                slot=body.slot,
                technician_id=body.technician_id,
                reason=body.reason,
            ),
        )
        return accepted(result, response)

    @api.post("/visits/{visit_id}/complete", response_model=CommandAccepted)
    async def complete(
        visit_id: UUID, body: Completion, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(ctx, lambda: service.complete(ctx, str(visit_id), body.report))
        return accepted(result, response)

    @api.post("/visits/{visit_id}/cancel", response_model=CommandAccepted)
    async def cancel(
        visit_id: UUID, body: Cancellation, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(ctx, lambda: service.cancel(ctx, str(visit_id), body.reason))
        return accepted(result, response)

    @api.get("/visits", response_model=VisitPage)
    async def list_visits(
        actor: Who,
        _: int = consistent,
        technician_id: str | None = None,
        ticket_id: str | None = None,
        customer_id: str | None = None,
        day: date | None = None,
        status: VisitStatusName | None = None,
        sort: str = "start",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        checked_sort(sort, SORTS)
        flt = VisitFilter(
            technician_id=technician_id,
            ticket_id=ticket_id,
            customer_id=customer_id,
            day=day,
            status=status.value if status else None,
        )
        return paged(await queries.visits(actor, flt, sort=sort, limit=limit, offset=offset))

    @api.get("/visits/{visit_id}", response_model=VisitView)
    async def get_visit(visit_id: UUID, actor: Who, _: int = consistent) -> Any:
        return await queries.visit(actor, str(visit_id))

    return api
