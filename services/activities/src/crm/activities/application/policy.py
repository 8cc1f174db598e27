"""Who may see and change which tasks, enforced here rather than in any UI.

- admin: every task of the tenant.
- manager: the tasks of their team (the ``team`` claim of their token: every task remembers
  the team of whoever planned it, or of the manager who assigned it) and their own, or every
  task of the tenant if their token names no team; plans tasks for anyone, reassigns.
- sales_rep and agent: the tasks assigned to them; plan tasks for themselves.
- analyst: reads every task, changes nothing.

A task in a team's queue (no assignee: a retention task for a customer in the shared pool)
is its team's managers' to hand out. A task the actor may not see is answered 404, so its
existence does not leak. Notifications are their recipient's alone (see
:mod:`crm.activities.application.notification_commands`).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from crm.kernel.access import AccessPolicy, Principal, Scope
from crm.kernel.auth import Role


class TaskAction(Enum):
    VIEW = "view"
    WORK = "work"
    """Plan tasks for oneself, complete, reschedule and cancel the tasks one sees."""
    ASSIGN = "assign"
    """Plan tasks for others and reassign."""


ROLE_ACTIONS: dict[Role, frozenset[TaskAction]] = {
    Role.ADMIN: frozenset(TaskAction),
    Role.MANAGER: frozenset(TaskAction),
    Role.SALES_REP: frozenset({TaskAction.VIEW, TaskAction.WORK}),
    Role.AGENT: frozenset({TaskAction.VIEW, TaskAction.WORK}),
    Role.ANALYST: frozenset({TaskAction.VIEW}),
}


def _sees(who: Principal, scope: Scope) -> bool:
    if who.role in (Role.SALES_REP, Role.AGENT):
        return scope.owner_id == who.id
    if who.role is Role.MANAGER and who.team is not None:
        return scope.team_id == who.team or scope.owner_id == who.id
    return True


def _visible(who: Principal) -> dict[str, Any]:
    if who.role in (Role.SALES_REP, Role.AGENT):
        return {"owner_id": who.id}
    if who.role is Role.MANAGER and who.team is not None:
        return {"$or": [{"team_id": who.team}, {"owner_id": who.id}]}
    return {}


POLICY = AccessPolicy("task", ROLE_ACTIONS, sees=_sees, visible=_visible, view=TaskAction.VIEW)


def scope_of(assignee_id: str | None, team_id: str | None) -> Scope:
    return Scope(owner_id=assignee_id, team_id=team_id)
