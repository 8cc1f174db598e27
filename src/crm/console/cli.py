"""``crm users``: the user directory from the command line, for the first admin of a tenant
(afterwards admins manage users in the console). Runs as the system, through the same
command bus as the console, on the deployment ``crm up`` runs (its data directory)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from crm.console.domain.users import UserState
from crm.console.install import register_user_commands
from crm.console.users import (
    ActivateUser,
    AddUser,
    ChangePassword,
    ChangeRole,
    DeactivateUser,
    hash_password,
    system_context,
)
from crm.events import EventEnvelope
from crm.kernel.codec import EventCodec
from crm.kernel.errors import CrmError, InvalidCommand, NotFound, RuleViolated
from crm.kernel.event_store import EventStore
from crm.kernel.tenancy import split_qualified

if TYPE_CHECKING:
    from crm.platform.bootstrap import Platform

users_app = typer.Typer(
    help="Users of a tenant's console (the first admin; then admins add users in the console).",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)
PASSWORD_ENV = "CRM_USER_PASSWORD"

T = TypeVar("T")

Tenant = Annotated[str | None, typer.Option(help="The tenant (default: CRM_DEFAULT_TENANT)")]


def _run(work: Callable[..., Awaitable[T]], tenant: str | None) -> T:
    from crm.platform.bootstrap import open_platform
    from crm.platform.cli import existing_settings

    settings = existing_settings()
    name = tenant or settings.default_tenant

    async def run() -> T:
        platform = open_platform(settings, contexts=())
        register_user_commands(platform.runtime.commands)
        try:
            return await work(platform, name)
        finally:
            await platform.close()

    try:
        return asyncio.run(run())
    except InvalidCommand as e:
        out.print(f"[red]{e.field}: {e.message}[/red]")
        raise typer.Exit(2) from None
    except (RuleViolated, NotFound) as e:
        out.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    except CrmError as e:
        out.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None


def _password(given: str | None) -> str:
    if given:
        return given
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def add(
    user_id: Annotated[str, typer.Argument(help="The name they sign in with, e.g. alice")],
    name: Annotated[str, typer.Option("--name", help="Display name")],
    role: Annotated[str, typer.Option(help="admin, manager, sales_rep, agent or analyst")],
    team: Annotated[str | None, typer.Option(help="Sales team or support group")] = None,
    locale: Annotated[str, typer.Option(help="en or zh-CN")] = "en",
    password: Annotated[
        str | None,
        typer.Option(help=f"Default: ${PASSWORD_ENV}, else asked for (not echoed)"),
    ] = None,
    tenant: Tenant = None,
) -> None:
    """Add a user who may sign in to the console."""
    secret = hash_password(_password(password))

    async def work(platform: Platform, t: str) -> None:
        runtime = platform.runtime
        command = AddUser(user_id.strip().lower(), name, role, secret, team, locale)
        await runtime.commands.execute(command, system_context(t, runtime.clock.now(), "cli"))

    _run(work, tenant)
    out.print(f"added {user_id!r} ({role}) to tenant {tenant or 'default'!r}")


@users_app.command("list")
def list_users(tenant: Tenant = None) -> None:
    """The tenant's users, from their streams (the source of truth)."""

    async def work(platform: Platform, t: str) -> list[tuple[str, UserState]]:
        runtime = platform.runtime
        return await user_states(runtime.store, runtime.codec, t)

    table = Table("user", "name", "role", "team", "language", "status")
    for user_id, state in _run(work, tenant):
        status = "active" if state.active else "deactivated"
        table.add_row(
            user_id, state.display_name, state.role, state.team or "", state.locale, status
        )
    Console().print(table)


def _simple(command: Callable[[str], object], done: str) -> Callable[[str, str | None], None]:
    def run(user_id: str, tenant: str | None) -> None:
        async def work(platform: Platform, t: str) -> None:
            runtime = platform.runtime
            ctx = system_context(t, runtime.clock.now(), "cli")
            await runtime.commands.execute(command(user_id), ctx)

        _run(work, tenant)
        out.print(f"{user_id!r}: {done}")

    return run


@users_app.command("deactivate")
def deactivate(user_id: str, tenant: Tenant = None) -> None:
    """The user can no longer sign in; their sessions end at their next request."""
    _simple(DeactivateUser, "deactivated")(user_id, tenant)


@users_app.command("activate")
def activate(user_id: str, tenant: Tenant = None) -> None:
    """A deactivated user may sign in again."""
    _simple(ActivateUser, "activated")(user_id, tenant)


@users_app.command("set-role")
def set_role(
    user_id: str,
    role: Annotated[str, typer.Option(help="admin, manager, sales_rep, agent or analyst")],
    team: Annotated[str | None, typer.Option()] = None,
    tenant: Tenant = None,
) -> None:
    """Change a user's role (and team)."""
    _simple(lambda u: ChangeRole(u, role, team), f"now {role}")(user_id, tenant)


@users_app.command("set-password")
def set_password(
    user_id: str,
    password: Annotated[str | None, typer.Option()] = None,
    tenant: Tenant = None,
) -> None:
    """Set a user's password (and lift a lock-out)."""
    hashed = hash_password(_password(password))
    _simple(lambda u: ChangePassword(u, hashed), "password changed")(user_id, tenant)


async def user_states(
    store: EventStore, codec: EventCodec, tenant: str
) -> list[tuple[str, UserState]]:
    """Every user of ``tenant``, folded from the ``user`` streams of the log, by id."""
    streams: dict[str, list[EventEnvelope]] = {}
    async for page in store.read_all(0, categories=("user",)):
        for envelope in page:
            if envelope.tenant == tenant:
                streams.setdefault(envelope.stream_id, []).append(envelope)
    users = []
    for stream_id, envelopes in streams.items():
        state = UserState()
        for event in await codec.decode(envelopes):
            state = state.evolve(event)
        users.append((split_qualified(stream_id.partition("-")[2])[1], state))
    return sorted(users)
