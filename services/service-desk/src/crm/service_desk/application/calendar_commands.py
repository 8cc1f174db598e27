"""The business calendar's command, and the lookup other commands make of a calendar.

A calendar is named by the tenant (``eu-support``), so its stream is qualified by the tenant
(``businesscalendar-<tenant>:<calendar id>``, see :mod:`crm.service_desk.domain.tenancy`):
the command carries the tenant's own id, the table qualifies it. A calendar is defined once:
the same definition again records nothing, another one is refused (policies then name a new
calendar). A calendar no policy in force names may be retired: policies cannot name it from
then on, tickets keep counting in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from uuid import uuid4

from crm.events.service_desk import WorkingHours
from crm.kernel.commands import CommandBus, CommandTable, Expect
from crm.kernel.errors import NotFound, RuleViolated
from crm.kernel.repository import CommandContext
from crm.service_desk.application.policy import POLICY, DeskAction
from crm.service_desk.application.sla_lookup import policies_in_force
from crm.service_desk.domain.calendar import (
    DEFAULT_CALENDAR,
    DEFAULT_CALENDAR_ID,
    BusinessCalendar,
    Calendar,
    calendar_aggregate_id,
)


@dataclass(frozen=True, slots=True)
class DefineCalendar:
    name: str
    time_zone: str
    hours: Sequence[WorkingHours]
    holidays: Sequence[date] = ()
    calendar_id: str = field(default_factory=lambda: str(uuid4()))
    """The tenant's own id (a slug it chose, or a new UUID)."""


@dataclass(frozen=True, slots=True)
class RetireCalendar:
    calendar_id: str


async def business_calendar(
    bus: CommandBus, ctx: CommandContext, calendar_id: str
) -> BusinessCalendar:
    """The tenant's calendar ``calendar_id`` (the built-in one if it is the default and the
    tenant did not define its own); refused if it does not exist."""
    try:
        calendar = await bus.repository(Calendar).load(
            calendar_aggregate_id(ctx.tenant, calendar_id), tenant=ctx.tenant
        )
    except NotFound:
        if calendar_id == DEFAULT_CALENDAR_ID:
            return DEFAULT_CALENDAR
        raise RuleViolated(
            f"calendar {calendar_id} does not exist; define it first", code="calendar_missing"
        ) from None
    return calendar.business_calendar()


async def policy_calendar(
    bus: CommandBus, ctx: CommandContext, calendar_id: str
) -> BusinessCalendar:
    """The calendar a policy may name: as :func:`business_calendar`, a retired one refused
    (tickets still count in it, new terms do not)."""
    try:
        calendar = await bus.repository(Calendar).load(
            calendar_aggregate_id(ctx.tenant, calendar_id), tenant=ctx.tenant
        )
    except NotFound:
        return await business_calendar(bus, ctx, calendar_id)
    if calendar.retired:
        raise RuleViolated(
            f"calendar {calendar_id} was retired; name another calendar",
            code="calendar_retired",
        )
    return calendar.business_calendar()


def _define(c: Calendar, cmd: DefineCalendar, ctx: CommandContext) -> None:
    c.define(name=cmd.name, time_zone=cmd.time_zone, hours=cmd.hours, holidays=cmd.holidays)


def calendar_commands(bus: CommandBus) -> CommandTable[Calendar]:
    async def retire(c: Calendar, cmd: RetireCalendar, ctx: CommandContext) -> None:
        policies = await policies_in_force(bus, ctx)
        c.retire(named_by=[p.id for p in policies.values() if p.calendar_id == cmd.calendar_id])

    t = CommandTable(
        Calendar, POLICY, id_field="calendar_id", noun="calendar", tenant_qualified=True
    )
    t.on(DefineCalendar, Expect.ANY, DeskAction.CONFIGURE, _define)
    t.on(RetireCalendar, Expect.EXISTING, DeskAction.CONFIGURE, retire)
    return t
