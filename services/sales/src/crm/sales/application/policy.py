"""Who may see and change which sales records, enforced here rather than in any UI.

- admin: everything in the tenant.
- manager: the records of their team (the ``team`` claim of their token), or of the whole
  tenant if their token names no team; configures the pipeline, products, price books,
  campaigns and targets.
- sales_rep: only the records they own (leads, opportunities, quotes, orders, invoices); new
  records are theirs; sees the catalogue, campaigns and their own (or their team's) targets.
- agent and analyst: read everything, change nothing.

Every record remembers its owner and the team it belongs to (the team of whoever created it,
or of the manager who assigned it). A record the actor may not see is answered 404, so its
existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Self

from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden, NotFound
from crm.kernel.repository import CommandContext


class SalesAction(Enum):
    VIEW = "view"
    WORK = "work"
    """Create and change records: leads, opportunities, quotes, orders, invoices, payments."""
    CONFIGURE = "configure"
    """Pipeline, products, price books, campaigns and targets."""


ROLE_ACTIONS: dict[Role, frozenset[SalesAction]] = {
    Role.ADMIN: frozenset(SalesAction),
    Role.MANAGER: frozenset(SalesAction),
    Role.SALES_REP: frozenset({SalesAction.VIEW, SalesAction.WORK}),
    Role.AGENT: frozenset({SalesAction.VIEW}),
    Role.ANALYST: frozenset({SalesAction.VIEW}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The part of an actor that access rules look at, from a token or a command context."""

    id: str
    role: Role
    team: str | None = None

    @classmethod
    def of(cls, who: Actor | CommandContext) -> Self:
        if isinstance(who, Actor):
            return cls(who.id, who.role, who.team)
        return cls(who.actor, Role(who.role), who.team)

    @property
    def scoped_to_own(self) -> bool:
        return self.role is Role.SALES_REP

    @property
    def scoped_to_team(self) -> bool:
        return self.role is Role.MANAGER and self.team is not None

    def can_see(self, owner_id: str | None, team_id: str | None) -> bool:
        if self.scoped_to_own:
            return owner_id == self.id
        if self.scoped_to_team:
            return team_id == self.team or owner_id == self.id
        return True

    def may(self, action: SalesAction) -> bool:
        return action in ROLE_ACTIONS[self.role]


def authorize(
    who: Actor | CommandContext,
    action: SalesAction,
    *,
    what: str,
    owner_id: str | None = None,
    team_id: str | None = None,
    owned: bool = True,
) -> Principal:
    """Raise NotFound if the actor may not see the record (``owned`` records only), Forbidden
    if their role may not do ``action``."""
    p = Principal.of(who)
    if owned and not p.can_see(owner_id, team_id):
        raise NotFound(f"{what} does not exist")
    if not p.may(action):
        raise Forbidden(f"role {p.role.value} may not {action.value} {what.split(' ')[0]}s")
    return p


def owner_for_new(
    ctx: CommandContext, requested: str | None, *, what: str
) -> tuple[str, str | None]:
    """The owner and team of a record ``ctx`` creates: a rep's records are their own; a
    manager or admin may create one for any rep (it joins the manager's team)."""
    p = authorize(ctx, SalesAction.WORK, what=what, owned=False)
    if p.scoped_to_own and requested not in (None, p.id):
        raise Forbidden(f"a sales rep creates {what}s for themselves only")
    return requested or p.id, p.team


def visibility_filter(who: Actor) -> dict[str, Any]:
    """The read-model filter of the owned records an actor may see (documents carry
    ``owner_id`` and ``team_id``)."""
    p = Principal.of(who)
    if not p.may(SalesAction.VIEW):
        raise Forbidden(f"role {p.role.value} may not view sales records")
    if p.scoped_to_own:
        return {"owner_id": p.id}
    if p.scoped_to_team:
        return {"$or": [{"team_id": p.team}, {"owner_id": p.id}]}
    return {}
