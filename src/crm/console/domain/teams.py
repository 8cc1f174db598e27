"""A team of a tenant (a sales team or a support group) as a record: its display name and its
manager. Pure: no I/O.

Its id is the name its members carry as their ``team`` (users had teams as plain names before
teams were records): recording a team that is in use already gives it a name and a manager,
and a team in use without a record still works everywhere (access rules and targets go by
the id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Self

from crm.events import DomainEvent
from crm.events.users import TeamCreated, TeamManagerAssigned, TeamRenamed
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, RuleViolated

TEAM_ID = re.compile(r"^[^\s:/][^:/]{0,99}$")
"""1 to 100 characters (a name users may carry already: ``north``, ``华东``), no ``:`` or
``/`` and not starting with a space."""


@dataclass(frozen=True, slots=True)
class TeamState:
    created: bool = False
    name: str = ""
    manager_id: str | None = None

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case TeamCreated():
                return replace(self, created=True, name=event.name)
            case TeamRenamed():
                return replace(self, name=event.name)
            case TeamManagerAssigned():
                return replace(self, manager_id=event.manager_id)
        return self


class Team(Aggregate[TeamState]):
    category = "team"

    @classmethod
    def initial_state(cls) -> TeamState:
        return TeamState()

    def record(self, name: str) -> None:
        if self.state.created:
            raise RuleViolated(f"team {self.id} exists already", code="team_exists")
        self.trigger(TeamCreated(name=_name(name)))

    def rename(self, name: str) -> None:
        if _name(name) != self.state.name:
            self.trigger(TeamRenamed(name=_name(name)))

    def assign_manager(self, manager_id: str | None) -> None:
        if manager_id != self.state.manager_id:
            self.trigger(TeamManagerAssigned(manager_id=manager_id))


def _name(name: str) -> str:
    if not name.strip():
        raise InvalidCommand("name", "must not be blank")
    if len(name.strip()) > 200:
        raise InvalidCommand("name", "at most 200 characters")
    return name.strip()
