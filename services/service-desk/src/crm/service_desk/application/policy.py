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

- :class:`TicketAccess` -- the part of an actor the rules look at (from a token or a
  command context);
- :func:`authorize` -- raise unless the actor may do ``action`` on a record of ``group_id``
  and ``agent_id`` (``scoped=False`` for actions on no particular record, e.g. creating one);
- :func:`visibility_filter` -- the read-model filter of the records an actor may see
  (documents carry ``group_id`` and ``agent_id``);
- :func:`can_see_personal` and :func:`redact` -- hide personal fields from roles that do
  not need them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Self

from crm.kernel.auth import Actor, Role
from crm.kernel.erasure import replace_fields
from crm.kernel.errors import Forbidden, NotFound
from crm.kernel.reactor import SYSTEM_ROLE
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


@dataclass(frozen=True, slots=True)
class TicketAccess:
    """The part of an actor that access rules look at. ``role`` None is the system (the
    scheduler, a reaction): it may do everything."""

    id: str
    role: Role | None
    group: str | None = None

    @classmethod
    def of(cls, who: Actor | CommandContext) -> Self:
        if isinstance(who, Actor):
            return cls(who.id, who.role, who.team)
        role = None if who.role == SYSTEM_ROLE else Role(who.role)
        return cls(who.actor, role, who.team)

    @property
    def scoped_to_group(self) -> bool:
        return self.role in (Role.AGENT, Role.MANAGER) and self.group is not None

    def can_see(self, group_id: str | None, agent_id: str | None) -> bool:
        if not self.scoped_to_group:
            return True
        return (
            group_id == self.group or agent_id == self.id or (group_id is None and agent_id is None)
        )

    def may(self, action: DeskAction) -> bool:
        return self.role is None or action in ROLE_ACTIONS[self.role]


def authorize(
    who: Actor | CommandContext,
    action: DeskAction,
    *,
    what: str,
    group_id: str | None = None,
    agent_id: str | None = None,
    scoped: bool = True,
) -> TicketAccess:
    """NotFound if the actor may not see the record (``scoped`` records only: ``what`` names
    it, e.g. ``"ticket 42"``), Forbidden if their role may not do ``action``."""
    access = TicketAccess.of(who)
    if scoped and not access.can_see(group_id, agent_id):
        raise NotFound(f"{what} does not exist")
    if not access.may(action):
        role = access.role.value if access.role else SYSTEM_ROLE
        raise Forbidden(f"role {role} may not {action.value} {what.split(' ')[0]}s")
    return access


def visibility_filter(who: Actor) -> dict[str, Any]:
    """The read-model filter of the records ``who`` may see ({} for all); documents carry
    ``group_id`` and ``agent_id``. Forbidden for a role that may not view at all."""
    access = TicketAccess.of(who)
    if not access.may(DeskAction.VIEW):
        raise Forbidden(f"role {who.role.value} may not view service-desk records")
    if not access.scoped_to_group:
        return {}
    return {
        "$or": [
            {"group_id": access.group},
            {"agent_id": access.id},
            {"$and": [{"group_id": None}, {"agent_id": None}]},
        ]
    }


def can_see_personal(who: Actor | CommandContext) -> bool:
    """Whether ``who`` sees the customer's personal data (descriptions, comment bodies,
    satisfaction comments, follow-up notes, visit addresses and reports)."""
    access = TicketAccess.of(who)
    return access.role is None or access.role in PERSONAL_ROLES


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
