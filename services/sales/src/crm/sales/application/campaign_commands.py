"""The campaign's commands: one plain value each, and the table that runs them.

Managers (and admins) plan, launch and end campaigns; every role that views sales sees
them, so a campaign has no owner scope to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import uuid4

from crm.events.money import Money
from crm.events.sales import CampaignChannel
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.repository import CommandContext
from crm.sales.application.policy import POLICY, SalesAction
from crm.sales.domain.campaigns import Campaign


def _new_id() -> str:
    return str(uuid4())


@dataclass(frozen=True, slots=True)
class PlanCampaign:
    name: str
    channel: CampaignChannel
    budget: Money
    starts_on: date
    ends_on: date
    """Inclusive: a campaign may end on the day it starts."""
    owner_id: str | None = None
    """None: whoever plans it."""
    campaign_id: str = field(default_factory=_new_id)


@dataclass(frozen=True, slots=True)
class LaunchCampaign:
    campaign_id: str


@dataclass(frozen=True, slots=True)
class EndCampaign:
    campaign_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReviseCampaign:
    """The budget and dates, whole (the ones kept sent again)."""

    campaign_id: str
    budget: Money
    starts_on: date
    ends_on: date
    reason: str | None = None


def _plan(c: Campaign, cmd: PlanCampaign, ctx: CommandContext) -> None:
    c.plan(
        name=cmd.name,
        channel=cmd.channel,
        budget=cmd.budget,
        starts_on=cmd.starts_on,
        ends_on=cmd.ends_on,
        owner_id=cmd.owner_id or ctx.actor,
    )


def campaign_commands() -> CommandTable[Campaign]:
    t = CommandTable(Campaign, POLICY, id_field="campaign_id")
    configure = SalesAction.CONFIGURE
    t.on(PlanCampaign, Expect.NEW, configure, _plan)
    t.on(LaunchCampaign, Expect.EXISTING, configure, lambda c, _, ctx: c.launch(now=ctx.now))
    t.on(
        EndCampaign,
        Expect.EXISTING,
        configure,
        lambda c, m, ctx: c.end(now=ctx.now, reason=m.reason),
    )
    t.on(
        ReviseCampaign,
        Expect.EXISTING,
        configure,
        lambda c, m, ctx: c.revise(
            now=ctx.now,
            budget=m.budget,
            starts_on=m.starts_on,
            ends_on=m.ends_on,
            reason=m.reason,
        ),
    )
    return t
