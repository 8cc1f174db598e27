"""The user directory and the teams over the JSON API: ``/users`` and ``/teams``, bearer
tokens like every API route, admins only (a user reads their own entry). Served with the
console (``crm up``, ``crm serve console``): the directory is the console's.

Every change is one of the directory's commands on the runtime's bus, so it is an event of
the user's or the team's stream (who changed whose role, when) and the console and the API
cannot disagree. A password travels in the request body only, to be hashed with argon2id:
``POST /users/{id}/password`` by an admin gives a temporary password that the user must
change at their next console sign-in; the user themself (``/users/me/password``, with the
current one) chooses their own.
"""

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field, StringConstraints

from crm.console.directory import UserDirectoryProjection, UserDoc
from crm.console.pages import Console
from crm.console.teams import (
    CreateTeam,
    RenameTeam,
    Teams,
    TeamsProjection,
    assign_manager,
)
from crm.console.users import (
    ActivateUser,
    AddUser,
    ChangePassword,
    ChangeRole,
    DeactivateUser,
    RenameUser,
    ResetPassword,
    hash_password,
    load_user,
    password_is,
)
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound
from crm.kernel.event_store import AppendResult
from crm.kernel.http import (
    Authenticator,
    CommandAccepted,
    Commands,
    PageOf,
    ReadConsistency,
    checked_sort,
    paged,
)
from crm.kernel.http.body import Body
from crm.kernel.http.params import Limit, Offset
from crm.kernel.http.routers import api_router
from crm.kernel.repository import CommandContext

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TeamId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
RoleName = Literal["admin", "manager", "sales_rep", "agent", "analyst"]
Password = Annotated[str, Field(min_length=8, max_length=1000)]


class NewUser(Body):
    user_id: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True)] = Field(
        min_length=1, max_length=64
    )
    display_name: Name
    role: RoleName
    team: TeamId | None = None
    locale: Literal["en", "zh-CN"] = "en"
    password: Password


class RoleChange(Body):
    role: RoleName
    team: TeamId | None = Field(default=None, description="None: in no team")


class Renaming(Body):
    display_name: Name


class PasswordReset(Body):
    password: Password = Field(description="temporary: changed at the next sign-in")


class OwnPassword(Body):
    current_password: Annotated[str, Field(min_length=1, max_length=1000)]
    password: Password


class NewTeam(Body):
    team_id: TeamId
    name: Name


class TeamRenaming(Body):
    name: Name


class ManagerChoice(Body):
    manager_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class UserOut(BaseModel):
    """A user as the directory has them (never a password or its hash)."""

    id: str
    display_name: str
    role: str
    team: str | None
    locale: str
    active: bool
    locked_until: str | None
    must_change_password: bool
    signed_in_at: str | None
    created_at: str
    updated_at: str
    version: int


class TeamOut(BaseModel):
    id: str
    name: str
    manager_id: str | None
    recorded: bool
    """False: users carry this team, it has no record yet (``POST /teams`` records it)."""
    members: list[str]


def shown(doc: UserDoc) -> dict[str, Any]:
    return {k: doc.get(k) for k in UserOut.model_fields}


def _admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden("only an admin manages the tenant's users and teams")


def _accepted(result: AppendResult, response: Response, created: str | None = None) -> Any:
    """The usual answer (:func:`crm.kernel.http.accepted`), with the local id (the stream is
    qualified by the tenant, the id is not)."""
    response.headers["X-CRM-Position"] = str(result.position)
    id_ = result.stream_id.partition("-")[2].partition(":")[2]
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if created is not None:
        response.status_code = 201
        response.headers["Location"] = f"{created}/{id_}"
    return CommandAccepted(id=id_, position=result.position, version=result.stream_version)


