"""The lead's commands: one plain value each, and the table that runs them.

Converting a lead crosses contexts, so it is two commands at the two ends of a process:
:class:`ConvertLead` (a user's) records the request with the customer and opportunity ids
fixed once; the conversion process (:mod:`crm.sales.application.reactions`) sends
:class:`CompleteLeadConversion` once the opportunity is open. Each may be sent again safely:
the domain treats a repeated request, or a repeated completion, as done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import uuid4

from crm.events.custom_fields import FieldEntity
from crm.events.money import Money
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.custom_fields import CheckedValues, CustomFieldsState, check_values
from crm.kernel.directory import Customers
from crm.kernel.errors import Forbidden
from crm.kernel.repository import CommandContext
from crm.sales.application.policy import POLICY, SalesAction, owner_for_new, scope_of, scoped_to_own
from crm.sales.domain.leads import Lead, conversion_ids


def _new_id() -> str:
    return str(uuid4())


@dataclass(frozen=True, slots=True)
class CaptureLead:
    name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    source: str | None = None
    campaign_id: str | None = None
    owner_id: str | None = None
    """The owning rep; None: whoever captures it."""
    lead_id: str = field(default_factory=_new_id)
    custom: Mapping[str, Any] = field(default_factory=dict)
    """Values of the tenant's custom fields of leads, by key."""


@dataclass(frozen=True, slots=True)
class QualifyLead:
    lead_id: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class DisqualifyLead:
    lead_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ConvertLead:
    """Ask for the conversion; the process registers the customer (unless it exists) and
    opens the opportunity afterwards, under the ids :func:`conversion_of` names."""

    lead_id: str
    opportunity_name: str
    amount: Money
    expected_close_date: date
    existing_customer_id: str | None = None
    """Convert for this customer instead of registering a new one."""
    owner_id: str | None = None
    """The opportunity's owner; None: the lead's."""


@dataclass(frozen=True, slots=True)
class CompleteLeadConversion:
    """The conversion process's last step; repeated, it records nothing."""

    lead_id: str
    customer_id: str
    opportunity_id: str


def conversion_of(lead_id: str, existing_customer_id: str | None) -> tuple[str, str, bool]:
    """(customer id, opportunity id, new customer?) a conversion request names: the same ids
    the domain records, known without reading the lead (also for a replayed request)."""
    customer_id, opportunity_id = conversion_ids(lead_id)
    if existing_customer_id is not None:
        return existing_customer_id.strip(), opportunity_id, False
    return customer_id, opportunity_id, True


async def _no_fields(tenant: str) -> CustomFieldsState:
    return CustomFieldsState()


def _capturing(
    definitions: Callable[[str], Awaitable[CustomFieldsState]],
) -> Callable[[Lead, CaptureLead, CommandContext], Awaitable[None]]:
    async def capture(lead: Lead, cmd: CaptureLead, ctx: CommandContext) -> None:
        custom = check_values(await definitions(ctx.tenant), FieldEntity.LEAD, cmd.custom)
        _capture(lead, cmd, ctx, custom)

    return capture


def _capture(
    lead: Lead, cmd: CaptureLead, ctx: CommandContext, custom: CheckedValues | None = None
) -> None:
    owner, team = owner_for_new(ctx, cmd.owner_id, what="lead")
    lead.capture(
        name=cmd.name,
        owner_id=owner,
        email=cmd.email,
        phone=cmd.phone,
        company=cmd.company,
        title=cmd.title,
        source=cmd.source,
        campaign_id=cmd.campaign_id,
        team_id=team,
        custom=custom,
    )


def _complete(lead: Lead, cmd: CompleteLeadConversion, ctx: CommandContext) -> None:
    lead.complete_conversion(customer_id=cmd.customer_id, opportunity_id=cmd.opportunity_id)


def lead_commands(
    customers: Customers,
    definitions: Callable[[str], Awaitable[CustomFieldsState]] = _no_fields,
) -> CommandTable[Lead]:
    """The table of leads; ``customers`` is the directory an ``existing_customer_id`` must be
    in, for the actor; a new lead's custom values are checked against ``definitions`` (the
    tenant's custom fields)."""

    async def convert(lead: Lead, cmd: ConvertLead, ctx: CommandContext) -> None:
        if scoped_to_own(ctx) and cmd.owner_id not in (None, ctx.actor):
            raise Forbidden("a sales rep converts leads into their own opportunities only")
        if cmd.existing_customer_id is not None and lead.state.conversion is None:
            await customers.require(ctx, cmd.existing_customer_id, field="existing_customer_id")
        lead.convert(
            opportunity_name=cmd.opportunity_name,
            amount=cmd.amount,
            expected_close_date=cmd.expected_close_date,
            existing_customer_id=cmd.existing_customer_id,
            owner_id=cmd.owner_id,
        )

    t = CommandTable(
        Lead,
        POLICY,
        scope=lambda lead: scope_of(lead.state.owner_id, lead.state.team_id),
        id_field="lead_id",
    )
    work = SalesAction.WORK
    t.on(CaptureLead, Expect.NEW, work, _capturing(definitions))
    t.on(QualifyLead, Expect.EXISTING, work, lambda lead, c, _: lead.qualify(c.note))
    t.on(DisqualifyLead, Expect.EXISTING, work, lambda lead, c, _: lead.disqualify(c.reason))
    t.on(ConvertLead, Expect.EXISTING, work, convert)
    t.on(CompleteLeadConversion, Expect.EXISTING, work, _complete)
    return t
