"""The opportunity's commands: one plain value each, and the table that runs them.

Every command that concerns a stage is checked against the tenant's pipeline as it is when
the command runs (the table is given the lookup, :func:`~crm.sales.application.
pipeline_commands.tenant_pipeline`), and records the command's time. Two people moving one
opportunity at once both land, each checked against what the other did (the command bus runs
a command again on a conflict), unless the caller pinned the version it read (a PATCH's or a
stage move's ``If-Match``, the board's card).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import uuid4

from crm.events.custom_fields import FieldEntity
from crm.events.money import Money
from crm.events.sales import LeadConversionRequested
from crm.kernel.access import Principal
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.custom_fields import CustomFieldsState, check_values
from crm.kernel.directory import Customers
from crm.kernel.errors import Forbidden, WrongExpectedVersion
from crm.kernel.repository import CommandContext
from crm.sales.application.pipeline_commands import PipelineOf
from crm.sales.application.policy import POLICY, SalesAction, owner_for_new, scope_of
from crm.sales.domain.opportunities import Opportunity


def _new_id() -> str:
    return str(uuid4())


@dataclass(frozen=True, slots=True)
class OpenOpportunity:
    """Directly, for an existing customer (a lead's opens through its conversion)."""

    customer_id: str
    name: str
    amount: Money
    expected_close_date: date
    stage: str | None = None
    """None: the pipeline's first open stage."""
    owner_id: str | None = None
    """None: whoever opens it."""
    campaign_id: str | None = None
    opportunity_id: str = field(default_factory=_new_id)
    custom: Mapping[str, Any] = field(default_factory=dict)
    """Values of the tenant's custom fields of opportunities, by key."""


@dataclass(frozen=True, slots=True)
class OpenConvertedOpportunity:
    """The conversion process's step that opens the opportunity ``request`` names. Again
    after it is done (a redelivery, a restart between steps): nothing, the opportunity as it
    is."""

    lead_id: str
    request: LeadConversionRequested

    @property
    def opportunity_id(self) -> str:
        return self.request.opportunity_id


@dataclass(frozen=True, slots=True)
class MoveOpportunity:
    opportunity_id: str
    stage: str
    expected_version: int | None = None
    """The version the mover saw (an ``If-Match``, the board's card): if someone else moved
    or changed it meanwhile, the store refuses the append (409) instead of moving it again
    from where the other left it."""


@dataclass(frozen=True, slots=True)
class WinOpportunity:
    opportunity_id: str
    expected_version: int | None = None
    """The version the winner saw: someone else's change meanwhile is a 409."""


@dataclass(frozen=True, slots=True)
class LoseOpportunity:
    opportunity_id: str
    reason: str
    expected_version: int | None = None
    """The version the loser saw: someone else's change meanwhile is a 409."""


@dataclass(frozen=True, slots=True)
class ReopenOpportunity:
    opportunity_id: str
    stage: str
    reason: str | None = None
    expected_version: int | None = None
    """The version the reopener saw: someone else's change meanwhile is a 409."""


@dataclass(frozen=True, slots=True)
class ChangeOpportunity:
    """Amount, close date, owner and custom values in one append: only the fields given
    change (a custom value given blank is cleared). Only a manager (or admin) reassigns."""

    opportunity_id: str
    amount: Money | None = None
    change_currency: bool = False
    """Required to change the opportunity's currency."""
    expected_close_date: date | None = None
    owner_id: str | None = None
    expected_version: int | None = None
    custom: Mapping[str, Any] | None = None
    """Custom values to set (a blank one clears its field); the others stay."""

    @property
    def empty(self) -> bool:
        return (
            self.amount is None
            and self.expected_close_date is None
            and self.owner_id is None
            and not self.custom
        )


async def _no_fields(tenant: str) -> CustomFieldsState:
    return CustomFieldsState()


def _change(
    o: Opportunity, cmd: ChangeOpportunity, ctx: CommandContext, fields: CustomFieldsState
) -> None:
    who = Principal.of(ctx)
    if cmd.owner_id is not None and not POLICY.may(who, SalesAction.CONFIGURE):
        raise Forbidden("only a manager reassigns an opportunity")
    current = o.state.custom_values
    custom = check_values(fields, OPPORTUNITY, cmd.custom, current=current) if cmd.custom else None
    if cmd.amount is not None:
        o.revise_amount(cmd.amount, change_currency=cmd.change_currency)
    if cmd.expected_close_date is not None:
        o.revise_close_date(cmd.expected_close_date)
    if cmd.owner_id is not None:
        # into the reassigning manager's team; the process keeps the team as it is
        o.reassign(cmd.owner_id, team_id=None if who.is_system else ctx.team)
    if custom is not None:
        o.change_custom(custom)


OPPORTUNITY = FieldEntity.OPPORTUNITY


def opportunity_commands(
    pipeline: PipelineOf,
    customers: Customers,
    definitions: Callable[[str], Awaitable[CustomFieldsState]] = _no_fields,
) -> CommandTable[Opportunity]:
    """The table of the opportunity aggregate; ``pipeline`` looks up the tenant's pipeline,
    ``customers`` the customer an opportunity is opened for (one the actor may act on),
    ``definitions`` the tenant's custom fields its values are checked against."""

    async def open_(o: Opportunity, cmd: OpenOpportunity, ctx: CommandContext) -> None:
        owner, team = owner_for_new(ctx, cmd.owner_id, what="opportunity")
        await customers.require(ctx, cmd.customer_id)
        custom = check_values(await definitions(ctx.tenant), OPPORTUNITY, cmd.custom)
        o.open(
            customer_id=cmd.customer_id,
            owner_id=owner,
            name=cmd.name,
            amount=cmd.amount,
            expected_close_date=cmd.expected_close_date,
            pipeline=await pipeline(ctx.tenant),
            now=ctx.happened_at,  # an imported opportunity keeps its own time
            stage=cmd.stage,
            campaign_id=cmd.campaign_id,
            team_id=team,
            custom=custom,
        )

    async def change(o: Opportunity, cmd: ChangeOpportunity, ctx: CommandContext) -> None:
        fields = await definitions(ctx.tenant) if cmd.custom else CustomFieldsState()
        _change(o, cmd, ctx, fields)

    async def open_converted(
        o: Opportunity, cmd: OpenConvertedOpportunity, ctx: CommandContext
    ) -> None:
        request = cmd.request
        o.open(
            customer_id=request.customer_id,
            owner_id=request.owner_id,
            name=request.opportunity_name,
            amount=request.amount,
            expected_close_date=request.expected_close_date,
            pipeline=await pipeline(ctx.tenant),
            now=ctx.now,
            lead_id=cmd.lead_id,
            campaign_id=request.campaign_id,
            team_id=request.team_id,
        )

    async def move(o: Opportunity, cmd: MoveOpportunity, ctx: CommandContext) -> None:
        if cmd.expected_version is not None and cmd.expected_version != o.version:
            # a move to where the other left it records nothing, so the append would not
            # refuse it: the pinned version is checked here too
            raise WrongExpectedVersion(o.stream_id, cmd.expected_version, o.version)
        o.move_to(cmd.stage, pipeline=await pipeline(ctx.tenant), now=ctx.now)

    async def win(o: Opportunity, cmd: WinOpportunity, ctx: CommandContext) -> None:
        # an imported opportunity was won on its own day
        o.win(pipeline=await pipeline(ctx.tenant), now=ctx.happened_at)

    async def lose(o: Opportunity, cmd: LoseOpportunity, ctx: CommandContext) -> None:
        o.lose(cmd.reason, pipeline=await pipeline(ctx.tenant), now=ctx.happened_at)

    async def reopen(o: Opportunity, cmd: ReopenOpportunity, ctx: CommandContext) -> None:
        o.reopen(cmd.stage, pipeline=await pipeline(ctx.tenant), now=ctx.now, reason=cmd.reason)

    t = CommandTable(
        Opportunity,
        POLICY,
        scope=lambda o: scope_of(o.state.owner_id, o.state.team_id),
        id_field="opportunity_id",
    )
    work = SalesAction.WORK
    t.on(OpenOpportunity, Expect.NEW, work, open_)
    # ANY: the step may run again after the opportunity is open; the process (the system)
    # decided whose it is when the user converted the lead
    t.on(OpenConvertedOpportunity, Expect.ANY, work, open_converted, sees_record=False)
    t.on(MoveOpportunity, Expect.EXISTING, work, move)
    t.on(WinOpportunity, Expect.EXISTING, work, win)
    t.on(LoseOpportunity, Expect.EXISTING, work, lose)
    t.on(ReopenOpportunity, Expect.EXISTING, work, reopen)
    t.on(ChangeOpportunity, Expect.EXISTING, work, change)
    return t
