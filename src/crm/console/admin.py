"""The settings pages: teams, pipeline stages, SLA policies and business calendars, campaigns
and sales targets. Each lists through the context's own query and changes through the
context's own command on the runtime's bus, as the signed-in user, so the API's rules hold:
admins and managers configure the sales and service-desk settings (a manager of a team sets
that team's targets only), admins alone manage users and so teams; anyone else gets the 403
page, and a form they post anyway is refused by the command itself.

The pipeline is one list replaced whole (``PUT /pipeline``): each stage form carries the
version of the pipeline the page showed, and a pipeline changed meanwhile is the 409 page,
never a silent overwrite of the other change.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from crm.console.directory import UserDirectoryProjection
from crm.console.pages import PREFIX, Console, guarded, see
from crm.console.sales import CURRENCIES, _money
from crm.console.teams import CreateTeam, RenameTeam, Teams, TeamsProjection, assign_manager
from crm.console.users import ChangeRole
from crm.events.sales import (
    CampaignChannel,
    StageDefinition,
    StageOutcome,
    TargetOwnerKind,
)
from crm.events.service_desk import ContractLevel, TicketPriority, WorkingHours
from crm.events.users import ROLES
from crm.kernel.access import Principal
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden, InvalidCommand, RuleViolated
from crm.kernel.http import ReadConsistency
from crm.sales.application.campaign_commands import (
    EndCampaign,
    LaunchCampaign,
    PlanCampaign,
    ReviseCampaign,
)
from crm.sales.application.pipeline_commands import ConfigurePipeline
from crm.sales.application.pipeline_queries import CampaignFilter, Paging, TargetFilter
from crm.sales.application.policy import POLICY as SALES_POLICY
from crm.sales.application.policy import SalesAction
from crm.sales.application.target_commands import ReviseTarget, SetTarget
from crm.sales.projections.pipeline_models import CampaignsProjection, TargetsProjection
from crm.service_desk.application.calendar_commands import DefineCalendar, RetireCalendar
from crm.service_desk.application.policy import POLICY as DESK_POLICY
from crm.service_desk.application.policy import DeskAction
from crm.service_desk.application.sla_policy_commands import DefinePolicy, RetirePolicy
from crm.service_desk.projections.ticket_models import PROJECTION as DESK_PROJECTION

PolicyId = Literal["default", "basic", "standard", "premium"]
"""A policy's id on the SLA page: ``default`` or a contract level."""

SETTINGS_PAGES = ("teams", "stages", "campaigns", "targets", "sla", "fields", "duplicates")
"""The settings pages (each has a title ``admin.<page>`` and a line ``.about``)."""
SETTINGS_PAGE = 200
"""Campaigns and targets listed per page (a tenant has tens, not thousands)."""
WEEKDAYS = tuple(range(7))
PRIORITIES = tuple(TicketPriority)


def configures_sales(actor: Actor) -> bool:
    return SALES_POLICY.may(Principal.of(actor), SalesAction.CONFIGURE)


def configures_desk(actor: Actor) -> bool:
    return DESK_POLICY.may(Principal.of(actor), DeskAction.CONFIGURE)


def settings_of(actor: Actor) -> list[str]:
    """The settings pages ``actor`` may open, in the index's order."""
    pages = ["teams"] if actor.role is Role.ADMIN else []
    if configures_sales(actor):
        pages += ["stages", "campaigns", "targets"]
    if configures_desk(actor):
        pages.append("sla")
    if actor.role is Role.ADMIN:
        pages.append("fields")  # crm.console.fields
        pages.append("duplicates")  # crm.console.duplicates
    return pages


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise Forbidden(f"your role does not configure {what}")


# -- the pipeline's stages, changed one at a time (pure) -----------------------------------


def edited(
    stages: tuple[StageDefinition, ...], index: int, name: str, probability: int
) -> tuple[StageDefinition, ...]:
    """The stages with stage ``index`` renamed and given ``probability`` (its outcome kept)."""
    if not 0 <= index < len(stages):
        raise InvalidCommand("stage", "no such stage")
    changed = StageDefinition(name=name, probability=probability, outcome=stages[index].outcome)
    return (*stages[:index], changed, *stages[index + 1 :])


