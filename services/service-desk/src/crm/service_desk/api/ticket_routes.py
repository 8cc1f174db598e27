"""Routes of the ticket half: /tickets, /sla/policies, /calendars, /contracts. A route maps
the request to a command (:mod:`crm.service_desk.application.ticket_commands` and its
siblings) and the result to the answer: its position, 201 and a Location for creations.

Policies, calendars and contracts are named by the tenant, their streams qualified by it
(``servicecontract-<tenant>:<customer>``); answers and Locations name them by the tenant's
own id (``tenant_own``). A policy or a calendar is retired (``POST …/retire``) rather than
deleted: its events stay, tickets opened with it keep its terms."""

from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query, Request, Response

from crm.events.custom_fields import FieldEntity
from crm.events.service_desk import (
    ContractLevel,
    SlaPolicyDefined,
    TicketChannel,
    TicketKind,
    TicketPriority,
    WorkingHours,
)
from crm.kernel.auth import Actor
from crm.kernel.custom_fields import DefinitionsOf, custom_list_query, export_columns
from crm.kernel.directory import Customers
from crm.kernel.errors import InvalidCommand
from crm.kernel.http import (
    Authenticator,
    CommandAccepted,
    Commands,
    PageOf,
    ReadConsistency,
    accepted,
)
from crm.kernel.http.export import EXPORT_RESPONSES, ListFormat, PageLimit, columns_of, listed
from crm.kernel.http.params import Offset, checked_sort
from crm.kernel.http.query import query_prefixes
from crm.kernel.http.routers import api_router
from crm.kernel.read_store import Page
from crm.kernel.redaction import PersonalKind, sees
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.service_desk.api.ticket_schemas import (
    ArticleLink,
    Assignment,
    ContractChange,
    ContractEnd,
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
    TicketPatch,
)
from crm.service_desk.application.calendar_commands import DefineCalendar, RetireCalendar
from crm.service_desk.application.contract_commands import (
    ChangeContract,
    EndContract,
    SignContract,
)
from crm.service_desk.application.sla_policy_commands import DefinePolicy, RetirePolicy
from crm.service_desk.application.ticket_commands import (
    AssignTicket,
    ChangeTicketFields,
    CloseTicket,
    CommentOnTicket,
    EscalateTicket,
    LinkArticle,
    OpenTicket,
    RecordFollowUp,
    RecordSatisfaction,
    ReopenTicket,
    ResolveTicket,
    comment_id_for,
)
from crm.service_desk.application.ticket_queries import (
    ContractFilter,
    TicketFilter,
    TicketQueries,
)
from crm.service_desk.domain.tenancy import tenant_own
from crm.service_desk.domain.tickets import TicketStatus
from crm.service_desk.projections.customer_directory import CUSTOMER_DIRECTORY
from crm.service_desk.projections.ticket_models import (
    PROJECTION,
    CalendarDoc,
    ContractDoc,
    SlaPolicyDoc,
    TicketDoc,
)

PolicyId = Literal["default", "basic", "standard", "premium"]
"""A policy's id: ``default`` or a contract level (another is a 422 naming ``policy_id``)."""

