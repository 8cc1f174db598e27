"""Installs the console into the platform's FastAPI app: its routes, its style sheet, the
user directory's commands on the runtime's bus and its projection beside the contexts'."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from inspect import isawaitable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.staticfiles import StaticFiles

from crm.console.admin import admin_router
from crm.console.analytics import analytics_router
from crm.console.audit import audit_router
from crm.console.desk import desk_router
from crm.console.directory import UserDirectoryProjection
from crm.console.duplicates import duplicates_router
from crm.console.fields import fields_router
from crm.console.imports import imports_router
from crm.console.live import live_router
from crm.console.oidc import OidcClient, OidcSettings, oidc_router
from crm.console.orders import orders_router
from crm.console.pages import HERE, PREFIX, Console, router
from crm.console.people import people_pages
from crm.console.reports import reports_router
from crm.console.sales import sales_router
from crm.console.session import Sessions
from crm.console.tasks import tasks_router
from crm.console.teams import TeamsProjection, team_commands
from crm.console.user_routes import people_router
from crm.console.users import AddUser, user_commands
from crm.console.webhooks import webhooks_router
from crm.kernel.auth import load_or_create_secret
from crm.kernel.commands import CommandBus
from crm.kernel.directory import Customers
from crm.kernel.http import Authenticator
from crm.kernel.http.routers import install
from crm.kernel.projection import (
    Projection,
    ProjectionRunner,
    ensure_version,
    outdated,
    record_version,
)
from crm.kernel.runtime import Runtime
from crm.kernel.settings import Settings
from crm.sales.projections.customer_directory import CUSTOMER_DIRECTORY
from crm.service_desk.projections.customer_directory import (
    CUSTOMER_DIRECTORY as DESK_CUSTOMERS,
)

if TYPE_CHECKING:
    from crm.platform.bootstrap import Platform

log = logging.getLogger(__name__)


def register_user_commands(bus: CommandBus) -> None:
    """The user directory's and the teams' tables on ``bus`` (once)."""
    for table in (user_commands(), team_commands()):
        try:
            bus.register(table)
        except ValueError:  # registered already (the app built twice on one runtime)
            log.debug("user and team commands registered already (%s)", AddUser.__name__)


def _form_errors_as_pages(app: FastAPI, console: Console) -> None:
    """A form field FastAPI refuses (too long, not one of the choices) is answered on the
    console's paths as a page naming the field; elsewhere as the API answers it."""
    api_handler = app.exception_handlers.get(RequestValidationError)

    async def handler(request: Request, error: Exception) -> Response:
        if request.url.path.startswith(f"{PREFIX}/") and isinstance(error, RequestValidationError):
            return await console.invalid_form(request, error.errors())
        if api_handler is None:
            raise error
        answer = api_handler(request, error)
        return await answer if isawaitable(answer) else answer

    app.add_exception_handler(RequestValidationError, handler)


class _StaticFiles(StaticFiles):
    """The style sheet, cacheable for an hour (answers default to ``no-store``)."""

    async def get_response(self, path: str, scope: Any) -> Any:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response


def console_projections() -> tuple[Projection, ...]:
    """The console's read models (``console_users``, ``console_teams``): run by the console
    itself (its app's lifespan), listed and rebuilt by ``crm projections`` beside the
    contexts', rebuilt by a restore."""
    return (UserDirectoryProjection(), TeamsProjection())


def _position_of(runner: ProjectionRunner) -> Callable[[], int]:
    return lambda: runner.position


def install_console(app: FastAPI, platform: Platform) -> Sessions:
    """Serve the console at ``/`` (pages under ``/console``) from ``platform``'s runtime;
    its sessions, which the rate limiter counts as their users."""
    runtime: Runtime = platform.runtime
    settings: Settings = platform.settings
    register_user_commands(runtime.commands)
    secret = settings.secret or load_or_create_secret(settings.data_dir)
    console = Console(runtime, Sessions(secret), settings.default_tenant)
    running = {c.name for c in platform.contexts}  # whose customer directories run here
    console.know_customers(
        Customers(runtime, CUSTOMER_DIRECTORY) if "sales" in running else None,
        Customers(runtime, DESK_CUSTOMERS) if "service-desk" in running else None,
    )
    app.include_router(router(console))
    app.include_router(people_pages(console))
    app.include_router(desk_router(console))
    app.include_router(live_router(console))
    oidc = OidcSettings.of(settings)
    if oidc is not None:  # CRM_OIDC_ISSUER: the sign-in page offers the provider too
        app.include_router(oidc_router(console, oidc, OidcClient(oidc)))
        console.templates.globals["oidc"] = True
    app.include_router(sales_router(console))
    app.include_router(orders_router(console))
    app.include_router(analytics_router(console))
    app.include_router(admin_router(console))
    app.include_router(fields_router(console))
    app.include_router(duplicates_router(console))
    install(app, people_router(console, Authenticator(runtime.tokens, runtime.tenants)))
    app.include_router(audit_router(console, tuple(platform.contexts)))
    if any(c.name == "customer" for c in platform.contexts):  # what an import creates
        app.include_router(imports_router(console, settings.data_dir))
    if any(c.name == "activities" for c in platform.contexts):
        console.activities = True
        app.include_router(tasks_router(console))
        app.include_router(reports_router(console))
        app.include_router(webhooks_router(console))
    _form_errors_as_pages(app, console)
    app.mount(f"{PREFIX}/static", _StaticFiles(directory=HERE / "static"), name="console-static")

    projections = console_projections()
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[Any]:
        running = []
        for projection in projections:
            runner = ProjectionRunner(projection, runtime.store, runtime.read_store, runtime.codec)
            if await outdated(runtime.read_store, projection):
                await ensure_version(projection, runtime.store, runtime.read_store, runtime.codec)
            else:
                await record_version(runtime.read_store, projection)
            await runner.catch_up()
            task = asyncio.create_task(runner.run(), name=f"projection:{projection.name}")
            running.append((runner, task))
            if projection.name == UserDirectoryProjection.name:
                console.session_check.position = _position_of(runner)
        try:
            async with inner(app_) as state:
                yield state
        finally:
            for runner, task in running:
                await runner.stop(task)

    app.router.lifespan_context = lifespan
    return console.sessions
