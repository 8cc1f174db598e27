"""Routes of the sales pipeline: /leads, /opportunities, /pipeline, /campaigns, /targets.

Each command route turns the request into a command for the context's command bus and the
result into the answer (``{"id", "position", "version"}``, 201 + Location for a creation);
each read takes ``min_position`` to read its own write and answers the read model's document.
"""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from crm.events.custom_fields import FieldEntity
from crm.kernel.auth import Actor
from crm.kernel.custom_fields import (
    CustomListQuery,
    DefinitionsOf,
    custom_list_query,
    export_columns,
)
from crm.kernel.directory import Customers
from crm.kernel.errors import InvalidCommand
from crm.kernel.http import (
    Authenticator,
    CommandAccepted,
    Commands,
    PageOf,
    ReadConsistency,
    accepted,
    if_match,
)
from crm.kernel.http.export import (
    EXPORT_RESPONSES,
    ListFormat,
    PageLimit,
    columns_of,
    listed,
)
from crm.kernel.http.params import Offset
from crm.kernel.http.query import query_prefixes
from crm.kernel.http.routers import api_router
from crm.kernel.read_store import Page
from crm.kernel.redaction import PersonalKind, sees
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.kernel.tenancy import tenant_own
from crm.sales.api.pipeline_schemas import (
    CampaignEnd,
    CampaignRevision,
    ConversionAccepted,
    Disqualification,
    LeadConversion,
    Loss,
    NewCampaign,
    NewLead,
    NewOpportunity,
    NewTarget,
    OpportunityPatch,
    PipelineBody,
    PipelineView,
    Qualification,
    Reopening,
    StageMove,
    TargetRevision,
)
from crm.sales.application.campaign_commands import (
    EndCampaign,
    LaunchCampaign,
    PlanCampaign,
    ReviseCampaign,
)
from crm.sales.application.lead_commands import (
    CaptureLead,
    ConvertLead,
    DisqualifyLead,
    QualifyLead,
    conversion_of,
)
from crm.sales.application.opportunity_commands import (
    ChangeOpportunity,
    LoseOpportunity,
    MoveOpportunity,
    OpenOpportunity,
    ReopenOpportunity,
    WinOpportunity,
)
from crm.sales.application.pipeline_commands import ConfigurePipeline
from crm.sales.application.pipeline_queries import (
    CAMPAIGN_SORTS,
    LEAD_SORTS,
    OPPORTUNITY_SORTS,
    TARGET_SORTS,
    CampaignFilter,
    LeadFilter,
    OpportunityFilter,
    Paging,
    PipelineQueries,
    TargetFilter,
)
from crm.sales.application.target_commands import ReviseTarget, SetTarget
from crm.sales.domain.pipeline import Pipeline
from crm.sales.projections.customer_directory import CUSTOMER_DIRECTORY
from crm.sales.projections.pipeline_models import (
    CampaignDoc,
    CampaignsProjection,
    LeadDoc,
    LeadsProjection,
    OpportunitiesProjection,
    OpportunityDoc,
    TargetDoc,
    TargetsProjection,
)

