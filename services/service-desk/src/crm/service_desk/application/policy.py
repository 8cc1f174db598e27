"""Who may see and do what in the service desk, enforced here rather than in any UI. Tickets,
visits and the knowledge base share these rules.

Roles:

- agent: works tickets (open, assign, comment, resolve, ...). An agent whose token names a
  ``team`` belongs to that support group and sees the group's tickets, the tickets assigned
  to them personally, and the unassigned queue (no group, no agent: someone has to triage
  it). An agent without a group sees every ticket.
- manager: works every ticket and configures the desk (SLA policies, calendars, service
  contracts: :attr:`DeskAction.CONFIGURE`). A manager whose token names a team sees what an
  agent of that group sees; without one, everything. admin: everything.
- sales_rep and analyst: read tickets, never change them, and never see the customer's
  personal data in them (see :func:`can_see_personal` and :func:`redact`).

A record the actor may not see is answered 404 (``NotFound``), so its existence does not
leak; a role that may see it but not act on it gets 403 (``Forbidden``).

The API is small on purpose:

- :data:`POLICY` -- the kernel's :class:`~crm.kernel.access.AccessPolicy` with the desk's
  rules: ``POLICY.authorize(who, action, what=..., scope=scope_of(group_id, agent_id))``
  (no ``scope`` for actions on no particular record, e.g. creating one) and
  ``POLICY.visibility_filter(who)``;
- :func:`can_see_personal` and :func:`redact` -- hide personal fields from roles that do
  not need them.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from crm.kernel.access import AccessPolicy, Principal, Scope
from crm.kernel.auth import Actor, Role
from crm.kernel.erasure import replace_fields
from crm.kernel.repository import CommandContext

REDACTED = "\u2039redacted\u203a"
"""What a personal field shows to a role that may not see it."""


class DeskAction(Enum):
    VIEW = "view"
    WORK = "work"
    """Change tickets (and visits, articles: whatever an agent does day to day)."""
    CONFIGURE = "configure"
    """SLA policies, business calendars, service contracts."""


ROLE_ACTIONS: dict[Role, frozenset[DeskAction]] = {
    Role.ADMIN: frozenset(DeskAction),
    Role.MANAGER: frozenset(DeskAction),
    Role.AGENT: frozenset({DeskAction.VIEW, DeskAction.WORK}),
    Role.SALES_REP: frozenset({DeskAction.VIEW}),
    Role.ANALYST: frozenset({DeskAction.VIEW}),
}

PERSONAL_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.AGENT})
"""The roles that need the customer's own words to do their job."""


def _sees(who: Principal, scope: Scope) -> bool:
    """A desk record's scope: ``team_id`` is its support group, ``owner_id`` its agent."""
    if who.role not in (Role.AGENT, Role.MANAGER) or who.team is None:
        return True
    return (
        scope.team_id == who.team
        or scope.owner_id == who.id
        or (scope.team_id is None and scope.owner_id is None)
    )


def _visible(who: Principal) -> dict[str, Any]:
    if who.role not in (Role.AGENT, Role.MANAGER) or who.team is None:
        return {}
    return {
        "$or": [
            {"group_id": who.team},
            {"agent_id": who.id},
            {"$and": [{"group_id": None}, {"agent_id": None}]},
        ]
    }


POLICY = AccessPolicy(
    "service-desk", ROLE_ACTIONS, sees=_sees, visible=_visible, view=DeskAction.VIEW
)
"""The desk's rules: ``POLICY.authorize(who, action, what=..., scope=scope_of(group, agent))``
and ``POLICY.visibility_filter(who)`` (documents carry ``group_id`` and ``agent_id``)."""


def scope_of(group_id: str | None, agent_id: str | None) -> Scope:
    """The scope of a record of support group ``group_id`` assigned to ``agent_id``."""
    return Scope(owner_id=agent_id, team_id=group_id)


def can_see_personal(who: Actor | CommandContext) -> bool:
    """Whether ``who`` sees the customer's personal data (descriptions, comment bodies,
    satisfaction comments, follow-up notes, visit addresses and reports)."""
    p = Principal.of(who)
    return p.role is None or p.role in PERSONAL_ROLES


def redact(doc: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """A copy of ``doc`` with each of ``fields`` replaced by :data:`REDACTED` (a None value
    stays None: there is nothing to hide). A dotted path goes into a nested document, and
    into every element of a list on the way (``"comments.body"`` redacts each comment's
    body). ``doc`` itself is not changed."""
    return replace_fields(doc, fields, REDACTED)


def personal_view(who: Actor, doc: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """``doc`` as ``who`` may see it: whole for roles that need personal data, else
    :func:`redact`-ed."""
    return doc if can_see_personal(who) else redact(doc, fields)
