"""The commands of commissions: plans (admins and managers), an order's split between reps
(admins and managers who see the order), the postings of the commission process (the system
only) and the approval of a statement (admins and managers who see the rep's records).

Statements are tenant-qualified (``<rep>-<YYYY-MM>``, see
:mod:`crm.sales.domain.commissions`), as is the one plans stream of a tenant. A posting
computes the commission where it is recorded: the statement's own revenue (and, for a
quarterly target, that of the quarter's earlier months) is the attainment before it, so two
payments of one rep at once race on the statement's version and the second is computed again
on what the first recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from crm.events.commissions import (
    CommissionClawedBack,
    CommissionEarned,
    CommissionReleased,
    EntrySource,
    PlanTerms,
    SplitShare,
)
from crm.events.sales import TargetOwnerKind
from crm.events.sales_orders import LineItem
from crm.kernel.access import Principal
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import Forbidden, NotFound
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.kernel.tenancy import qualified
from crm.sales.application.policy import POLICY, SalesAction, scope_of
from crm.sales.domain.commissions import (
    PLANS_ID,
    CommissionPlans,
    CommissionSplit,
    CommissionStatement,
    compute,
    next_month,
    quarter_months,
    statement_id,
)
from crm.sales.domain.orders import Order
from crm.sales.domain.quotes import today
from crm.sales.domain.targets import Period, Target, target_id


@dataclass(frozen=True, slots=True)
class CreatePlan:
    plan_id: str
    name: str
    terms: PlanTerms
    effective_from: date | None = None
    """Default: today."""
    effective_to: date | None = None


@dataclass(frozen=True, slots=True)
class RevisePlan:
    plan_id: str
    terms: PlanTerms
    effective_from: date


@dataclass(frozen=True, slots=True)
class EndPlan:
    plan_id: str
    effective_to: date


@dataclass(frozen=True, slots=True)
class SetSplit:
    order_id: str
    shares: tuple[SplitShare, ...]


@dataclass(frozen=True, slots=True)
class EarnCommission:
    """Post a rep's commission on their share of an order or a payment to their statement for
    ``period`` (the commission process sends it)."""

    rep_id: str
    period: str
    entry_id: str
    source: EntrySource
    order_id: str
    customer_id: str
    invoice_id: str | None
    payment_id: str | None
    plan_id: str
    plan_version: int
    terms: PlanTerms
    lines: tuple[LineItem, ...]
    fraction: Decimal
    share_percent: Decimal
    held: bool
    occurred_on: date
    team_id: str | None

    @property
    def statement_id(self) -> str:
        return statement_id(self.rep_id, self.period)


@dataclass(frozen=True, slots=True)
class PostEntry:
    """Post a release or a clawback the commission process worked out."""

    entry: CommissionReleased | CommissionClawedBack

    @property
    def statement_id(self) -> str:
        return statement_id(self.entry.rep_id, self.entry.period)


@dataclass(frozen=True, slots=True)
class ApproveStatement:
    statement_id: str
    """The tenant's own id (``alice-2026-03``)."""
    note: str | None = None


def _system_only(ctx: CommandContext) -> None:
    if not Principal.of(ctx).is_system:
        raise Forbidden("only the commission process posts commissions")


def plan_commands() -> CommandTable[CommissionPlans]:
    t = CommandTable(
        CommissionPlans,
        POLICY,
        id_field="plan_id",
        noun="commission plans",
        tenant_qualified=True,
    )
    configure = SalesAction.CONFIGURE

    def plans(_: object) -> str:
        return PLANS_ID

    def create(p: CommissionPlans, cmd: CreatePlan, ctx: CommandContext) -> None:
        day = today(ctx.now)
        p.add_plan(
            cmd.plan_id,
            cmd.name,
            cmd.terms,
            effective_from=cmd.effective_from or day,
            effective_to=cmd.effective_to,
            today=day,
        )

    def revise(p: CommissionPlans, cmd: RevisePlan, ctx: CommandContext) -> None:
        p.revise(cmd.plan_id, cmd.terms, effective_from=cmd.effective_from, today=today(ctx.now))

    def end(p: CommissionPlans, cmd: EndPlan, ctx: CommandContext) -> None:
        p.end(cmd.plan_id, effective_to=cmd.effective_to, today=today(ctx.now))

    t.on(CreatePlan, Expect.ANY, configure, create, id=plans)
    t.on(RevisePlan, Expect.ANY, configure, revise, id=plans)
    t.on(EndPlan, Expect.ANY, configure, end, id=plans)
    return t