TICKET_SORTS = frozenset(
    {"opened_at", "updated_at", "priority_rank", "sla_breach_check_at", "status"}
)


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(tags=["service desk: tickets"])
    bus = runtime.commands
    queries = TicketQueries(
        runtime.read_store, runtime.codec.keys, Customers(runtime, CUSTOMER_DIRECTORY)
    )
    Ctx = Annotated[CommandContext, Depends(Commands(runtime, authenticate).context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, PROJECTION))
    definitions = DefinitionsOf(runtime.store, runtime.codec)

    # -- tickets -------------------------------------------------------------------------------

    @api.post("/tickets", status_code=201, response_model=CommandAccepted)
    async def open_ticket(body: NewTicket, ctx: Ctx, response: Response) -> CommandAccepted:
        command = OpenTicket(
            customer_id=body.customer_id,
            kind=body.kind,
            channel=body.channel,
            priority=body.priority,
            subject=body.subject,
            description=body.description,
            custom=body.custom,
        )
        return accepted(await bus.execute(command, ctx), response, created_under="/tickets")

    @api.get(
        "/tickets",
        response_model=PageOf[TicketDoc],
        responses=EXPORT_RESPONSES,
        openapi_extra=query_prefixes("custom."),
        description="Filter by a custom field of tickets with `custom.<key>=<value>`; "
        "sort by one with `sort=custom.<key>`.",
    )
    async def list_tickets(
        request: Request,
        actor: Who,
        _: int = consistent,
        status: TicketStatus | None = None,
        priority: TicketPriority | None = None,
        kind: TicketKind | None = None,
        channel: TicketChannel | None = None,
        assignee: Annotated[str | None, Query(max_length=64, description="agent id")] = None,
        unassigned: Annotated[bool, Query(description="only the tickets no agent has")] = False,
        group_id: Annotated[str | None, Query(max_length=64)] = None,
        customer_id: Annotated[str | None, Query(max_length=64)] = None,
        breached: bool | None = None,
        sort: str = "-opened_at",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        if unassigned and assignee is not None:
            raise InvalidCommand(
                "unassigned", "names no agent: leave out assignee", location="query"
            )
        fields = await definitions(actor.tenant)
        personal_ok = sees(actor, PersonalKind.CONTACT)
        listing = custom_list_query(
            fields, FieldEntity.TICKET, personal_ok, request.query_params, sort
        )
        flt = TicketFilter(
            status=status.value if status else None,
            priority=priority.value if priority else None,
            kind=kind.value if kind else None,
            channel=channel.value if channel else None,
            agent_id=assignee,
            unassigned=unassigned,
            group_id=group_id,
            customer_id=customer_id,
            breached=breached,
            custom=listing.filters,
        )
        # a sort by a custom field orders on its path (a money field's amount)
        allowed = {**{s: s for s in TICKET_SORTS}, **dict(listing.sorts)}
        name = checked_sort(sort, allowed).lstrip("-")
        order = sort.replace(name, allowed[name], 1)

        async def search(at: int, size: int) -> Page:
            return await queries.tickets(actor, flt, sort=order, limit=size, offset=at)

        columns = export_columns(columns_of(TicketDoc), fields, FieldEntity.TICKET)
        return await listed(
            format, search, TicketDoc, "tickets", offset=offset, limit=limit, columns=columns
        )

    @api.get("/tickets/{ticket_id}", response_model=TicketDoc)
    async def get_ticket(ticket_id: UUID, actor: Who, _: int = consistent) -> dict[str, Any]:
        return await queries.ticket(actor, str(ticket_id))

    @api.patch("/tickets/{ticket_id}", response_model=CommandAccepted)
    async def change_ticket(
        ticket_id: UUID, body: TicketPatch, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = ChangeTicketFields(str(ticket_id), body.custom)
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/tickets/{ticket_id}/assign", response_model=CommandAccepted)
    async def assign(
        ticket_id: UUID, body: Assignment, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = AssignTicket(str(ticket_id), body.agent_id, body.group_id, body.reason)
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/tickets/{ticket_id}/escalate", response_model=CommandAccepted)
    async def escalate(
        ticket_id: UUID, body: Escalation, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = EscalateTicket(str(ticket_id), body.reason, body.to_manager, body.manager_id)
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/tickets/{ticket_id}/comment", response_model=CommandAccepted)
    async def comment(
        ticket_id: UUID, body: NewComment, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = CommentOnTicket(str(ticket_id), body.body, body.public, comment_id_for(ctx))
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/tickets/{ticket_id}/articles", response_model=CommandAccepted)
    async def link_article(
        ticket_id: UUID, body: ArticleLink, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = LinkArticle(str(ticket_id), body.article_id)
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/tickets/{ticket_id}/resolve", response_model=CommandAccepted)
    async def resolve(
        ticket_id: UUID, body: Resolution, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = ResolveTicket(str(ticket_id), body.resolution, body.kb_article_id)
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/tickets/{ticket_id}/reopen", response_model=CommandAccepted)
    async def reopen(
        ticket_id: UUID, body: Reopening, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = ReopenTicket(str(ticket_id), body.reason)
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/tickets/{ticket_id}/close", response_model=CommandAccepted)
    async def close(ticket_id: UUID, ctx: Ctx, response: Response) -> CommandAccepted:
        return accepted(await bus.execute(CloseTicket(str(ticket_id)), ctx), response)

    @api.post("/tickets/{ticket_id}/satisfaction", response_model=CommandAccepted)
    async def satisfaction(
        ticket_id: UUID, body: Satisfaction, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = RecordSatisfaction(str(ticket_id), body.score, body.comment)
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/tickets/{ticket_id}/follow-up", response_model=CommandAccepted)
    async def follow_up(
        ticket_id: UUID, body: FollowUp, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = RecordFollowUp(str(ticket_id), body.note)
        return accepted(await bus.execute(command, ctx), response)

    # -- SLA policies ----------------------------------------------------------------------------

    @api.post("/sla/policies", status_code=201, response_model=CommandAccepted)
    async def define_policy(body: NewPolicy, ctx: Ctx, response: Response) -> CommandAccepted:
        """Define the policy of ``level`` (201: the first time, or again after it was
        retired) or revise the one in force (200; the same terms again: 200, nothing
        recorded)."""
        command = DefinePolicy(
            level=body.level,
            name=body.name,
            targets={
                priority: (t.first_response_minutes, t.resolution_minutes)
                for priority, t in body.targets.items()
            },
            calendar_id=body.calendar_id,
            follow_up_days=body.follow_up_days,
            follow_up_escalation_days=body.follow_up_escalation_days,
        )
        outcome = await bus.run(command, ctx)
        result = tenant_own(outcome.result)
        defined = any(isinstance(e, SlaPolicyDefined) for e in outcome.aggregate.changes)
        if outcome.recorded and defined:  # this call defined it: first, or after retirement
            return accepted(result, response, created_under="/sla/policies")
        response.status_code = 200
        return accepted(result, response)

    @api.get("/sla/policies", response_model=PageOf[SlaPolicyDoc], responses=EXPORT_RESPONSES)
    async def list_policies(
        actor: Who,
        _: int = consistent,
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        async def search(at: int, size: int) -> Page:
            return await queries.policies(actor, limit=size, offset=at)

        return await listed(
            format, search, SlaPolicyDoc, "sla-policies", offset=offset, limit=limit
        )

    @api.get("/sla/policies/{policy_id}", response_model=SlaPolicyDoc)
    async def get_policy(policy_id: str, actor: Who, _: int = consistent) -> dict[str, Any]:
        return await queries.policy(actor, policy_id)

    @api.post("/sla/policies/{policy_id}/retire", response_model=CommandAccepted)
    async def retire_policy(policy_id: PolicyId, ctx: Ctx, response: Response) -> CommandAccepted:
        """New tickets of the level get the default policy from now on (the default policy
        retired: the built-in one); open tickets keep its targets. The tenant's last policy in
        force is a 409 (``last_policy``)."""
        level = None if policy_id == "default" else ContractLevel(policy_id)
        return accepted(tenant_own(await bus.execute(RetirePolicy(level), ctx)), response)

    # -- calendars -------------------------------------------------------------------------------

    @api.post("/calendars", status_code=201, response_model=CommandAccepted)
    async def define_calendar(body: NewCalendar, ctx: Ctx, response: Response) -> CommandAccepted:
        hours = [WorkingHours(weekday=h.weekday, start=h.start, end=h.end) for h in body.hours]
        cid = body.id or str(uuid4())
        command = DefineCalendar(body.name, body.time_zone, hours, body.holidays, cid)
        result = tenant_own(await bus.execute(command, ctx))
        return accepted(result, response, created_under="/calendars")

    @api.get("/calendars", response_model=PageOf[CalendarDoc], responses=EXPORT_RESPONSES)
    async def list_calendars(
        actor: Who,
        _: int = consistent,
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        async def search(at: int, size: int) -> Page:
            return await queries.calendars(actor, limit=size, offset=at)

        return await listed(format, search, CalendarDoc, "calendars", offset=offset, limit=limit)

    @api.get("/calendars/{calendar_id}", response_model=CalendarDoc)
    async def get_calendar(calendar_id: str, actor: Who, _: int = consistent) -> dict[str, Any]:
        return await queries.calendar(actor, calendar_id)

    @api.post("/calendars/{calendar_id}/retire", response_model=CommandAccepted)
    async def retire_calendar(calendar_id: str, ctx: Ctx, response: Response) -> CommandAccepted:
        """Policies may not name it from now on; tickets keep counting in it. A calendar a
        policy in force names is a 409 (``calendar_in_use``)."""
        result = await bus.execute(RetireCalendar(calendar_id), ctx)
        return accepted(tenant_own(result), response)

    # -- contracts -------------------------------------------------------------------------------

    @api.post("/contracts", status_code=201, response_model=CommandAccepted)
    async def sign_contract(body: NewContract, ctx: Ctx, response: Response) -> CommandAccepted:
        command = SignContract(body.customer_id, body.level, body.starts_on, body.ends_on)
        result = tenant_own(await bus.execute(command, ctx))
        return accepted(result, response, created_under="/contracts")

    @api.post("/contracts/{customer_id}/change", response_model=CommandAccepted)
    async def change_contract(
        customer_id: str, body: ContractChange, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await bus.execute(ChangeContract(customer_id, body.level), ctx)
        return accepted(tenant_own(result), response)

    @api.post("/contracts/{customer_id}/end", response_model=CommandAccepted)
    async def end_contract(
        customer_id: str, body: ContractEnd, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = EndContract(customer_id, body.ended_on or ctx.now.date(), body.reason)
        return accepted(tenant_own(await bus.execute(command, ctx)), response)

    @api.get("/contracts", response_model=PageOf[ContractDoc], responses=EXPORT_RESPONSES)
    async def list_contracts(
        actor: Who,
        _: int = consistent,
        customer_id: Annotated[str | None, Query(max_length=64)] = None,
        level: ContractLevel | None = None,
        active: bool | None = None,
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        flt = ContractFilter(
            customer_id=customer_id, level=level.value if level else None, active=active
        )

        async def search(at: int, size: int) -> Page:
            return await queries.contracts(actor, flt, limit=size, offset=at)

        return await listed(format, search, ContractDoc, "contracts", offset=offset, limit=limit)

    @api.get("/contracts/{customer_id}", response_model=ContractDoc)
    async def get_contract(customer_id: str, actor: Who, _: int = consistent) -> dict[str, Any]:
        return await queries.contract(actor, customer_id)

    return api
