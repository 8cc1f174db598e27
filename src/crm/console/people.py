"""The users page (admins) and each user's password page.

An admin adds a user, renames one, changes their role and team (a team that is recorded or
in use: :mod:`crm.console.teams`), deactivates or activates them, and resets a password: the
admin types a temporary password, tells the user, and the user signs in with it once, to
choose their own on the password page; no other page opens until they have (the session's
user is read at every request, so this holds in every process). Every user may change their
own password there, with the current one.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from crm.console.directory import UserDirectoryProjection
from crm.console.i18n import chosen
from crm.console.pages import PASSWORD_PAGE, PREFIX, Console, guarded, see
from crm.console.teams import Teams, TeamsProjection
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
from crm.events.users import ROLES
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden, InvalidCommand
from crm.kernel.http import ReadConsistency

DONE = ("saved", "renamed", "reset")


def people_pages(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    bus = runtime.commands
    page = guarded(console)
    teams = Teams(runtime.read_store, console.directory, bus)
    users_read = Depends(ReadConsistency(runtime, UserDirectoryProjection(), TeamsProjection()))

    def admin_only(actor: Actor) -> None:
        if actor.role is not Role.ADMIN:
            raise Forbidden("only an admin manages the tenant's users")

    @api.get(f"{PREFIX}/users")
    @page
    async def users(
        request: Request,
        min_position: int | None = None,
        done: str | None = None,
        user: str | None = None,
        _: int = users_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        admin_only(actor)
        found, _nowhere = await teams.all(actor.tenant)
        return console.render(
            visit,
            request,
            "users.html",
            users=await console.directory.users(actor.tenant),
            roles=ROLES,
            teams=[(t.id, t.name) for t in found],
            done=done if done in DONE else None,
            done_user=user,
        )

    @api.post(f"{PREFIX}/users")
    @page
    async def add_user(
        request: Request,
        user_id: str = Form(max_length=64),
        display_name: str = Form(max_length=200),
        role: str = Form(max_length=20),
        team: str = Form(default="", max_length=100),
        locale: str = Form(default="en", max_length=10),
        password: str = Form(max_length=1000),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        admin_only(actor)
        await teams.known(actor.tenant, team.strip() or None)
        hashed = await asyncio.to_thread(hash_password, password)
        command = AddUser(
            user_id.strip().lower(),
            display_name,
            role,
            hashed,
            team.strip() or None,
            chosen(locale),
        )
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/users?min_position={result.position}&done=saved")

    async def user_command(
        request: Request, command: object, done: str = "saved", user: str = ""
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        admin_only(actor)
        result = await bus.execute(command, console.context(visit))
        changed = getattr(command, "user_id", None)
        if isinstance(changed, str):  # their next click here reads them again
            console.session_check.forget(actor.tenant, changed)
        about = f"&user={user}" if user else ""
        return see(f"{PREFIX}/users?min_position={result.position}&done={done}{about}")

    @api.post(f"{PREFIX}/users/{{user_id}}/role")
    @page
    async def change_role(
        request: Request,
        user_id: str,
        role: str = Form(max_length=20),
        team: str = Form(default="", max_length=100),
    ) -> Response:
        await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        admin_only(actor)
        await teams.known(actor.tenant, team.strip() or None)
        return await user_command(request, ChangeRole(user_id, role, team.strip() or None))

    @api.post(f"{PREFIX}/users/{{user_id}}/rename")
    @page
    async def rename_user(
        request: Request, user_id: str, display_name: str = Form(max_length=200)
    ) -> Response:
        return await user_command(request, RenameUser(user_id, display_name), "renamed")

    @api.post(f"{PREFIX}/users/{{user_id}}/password")
    @page
    async def reset_password(
        request: Request, user_id: str, password: str = Form(max_length=1000)
    ) -> Response:
        await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        admin_only(actor)
        hashed = await asyncio.to_thread(hash_password, password)
        return await user_command(request, ResetPassword(user_id, hashed), "reset", user_id)

    @api.post(f"{PREFIX}/users/{{user_id}}/deactivate")
    @page
    async def deactivate_user(request: Request, user_id: str) -> Response:
        return await user_command(request, DeactivateUser(user_id))

    @api.post(f"{PREFIX}/users/{{user_id}}/activate")
    @page
    async def activate_user(request: Request, user_id: str) -> Response:
        return await user_command(request, ActivateUser(user_id))

    # -- one's own password ------------------------------------------------------------------

    @api.get(PASSWORD_PAGE)
    @page
    async def password_page(request: Request) -> Response:
        visit, _actor = await console.signed_in(request)
        return console.render(
            visit, request, "password.html", must_change=visit.must_change_password
        )

    @api.post(PASSWORD_PAGE)
    @page
    async def change_password(
        request: Request,
        current_password: str = Form(max_length=1000),
        password: str = Form(max_length=1000),
        password_again: str = Form(max_length=1000),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        state = await load_user(bus, actor.tenant, actor.id)
        if state is None or not await password_is(state, current_password):
            raise InvalidCommand("current_password", "is not your current password")
        if password != password_again:
            raise InvalidCommand("password_again", "is not the same as the new password")
        if password == current_password:
            raise InvalidCommand("password", "must not be the password you have now")
        hashed = await asyncio.to_thread(hash_password, password)
        result = await bus.execute(ChangePassword(actor.id, hashed), console.context(visit))
        # every session of the user ends with the old password, this one goes on as a new one
        console.session_check.forget(actor.tenant, actor.id)
        changed = await load_user(bus, actor.tenant, actor.id)
        response = see(f"{PREFIX}/?min_position={result.position}")
        if changed is not None:
            renewed = console.sessions.signed_in(
                visit.session,
                actor.tenant,
                actor.id,
                visit.session.locale,
                changed.session_generation,
            )
            console.sessions.write(request, response, renewed)
        return response

    return api
