"""The SLA policy's command, and the lookup of the policy a new ticket gets.

A policy is named by its contract level (``None``: the tenant's default policy), its stream
qualified by the tenant (``slapolicy-<tenant>:<level>``). Defining the policy of a level that
has one revises it (unchanged terms record nothing); a policy never names a calendar that
does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crm.events.service_desk import ContractLevel, TicketPriority
from crm.kernel.commands import CommandBus, CommandTable, Expect
from crm.kernel.errors import NotFound
from crm.kernel.repository import CommandContext
from crm.service_desk.application.calendar_commands import business_calendar
from crm.service_desk.application.policy import POLICY, DeskAction
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
        return select_policy({policy_id_for(wanted): policy.terms()}, level)
    return select_policy({}, level)


def sla_policy_commands(bus: CommandBus) -> CommandTable[SlaPolicy]:
    async def define(p: SlaPolicy, cmd: DefinePolicy, ctx: CommandContext) -> None:
        await business_calendar(bus, ctx, cmd.calendar_id)  # refused if it does not exist
        state_terms = p.define if p.state.terms is None else p.revise
        state_terms(
            name=cmd.name,
            targets=cmd.targets,
            calendar_id=cmd.calendar_id,
            follow_up_days=cmd.follow_up_days,
            follow_up_escalation_days=cmd.follow_up_escalation_days,
        )

    t = CommandTable(
        SlaPolicy, POLICY, id_field="policy_id", noun="SLA policy", tenant_qualified=True
    )
    t.on(DefinePolicy, Expect.ANY, DeskAction.CONFIGURE, define)
    return t
