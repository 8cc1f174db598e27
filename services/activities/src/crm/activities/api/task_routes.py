"""Routes of the tasks: /tasks, /tasks/{id} and its steps (reassign, reschedule, complete,
cancel). A route maps the request to a command
(:mod:`crm.activities.application.task_commands`) and the result to its position; reads
answer the ``activities_tasks`` documents the actor may see."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime

from crm.activities.api.task_schemas import (
    Cancellation,
    Completion,
    NewDue,
    NewTask,
    Reassignment,
    TaskStatusName,
)
from crm.activities.application.task_commands import (
    CancelTask,
    CompleteTask,
    ReassignTask,
    RescheduleTask,
    ScheduleTask,
)
from crm.activities.application.task_queries import SORTS, TaskFilter, TaskQueries
from crm.activities.projections.reference_models import CUSTOMER_DIRECTORY
from crm.activities.projections.task_models import TASKS_PROJECTION, TaskDoc
from crm.events.activities import SubjectKind, TaskKind
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

IdParam = Annotated[str | None, Query(min_length=1, max_length=100)]


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(tags=["activities: tasks"])
    bus = runtime.commands
    queries = TaskQueries(runtime.read_store, Customers(runtime, CUSTOMER_DIRECTORY))
    Ctx = Annotated[CommandContext, Depends(Commands(runtime, authenticate).context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, TASKS_PROJECTION))

    @api.post("/tasks", status_code=201, response_model=CommandAccepted)
    async def schedule(body: NewTask, ctx: Ctx, response: Response) -> CommandAccepted:
        command = ScheduleTask(body.plan(), body.subject_kind, body.subject_id.strip())
        return accepted(await bus.execute(command, ctx), response, created_under="/tasks")

    @api.post("/tasks/{task_id}/reassign", response_model=CommandAccepted)
    async def reassign(
        task_id: UUID, body: Reassignment, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = ReassignTask(str(task_id), body.assignee_id.strip())
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/tasks/{task_id}/reschedule", response_model=CommandAccepted)
    async def reschedule(
        task_id: UUID, body: NewDue, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        return accepted(await bus.execute(RescheduleTask(str(task_id), body.due_at), ctx), response)

    @api.post("/tasks/{task_id}/complete", response_model=CommandAccepted)
    async def complete(
        task_id: UUID, ctx: Ctx, response: Response, body: Completion | None = None
    ) -> CommandAccepted:
        body = body or Completion()
        command = CompleteTask(
            str(task_id),
            outcome=body.outcome,
            note=body.note,
            duration_minutes=body.duration_minutes,
            next=body.next.plan() if body.next is not None else None,
        )
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/tasks/{task_id}/cancel", response_model=CommandAccepted)
    async def cancel(
        task_id: UUID, ctx: Ctx, response: Response, body: Cancellation | None = None
    ) -> CommandAccepted:
        command = CancelTask(str(task_id), body.reason if body else None)
        return accepted(await bus.execute(command, ctx), response)

    @api.get("/tasks", response_model=PageOf[TaskDoc], responses=EXPORT_RESPONSES)
    async def list_tasks(
        actor: Who,
        _: int = consistent,
        status: TaskStatusName | None = None,
        assignee_id: IdParam = None,
        team_id: IdParam = None,
        customer_id: UUID | None = None,
        subject_kind: SubjectKind | None = None,
        subject_id: IdParam = None,
        kind: TaskKind | None = None,
        overdue: bool | None = None,
        due_from: AwareDatetime | None = None,
        due_before: AwareDatetime | None = None,
        sort: str = "due_at",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        checked_sort(sort, SORTS)
        flt = TaskFilter(
            status=status.value if status else None,
            assignee_id=assignee_id,
            team_id=team_id,
            customer_id=str(customer_id) if customer_id else None,
            subject_kind=subject_kind.value if subject_kind else None,
            subject_id=subject_id,
            kind=kind.value if kind else None,
            overdue=overdue,
            due_from=due_from,
            due_before=due_before,
        )

        async def search(at: int, size: int) -> Page:
            return await queries.tasks(actor, flt, sort=sort, limit=size, offset=at)

        return await listed(format, search, TaskDoc, "tasks", offset=offset, limit=limit)

    @api.get("/tasks/{task_id}", response_model=TaskDoc)
    async def get_task(task_id: UUID, actor: Who, _: int = consistent) -> dict[str, Any]:
        return await queries.task(actor, str(task_id))

    return api