def split_commands(runtime: Runtime) -> CommandTable[CommissionSplit]:
    orders = runtime.commands.repository(Order)

    async def set_split(s: CommissionSplit, cmd: SetSplit, ctx: CommandContext) -> None:
        order = await orders.load(cmd.order_id, tenant=ctx.tenant)
        o = order.state
        POLICY.authorize(
            ctx,
            SalesAction.CONFIGURE,
            what=f"order {order.id}",
            scope=scope_of(o.owner_id, o.team_id),
        )
        s.set(order.id, cmd.shares, o.team_id)

    t = CommandTable(
        CommissionSplit,
        POLICY,
        scope=lambda s: scope_of(None, s.state.team_id),
        id_field="order_id",
        noun="commission split",
    )
    t.on(SetSplit, Expect.ANY, SalesAction.CONFIGURE, set_split)
    return t


def statement_commands(runtime: Runtime) -> CommandTable[CommissionStatement]:
    targets = runtime.commands.repository(Target)
    statements = runtime.commands.repository(CommissionStatement)

    async def target_and_before(
        s: CommissionStatement, cmd: EarnCommission, tenant: str
    ) -> tuple[Decimal | None, Decimal]:
        """The rep's target for the month (else the quarter) in the plan's currency, and the
        revenue credited towards it before this entry."""
        before = s.state.revenue
        month = Period.parse(cmd.period)
        quarter_text, first = quarter_months(cmd.period)
        for period in (month, Period.parse(quarter_text)):
            try:
                t = await targets.load(target_id(tenant, TargetOwnerKind.REP, cmd.rep_id, period))
            except NotFound:
                continue
            amount = t.state.amount
            if amount is None or amount.currency != cmd.terms.currency:
                return None, before
            if period is not month:
                earlier = first
                while earlier < cmd.period:
                    try:
                        other = await statements.load(
                            qualified(tenant, statement_id(cmd.rep_id, earlier))
                        )
                        before += other.state.revenue
                    except NotFound:
                        pass
                    earlier = next_month(earlier)
            return amount.amount, before
        return None, before

    async def earn(s: CommissionStatement, cmd: EarnCommission, ctx: CommandContext) -> None:
        _system_only(ctx)
        target, before = await target_and_before(s, cmd, ctx.tenant)
        found = compute(
            cmd.terms,
            cmd.lines,
            cmd.customer_id,
            fraction=cmd.fraction,
            share_percent=cmd.share_percent,
            before=before,
            target=target,
        )
        s.earn(
            CommissionEarned(
                entry_id=cmd.entry_id,
                rep_id=cmd.rep_id,
                period=cmd.period,
                source=cmd.source,
                order_id=cmd.order_id,
                customer_id=cmd.customer_id,
                invoice_id=cmd.invoice_id,
                payment_id=cmd.payment_id,
                plan_id=cmd.plan_id,
                plan_version=cmd.plan_version,
                basis=cmd.terms.basis,
                share_percent=cmd.share_percent,
                revenue=found.revenue,
                commission=found.commission,
                held=cmd.held,
                attainment_before=found.attainment_before,
                multiplier=found.multiplier.quantize(Decimal("0.000001")),
                occurred_on=cmd.occurred_on,
                team_id=cmd.team_id,
            )
        )

    def post(s: CommissionStatement, cmd: PostEntry, ctx: CommandContext) -> None:
        _system_only(ctx)
        if isinstance(cmd.entry, CommissionReleased):
            s.release(cmd.entry)
        else:
            s.claw_back(cmd.entry)

    def approve(s: CommissionStatement, cmd: ApproveStatement, ctx: CommandContext) -> None:
        s.approve(ctx.actor, cmd.note)

    t: CommandTable[CommissionStatement] = CommandTable(
        CommissionStatement,
        POLICY,
        scope=lambda s: scope_of(s.state.rep_id, s.state.team_id),
        id_field="statement_id",
        noun="statement",
        tenant_qualified=True,
    )
    t.on(EarnCommission, Expect.ANY, None, earn)
    t.on(PostEntry, Expect.ANY, None, post)
    t.on(ApproveStatement, Expect.EXISTING, SalesAction.CONFIGURE, approve)
    return t


def commission_commands(runtime: Runtime) -> list[CommandTable[Any]]:
    return [plan_commands(), split_commands(runtime), statement_commands(runtime)]


__all__ = [
    "ApproveStatement",
    "CreatePlan",
    "EarnCommission",
    "EndPlan",
    "PostEntry",
    "RevisePlan",
    "SetSplit",
    "commission_commands",
]
