"""The long-running processes besides the HTTP services: one relay per context."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from crm.kernel.adapters.kafka.publisher import KafkaPublisher
from crm.kernel.context import BoundedContext
from crm.kernel.observability import ObservabilitySettings
from crm.kernel.observability.http import NO_NATIVE_TELEMETRY, Observed
from crm.kernel.observability.lag import refreshing
from crm.kernel.observability.relay import ObservedPublisher
from crm.kernel.relay import Relay
from crm.platform.bootstrap import Platform
from crm.platform.telemetry import install_metrics, relay_refreshers


def relay_app(
    platform: Platform,
    context: BoundedContext,
    bus_url: str,
    *,
    observability: ObservabilitySettings | None = None,
) -> FastAPI:
    """A relay with ``/health``, ``/ready`` (ready once it has published the backlog it
    found) and ``/metrics`` (:mod:`crm.platform.telemetry`). SIGTERM lets it finish and
    checkpoint the page in hand."""
    settings = platform.settings
    obs = observability or ObservabilitySettings()
    relay = Relay(
        context.name,
        context.topic,
        platform.store,
        ObservedPublisher(
            KafkaPublisher(
                bus_url,
                partitions=settings.kafka_partitions,
                replication=settings.kafka_replication,
            ),
            context.name,
        ),
        platform.read_store,
        categories=context.categories,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(relay.run(), name=relay.name)
        try:
            async with refreshing(refreshers, obs.metrics_refresh_seconds):
                yield
        finally:
            await relay.stop(task)

    refreshers = relay_refreshers(platform, relay, context.name)
    app = FastAPI(title=f"relay {context.name}", lifespan=lifespan, telemetry=NO_NATIVE_TELEMETRY)
    app.state.relay = relay
    install_metrics(app, refreshers, obs)
    app.add_middleware(Observed)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        ok = relay.caught_up.is_set()
        body = {"ready": ok, "position": relay.position, "published": relay.published}
        return JSONResponse(body, status_code=200 if ok else 503)

    return app
