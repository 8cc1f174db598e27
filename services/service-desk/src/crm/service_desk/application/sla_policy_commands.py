"""The SLA policy's commands, and the lookup of the policy a new ticket gets.

A policy is named by its contract level (``None``: the tenant's default policy), its stream
qualified by the tenant (``slapolicy-<tenant>:<level>``). Defining the policy of a level that
has one revises it (unchanged terms record nothing); a policy never names a calendar that
does not exist or was retired. Retiring a policy is refused for the tenant's last one in
force: a tenant has at most one policy per level and a default one, so the others are those
few streams, read here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crm.events.service_desk import ContractLevel, TicketPriority
from crm.kernel.commands import CommandBus, CommandTable, Expect
from crm.kernel.errors import NotFound
from crm.kernel.repository import CommandContext
from crm.service_desk.application.calendar_commands import policy_calendar
from crm.service_desk.application.policy import POLICY, DeskAction
from crm.service_desk.application.sla_lookup import policies_in_force
from crm.service_desk.domain.sla import (
    DEFAULT_FOLLOW_UP_DAYS,
    DEFAULT_FOLLOW_UP_ESCALATION_DAYS,
    SlaPolicy,
    SlaPolicyTerms,
    policy_aggregate_id,
    policy_id_for,
    select_policy,
)


@dataclass(frozen=True, slots=True)
class DefinePolicy:
    """Define the policy of ``level``, or revise it if it exists."""

    level: ContractLevel | None
    name: str
    targets: Mapping[TicketPriority, tuple[int, int]]
    """Per priority, (first response, resolution) in business minutes of ``calendar_id``."""
    calendar_id: str
    follow_up_days: int = DEFAULT_FOLLOW_UP_DAYS
    follow_up_escalation_days: int = DEFAULT_FOLLOW_UP_ESCALATION_DAYS

    @property
    def policy_id(self) -> str:
        return policy_id_for(self.level)


@dataclass(frozen=True, slots=True)
class RetirePolicy:
    """Stop applying the policy of ``level`` (None: the default policy) to new tickets."""

    level: ContractLevel | None

    @property
    def policy_id(self) -> str:
        return policy_id_for(self.level)


async def policy_for(
    bus: CommandBus, ctx: CommandContext, level: ContractLevel | None
) -> SlaPolicyTerms:
    """The policy of ``level``, else the tenant's default policy, else the built-in one."""
    policies = bus.repository(SlaPolicy)
    for wanted in dict.fromkeys([level, None]):
        try:
            policy = await policies.load(policy_aggregate_id(ctx.tenant, wanted), tenant=ctx.tenant)
        except NotFound:
            continue
        if policy.state.in_force:  # a retired policy is passed over, as if never defined
            return select_policy({policy_id_for(wanted): policy.terms()}, level)
    return select_policy({}, level)


def sla_policy_commands(bus: CommandBus) -> CommandTable[SlaPolicy]:
    async def define(p: SlaPolicy, cmd: DefinePolicy, ctx: CommandContext) -> None:
        await policy_calendar(bus, ctx, cmd.calendar_id)  # refused if missing or retired
        state_terms = p.revise if p.state.in_force else p.define
        state_terms(
            name=cmd.name,
            targets=cmd.targets,
            calendar_id=cmd.calendar_id,
            follow_up_days=cmd.follow_up_days,
            follow_up_escalation_days=cmd.follow_up_escalation_days,
        )

    async def retire(p: SlaPolicy, cmd: RetirePolicy, ctx: CommandContext) -> None:
        others = [i for i in await policies_in_force(bus, ctx) if i != p.policy_id]
        p.retire(others_in_force=len(others))

    t = CommandTable(
        SlaPolicy, POLICY, id_field="policy_id", noun="SLA policy", tenant_qualified=True
    )
    t.on(DefinePolicy, Expect.ANY, DeskAction.CONFIGURE, define)
    t.on(RetirePolicy, Expect.EXISTING, DeskAction.CONFIGURE, retire)
    return t
