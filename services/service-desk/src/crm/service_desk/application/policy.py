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
  personal data in them: what the customer told the desk (descriptions, comment bodies,
  satisfaction comments, follow-up notes, a visit's notes and report) and visit addresses
  read :data:`REDACTED`, by the kernel's one rule for every context
  (:mod:`crm.kernel.redaction`; :data:`TICKET_PERSONAL` and :data:`VISIT_PERSONAL` say where
  those fields sit).

A record the actor may not see is answered 404 (``NotFound``), so its existence does not
leak; a role that may see it but not act on it gets 403 (``Forbidden``).

The API is small on purpose:

- :data:`POLICY` -- the kernel's :class:`~crm.kernel.access.AccessPolicy` with the desk's
  rules: ``POLICY.authorize(who, action, what=..., scope=scope_of(group_id, agent_id))``
  (no ``scope`` for actions on no particular record, e.g. creating one) and
  ``POLICY.visibility_filter(who)``;
- :data:`TICKET_PERSONAL` and :data:`VISIT_PERSONAL` -- the personal fields of tickets and
  visits by kind: ``TICKET_PERSONAL.shown_to(who, doc)`` is the document as ``who`` may see it.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from crm.kernel.access import AccessPolicy, Principal, Scope
from crm.kernel.auth import Role
from crm.kernel.redaction import REDACTED as REDACTED
from crm.kernel.redaction import PersonalFields
from crm.service_desk.projections.ticket_models import TICKET_PERSONAL_FIELDS

TICKET_PERSONAL = PersonalFields(service=TICKET_PERSONAL_FIELDS)
"""A ticket's personal data: the customer's own words (its description, comment bodies,
satisfaction comment, follow-up note)."""

VISIT_PERSONAL = PersonalFields(address=("address",), service=("notes", "report"))
"""A visit's personal data: where the customer is, and what was noted and reported there."""


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
