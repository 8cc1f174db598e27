"""The pipeline's commands: leads, opportunities, the tenant's pipeline, campaigns, targets.

Each command authorises with :mod:`crm.sales.application.policy` against the loaded state,
runs the domain and appends with the version it loaded; a concurrent writer makes the append
fail and the command run again on a fresh load (:func:`crm.kernel.repository.execute`), so two
people moving one opportunity at once both land, each checked against what the other did.

Commands run by a process (``ctx.role == SYSTEM_ROLE``, the lead conversion's reactions) are
not a user's: they bypass the ownership rules, the process decided when the user converted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from uuid import uuid4

from crm.events.money import Money
from crm.events.sales import (
    CampaignChannel,
    LeadConversionRequested,
    StageDefinition,
    TargetOwnerKind,
)
from crm.kernel.codec import EventCodec
from crm.kernel.errors import Forbidden, NotFound, RuleViolated, WrongExpectedVersion
from crm.kernel.event_store import AppendResult, EventStore
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.repository import A, CommandContext, Repository, execute
from crm.kernel.tenancy import qualified
from crm.sales.application.policy import (
    Principal,
    SalesAction,
    authorize,
    owner_for_new,
)
from crm.sales.domain.campaigns import Campaign
from crm.sales.domain.leads import Lead, conversion_ids
from crm.sales.domain.opportunities import Opportunity
from crm.sales.domain.pipeline import DEFAULT_PIPELINE, Pipeline, PipelineDefinition
from crm.sales.domain.targets import Target

ATTEMPTS = 10
"""Fresh loads a command gets when concurrent writers keep winning the append on its stream:
enough for a burst of edits of one opportunity, each of which is a single short append."""


@dataclass(frozen=True, slots=True)
class Conversion:
    """What a lead converts into: fixed when the conversion is requested."""

    result: AppendResult
    customer_id: str
    opportunity_id: str
    new_customer: bool


@dataclass(frozen=True, slots=True)
class OpportunityChanges:
    """A PATCH of an opportunity: only the fields given change."""

    amount: Money | None = None
    change_currency: bool = False
    expected_close_date: date | None = None
    owner_id: str | None = None

    @property
    def empty(self) -> bool:
        return self.amount is None and self.expected_close_date is None and self.owner_id is None


def is_system(ctx: CommandContext) -> bool:
    return ctx.role == SYSTEM_ROLE


class PipelineService:
    def __init__(self, store: EventStore, codec: EventCodec) -> None:
        self.store = store
        self.leads = Repository(store, codec, Lead)
        self.opportunities = Repository(store, codec, Opportunity)
        self.pipelines = Repository(store, codec, Pipeline)
        self.campaigns = Repository(store, codec, Campaign)
        self.targets = Repository(store, codec, Target)

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _guard(
        ctx: CommandContext,
        action: SalesAction,
        what: str,
        owner_id: str | None = None,
        team_id: str | None = None,
        *,
        owned: bool = True,
    ) -> None:
        if not is_system(ctx):
            authorize(ctx, action, what=what, owner_id=owner_id, team_id=team_id, owned=owned)

    async def pipeline(self, tenant: str) -> PipelineDefinition:
        """The tenant's pipeline; the default one until a manager configures it."""
        try:
            return (await self.pipelines.load(tenant, tenant=tenant)).definition
        except NotFound:
            return DEFAULT_PIPELINE

    async def _upsert(
        self, repository: Repository[A], id: str, action: Callable[[A], None], ctx: CommandContext
    ) -> AppendResult:
        """Run ``action`` on the aggregate, a new one if its stream does not exist yet (two
        concurrent creations: one wins, the other is a 409 ``version_conflict``)."""
        try:
            return await execute(repository, id, action, ctx, attempts=ATTEMPTS)
        except NotFound:
            return await execute(repository, id, action, ctx, create=True)

    # -- leads -------------------------------------------------------------------------------

    async def capture_lead(
        self,
        ctx: CommandContext,
        *,
        name: str,
        email: str | None = None,
        phone: str | None = None,
        company: str | None = None,
        title: str | None = None,
        source: str | None = None,
        campaign_id: str | None = None,
        owner_id: str | None = None,
    ) -> AppendResult:
        owner, team = owner_for_new(ctx, owner_id, what="lead")
        return await execute(
            self.leads,
            str(uuid4()),
            lambda lead: lead.capture(
                name=name,
                owner_id=owner,
                email=email,
                phone=phone,
                company=company,
                title=title,
                source=source,
                campaign_id=campaign_id,
                team_id=team,
            ),
            ctx,
            create=True,
        )

    async def _act_on_lead(
        self, ctx: CommandContext, lead_id: str, command: Callable[[Lead], None]
    ) -> AppendResult:
        def guarded(lead: Lead) -> None:
            what = f"lead {lead_id}"
            self._guard(ctx, SalesAction.WORK, what, lead.state.owner_id, lead.state.team_id)
            command(lead)

        return await execute(self.leads, lead_id, guarded, ctx, attempts=ATTEMPTS)

    async def qualify_lead(
        self, ctx: CommandContext, lead_id: str, note: str | None = None
    ) -> AppendResult:
        return await self._act_on_lead(ctx, lead_id, lambda lead: lead.qualify(note))

    async def disqualify_lead(self, ctx: CommandContext, lead_id: str, reason: str) -> AppendResult:
        return await self._act_on_lead(ctx, lead_id, lambda lead: lead.disqualify(reason))

    async def convert_lead(
        self,
        ctx: CommandContext,
        lead_id: str,
        *,
        opportunity_name: str,
        amount: Money,
        expected_close_date: date,
        existing_customer_id: str | None = None,
        owner_id: str | None = None,
    ) -> AppendResult:
        """Record the conversion; the process manager registers the customer and opens the
        opportunity afterwards. A rep converts into an opportunity of their own only."""
        if not is_system(ctx):
            p = Principal.of(ctx)
            if p.scoped_to_own and owner_id not in (None, p.id):
                raise Forbidden("a sales rep converts leads into their own opportunities only")
        return await self._act_on_lead(
            ctx,
            lead_id,
            lambda lead: lead.convert(
                opportunity_name=opportunity_name,
                amount=amount,
                expected_close_date=expected_close_date,
                existing_customer_id=existing_customer_id,
                owner_id=owner_id,
            ),
        )

    @staticmethod
    def conversion_of(lead_id: str, existing_customer_id: str | None) -> tuple[str, str, bool]:
        """(customer id, opportunity id, new customer?) a conversion request names: the same
        ids the domain records, known without reading the lead (also for a replayed request)."""
        customer_id, opportunity_id = conversion_ids(lead_id)
        if existing_customer_id is not None:
            return existing_customer_id.strip(), opportunity_id, False
        return customer_id, opportunity_id, True

    async def complete_lead_conversion(
        self, ctx: CommandContext, lead_id: str, customer_id: str, opportunity_id: str
    ) -> AppendResult:
        """The conversion process's last step; repeated, it records nothing."""
        return await self._act_on_lead(
            ctx,
            lead_id,
            lambda lead: lead.complete_conversion(
                customer_id=customer_id, opportunity_id=opportunity_id
            ),
        )

    # -- opportunities -----------------------------------------------------------------------

    async def open_opportunity(
        self,
        ctx: CommandContext,
        *,
        customer_id: str,
        name: str,
        amount: Money,
        expected_close_date: date,
        stage: str | None = None,
        owner_id: str | None = None,
        campaign_id: str | None = None,
    ) -> AppendResult:
        """Directly, for an existing customer (a lead's goes through its conversion)."""
        owner, team = owner_for_new(ctx, owner_id, what="opportunity")
        pipeline = await self.pipeline(ctx.tenant)
        return await execute(
            self.opportunities,
            str(uuid4()),
            lambda o: o.open(
                customer_id=customer_id,
                owner_id=owner,
                name=name,
                amount=amount,
                expected_close_date=expected_close_date,
                pipeline=pipeline,
                now=ctx.now,
                stage=stage,
                campaign_id=campaign_id,
                team_id=team,
            ),
            ctx,
            create=True,
        )

    async def open_converted_opportunity(
        self, ctx: CommandContext, request: LeadConversionRequested, lead_id: str
    ) -> AppendResult:
        """The conversion process's step that opens ``request.opportunity_id``. Again after it
        is done (a redelivery, a restart between steps): the opportunity as it is."""
        self._guard(ctx, SalesAction.WORK, "opportunity", owned=False)
        pipeline = await self.pipeline(ctx.tenant)

        def open_(o: Opportunity) -> None:
            o.open(
                customer_id=request.customer_id,
                owner_id=request.owner_id,
                name=request.opportunity_name,
                amount=request.amount,
                expected_close_date=request.expected_close_date,
                pipeline=pipeline,
                now=ctx.now,
                lead_id=lead_id,
                campaign_id=request.campaign_id,
                team_id=request.team_id,
            )

        oid = request.opportunity_id
        try:
            return await execute(self.opportunities, oid, open_, ctx, create=True)
        except WrongExpectedVersion:
            pass
        try:
            return await execute(self.opportunities, oid, open_, ctx, attempts=ATTEMPTS)
        except RuleViolated as e:
            if e.code != "already_exists":
                raise
        stream = Opportunity.stream_id_for(oid)
        last = (await self.store.read_stream(stream))[-1]
        return AppendResult(stream, last.stream_version, last.position)

    async def _act_on_opportunity(
        self,
        ctx: CommandContext,
        opportunity_id: str,
        command: Callable[[Opportunity], None],
        *,
        expected_version: int | None = None,
    ) -> AppendResult:
        def guarded(o: Opportunity) -> None:
            what = f"opportunity {opportunity_id}"
            self._guard(ctx, SalesAction.WORK, what, o.state.owner_id, o.state.team_id)
            command(o)

        return await execute(
            self.opportunities,
            opportunity_id,
            guarded,
            ctx,
            expected_version=expected_version,
            attempts=ATTEMPTS,
        )

    async def move_opportunity(
        self, ctx: CommandContext, opportunity_id: str, stage: str
    ) -> AppendResult:
        pipeline = await self.pipeline(ctx.tenant)
        return await self._act_on_opportunity(
            ctx, opportunity_id, lambda o: o.move_to(stage, pipeline=pipeline, now=ctx.now)
        )

    async def win_opportunity(self, ctx: CommandContext, opportunity_id: str) -> AppendResult:
        pipeline = await self.pipeline(ctx.tenant)
        return await self._act_on_opportunity(
            ctx, opportunity_id, lambda o: o.win(pipeline=pipeline, now=ctx.now)
        )

    async def lose_opportunity(
        self, ctx: CommandContext, opportunity_id: str, reason: str
    ) -> AppendResult:
        pipeline = await self.pipeline(ctx.tenant)
        return await self._act_on_opportunity(
            ctx, opportunity_id, lambda o: o.lose(reason, pipeline=pipeline, now=ctx.now)
        )

    async def reopen_opportunity(
        self, ctx: CommandContext, opportunity_id: str, stage: str, reason: str | None = None
    ) -> AppendResult:
        pipeline = await self.pipeline(ctx.tenant)
        return await self._act_on_opportunity(
            ctx,
            opportunity_id,
            lambda o: o.reopen(stage, pipeline=pipeline, now=ctx.now, reason=reason),
        )

    async def change_opportunity(
        self,
        ctx: CommandContext,
        opportunity_id: str,
        changes: OpportunityChanges,
        *,
        expected_version: int | None = None,
    ) -> AppendResult:
        """Amount, close date and owner in one append. Only a manager (or admin) reassigns."""
        reassigning = changes.owner_id is not None and not is_system(ctx)
        if reassigning and not Principal.of(ctx).may(SalesAction.CONFIGURE):
            raise Forbidden("only a manager reassigns an opportunity")

        def change(o: Opportunity) -> None:
            if changes.amount is not None:
                o.revise_amount(changes.amount, change_currency=changes.change_currency)
            if changes.expected_close_date is not None:
                o.revise_close_date(changes.expected_close_date)
            if changes.owner_id is not None:
                o.reassign(changes.owner_id, team_id=None if is_system(ctx) else ctx.team)

        return await self._act_on_opportunity(
            ctx, opportunity_id, change, expected_version=expected_version
        )

    # -- the pipeline ------------------------------------------------------------------------

    async def configure_pipeline(
        self, ctx: CommandContext, stages: Iterable[StageDefinition]
    ) -> AppendResult:
        """Managers replace the tenant's whole list of stages; the same list again: nothing."""
        self._guard(ctx, SalesAction.CONFIGURE, "pipeline", owned=False)
        wanted = tuple(stages)
        return await self._upsert(self.pipelines, ctx.tenant, lambda p: p.configure(wanted), ctx)

    # -- campaigns ---------------------------------------------------------------------------

    async def plan_campaign(
        self,
        ctx: CommandContext,
        *,
        name: str,
        channel: CampaignChannel,
        budget: Money,
        starts_on: date,
        ends_on: date,
        owner_id: str | None = None,
    ) -> AppendResult:
        self._guard(ctx, SalesAction.CONFIGURE, "campaign", owned=False)
        return await execute(
            self.campaigns,
            str(uuid4()),
            lambda c: c.plan(
                name=name,
                channel=channel,
                budget=budget,
                starts_on=starts_on,
                ends_on=ends_on,
                owner_id=owner_id or ctx.actor,
            ),
            ctx,
            create=True,
        )

    async def launch_campaign(self, ctx: CommandContext, campaign_id: str) -> AppendResult:
        self._guard(ctx, SalesAction.CONFIGURE, "campaign", owned=False)
        return await execute(
            self.campaigns, campaign_id, lambda c: c.launch(now=ctx.now), ctx, attempts=ATTEMPTS
        )

    async def end_campaign(
        self, ctx: CommandContext, campaign_id: str, reason: str | None = None
    ) -> AppendResult:
        self._guard(ctx, SalesAction.CONFIGURE, "campaign", owned=False)
        return await execute(
            self.campaigns,
            campaign_id,
            lambda c: c.end(now=ctx.now, reason=reason),
            ctx,
            attempts=ATTEMPTS,
        )

    # -- targets -----------------------------------------------------------------------------

    @staticmethod
    def _guard_target(ctx: CommandContext, owner_kind: TargetOwnerKind, owner_id: str) -> None:
        """Managers set targets; a manager with a team sets team targets for that team only."""
        if is_system(ctx):
            return
        p = authorize(ctx, SalesAction.CONFIGURE, what="target", owned=False)
        if p.scoped_to_team and owner_kind is TargetOwnerKind.TEAM and owner_id != p.team:
            raise Forbidden(f"a manager of team {p.team} sets targets of that team only")

    async def set_target(
        self,
        ctx: CommandContext,
        *,
        owner_kind: TargetOwnerKind,
        owner_id: str,
        period: str,
        amount: Money,
    ) -> AppendResult:
        """One target per owner and period: setting the same one again records nothing. The
        answer's stream is the tenant-qualified one (see :mod:`crm.sales.domain.targets`)."""
        self._guard_target(ctx, owner_kind, owner_id.strip())
        target = Target.for_owner(ctx.tenant, owner_kind, owner_id, period)
        return await self._upsert(
            self.targets,
            target.id,
            lambda t: t.set(owner_kind, owner_id, period, amount),
            ctx,
        )

    async def revise_target(
        self, ctx: CommandContext, target_id: str, amount: Money, reason: str | None = None
    ) -> AppendResult:
        """Revise the tenant's target ``target_id`` (its local id, ``rep-alice-2026-Q1``)."""

        def revise(t: Target) -> None:
            kind = t.state.owner_kind
            if kind is None:
                raise NotFound(f"target {target_id} is not set")
            self._guard_target(ctx, kind, t.state.owner_id)
            t.revise(amount, reason)

        try:
            return await execute(
                self.targets, qualified(ctx.tenant, target_id), revise, ctx, attempts=ATTEMPTS
            )
        except NotFound as missing:
            raise NotFound(f"target {target_id} does not exist") from missing