def people_router(console: Console, authenticate: Authenticator) -> APIRouter:
    api = api_router(tags=["users and teams"])
    runtime = console.runtime
    bus = runtime.commands
    directory = console.directory
    teams = Teams(runtime.read_store, directory, bus)
    Ctx = Annotated[CommandContext, Depends(Commands(runtime, authenticate).context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    users_read = Depends(ReadConsistency(runtime, UserDirectoryProjection()))
    teams_read = Depends(ReadConsistency(runtime, UserDirectoryProjection(), TeamsProjection()))

    def admin_ctx(ctx: CommandContext) -> None:
        if ctx.role != Role.ADMIN.value:
            raise Forbidden("only an admin manages the tenant's users and teams")

    async def run(command: object, ctx: CommandContext, response: Response) -> Any:
        admin_ctx(ctx)
        return _accepted(await bus.execute(command, ctx), response)

    # -- users ---------------------------------------------------------------------------

    @api.get("/users", response_model=PageOf[UserOut])
    async def list_users(
        actor: Who,
        _: int = users_read,
        role: RoleName | None = None,
        team: Annotated[str | None, Query(max_length=100)] = None,
        active: bool | None = None,
        sort: str = "display_name",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """The tenant's users (admins)."""
        _admin(actor)
        order = checked_sort(sort, frozenset({"display_name", "created_at", "updated_at"}))
        page = await directory.find(
            actor.tenant,
            role=role,
            team=team,
            active=active,
            sort=order,
            limit=limit,
            offset=offset,
        )
        return {**paged(page), "items": [shown(d) for d in page.items]}  # type: ignore[arg-type]

    @api.get("/users/{user_id}", response_model=UserOut)
    async def get_user(user_id: str, actor: Who, _: int = users_read) -> Any:
        """A user (admins; anyone their own: ``/users/me`` or their id)."""
        user_id = actor.id if user_id == "me" else user_id
        if user_id != actor.id:
            _admin(actor)
        doc = await directory.get(actor.tenant, user_id)
        if doc is None:
            raise NotFound(f"user {user_id} does not exist")
        return shown(doc)

    @api.post("/users", status_code=201, response_model=CommandAccepted)
    async def add_user(body: NewUser, ctx: Ctx, response: Response) -> Any:
        admin_ctx(ctx)
        await teams.known(ctx.tenant, body.team)
        hashed = await asyncio.to_thread(hash_password, body.password)
        command = AddUser(
            body.user_id, body.display_name, body.role, hashed, body.team, body.locale
        )
        return _accepted(await bus.execute(command, ctx), response, created="/users")

    @api.post("/users/me/password", response_model=CommandAccepted)
    async def change_own_password(body: OwnPassword, ctx: Ctx, response: Response) -> Any:
        """Choose your own password (the current one, or the temporary one an admin gave)."""
        state = await load_user(bus, ctx.tenant, ctx.actor)
        if state is None or not await password_is(state, body.current_password):
            raise InvalidCommand("current_password", "is not your current password")
        hashed = await asyncio.to_thread(hash_password, body.password)
        command = ChangePassword(ctx.actor, hashed)
        return _accepted(await bus.execute(command, ctx), response)

    @api.post("/users/{user_id}/role", response_model=CommandAccepted)
    async def change_role(user_id: str, body: RoleChange, ctx: Ctx, response: Response) -> Any:
        """A new role and team (both: a role without a team leaves the user in none)."""
        admin_ctx(ctx)
        await teams.known(ctx.tenant, body.team)
        return await run(ChangeRole(user_id, body.role, body.team), ctx, response)

    @api.post("/users/{user_id}/rename", response_model=CommandAccepted)
    async def rename_user(user_id: str, body: Renaming, ctx: Ctx, response: Response) -> Any:
        return await run(RenameUser(user_id, body.display_name), ctx, response)

    @api.post("/users/{user_id}/password", response_model=CommandAccepted)
    async def reset_password(
        user_id: str, body: PasswordReset, ctx: Ctx, response: Response
    ) -> Any:
        """A temporary password (admins): the user must choose their own at next sign-in."""
        admin_ctx(ctx)
        hashed = await asyncio.to_thread(hash_password, body.password)
        return await run(ResetPassword(user_id, hashed), ctx, response)

    @api.post("/users/{user_id}/deactivate", response_model=CommandAccepted)
    async def deactivate(user_id: str, ctx: Ctx, response: Response) -> Any:
        return await run(DeactivateUser(user_id), ctx, response)

    @api.post("/users/{user_id}/activate", response_model=CommandAccepted)
    async def activate(user_id: str, ctx: Ctx, response: Response) -> Any:
        return await run(ActivateUser(user_id), ctx, response)

    # -- teams ---------------------------------------------------------------------------

    @api.get("/teams", response_model=PageOf[TeamOut])
    async def list_teams(actor: Who, _: int = teams_read) -> dict[str, Any]:
        """Every team (admins): the records and the teams users carry without one."""
        _admin(actor)
        found, _nowhere = await teams.all(actor.tenant)
        items = [t.json() for t in found]
        return {"items": items, "total": len(items), "limit": len(items), "offset": 0}

    @api.get("/teams/{team_id}", response_model=TeamOut)
    async def get_team(team_id: str, actor: Who, _: int = teams_read) -> Any:
        _admin(actor)
        return (await teams.get(actor.tenant, team_id)).json()

    @api.post("/teams", status_code=201, response_model=CommandAccepted)
    async def create_team(body: NewTeam, ctx: Ctx, response: Response) -> Any:
        """Record a team (a team users carry already keeps its id and members)."""
        admin_ctx(ctx)
        result = await bus.execute(CreateTeam(body.team_id, body.name), ctx)
        return _accepted(result, response, created="/teams")

    @api.post("/teams/{team_id}/rename", response_model=CommandAccepted)
    async def rename_team(team_id: str, body: TeamRenaming, ctx: Ctx, response: Response) -> Any:
        return await run(RenameTeam(team_id, body.name), ctx, response)

    @api.post("/teams/{team_id}/manager", response_model=CommandAccepted)
    async def choose_manager(
        team_id: str, body: ManagerChoice, ctx: Ctx, response: Response
    ) -> Any:
        """The team's manager: a member with the manager or admin role (null: none)."""
        admin_ctx(ctx)
        return _accepted(await assign_manager(bus, ctx, team_id, body.manager_id), response)

    return api