Filter = Annotated[str | None, Query(max_length=200)]
OpportunityVersion = Annotated[
    str | None,
    Header(alias="If-Match", description="Only if the opportunity is at this version"),
]


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router()
    bus = runtime.commands
    definitions = DefinitionsOf(runtime.store, runtime.codec)
    queries = PipelineQueries(
        runtime.read_store,
        runtime.codec.keys,
        runtime.commands.repository(Pipeline),
        Customers(runtime, CUSTOMER_DIRECTORY),
    )
    commands = Commands(runtime, authenticate)
    Ctx = Annotated[CommandContext, Depends(commands.context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    leads_read = Depends(ReadConsistency(runtime, LeadsProjection()))
    opportunities_read = Depends(ReadConsistency(runtime, OpportunitiesProjection()))
    campaigns_read = Depends(ReadConsistency(runtime, CampaignsProjection()))
    targets_read = Depends(ReadConsistency(runtime, TargetsProjection()))

    async def custom_query(
        request: Request, actor: Actor, entity: FieldEntity, sort: str
    ) -> CustomListQuery:
        """A list's ``custom.<key>=`` filters and ``sort=custom.<key>`` over ``entity``'s
        fields (a personal one only for a role that sees contact data: they are the lead's
        or the customer's)."""
        fields = await definitions(actor.tenant)
        personal_ok = sees(actor, PersonalKind.CONTACT)
        return custom_list_query(fields, entity, personal_ok, request.query_params, sort)

    # -- leads -------------------------------------------------------------------------------

    @api.post("/leads", status_code=201, response_model=CommandAccepted, tags=["leads"])
    async def capture_lead(body: NewLead, ctx: Ctx, response: Response) -> CommandAccepted:
        command = CaptureLead(
            name=body.name,
            email=str(body.email) if body.email else None,
            phone=body.phone,
            company=body.company,
            title=body.title,
            source=body.source,
            campaign_id=body.campaign_id,
            owner_id=body.owner_id,
            custom=body.custom,
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response, created_under="/leads")

    @api.get(
        "/leads",
        response_model=PageOf[LeadDoc],
        responses=EXPORT_RESPONSES,
        tags=["leads"],
        openapi_extra=query_prefixes("custom."),
        description="Filter by a custom field of leads with `custom.<key>=<value>`.",
    )
    async def list_leads(
        request: Request,
        actor: Who,
        _: int = leads_read,
        owner_id: Filter = None,
        status: Literal["open", "qualified", "disqualified", "converting", "converted"]
        | None = None,
        source: Filter = None,
        campaign_id: Filter = None,
        customer_id: Annotated[
            str | None,
            Query(
                max_length=200,
                description="the customer the lead was converted into or for (with the "
                "customers merged into them)",
            ),
        ] = None,
        sort: Annotated[
            str, Query(description=f"one of {sorted(LEAD_SORTS)}, '-' for descending")
        ] = "-created_at",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        listing = await custom_query(request, actor, FieldEntity.LEAD, sort)
        flt = LeadFilter(
            owner_id=owner_id,
            status=status,
            source=source,
            campaign_id=campaign_id,
            customer_id=customer_id,
            custom=listing.filters,
            custom_sorts=listing.sorts,
        )

        async def search(at: int, size: int) -> Page:
            return await queries.leads(actor, flt, Paging(sort, size, at))

        columns = export_columns(columns_of(LeadDoc), listing.fields, FieldEntity.LEAD)
        return await listed(
            format, search, LeadDoc, "leads", offset=offset, limit=limit, columns=columns
        )

    @api.get("/leads/{lead_id}", response_model=LeadDoc, tags=["leads"])
    async def get_lead(
        lead_id: UUID, actor: Who, response: Response, _: int = leads_read
    ) -> dict[str, Any]:
        doc = await queries.lead(actor, str(lead_id))
        response.headers["ETag"] = f'"{doc["version"]}"'
        return doc

    @api.post("/leads/{lead_id}/qualify", response_model=CommandAccepted, tags=["leads"])
    async def qualify_lead(
        lead_id: UUID, ctx: Ctx, response: Response, body: Qualification | None = None
    ) -> CommandAccepted:
        note = body.note if body else None
        result = await bus.execute(QualifyLead(str(lead_id), note), ctx)
        return accepted(result, response)

    @api.post("/leads/{lead_id}/disqualify", response_model=CommandAccepted, tags=["leads"])
    async def disqualify_lead(
        lead_id: UUID, body: Disqualification, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await bus.execute(DisqualifyLead(str(lead_id), body.reason), ctx)
        return accepted(result, response)

    @api.post(
        "/leads/{lead_id}/convert",
        status_code=202,
        response_model=ConversionAccepted,
        tags=["leads"],
    )
    async def convert_lead(
        lead_id: UUID, body: LeadConversion, ctx: Ctx, response: Response
    ) -> ConversionAccepted:
        """Accepted: the customer is registered and the opportunity opened by a process that
        follows the conversion event; both ids are fixed now."""
        command = ConvertLead(
            str(lead_id),
            opportunity_name=body.opportunity_name,
            amount=body.amount,
            expected_close_date=body.expected_close_date,
            existing_customer_id=body.existing_customer_id,
            owner_id=body.owner_id,
        )
        answer = accepted(await bus.execute(command, ctx), response)
        response.status_code = 202
        customer_id, opportunity_id, new_customer = conversion_of(
            command.lead_id, command.existing_customer_id
        )
        return ConversionAccepted(
            **answer.model_dump(),
            customer_id=customer_id,
            opportunity_id=opportunity_id,
            new_customer=new_customer,
        )

    # -- opportunities -----------------------------------------------------------------------

    @api.post(
        "/opportunities", status_code=201, response_model=CommandAccepted, tags=["opportunities"]
    )
    async def open_opportunity(
        body: NewOpportunity, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = OpenOpportunity(
            customer_id=body.customer_id,
            name=body.name,
            amount=body.amount,
            expected_close_date=body.expected_close_date,
            stage=body.stage,
            owner_id=body.owner_id,
            campaign_id=body.campaign_id,
            custom=body.custom,
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response, created_under="/opportunities")

    @api.get(
        "/opportunities",
        response_model=PageOf[OpportunityDoc],
        tags=["opportunities"],
        responses=EXPORT_RESPONSES,
        openapi_extra=query_prefixes("custom."),
        description="Filter by a custom field of opportunities with `custom.<key>=<value>`; "
        "sort by one with `sort=custom.<key>`.",
    )
    async def list_opportunities(
        request: Request,
        actor: Who,
        _: int = opportunities_read,
        owner_id: Filter = None,
        stage: Filter = None,
        status: Literal["open", "won", "lost"] | None = None,
        customer_id: Filter = None,
        campaign_id: Filter = None,
        sort: Annotated[
            str, Query(description=f"one of {sorted(OPPORTUNITY_SORTS)}, '-' for descending")
        ] = "expected_close_date",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        listing = await custom_query(request, actor, FieldEntity.OPPORTUNITY, sort)
        flt = OpportunityFilter(
            owner_id=owner_id,
            stage=stage,
            status=status,
            customer_id=customer_id,
            campaign_id=campaign_id,
            custom=listing.filters,
            custom_sorts=listing.sorts,
        )

        async def search(at: int, size: int) -> Page:
            return await queries.opportunities(actor, flt, Paging(sort, size, at))

        fields = listing.fields
        columns = export_columns(columns_of(OpportunityDoc), fields, FieldEntity.OPPORTUNITY)
        return await listed(
            format,
            search,
            OpportunityDoc,
            "opportunities",
            offset=offset,
            limit=limit,
            columns=columns,
        )

    @api.get(
        "/opportunities/{opportunity_id}", response_model=OpportunityDoc, tags=["opportunities"]
    )
    async def get_opportunity(
        opportunity_id: UUID, actor: Who, response: Response, _: int = opportunities_read
    ) -> dict[str, Any]:
        doc = await queries.opportunity(actor, str(opportunity_id))
        response.headers["ETag"] = f'"{doc["version"]}"'
        return doc

    @api.post(
        "/opportunities/{opportunity_id}/stage",
        response_model=CommandAccepted,
        tags=["opportunities"],
    )
    async def move_opportunity(
        opportunity_id: UUID,
        body: StageMove,
        ctx: Ctx,
        response: Response,
        if_match_header: OpportunityVersion = None,
    ) -> CommandAccepted:
        command = MoveOpportunity(
            str(opportunity_id),
            body.stage,
            expected_version=if_match(if_match_header, "opportunity"),
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response)

    @api.post(
        "/opportunities/{opportunity_id}/win",
        response_model=CommandAccepted,
        tags=["opportunities"],
    )
    async def win_opportunity(
        opportunity_id: UUID,
        ctx: Ctx,
        response: Response,
        if_match_header: OpportunityVersion = None,
    ) -> CommandAccepted:
        command = WinOpportunity(
            str(opportunity_id), expected_version=if_match(if_match_header, "opportunity")
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response)

    @api.post(
        "/opportunities/{opportunity_id}/lose",
        response_model=CommandAccepted,
        tags=["opportunities"],
    )
    async def lose_opportunity(
        opportunity_id: UUID,
        body: Loss,
        ctx: Ctx,
        response: Response,
        if_match_header: OpportunityVersion = None,
    ) -> CommandAccepted:
        command = LoseOpportunity(
            str(opportunity_id),
            body.reason,
            expected_version=if_match(if_match_header, "opportunity"),
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response)

    @api.post(
        "/opportunities/{opportunity_id}/reopen",
        response_model=CommandAccepted,
        tags=["opportunities"],
    )
    async def reopen_opportunity(
        opportunity_id: UUID,
        body: Reopening,
        ctx: Ctx,
        response: Response,
        if_match_header: OpportunityVersion = None,
    ) -> CommandAccepted:
        command = ReopenOpportunity(
            str(opportunity_id),
            body.stage,
            body.reason,
            expected_version=if_match(if_match_header, "opportunity"),
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response)

    @api.patch(
        "/opportunities/{opportunity_id}",
        response_model=CommandAccepted,
        tags=["opportunities"],
    )
    async def change_opportunity(
        opportunity_id: UUID,
        body: OpportunityPatch,
        ctx: Ctx,
        response: Response,
        if_match_header: OpportunityVersion = None,
    ) -> CommandAccepted:
        command = ChangeOpportunity(
            str(opportunity_id),
            amount=body.amount,
            change_currency=body.change_currency,
            expected_close_date=body.expected_close_date,
            owner_id=body.owner_id,
            expected_version=if_match(if_match_header, "opportunity"),
            custom=body.custom,
        )
        if command.empty:
            raise InvalidCommand("body", "names no field to change")
        result = await bus.execute(command, ctx)
        return accepted(result, response)

    # -- pipeline ----------------------------------------------------------------------------

    @api.get("/pipeline", response_model=PipelineView, tags=["pipeline"])
    async def get_pipeline(actor: Who, response: Response) -> PipelineView:
        pipeline = await queries.pipeline(actor)
        response.headers["ETag"] = f'"{pipeline.version}"'
        return PipelineView(
            stages=list(pipeline.stages),
            configured=pipeline.configured,
            version=pipeline.version,
        )

    @api.put("/pipeline", response_model=CommandAccepted, tags=["pipeline"])
    async def configure_pipeline(
        body: PipelineBody, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await bus.execute(ConfigurePipeline(ctx.tenant, tuple(body.stages)), ctx)
        return accepted(result, response)

    # -- campaigns ---------------------------------------------------------------------------

    @api.post("/campaigns", status_code=201, response_model=CommandAccepted, tags=["campaigns"])
    async def plan_campaign(body: NewCampaign, ctx: Ctx, response: Response) -> CommandAccepted:
        command = PlanCampaign(
            name=body.name,
            channel=body.channel,
            budget=body.budget,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            owner_id=body.owner_id,
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response, created_under="/campaigns")

    @api.get(
        "/campaigns",
        response_model=PageOf[CampaignDoc],
        tags=["campaigns"],
        responses=EXPORT_RESPONSES,
    )
    async def list_campaigns(
        actor: Who,
        _: int = campaigns_read,
        status: Literal["planned", "active", "ended"] | None = None,
        channel: Filter = None,
        sort: Annotated[
            str, Query(description=f"one of {sorted(CAMPAIGN_SORTS)}, '-' for descending")
        ] = "-starts_on",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        flt = CampaignFilter(status=status, channel=channel)

        async def search(at: int, size: int) -> Page:
            return await queries.campaigns(actor, flt, Paging(sort, size, at))

        return await listed(format, search, CampaignDoc, "campaigns", offset=offset, limit=limit)

    @api.get("/campaigns/{campaign_id}", response_model=CampaignDoc, tags=["campaigns"])
    async def get_campaign(
        campaign_id: UUID, actor: Who, response: Response, _: int = campaigns_read
    ) -> dict[str, Any]:
        doc = await queries.campaign(actor, str(campaign_id))
        response.headers["ETag"] = f'"{doc["version"]}"'
        return doc

    @api.post("/campaigns/{campaign_id}/launch", response_model=CommandAccepted, tags=["campaigns"])
    async def launch_campaign(campaign_id: UUID, ctx: Ctx, response: Response) -> CommandAccepted:
        result = await bus.execute(LaunchCampaign(str(campaign_id)), ctx)
        return accepted(result, response)

    @api.post("/campaigns/{campaign_id}/end", response_model=CommandAccepted, tags=["campaigns"])
    async def end_campaign(
        campaign_id: UUID, ctx: Ctx, response: Response, body: CampaignEnd | None = None
    ) -> CommandAccepted:
        reason = body.reason if body else None
        result = await bus.execute(EndCampaign(str(campaign_id), reason), ctx)
        return accepted(result, response)

    @api.post("/campaigns/{campaign_id}/revise", response_model=CommandAccepted, tags=["campaigns"])
    async def revise_campaign(
        campaign_id: UUID, body: CampaignRevision, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = ReviseCampaign(
            str(campaign_id), body.budget, body.starts_on, body.ends_on, body.reason
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response)

    # -- targets -----------------------------------------------------------------------------
    # Target streams are qualified by the tenant (``target-<tenant>:rep-r1-2026-Q1``); answers
    # and Locations show the tenant's own id.

    @api.post("/targets", status_code=201, response_model=CommandAccepted, tags=["targets"])
    async def set_target(body: NewTarget, ctx: Ctx, response: Response) -> CommandAccepted:
        command = SetTarget(body.owner_kind, body.owner_id, body.period, body.amount)
        result = await bus.execute(command, ctx)
        return accepted(tenant_own(result), response, created_under="/targets")

    @api.get(
        "/targets", response_model=PageOf[TargetDoc], tags=["targets"], responses=EXPORT_RESPONSES
    )
    async def list_targets(
        actor: Who,
        _: int = targets_read,
        owner_kind: Literal["rep", "team"] | None = None,
        owner_id: Filter = None,
        period: Filter = None,
        sort: Annotated[
            str, Query(description=f"one of {sorted(TARGET_SORTS)}, '-' for descending")
        ] = "-period",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        flt = TargetFilter(owner_kind=owner_kind, owner_id=owner_id, period=period)

        async def search(at: int, size: int) -> Page:
            return await queries.targets(actor, flt, Paging(sort, size, at))

        return await listed(format, search, TargetDoc, "targets", offset=offset, limit=limit)

    @api.get("/targets/{target_id}", response_model=TargetDoc, tags=["targets"])
    async def get_target(
        target_id: str, actor: Who, response: Response, _: int = targets_read
    ) -> dict[str, Any]:
        doc = await queries.target(actor, target_id)
        response.headers["ETag"] = f'"{doc["version"]}"'
        return doc

    @api.patch("/targets/{target_id}", response_model=CommandAccepted, tags=["targets"])
    async def revise_target(
        target_id: str, body: TargetRevision, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = ReviseTarget(target_id, body.amount, body.reason)
        result = await bus.execute(command, ctx)
        return accepted(tenant_own(result), response)

    return api
