"""Object-level access rules, enforced here rather than in any UI.

- admin and manager: every customer, every command; only admin erases personal data.
- sales_rep: sees and changes only customers they own and those in the shared pool; claims
  for themselves; registers customers for themselves or into the pool.
- agent (service desk): sees every customer, logs interactions and records consent.
- analyst: sees every customer, changes nothing.
A customer the actor may not see is answered 404, so its existence does not leak; except to
a claim, which the pool rule answers (409 ``not_in_pool``): a rep who lost a race for a pool
customer learns that it was claimed, not that it vanished. Ids are random UUIDs, so this
tells nothing to someone who never saw the customer in the pool.
"""

from __future__ import annotations

from enum import Enum

from crm.kernel.auth import Role
from crm.kernel.errors import Forbidden, NotFound


class Action(Enum):
    VIEW = "view"
    REGISTER = "register"
    EDIT = "edit"
    """Profile and tags."""
    ASSIGN = "assign"
    RELEASE = "release"
    CLAIM = "claim"
    INTERACT = "interact"
    """Log interactions and record consent."""
    ERASE = "erase"


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.MANAGER: frozenset(Action) - {Action.ERASE},
    Role.SALES_REP: frozenset(
        {Action.VIEW, Action.REGISTER, Action.EDIT, Action.RELEASE, Action.CLAIM, Action.INTERACT}
    ),
    Role.AGENT: frozenset({Action.VIEW, Action.INTERACT}),
    Role.ANALYST: frozenset({Action.VIEW}),
}


def can_see(role: Role, actor_id: str, owner_id: str | None) -> bool:
    return role is not Role.SALES_REP or owner_id is None or owner_id == actor_id


def authorize(
    role: Role, actor_id: str, action: Action, owner_id: str | None, customer_id: str
) -> None:
    """Raise NotFound if the actor may not see the customer, Forbidden if they may not act."""
    if action is not Action.CLAIM and not can_see(role, actor_id, owner_id):
        raise NotFound(f"customer {customer_id} does not exist")
    if action not in ROLE_ACTIONS[role]:
        raise Forbidden(f"role {role.value} may not {action.value} customers")


def visibility_filter(role: Role, actor_id: str) -> dict[str, object]:
    """The read-model filter of the customers an actor may see."""
    if role is Role.SALES_REP:
        return {"$or": [{"owner_id": actor_id}, {"in_pool": True}]}
    return {}
