"""The HTTP application: every context's routes, health and readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from crm.kernel.http import Authenticator, install_error_handlers
from crm.kernel.projection import Projection
from crm.platform.bootstrap import Platform

DESCRIPTION = """An event-sourced CQRS CRM.

Every command answers with the global `position` of its last event; pass it as
`min_position` to a GET to read your own write. Send `Idempotency-Key` on a POST to make a
retry safe. Authenticate with `Authorization: Bearer <token>` (`crm token --user NAME --role ROLE`).
"""


def create_app(platform: Platform, *, projections: Sequence[Projection] | None = None) -> FastAPI:
    """The HTTP app of the platform's contexts; it runs ``projections`` (default: all of
    the contexts') in-process, caught up before it reports ready."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await platform.start_projections(projections)
        await platform.start_processes()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            await platform.stop_processes()
            await platform.stop_projections()

    app = FastAPI(title="CRM platform", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.ready = False
    install_error_handlers(app)
    authenticate = Authenticator(platform.runtime.tokens)
    for context in platform.contexts:
        app.include_router(context.router(platform.runtime, authenticate))

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"])
    async def ready() -> JSONResponse:
        """Projections have caught up with the log once and are following it."""
        ok = bool(app.state.ready) and platform.projections_healthy()
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    return app
