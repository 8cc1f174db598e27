"""Routes of the ticket half: /tickets, /sla/policies, /calendars, /contracts. Each command is
a few lines: parse, run, answer with its position (201 and a Location for creations)."""

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from crm.events.service_desk import (
    ContractLevel,
    TicketChannel,
    TicketKind,
    TicketPriority,
    WorkingHours,
)
from crm.kernel.auth import Actor
from crm.kernel.http import Authenticator, CommandAccepted, Commands, ReadConsistency, accepted
from crm.kernel.http.params import checked_sort, paged
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.service_desk.api.ticket_schemas import (
    ArticleLink,
    Assignment,
    ContractChange,
    ContractEnd,
    DocumentPage,
    Escalation,
    FollowUp,
    NewCalendar,
    NewComment,
    NewContract,
    NewPolicy,
    NewTicket,
    Reopening,
    Resolution,
    Satisfaction,
)
from crm.service_desk.application.ticket_queries import (
    ContractFilter,
    TicketFilter,
    TicketQueries,
)
from crm.service_desk.application.ticket_service import SatisfactionRules, TicketService
from crm.service_desk.domain.tenancy import tenant_own
from crm.service_desk.domain.tickets import TicketStatus
from crm.service_desk.projections.ticket_models import PROJECTION

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]

