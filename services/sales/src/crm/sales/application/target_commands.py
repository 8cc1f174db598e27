"""The target's commands: one plain value each, and the table that runs them.

A target's id is derived from its owner and period (``rep-alice-2026-Q1``) and qualified by
the actor's tenant (the table is tenant-qualified, see :mod:`crm.sales.domain.targets`), so
setting one is an upsert: two managers setting the same target race on one stream, and
setting it again records nothing.

A target belongs to a team, as every sales record does: a team target to its team, a rep
target to the team of the manager who set it (recorded on ``sales.target.set``; none when a
manager without a team or an admin set it). The platform keeps no roster of reps: teams are
the ``team`` claim of tokens, so the team a target was set under is its team. A manager with a
team sets team targets of that team only, and sees, sets again and revises the targets of
their team only: another team's target is answered 404 on GET, POST and PATCH alike (the
table's scope, as for every other record), and a rep's target for a period set by another
team stays that team's (one target per rep and period).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.events.money import Money
from crm.events.sales import TargetOwnerKind
from crm.kernel.access import Principal, Scope
from crm.kernel.auth import Role
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import Forbidden, NotFound
from crm.kernel.repository import CommandContext
from crm.sales.application.policy import POLICY, SalesAction, scope_of
from crm.sales.domain.checks import required_text
from crm.sales.domain.targets import Period, Target, local_target_id


@dataclass(frozen=True, slots=True)
class SetTarget:
    """One target per owner and period; the answer's stream is the tenant-qualified one."""

    owner_kind: TargetOwnerKind
    owner_id: str
    period: str
    """A month (2026-11) or a quarter (2026-Q4)."""
    amount: Money

    @property
    def target_id(self) -> str:
        """The tenant's own id of the target (refusing a blank owner or a bad period)."""
        owner = required_text(self.owner_id, "owner_id")
        return local_target_id(self.owner_kind, owner, Period.parse(self.period))


@dataclass(frozen=True, slots=True)
class ReviseTarget:
    target_id: str
    """The tenant's own id (``rep-alice-2026-Q1``)."""
    amount: Money
    reason: str | None = None


def _check_owner(ctx: CommandContext, kind: TargetOwnerKind, owner_id: str) -> None:
    """A manager of a team sets that team's targets only."""
    p = Principal.of(ctx)
    team_manager = p.role is Role.MANAGER and p.team is not None
    if team_manager and kind is TargetOwnerKind.TEAM and owner_id != p.team:
        raise Forbidden(f"a manager of team {p.team} sets targets of that team only")


def _set(t: Target, cmd: SetTarget, ctx: CommandContext) -> None:
    _check_owner(ctx, cmd.owner_kind, cmd.owner_id.strip())
    t.set(cmd.owner_kind, cmd.owner_id, cmd.period, cmd.amount, team_id=ctx.team)


def _revise(t: Target, cmd: ReviseTarget, ctx: CommandContext) -> None:
    kind = t.state.owner_kind
    if kind is None:  # the answer names the tenant's own id, not the stream's
        raise NotFound(f"target {cmd.target_id} does not exist")
    _check_owner(ctx, kind, t.state.owner_id)
    t.revise(cmd.amount, cmd.reason)


def _scope(t: Target) -> Scope:
    """A rep target is the rep's, a team target nobody's own; both are their team's."""
    s = t.state
    return scope_of(s.owner_id if s.owner_kind is TargetOwnerKind.REP else None, s.team_id)


def target_commands() -> CommandTable[Target]:
    t = CommandTable(
        Target, POLICY, scope=_scope, id_field="target_id", noun="target", tenant_qualified=True
    )
    t.on(SetTarget, Expect.ANY, SalesAction.CONFIGURE, _set)
    # ANY: a target that was never set is answered by _revise, by the tenant's own id
    t.on(ReviseTarget, Expect.ANY, SalesAction.CONFIGURE, _revise)
    return t