def added(
    stages: tuple[StageDefinition, ...], name: str, probability: int
) -> tuple[StageDefinition, ...]:
    """A new open stage, last of the open ones (before won and lost)."""
    new = StageDefinition(name=name, probability=probability, outcome=StageOutcome.OPEN)
    at = sum(1 for s in stages if s.outcome is StageOutcome.OPEN)
    return (*stages[:at], new, *stages[at:])


def moved(stages: tuple[StageDefinition, ...], index: int, by: int) -> tuple[StageDefinition, ...]:
    """The stages with open stage ``index`` swapped with its neighbour ``by`` (-1: the one
    before, 1: the one after); won and lost stay last, so an open stage moves among the open
    ones only (the board shows the open stages in this order)."""
    if not 0 <= index < len(stages) or stages[index].outcome is not StageOutcome.OPEN:
        raise InvalidCommand("stage", "no such open stage")
    other = index + by
    if not 0 <= other < len(stages) or stages[other].outcome is not StageOutcome.OPEN:
        raise InvalidCommand("stage", "it is at the end of the open stages already")
    order = list(stages)
    order[index], order[other] = order[other], order[index]
    return tuple(order)


def removed(stages: tuple[StageDefinition, ...], index: int) -> tuple[StageDefinition, ...]:
    if not 0 <= index < len(stages):
        raise InvalidCommand("stage", "no such stage")
    return stages[:index] + stages[index + 1 :]


