"""Object-level access rules, enforced here rather than in any UI.

- admin and manager: every customer, every command; only admin erases personal data,
  exports a customer's data for them, and lists, merges or separates duplicates.
- sales_rep: sees and changes only customers they own and those in the shared pool; claims
  for themselves; registers customers for themselves or into the pool.
- agent (service desk): sees every customer, logs interactions and records consent.
- analyst: sees every customer, changes nothing.

What of a customer each role sees is the kernel's one rule for personal data
(:mod:`crm.kernel.redaction`): the contact fields (:data:`CUSTOMER_PERSONAL`) and the
interaction summaries (:data:`INTERACTION_PERSONAL`) read redacted to an analyst, who may not
search or sort by them either; every other role sees them.
A customer the actor may not see is answered 404, so its existence does not leak; except to
a claim, which the pool rule answers (409 ``not_in_pool``): a rep who lost a race for a pool
customer learns that it was claimed, not that it vanished. Ids are random UUIDs, so this
tells nothing to someone who never saw the customer in the pool.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from crm.kernel.access import AccessPolicy, Principal, Scope
from crm.kernel.auth import Role
from crm.kernel.redaction import PersonalFields

CUSTOMER_PERSONAL = PersonalFields(
    contact=(
        "name",
        "email",
        "phone",
        "title",
        "birthday",
        "anniversary",
        "contacts.name",
        "contacts.email",
        "contacts.phone",
        "contacts.title",
    ),
    notes=("contacts.note",),
    address=("billing_address", "shipping_address", "visit_address"),
)
"""The personal fields of a customer document: who they are and how to reach them (contact,
with their birthday and anniversary, and those of a company's contacts, whose notes are
the ``notes`` kind), and where they are (addresses: the kernel's
``address`` kind, which a sales rep does not see, as for a visit's address)."""

INTERACTION_PERSONAL = PersonalFields(notes=("summary",))
"""The personal field of a logged interaction: what was said."""


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
    EXPORT = "export"
    """Export everything held about a customer for them (a data subject access request)."""
    MERGE = "merge"
    """See the suspected duplicates, merge two customers, or decide they are distinct."""


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.MANAGER: frozenset(Action) - {Action.ERASE, Action.EXPORT, Action.MERGE},
    Role.SALES_REP: frozenset(
        {Action.VIEW, Action.REGISTER, Action.EDIT, Action.RELEASE, Action.CLAIM, Action.INTERACT}
    ),
    Role.AGENT: frozenset({Action.VIEW, Action.INTERACT}),
    Role.ANALYST: frozenset({Action.VIEW}),
}


def _sees(who: Principal, scope: Scope) -> bool:
    """A rep sees their own customers and the pool's (no owner); everyone else sees all."""
    return who.role is not Role.SALES_REP or scope.owner_id in (None, who.id)


def _visible(who: Principal) -> dict[str, Any]:
    if who.role is Role.SALES_REP:
        return {"$or": [{"owner_id": who.id}, {"in_pool": True}]}
    return {}


POLICY = AccessPolicy("customer", ROLE_ACTIONS, sees=_sees, visible=_visible, view=Action.VIEW)


def scope_of(owner_id: str | None) -> Scope:
    return Scope(owner_id=owner_id)
