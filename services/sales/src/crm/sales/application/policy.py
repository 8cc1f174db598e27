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

from enum import Enum
from typing import Any

from crm.kernel.access import AccessPolicy, Principal, Scope
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden
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


def _sees(who: Principal, scope: Scope) -> bool:
    if who.role is Role.SALES_REP:
        return scope.owner_id == who.id
    if who.role is Role.MANAGER and who.team is not None:
        return scope.team_id == who.team or scope.owner_id == who.id
    return True


def _visible(who: Principal) -> dict[str, Any]:
    if who.role is Role.SALES_REP:
        return {"owner_id": who.id}
    if who.role is Role.MANAGER and who.team is not None:
        return {"$or": [{"team_id": who.team}, {"owner_id": who.id}]}
    return {}


POLICY = AccessPolicy("sales", ROLE_ACTIONS, sees=_sees, visible=_visible, view=SalesAction.VIEW)
"""The sales rules: ``POLICY.authorize(who, action, what=..., scope=...)``, and
``POLICY.visibility_filter(who)`` for the read models (documents carry ``owner_id`` and
``team_id``)."""


def scope_of(owner_id: str | None, team_id: str | None) -> Scope:
    return Scope(owner_id=owner_id, team_id=team_id)


def scoped_to_own(who: Actor | CommandContext | Principal) -> bool:
    """A rep works on their own records only (and creates records for themselves)."""
    return Principal.of(who).role is Role.SALES_REP


def owner_for_new(
    ctx: CommandContext, requested: str | None, *, what: str
) -> tuple[str, str | None]:
    """The owner and team of a record ``ctx`` creates: a rep's records are their own; a
    manager or admin may create one for any rep (it joins the manager's team)."""
    p = POLICY.authorize(ctx, SalesAction.WORK, what=what)
    if p.role is Role.SALES_REP and requested not in (None, p.id):
        raise Forbidden(f"a sales rep creates {what}s for themselves only")
    return requested or p.id, p.team
