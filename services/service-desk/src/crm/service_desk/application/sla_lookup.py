"""The policies a tenant has in force, read by the commands that must know the others: a
policy's retirement (not the last one) and a calendar's (not one a policy names).

A tenant has at most one policy per contract level and a default one, each its own stream,
so the set is those few streams, loaded here (no read model, so the answer is as of the
command, never a projection behind it).
"""

from __future__ import annotations

from crm.events.service_desk import ContractLevel
from crm.kernel.commands import CommandBus
from crm.kernel.errors import NotFound
from crm.kernel.repository import CommandContext
from crm.service_desk.domain.sla import SlaPolicy, SlaPolicyTerms, policy_aggregate_id

LEVELS: tuple[ContractLevel | None, ...] = (None, *ContractLevel)
"""Every policy a tenant can have: the default one (None) and one per contract level."""


async def policies_in_force(bus: CommandBus, ctx: CommandContext) -> dict[str, SlaPolicyTerms]:
    """The tenant's policies new tickets get, by id (``default`` and the levels')."""
    policies = bus.repository(SlaPolicy)
    found: dict[str, SlaPolicyTerms] = {}
    for level in LEVELS:
        try:
            policy = await policies.load(policy_aggregate_id(ctx.tenant, level), tenant=ctx.tenant)
        except NotFound:
            continue
        if policy.state.in_force:
            found[policy.policy_id] = policy.terms()
    return found
