"""The service contract's commands, and the lookup of a customer's contract level.

A customer has one contract at a time, in one stream qualified by the tenant
(``servicecontract-<tenant>:<customer id>``: customer ids are the tenant's own). Signing the
same contract again records nothing; a new contract after the previous one ended continues
the customer's stream. Changes and ends need a contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from crm.events.service_desk import ContractLevel
from crm.kernel.commands import CommandBus, CommandTable, Expect
from crm.kernel.directory import Customers
from crm.kernel.errors import NotFound
from crm.kernel.repository import CommandContext
from crm.service_desk.application.policy import POLICY, DeskAction
from crm.service_desk.domain.contracts import ServiceContract, contract_aggregate_id


@dataclass(frozen=True, slots=True)
class SignContract:
    customer_id: str
    level: ContractLevel
    starts_on: date
    ends_on: date | None = None


@dataclass(frozen=True, slots=True)
class ChangeContract:
    customer_id: str
    level: ContractLevel


@dataclass(frozen=True, slots=True)
class EndContract:
    customer_id: str
    ended_on: date
    reason: str | None = None


async def contract_level(
    bus: CommandBus, ctx: CommandContext, customer_id: str
) -> ContractLevel | None:
    """The level of the customer's contract in force today (UTC), None without one."""
    try:
        contract = await bus.repository(ServiceContract).load(
            contract_aggregate_id(ctx.tenant, customer_id), tenant=ctx.tenant
        )
    except NotFound:
        return None
    return contract.state.level_on(ctx.now.date())


def _end(c: ServiceContract, cmd: EndContract, ctx: CommandContext) -> None:
    c.end(ended_on=cmd.ended_on, reason=cmd.reason)


def contract_commands(customers: Customers) -> CommandTable[ServiceContract]:
    """The contracts' table; ``customers`` is the directory a new contract's customer must be
    in."""

    async def sign(c: ServiceContract, cmd: SignContract, ctx: CommandContext) -> None:
        await customers.require(ctx, cmd.customer_id)
        c.sign(level=cmd.level, starts_on=cmd.starts_on, ends_on=cmd.ends_on)

    t = CommandTable(
        ServiceContract, POLICY, id_field="customer_id", noun="contract", tenant_qualified=True
    )
    t.on(SignContract, Expect.ANY, DeskAction.CONFIGURE, sign)
    t.on(
        ChangeContract,
        Expect.EXISTING,
        DeskAction.CONFIGURE,
        lambda c, cmd, _: c.change(level=cmd.level),
    )
    t.on(EndContract, Expect.EXISTING, DeskAction.CONFIGURE, _end)
    return t