def admin_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    bus = runtime.commands
    page = guarded(console)
    sales = console.sales
    desk = console.tickets
    campaigns_read = Depends(ReadConsistency(runtime, CampaignsProjection()))
    targets_read = Depends(ReadConsistency(runtime, TargetsProjection()))
    desk_read = Depends(ReadConsistency(runtime, DESK_PROJECTION))
    teams_read = Depends(ReadConsistency(runtime, UserDirectoryProjection(), TeamsProjection()))
    team_reads = Teams(runtime.read_store, console.directory, bus)

    async def run(request: Request, command: object, back: str) -> Response:
        visit = await console.check_csrf(request)
        await console.signed_in(request)
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/admin/{back}?min_position={result.position}&done=saved")

    @api.get(f"{PREFIX}/admin")
    @page
    async def index(request: Request) -> Response:
        visit, actor = await console.signed_in(request)
        pages = settings_of(actor)
        _require(bool(pages), "any setting")
        return console.render(visit, request, "admin.html", pages=pages)

    # -- teams ---------------------------------------------------------------------------------

    @api.get(f"{PREFIX}/admin/teams")
    @page
    async def teams(
        request: Request,
        min_position: int | None = None,
        done: str | None = None,
        _: int = teams_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        _require(actor.role is Role.ADMIN, "teams")
        found, nowhere = await team_reads.all(actor.tenant)
        return console.render(
            visit,
            request,
            "admin_teams.html",
            teams=found,
            nowhere=nowhere,
            choices=[(t.id, t.name) for t in found],
            done=done == "saved",
        )

    async def team_change(request: Request, change: Any) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        _require(actor.role is Role.ADMIN, "teams")
        result = await change(actor, console.context(visit))
        return see(f"{PREFIX}/admin/teams?min_position={result.position}&done=saved")

    @api.post(f"{PREFIX}/admin/teams")
    @page
    async def create_team(
        request: Request,
        team_id: str = Form(min_length=1, max_length=100),
        name: str = Form(min_length=1, max_length=200),
    ) -> Response:
        command = CreateTeam(team_id.strip(), name.strip())
        return await team_change(request, lambda _a, ctx: bus.execute(command, ctx))

    @api.post(f"{PREFIX}/admin/teams/{{team_id}}/rename")
    @page
    async def rename_team(
        request: Request, team_id: str, name: str = Form(min_length=1, max_length=200)
    ) -> Response:
        command = RenameTeam(team_id, name.strip())
        return await team_change(request, lambda _a, ctx: bus.execute(command, ctx))

    @api.post(f"{PREFIX}/admin/teams/{{team_id}}/manager")
    @page
    async def team_manager(
        request: Request, team_id: str, manager_id: str = Form(default="", max_length=64)
    ) -> Response:
        return await team_change(
            request,
            lambda _a, ctx: assign_manager(bus, ctx, team_id, manager_id.strip() or None),
        )

    @api.post(f"{PREFIX}/admin/teams/members/{{user_id}}")
    @page
    async def move_to_team(
        request: Request, user_id: str, team: str = Form(default="", max_length=100)
    ) -> Response:
        await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        _require(actor.role is Role.ADMIN, "teams")
        doc = await console.directory.get(actor.tenant, user_id)
        if doc is None:
            raise InvalidCommand("user_id", f"no user {user_id!r}")
        assert doc["role"] in ROLES
        await team_reads.known(actor.tenant, team.strip() or None)
        return await run(request, ChangeRole(user_id, doc["role"], team.strip() or None), "teams")

    # -- pipeline stages -------------------------------------------------------------------

    @api.get(f"{PREFIX}/admin/stages")
    @page
    async def stages(
        request: Request, min_position: int | None = None, done: str | None = None
    ) -> Response:
        visit, actor = await console.signed_in(request)
        _require(configures_sales(actor), "the pipeline")
        pipeline = await sales.pipeline(actor)
        return console.render(
            visit,
            request,
            "admin_stages.html",
            pipeline=pipeline,
            done=done == "saved",
        )

    async def configure(request: Request, version: int, change: Any) -> Response:
        await console.check_csrf(request)  # before anything about the pipeline is said
        _visit, actor = await console.signed_in(request)
        pipeline = await sales.pipeline(actor)
        if pipeline.version != version:
            raise RuleViolated(
                f"the pipeline is at version {pipeline.version} now, not {version}: "
                "someone changed it after you opened the page",
                code="changed_meanwhile",
            )
        stages = change(pipeline.stages)
        return await run(request, ConfigurePipeline(actor.tenant, stages), "stages")

    @api.post(f"{PREFIX}/admin/stages/{{index}}")
    @page
    async def edit_stage(
        request: Request,
        index: int,
        name: str = Form(min_length=1, max_length=100),
        probability: int = Form(ge=0, le=100),
        version: int = Form(ge=-1),
    ) -> Response:
        return await configure(
            request, version, lambda s: edited(s, index, name.strip(), probability)
        )

    @api.post(f"{PREFIX}/admin/stages")
    @page
    async def add_stage(
        request: Request,
        name: str = Form(min_length=1, max_length=100),
        probability: int = Form(ge=0, le=100),
        version: int = Form(ge=-1),
    ) -> Response:
        return await configure(request, version, lambda s: added(s, name.strip(), probability))

    @api.post(f"{PREFIX}/admin/stages/{{index}}/move")
    @page
    async def move_stage(
        request: Request,
        index: int,
        direction: Literal["up", "down"] = Form(),
        version: int = Form(ge=-1),
    ) -> Response:
        by = -1 if direction == "up" else 1
        return await configure(request, version, lambda s: moved(s, index, by))

    @api.post(f"{PREFIX}/admin/stages/{{index}}/remove")
    @page
    async def remove_stage(request: Request, index: int, version: int = Form(ge=-1)) -> Response:
        return await configure(request, version, lambda s: removed(s, index))

    # -- campaigns ---------------------------------------------------------------------------

    @api.get(f"{PREFIX}/admin/campaigns")
    @page
    async def campaigns(
        request: Request,
        status: Literal["any", "planned", "active", "ended"] = "any",
        min_position: int | None = None,
        done: str | None = None,
        _: int = campaigns_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        _require(configures_sales(actor), "campaigns")
        flt = CampaignFilter(status=None if status == "any" else status)
        found = await sales.campaigns(actor, flt, Paging("-starts_on", SETTINGS_PAGE))
        return console.render(
            visit,
            request,
            "admin_campaigns.html",
            items=found.items,
            shown_status=status,
            channels=list(CampaignChannel),
            currencies=CURRENCIES,
            done=done == "saved",
            names=await console.directory.names(actor.tenant),
        )

    @api.post(f"{PREFIX}/admin/campaigns")
    @page
    async def plan_campaign(
        request: Request,
        name: str = Form(min_length=1, max_length=200),
        channel: CampaignChannel = Form(),
        budget: str = Form(max_length=30),
        currency: str = Form(default="EUR", max_length=3),
        starts_on: date = Form(),
        ends_on: date = Form(),
    ) -> Response:
        command = PlanCampaign(
            name=name.strip(),
            channel=channel,
            budget=_money(budget, currency, "budget"),
            starts_on=starts_on,
            ends_on=ends_on,
        )
        return await run(request, command, "campaigns")

    @api.post(f"{PREFIX}/admin/campaigns/{{campaign_id}}/launch")
    @page
    async def launch_campaign(request: Request, campaign_id: str) -> Response:
        return await run(request, LaunchCampaign(campaign_id), "campaigns")

    @api.post(f"{PREFIX}/admin/campaigns/{{campaign_id}}/end")
    @page
    async def end_campaign(
        request: Request, campaign_id: str, reason: str = Form(default="", max_length=500)
    ) -> Response:
        return await run(request, EndCampaign(campaign_id, reason.strip() or None), "campaigns")

    @api.post(f"{PREFIX}/admin/campaigns/{{campaign_id}}/revise")
    @page
    async def revise_campaign(
        request: Request,
        campaign_id: str,
        budget: str = Form(max_length=30),
        currency: str = Form(default="EUR", max_length=3),
        starts_on: date = Form(),
        ends_on: date = Form(),
        reason: str = Form(default="", max_length=500),
    ) -> Response:
        command = ReviseCampaign(
            campaign_id,
            _money(budget, currency, "budget"),
            starts_on,
            ends_on,
            reason.strip() or None,
        )
        return await run(request, command, "campaigns")

    # -- targets -----------------------------------------------------------------------------

    @api.get(f"{PREFIX}/admin/targets")
    @page
    async def targets(
        request: Request,
        period: Annotated[str | None, Query(max_length=7)] = None,
        min_position: int | None = None,
        done: str | None = None,
        _: int = targets_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        _require(configures_sales(actor), "targets")
        flt = TargetFilter(period=(period or "").strip() or None)
        found = await sales.targets(actor, flt, Paging("-period", SETTINGS_PAGE))
        return console.render(
            visit,
            request,
            "admin_targets.html",
            items=found.items,
            period=period or "",
            kinds=list(TargetOwnerKind),
            currencies=CURRENCIES,
            done=done == "saved",
            names=await console.directory.names(actor.tenant),
        )

    @api.post(f"{PREFIX}/admin/targets")
    @page
    async def set_target(
        request: Request,
        owner_kind: TargetOwnerKind = Form(),
        owner_id: str = Form(min_length=1, max_length=100),
        period: str = Form(max_length=7),
        amount: str = Form(max_length=30),
        currency: str = Form(default="EUR", max_length=3),
    ) -> Response:
        command = SetTarget(owner_kind, owner_id.strip(), period.strip(), _money(amount, currency))
        return await run(request, command, "targets")

    @api.post(f"{PREFIX}/admin/targets/{{target_id}}")
    @page
    async def revise_target(
        request: Request,
        target_id: str,
        amount: str = Form(max_length=30),
        currency: str = Form(default="EUR", max_length=3),
        reason: str = Form(default="", max_length=500),
    ) -> Response:
        command = ReviseTarget(target_id, _money(amount, currency), reason.strip() or None)
        return await run(request, command, "targets")

    # -- SLA policies and business calendars ----------------------------------------------

    @api.get(f"{PREFIX}/admin/sla")
    @page
    async def sla(
        request: Request,
        min_position: int | None = None,
        done: str | None = None,
        _: int = desk_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        _require(configures_desk(actor), "SLA policies")
        policies = await desk.policies(actor, limit=SETTINGS_PAGE, offset=0)
        calendars = await desk.calendars(actor, limit=SETTINGS_PAGE, offset=0)
        return console.render(
            visit,
            request,
            "admin_sla.html",
            policies=policies.items,
            calendars=calendars.items,
            levels=list(ContractLevel),
            priorities=PRIORITIES,
            weekdays=WEEKDAYS,
            done=done == "saved",
        )

    @api.post(f"{PREFIX}/admin/sla/policies")
    @page
    async def define_policy(
        request: Request,
        level: Literal["default", "basic", "standard", "premium"] = Form(),
        name: str = Form(min_length=1, max_length=200),
        calendar_id: str = Form(default="default", min_length=1, max_length=100),
        follow_up_days: int = Form(default=3, ge=1, le=365),
        follow_up_escalation_days: int = Form(default=2, ge=0, le=365),
        low_first_response: int = Form(gt=0, le=525_600),
        low_resolution: int = Form(gt=0, le=525_600),
        normal_first_response: int = Form(gt=0, le=525_600),
        normal_resolution: int = Form(gt=0, le=525_600),
        high_first_response: int = Form(gt=0, le=525_600),
        high_resolution: int = Form(gt=0, le=525_600),
        urgent_first_response: int = Form(gt=0, le=525_600),
        urgent_resolution: int = Form(gt=0, le=525_600),
    ) -> Response:
        minutes = {
            TicketPriority.LOW: (low_first_response, low_resolution),
            TicketPriority.NORMAL: (normal_first_response, normal_resolution),
            TicketPriority.HIGH: (high_first_response, high_resolution),
            TicketPriority.URGENT: (urgent_first_response, urgent_resolution),
        }
        command = DefinePolicy(
            level=None if level == "default" else ContractLevel(level),
            name=name.strip(),
            targets=minutes,
            calendar_id=calendar_id.strip(),
            follow_up_days=follow_up_days,
            follow_up_escalation_days=follow_up_escalation_days,
        )
        return await run(request, command, "sla")

    @api.post(f"{PREFIX}/admin/sla/calendars")
    @page
    async def define_calendar(
        request: Request,
        calendar_id: str = Form(default="", max_length=100),
        name: str = Form(min_length=1, max_length=200),
        time_zone: str = Form(min_length=1, max_length=100),
        weekdays: Annotated[list[int], Form()] = [],  # noqa: B006  (FastAPI copies it)
        start: time = Form(),
        end: time = Form(),
        holidays: str = Form(default="", max_length=20_000),
    ) -> Response:
        if not weekdays:
            raise InvalidCommand("weekdays", "choose at least one working day")
        if any(d not in WEEKDAYS for d in weekdays):
            raise InvalidCommand("weekdays", "0 (Monday) to 6 (Sunday)")
        days: list[date] = []
        for part in holidays.replace("\n", ",").split(","):
            if part.strip():
                try:
                    days.append(date.fromisoformat(part.strip()))
                except ValueError as e:
                    raise InvalidCommand("holidays", f"not a date: {part.strip()!r}") from e
        hours = [WorkingHours(weekday=d, start=start, end=end) for d in sorted(set(weekdays))]
        command = (
            DefineCalendar(name.strip(), time_zone.strip(), hours, days, calendar_id.strip())
            if calendar_id.strip()
            else DefineCalendar(name.strip(), time_zone.strip(), hours, days)
        )
        return await run(request, command, "sla")

    async def retire(request: Request, command: object) -> Response:
        """The retirement, its refusals said in the reader's words (the domain's are
        English): the tenant's last policy, a calendar its policies still name."""
        visit = await console.visit(request)
        try:
            return await run(request, command, "sla")
        except RuleViolated as e:
            if e.code == "last_policy":
                raise RuleViolated(visit.t("sla.last_policy"), code=e.code) from e
            if e.code == "calendar_in_use":
                named = e.details.get("policies")
                levels = named if isinstance(named, list) else []
                names = ", ".join(visit.t("sla.level." + p) for p in levels)
                raise RuleViolated(visit.t("sla.calendar_in_use", policies=names)) from e
            raise

    @api.post(f"{PREFIX}/admin/sla/policies/{{policy_id}}/retire")
    @page
    async def retire_policy(request: Request, policy_id: PolicyId) -> Response:
        level = None if policy_id == "default" else ContractLevel(policy_id)
        return await retire(request, RetirePolicy(level))

    @api.post(f"{PREFIX}/admin/sla/calendars/{{calendar_id}}/retire")
    @page
    async def retire_calendar(request: Request, calendar_id: str) -> Response:
        return await retire(request, RetireCalendar(calendar_id))

    return api
