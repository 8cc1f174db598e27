"""Routes of field visits: /visits and /visits/{id}/reschedule|complete|cancel. A route maps
the request to a command (:mod:`crm.service_desk.application.visit_commands`) and the result
to its position; a slot another visit holds is a 409 ``technician_double_booked``."""

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from crm.kernel.auth import Actor
from crm.kernel.directory import Customers
from crm.kernel.http import (
    Authenticator,
    CommandAccepted,
    Commands,
    PageOf,
    ReadConsistency,
    accepted,
)
from crm.kernel.http.export import EXPORT_RESPONSES, ListFormat, PageLimit, listed
from crm.kernel.http.params import Offset, checked_sort
from crm.kernel.http.routers import api_router
from crm.kernel.read_store import Page
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.service_desk.api.visit_schemas import (
    Cancellation,
    Completion,
    NewVisit,
    Rescheduling,
    VisitStatusName,
)
from crm.service_desk.application.visit_commands import (
    CancelVisit,
    CompleteVisit,
    RescheduleVisit,
    ScheduleVisit,
    visit_id_for,
)
from crm.service_desk.application.visit_queries import SORTS, VisitFilter, VisitQueries
from crm.service_desk.projections.customer_directory import CUSTOMER_DIRECTORY
from crm.service_desk.projections.visit_models import VISITS_PROJECTION, VisitDoc


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(tags=["service desk: field visits"])
    bus = runtime.commands
    queries = VisitQueries(
        runtime.read_store, runtime.codec.keys, Customers(runtime, CUSTOMER_DIRECTORY)
    )
    Ctx = Annotated[CommandContext, Depends(Commands(runtime, authenticate).context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, VISITS_PROJECTION))

    @api.post("/visits", status_code=201, response_model=CommandAccepted)
    async def schedule(body: NewVisit, ctx: Ctx, response: Response) -> CommandAccepted:
        command = ScheduleVisit(
            ticket_id=body.ticket_id,
            customer_id=body.customer_id,
            technician_id=body.technician_id,
            slot=body.slot,
            address=body.address,
            notes=body.notes,
            visit_id=visit_id_for(ctx),
        )
        return accepted(await bus.execute(command, ctx), response, created_under="/visits")

    @api.post("/visits/{visit_id}/reschedule", response_model=CommandAccepted)
    async def reschedule(
        visit_id: UUID, body: Rescheduling, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = RescheduleVisit(str(visit_id), body.slot, body.technician_id, body.reason)
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/visits/{visit_id}/complete", response_model=CommandAccepted)
    async def complete(
        visit_id: UUID, body: Completion, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = CompleteVisit(str(visit_id), body.report)
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/visits/{visit_id}/cancel", response_model=CommandAccepted)
    async def cancel(
        visit_id: UUID, body: Cancellation, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = CancelVisit(str(visit_id), body.reason)
        return accepted(await bus.execute(command, ctx), response)

    @api.get("/visits", response_model=PageOf[VisitDoc], responses=EXPORT_RESPONSES)
    async def list_visits(
        actor: Who,
        _: int = consistent,
        technician_id: str | None = None,
        ticket_id: str | None = None,
        customer_id: str | None = None,
        day: date | None = None,
        status: VisitStatusName | None = None,
        sort: str = "start",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        checked_sort(sort, SORTS)
        flt = VisitFilter(
            technician_id=technician_id,
            ticket_id=ticket_id,
            customer_id=customer_id,
            day=day,
            status=status.value if status else None,
        )

        async def search(at: int, size: int) -> Page:
            return await queries.visits(actor, flt, sort=sort, limit=size, offset=at)

        return await listed(format, search, VisitDoc, "visits", offset=offset, limit=limit)

    @api.get("/visits/{visit_id}", response_model=VisitDoc)
    async def get_visit(visit_id: UUID, actor: Who, _: int = consistent) -> dict[str, Any]:
        return await queries.visit(actor, str(visit_id))

    return api
