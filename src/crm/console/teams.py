"""Teams as records: their commands on the runtime's bus, the ``console_teams`` read model,
and the teams as the console and the API show them (a record's name and manager, with its
members from the user directory).

A team's id is the name its members carry as their ``team``. Users had teams as plain
names before teams were records, and ``crm users add --team`` still takes one: a team in
use without a record is shown as such (its id as its name, no manager) and can be recorded
later under the same id, so nothing that goes by the team (a manager's access, a team's
sales targets) changes. Moving a user into a team (the console, the users API) needs a team
that is recorded or in use; only an admin manages teams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from crm.console.directory import UserDirectory, UserDoc
from crm.console.domain.teams import TEAM_ID, Team
from crm.console.users import load_user
from crm.events import EventEnvelope
from crm.events.users import TeamCreated, TeamManagerAssigned, TeamRenamed
from crm.kernel.access import Principal
from crm.kernel.auth import Role
from crm.kernel.commands import CommandBus, CommandTable, Expect
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound
from crm.kernel.event_store import AppendResult
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.read_store import CollectionSpec, Index, Query, ReadStore
from crm.kernel.repository import CommandContext, Repository
from crm.kernel.tenancy import qualified

COLLECTION = "console_teams"
MANAGING_ROLES = ("manager", "admin")


# -- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateTeam:
    team_id: str
    name: str


@dataclass(frozen=True, slots=True)
class RenameTeam:
    team_id: str
    name: str


@dataclass(frozen=True, slots=True)
class AssignTeamManager:
    """Checked by :func:`assign_manager` first: the manager must be a member of the team
    with the manager or admin role (their access follows their team)."""

    team_id: str
    manager_id: str | None


def _admin(ctx: CommandContext) -> None:
    p = Principal.of(ctx)
    if not (p.is_system or p.role is Role.ADMIN):
        raise Forbidden("only an admin manages the tenant's teams")


def _create(team: Team, cmd: CreateTeam, ctx: CommandContext) -> None:
    _admin(ctx)
    if TEAM_ID.fullmatch(cmd.team_id) is None:
        raise InvalidCommand("team_id", "1 to 100 characters, no ':' or '/'")
    team.record(cmd.name)


def _rename(team: Team, cmd: RenameTeam, ctx: CommandContext) -> None:
    _admin(ctx)
    team.rename(cmd.name)


def _assign(team: Team, cmd: AssignTeamManager, ctx: CommandContext) -> None:
    _admin(ctx)
    team.assign_manager(cmd.manager_id)


def team_commands() -> CommandTable[Team]:
    t: CommandTable[Team] = CommandTable(Team, id_field="team_id", tenant_qualified=True)
    t.on(CreateTeam, Expect.NEW, None, _create)
    t.on(RenameTeam, Expect.EXISTING, None, _rename)
    t.on(AssignTeamManager, Expect.EXISTING, None, _assign)
    return t


async def assign_manager(
    bus: CommandBus, ctx: CommandContext, team_id: str, manager_id: str | None
) -> AppendResult:
    """Make ``manager_id`` the team's manager (None: no manager), once the user is known to
    be a member of the team who may manage it; anything else is a 422 naming ``manager_id``."""
    _admin(ctx)
    if manager_id is not None:
        state = await load_user(bus, ctx.tenant, manager_id)
        if state is None:
            raise InvalidCommand("manager_id", f"no user {manager_id!r}")
        if state.team != team_id:
            raise InvalidCommand("manager_id", f"{manager_id} is not in team {team_id}")
        if state.role not in MANAGING_ROLES:
            raise InvalidCommand("manager_id", f"{manager_id} is not a manager or an admin")
    return await bus.execute(AssignTeamManager(team_id, manager_id), ctx)


async def recorded(bus: CommandBus, tenant: str, team_id: str) -> bool:
    """Whether the team has a record, as its stream says now (not a read model that may lag
    behind a team created a moment ago)."""
    repository: Repository[Team] = bus.repository(Team)
    try:
        team = await repository.load(qualified(tenant, team_id), tenant=tenant)
    except (NotFound, InvalidCommand):
        return False
    return team.state.created


# -- the read model ------------------------------------------------------------------------


class TeamDoc(TypedDict):
    id: str
    tenant: str
    name: str
    manager_id: str | None
    created_at: str
    updated_at: str
    version: int


on: Handlers[TeamDoc] = Handlers()


@on(TeamCreated)
def _created(key: DocKey, doc: TeamDoc | None, e: TeamCreated, env: EventEnvelope) -> TeamDoc:
    return TeamDoc(
        id=key[1].partition(":")[2],
        tenant=env.tenant,
        name=e.name,
        manager_id=None,
        created_at=env.occurred_at.isoformat(),
        updated_at=env.occurred_at.isoformat(),
        version=env.stream_version,
    )


@on(TeamRenamed, TeamManagerAssigned)
def _changed(
    key: DocKey,
    doc: TeamDoc | None,
    e: TeamRenamed | TeamManagerAssigned,
    env: EventEnvelope,
) -> TeamDoc | None:
    if doc is None:
        return None
    if isinstance(e, TeamRenamed):
        doc["name"] = e.name
    else:
        doc["manager_id"] = e.manager_id
    doc["updated_at"] = env.occurred_at.isoformat()
    doc["version"] = env.stream_version
    return doc


class TeamsProjection:
    """``console_teams``: one document per team record (keyed ``<tenant>:<team id>``)."""

    name = "console_teams"
    version = 1
    collections = (CollectionSpec(COLLECTION, (Index(("tenant", "name")),)),)
    event_types = on.event_types
    categories = frozenset({"team"})
    evolve = staticmethod(on.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(COLLECTION, envelope),)


# -- the teams as shown ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamView:
    id: str
    name: str
    manager_id: str | None
    recorded: bool
    """False: a team users carry that has no record yet."""
    members: list[UserDoc] = field(default_factory=list)

    def json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "manager_id": self.manager_id,
            "recorded": self.recorded,
            "members": [m["id"] for m in self.members],
        }


class Teams:
    """Reads of the tenant's teams: the records, and the teams users carry without one."""

    def __init__(self, read_store: ReadStore, directory: UserDirectory, bus: CommandBus) -> None:
        self.read_store = read_store
        self.directory = directory
        self.bus = bus

    async def records(self, tenant: str) -> list[TeamDoc]:
        page = await self.read_store.find(
            COLLECTION, Query(filter={"tenant": tenant}, sort=(("name", 1),), limit=1000)
        )
        return [TeamDoc(**d) for d in page.items]  # type: ignore[typeddict-item]

    async def all(self, tenant: str) -> tuple[list[TeamView], list[UserDoc]]:
        """Every team (by name) with its members, and the users in none."""
        users = await self.directory.users(tenant)
        members: dict[str, list[UserDoc]] = {}
        nowhere: list[UserDoc] = []
        for u in users:
            if u["team"] is None:
                nowhere.append(u)
            else:
                members.setdefault(u["team"], []).append(u)
        views = [
            TeamView(r["id"], r["name"], r["manager_id"], True, members.pop(r["id"], []))
            for r in await self.records(tenant)
        ]
        views += [TeamView(t, t, None, False, m) for t, m in members.items()]
        views.sort(key=lambda v: v.name.lower())
        return views, nowhere

    async def get(self, tenant: str, team_id: str) -> TeamView:
        for view in (await self.all(tenant))[0]:
            if view.id == team_id:
                return view
        raise NotFound(f"team {team_id} does not exist")

    async def known(self, tenant: str, team_id: str | None, *, field: str = "team") -> None:
        """Refuse (422 naming ``field``) a team that is neither recorded nor in use."""
        if team_id is None:
            return
        if await recorded(self.bus, tenant, team_id):
            return
        if any(u["team"] == team_id for u in await self.directory.users(tenant)):
            return
        raise InvalidCommand(field, f"no team {team_id!r}: create it first")
