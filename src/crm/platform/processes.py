"""The long-running processes besides the HTTP services: one relay per context."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from crm.kernel.adapters.kafka.publisher import KafkaPublisher
from crm.kernel.context import BoundedContext
from crm.kernel.relay import Relay
from crm.platform.bootstrap import Platform


def relay_app(platform: Platform, context: BoundedContext, bus_url: str) -> FastAPI:
    """A relay with ``/health`` and ``/ready`` (ready once it has published the backlog it
    found). SIGTERM lets it finish and checkpoint the page in hand."""
    settings = platform.settings
    relay = Relay(
        context.name,
        context.topic,
        platform.store,
        KafkaPublisher(
            bus_url, partitions=settings.kafka_partitions, replication=settings.kafka_replication
        ),
        platform.read_store,
        categories=context.categories,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(relay.run(), name=relay.name)
        try:
            yield
        finally:
            await relay.stop(task)

    app = FastAPI(title=f"relay {context.name}", lifespan=lifespan)
    app.state.relay = relay

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        ok = relay.caught_up.is_set()
        body = {"ready": ok, "position": relay.position, "published": relay.published}
        return JSONResponse(body, status_code=200 if ok else 503)

    return app