TICKET_SORTS = frozenset(
    {"opened_at", "updated_at", "priority_rank", "sla_breach_check_at", "status"}
)


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter(tags=["service desk: tickets"])
    service = TicketService(
        runtime.store,
        runtime.codec,
        satisfaction=SatisfactionRules(
            low_score=runtime.satisfaction_low_score,
            reopen_complaint_on_low_score=runtime.satisfaction_reopens_complaints,
        ),
        reopen_window=timedelta(days=runtime.ticket_reopen_window_days),
    )
    queries = TicketQueries(runtime.read_store, runtime.codec.keys)
    commands = Commands(runtime, authenticate)
    Ctx = Annotated[CommandContext, Depends(commands.context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, PROJECTION))

    # -- tickets -------------------------------------------------------------------------------

    @api.post("/tickets", status_code=201, response_model=CommandAccepted)
    async def open_ticket(body: NewTicket, ctx: Ctx, response: Response) -> CommandAccepted:
        result = await commands.run(
            ctx,
            lambda: service.open(
                ctx,
                customer_id=body.customer_id,
                kind=body.kind,
                channel=body.channel,
                priority=body.priority,
                subject=body.subject,
                description=body.description,
            ),
        )
        return accepted(result, response, created_under="/tickets")

    @api.get("/tickets", response_model=DocumentPage)
    async def list_tickets(
        actor: Who,
        _: int = consistent,
        status: TicketStatus | None = None,
        priority: TicketPriority | None = None,
        kind: TicketKind | None = None,
        channel: TicketChannel | None = None,
        assignee: Annotated[str | None, Query(max_length=64, description="agent id")] = None,
        group_id: Annotated[str | None, Query(max_length=64)] = None,
        customer_id: Annotated[str | None, Query(max_length=64)] = None,
        breached: bool | None = None,
        sort: str = "-opened_at",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        flt = TicketFilter(
            status=status.value if status else None,
            priority=priority.value if priority else None,
            kind=kind.value if kind else None,
            channel=channel.value if channel else None,
            agent_id=assignee,
            group_id=group_id,
            customer_id=customer_id,
            breached=breached,
        )
        order = checked_sort(sort, TICKET_SORTS)
        return paged(await queries.tickets(actor, flt, sort=order, limit=limit, offset=offset))

    @api.get("/tickets/{ticket_id}")
    async def get_ticket(ticket_id: UUID, actor: Who, _: int = consistent) -> dict[str, Any]:
        return await queries.ticket(actor, str(ticket_id))

    @api.post("/tickets/{ticket_id}/assign", response_model=CommandAccepted)
    async def assign(
        ticket_id: UUID, body: Assignment, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(
            ctx,
            lambda: service.assign(
                ctx,
                str(ticket_id),
                agent_id=body.agent_id,
                group_id=body.group_id,
                reason=body.reason,
            ),
        )
        return accepted(result, response)

    @api.post("/tickets/{ticket_id}/escalate", response_model=CommandAccepted)
    async def escalate(
        ticket_id: UUID, body: Escalation, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(
            ctx,
            lambda: service.escalate(
                ctx,
                str(ticket_id),
                reason=body.reason,
                to_manager=body.to_manager,
                manager_id=body.manager_id,
            ),
        )
        return accepted(result, response)

    @api.post("/tickets/{ticket_id}/comment", response_model=CommandAccepted)
    async def comment(
        ticket_id: UUID, body: NewComment, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(
            ctx, lambda: service.comment(ctx, str(ticket_id), body=body.body, public=body.public)
        )
        return accepted(result, response)

    @api.post("/tickets/{ticket_id}/articles", response_model=CommandAccepted)
    async def link_article(
        ticket_id: UUID, body: ArticleLink, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(
            ctx, lambda: service.link_article(ctx, str(ticket_id), body.article_id)
        )
        return accepted(result, response)

    @api.post("/tickets/{ticket_id}/resolve", response_model=CommandAccepted)
    async def resolve(
        ticket_id: UUID, body: Resolution, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(
            ctx,
            lambda: service.resolve(
                ctx, str(ticket_id), resolution=body.resolution, kb_article_id=body.kb_article_id
            ),
        )
        return accepted(result, response)

    @api.post("/tickets/{ticket_id}/reopen", response_model=CommandAccepted)
    async def reopen(
        ticket_id: UUID, body: Reopening, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(
            ctx, lambda: service.reopen(ctx, str(ticket_id), reason=body.reason)
        )
        return accepted(result, response)

    @api.post("/tickets/{ticket_id}/close", response_model=CommandAccepted)
    async def close(ticket_id: UUID, ctx: Ctx, response: Response) -> CommandAccepted:
        result = await commands.run(ctx, lambda: service.close(ctx, str(ticket_id)))
        return accepted(result, response)

    @api.post("/tickets/{ticket_id}/satisfaction", response_model=CommandAccepted)
    async def satisfaction(
        ticket_id: UUID, body: Satisfaction, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(
            ctx,
            lambda: service.record_satisfaction(
                ctx, str(ticket_id), score=body.score, comment=body.comment
            ),
        )
        return accepted(result, response)

    @api.post("/tickets/{ticket_id}/follow-up", response_model=CommandAccepted)
    async def follow_up(
        ticket_id: UUID, body: FollowUp, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(
            ctx, lambda: service.record_follow_up(ctx, str(ticket_id), note=body.note)
        )
        return accepted(result, response)

    # -- SLA policies ----------------------------------------------------------------------------

    @api.post("/sla/policies", status_code=201, response_model=CommandAccepted)
    async def define_policy(body: NewPolicy, ctx: Ctx, response: Response) -> CommandAccepted:
        """Define the policy of ``level`` (201) or revise it if it exists (200)."""
        targets = {
            priority: (t.first_response_minutes, t.resolution_minutes)
            for priority, t in body.targets.items()
        }
        created = False

        async def run() -> Any:
            nonlocal created
            result, created = await service.define_policy(
                ctx,
                level=body.level,
                name=body.name,
                targets=targets,
                calendar_id=body.calendar_id,
                follow_up_days=body.follow_up_days,
                follow_up_escalation_days=body.follow_up_escalation_days,
            )
            return result

        result = tenant_own(await commands.run(ctx, run))
        if created:
            return accepted(result, response, created_under="/sla/policies")
        response.status_code = 200
        return accepted(result, response)

    @api.get("/sla/policies", response_model=DocumentPage)
    async def list_policies(
        actor: Who, _: int = consistent, limit: Limit = 50, offset: Offset = 0
    ) -> dict[str, Any]:
        return paged(await queries.policies(actor, limit=limit, offset=offset))

    @api.get("/sla/policies/{policy_id}")
    async def get_policy(policy_id: str, actor: Who, _: int = consistent) -> dict[str, Any]:
        return await queries.policy(actor, policy_id)

    # -- calendars -------------------------------------------------------------------------------

    @api.post("/calendars", status_code=201, response_model=CommandAccepted)
    async def define_calendar(body: NewCalendar, ctx: Ctx, response: Response) -> CommandAccepted:
        result = await commands.run(
            ctx,
            lambda: service.define_calendar(
                ctx,
                calendar_id=body.id,
                name=body.name,
                time_zone=body.time_zone,
                hours=[
                    WorkingHours(weekday=h.weekday, start=h.start, end=h.end) for h in body.hours
                ],
                holidays=body.holidays,
            ),
        )
        return accepted(tenant_own(result), response, created_under="/calendars")

    @api.get("/calendars", response_model=DocumentPage)
    async def list_calendars(
        actor: Who, _: int = consistent, limit: Limit = 50, offset: Offset = 0
    ) -> dict[str, Any]:
        return paged(await queries.calendars(actor, limit=limit, offset=offset))

    @api.get("/calendars/{calendar_id}")
    async def get_calendar(calendar_id: str, actor: Who, _: int = consistent) -> dict[str, Any]:
        return await queries.calendar(actor, calendar_id)

    # -- contracts -------------------------------------------------------------------------------
    # Contract streams are qualified by the tenant (``servicecontract-<tenant>:<customer>``);
    # answers and Locations name the customer by the tenant's own id.

    @api.post("/contracts", status_code=201, response_model=CommandAccepted)
    async def sign_contract(body: NewContract, ctx: Ctx, response: Response) -> CommandAccepted:
        result = await commands.run(
            ctx,
            lambda: service.sign_contract(
                ctx,
                customer_id=body.customer_id,
                level=body.level,
                starts_on=body.starts_on,
                ends_on=body.ends_on,
            ),
        )
        return accepted(tenant_own(result), response, created_under="/contracts")

    @api.post("/contracts/{customer_id}/change", response_model=CommandAccepted)
    async def change_contract(
        customer_id: str, body: ContractChange, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(
            ctx, lambda: service.change_contract(ctx, customer_id, level=body.level)
        )
        return accepted(tenant_own(result), response)

    @api.post("/contracts/{customer_id}/end", response_model=CommandAccepted)
    async def end_contract(
        customer_id: str, body: ContractEnd, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await commands.run(
            ctx,
            lambda: service.end_contract(
                ctx,
                customer_id,
                ended_on=body.ended_on or ctx.now.date(),
                reason=body.reason,
            ),
        )
        return accepted(tenant_own(result), response)

    @api.get("/contracts", response_model=DocumentPage)
    async def list_contracts(
        actor: Who,
        _: int = consistent,
        customer_id: Annotated[str | None, Query(max_length=64)] = None,
        level: ContractLevel | None = None,
        active: bool | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        flt = ContractFilter(
            customer_id=customer_id, level=level.value if level else None, active=active
        )
        return paged(await queries.contracts(actor, flt, limit=limit, offset=offset))

    @api.get("/contracts/{customer_id}")
    async def get_contract(customer_id: str, actor: Who, _: int = consistent) -> dict[str, Any]:
        return await queries.contract(actor, customer_id)

    return api
