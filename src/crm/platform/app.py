"""The HTTP application: every context's routes, health and readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from crm.activities.api.calendar_routes import FEEDS as CALENDAR_FEEDS
from crm.console import install_console
from crm.console.pages import PREFIX as CONSOLE
from crm.console.session import Sessions
from crm.events import REGISTRY
from crm.kernel.http import Authenticator, install_error_handlers
from crm.kernel.http.errors import ERROR_RESPONSES
from crm.kernel.http.headers import SecurityHeaders
from crm.kernel.http.query import reject_unknown_query_parameters
from crm.kernel.http.ratelimit import Group, Limit, RateLimiter, RateLimits, open_rate_limit_store
from crm.kernel.http.request_limits import UrlLengthLimit
from crm.kernel.http.routers import install
from crm.kernel.observability import ObservabilitySettings
from crm.kernel.observability.http import NO_NATIVE_TELEMETRY, Observed
from crm.kernel.observability.lag import refreshing
from crm.kernel.projection import Projection
from crm.kernel.settings import Settings
from crm.platform import audit, subject_export
from crm.platform.asyncapi import asyncapi_document
from crm.platform.bootstrap import CONTEXTS, Platform
from crm.platform.docs import ASSETS, install_docs
from crm.platform.docs import PATHS as DOCS_PATHS
from crm.platform.imports import routes as imports
from crm.platform.telemetry import install_metrics, platform_refreshers

PROBES = ("/health", "/ready")
METRICS = "/metrics"

DESCRIPTION = """An event-sourced CQRS CRM.

Every command answers with the global `position` of its last event; pass it as
`min_position` to a GET to read your own write. Send `Idempotency-Key` on a POST to make a
retry safe. Authenticate with `Authorization: Bearer <token>` (`crm token --user NAME --role ROLE`).
"""


def create_app(
    platform: Platform,
    *,
    projections: Sequence[Projection] | None = None,
    observability: ObservabilitySettings | None = None,
    api: bool = True,
    console: bool = True,
) -> FastAPI:
    """The HTTP app of the platform's contexts; it runs ``projections`` (default: all of
    the contexts') in-process, caught up before it reports ready. ``observability``
    (default: from the environment) says who may read ``/metrics`` (:mod:`.telemetry`).

    ``crm up`` serves both the JSON ``api`` of the contexts (their routes, reactions and
    schedulers) and the ``console``; in the distributed deployment a context's service is
    the API alone (``crm serve <context>``) and the console its own service (``crm serve
    console``: the console's pages, its user directory and sessions, over the contexts'
    application layer on the shared stores, with no context projection, reaction or
    scheduler of its own: those run once, in the context services)."""
    if not (api or console):
        raise ValueError("an app serves the API, the console or both")
    obs = observability or ObservabilitySettings()
    refreshers = platform_refreshers(platform)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await platform.start_projections(projections if api else [])
        if api:
            await platform.start_processes()
        app.state.ready = True
        try:
            async with refreshing(refreshers, obs.metrics_refresh_seconds):
                yield
        finally:
            app.state.ready = False
            await platform.stop_processes()
            await platform.stop_projections()
            if app.state.rate_limits is not None:
                await app.state.rate_limits.close()

    app = FastAPI(
        title="CRM platform",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query_parameters)],
        responses=ERROR_RESPONSES,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_NATIVE_TELEMETRY,
    )
    install_docs(app)
    app.state.ready = False
    install_error_handlers(app)
    authenticate = Authenticator(platform.runtime.tokens, platform.runtime.tenants)
    if api:
        for context in platform.contexts:
            install(app, context.router(platform.runtime, authenticate))
        install(app, audit.router(platform.runtime, authenticate, tuple(platform.contexts)))
        if any(c.name == "customer" for c in platform.contexts):  # what an import creates
            install(app, imports.router(platform.runtime, authenticate, platform.settings.data_dir))
            install(app, subject_export.router(platform.runtime, authenticate, platform.contexts))
    sessions = install_console(app, platform) if console else None
    install_metrics(app, refreshers, obs)
    _install_middleware(app, platform, sessions)

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    asyncapi: list[dict[str, Any]] = []  # built at the first request, then kept

    @app.get("/asyncapi.json", tags=["operations"])
    async def asyncapi_json() -> JSONResponse:
        """The AsyncAPI 3 document of the topics internal services subscribe to."""
        if not asyncapi:
            asyncapi.append(asyncapi_document(REGISTRY, CONTEXTS, bus=platform.settings.bus))
        return JSONResponse(asyncapi[0])

    @app.get("/ready", tags=["operations"])
    async def ready() -> JSONResponse:
        """Projections have caught up with the log once and are following it."""
        ok = bool(app.state.ready) and platform.projections_healthy()
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    return app


def rate_limits(settings: Settings) -> RateLimits:
    """The limits in force, from the ``CRM_RATE_LIMIT_*`` settings."""
    return RateLimits(
        per_user={
            Group.READS: Limit.parse(settings.rate_limit_user_reads),
            Group.COMMANDS: Limit.parse(settings.rate_limit_user_commands),
            Group.EXPORTS: Limit.parse(settings.rate_limit_user_exports),
        },
        per_address={
            Group.READS: Limit.parse(settings.rate_limit_address_reads),
            Group.COMMANDS: Limit.parse(settings.rate_limit_address_commands),
            Group.EXPORTS: Limit.parse(settings.rate_limit_address_exports),
            Group.AUTH_FAILURES: Limit.parse(settings.rate_limit_address_auth_failures),
        },
    )


def _install_middleware(app: FastAPI, platform: Platform, sessions: Sessions | None) -> None:
    """Outermost first: the metrics, span and log line of each request (by route template),
    security headers (on every answer, a 500 included), the URL length, the rate limits (a
    console visitor counted as the session's user, a signed-out one as the address's reads
    and commands, never as a failed token); then FastAPI's routing."""
    settings = platform.settings
    docs = list(DOCS_PATHS)
    app.state.rate_limits = None
    if settings.rate_limit_enabled:
        store = open_rate_limit_store(settings.rate_limit_store)
        app.state.rate_limits = store
        app.add_middleware(
            RateLimiter,
            store=store,
            limits=rate_limits(settings),
            tokens=platform.runtime.tokens,
            tenants=platform.runtime.tenants,
            public=[
                *PROBES,
                METRICS,
                "/asyncapi.json",
                *docs,
                ASSETS,
                "/",
                CONSOLE,
                *([app.openapi_url] if app.openapi_url else []),
            ],
            public_prefixes=[f"{CONSOLE}/", f"{CALENDAR_FEEDS}/"],
            identities=[sessions.identity] if sessions is not None else [],
            exempt=(*PROBES, METRICS),
        )
    app.add_middleware(UrlLengthLimit, max_bytes=settings.max_url_bytes)
    app.add_middleware(SecurityHeaders, docs_paths=docs)
    app.add_middleware(Observed)  # outermost: sees every answer and its time
