"""Access rules, one shape for every context.

A context states its rules as an :class:`AccessPolicy`: which actions each role may take, and
which records a principal may see (its ``sees`` rule over a record's :class:`Scope`). The
kernel's command path and every query ask the same two questions through it, with one
signature: ``policy.authorize(who, action, what=..., scope=...)``.

A record the actor may not see is answered 404 (:class:`NotFound`), so its existence does not
leak; a role that may see it but not act gets 403 (:class:`Forbidden`). The system (a
reaction, a scheduler: ``role`` None) may do everything: the process decided when a user
started it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Self, TypeVar

from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden, NotFound
from crm.kernel.repository import CommandContext

SYSTEM_ROLE = "system"

Act = TypeVar("Act", bound=Enum)


@dataclass(frozen=True, slots=True)
class Principal:
    """The part of an actor that access rules look at, from a token or a command context.
    ``role`` None is the system."""

    id: str
    role: Role | None
    tenant: str
    team: str | None = None

    @classmethod
    def of(cls, who: Actor | CommandContext | Principal) -> Self:
        if isinstance(who, Principal):
            return cls(who.id, who.role, who.tenant, who.team)
        if isinstance(who, Actor):
            return cls(who.id, who.role, who.tenant, who.team)
        role = None if who.role == SYSTEM_ROLE else Role(who.role)
        return cls(who.actor, role, who.tenant, who.team)

    @property
    def is_system(self) -> bool:
        return self.role is None

    @property
    def role_name(self) -> str:
        return SYSTEM_ROLE if self.role is None else self.role.value


@dataclass(frozen=True, slots=True)
class Scope:
    """Who a record belongs to: its owner (a rep, or the agent a ticket is assigned to) and
    its team (a sales team, a support group). A customer in the shared pool has neither."""

    owner_id: str | None = None
    team_id: str | None = None


Sees = Callable[[Principal, Scope], bool]
Visible = Callable[[Principal], Mapping[str, Any]]


class AccessPolicy(Generic[Act]):
    """A context's rules: ``roles`` maps each role to the actions it may take; ``sees``
    says whether a principal may see a record of a given scope; ``visible`` is the same rule
    as a read-model filter (documents carry ``owner_id`` and ``team_id``, or the fields the
    context's filter names)."""

    def __init__(
        self,
        subject: str,
        roles: Mapping[Role, frozenset[Act]],
        *,
        sees: Sees,
        visible: Visible,
        view: Act,
    ) -> None:
        self.subject = subject
        self.roles = roles
        self._sees = sees
        self._visible = visible
        self._view = view

    def may(self, who: Principal, action: Act) -> bool:
        return who.role is None or action in self.roles[who.role]

    def sees(self, who: Principal, scope: Scope) -> bool:
        return who.role is None or self._sees(who, scope)

    def authorize(
        self,
        who: Actor | CommandContext | Principal,
        action: Act,
        *,
        what: str,
        scope: Scope | None = None,
        whole_action: bool = False,
    ) -> Principal:
        """NotFound if ``who`` may not see the record (``scope`` None: no record, e.g. creating
        one), Forbidden if their role may not do ``action``. ``what`` names the record as the
        answer should ("customer 3f0c…"); the refusal says the role may not ``action`` those
        records ("edit customers"), or, with ``whole_action``, just the action, whose value then
        says it all ("read the churn report")."""
        p = Principal.of(who)
        if scope is not None and not self.sees(p, scope):
            raise NotFound(f"{what} does not exist")
        if not self.may(p, action):
            noun = "" if whole_action else f" {what.split(' ')[0]}s"
            raise Forbidden(f"role {p.role_name} may not {action.value}{noun}")
        return p

    def visibility_filter(self, who: Actor | Principal) -> dict[str, Any]:
        """The read-model filter of the records ``who`` may see ({} for all); Forbidden for a
        role that may not view at all."""
        p = Principal.of(who)
        if not self.may(p, self._view):
            raise Forbidden(f"role {p.role_name} may not view {self.subject} records")
        return {} if p.role is None else dict(self._visible(p))
