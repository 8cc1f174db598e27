"""The analyst API. Reads only: analytics is fed by events and changes nothing."""

import asyncio
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from crm.analytics.projections.activity import COLLECTION
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import InvalidCommand, NotFound
from crm.kernel.http import Authenticator
from crm.kernel.runtime import Runtime

SOURCES = ("customer", "sales", "service-desk")


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter(prefix="/analytics", tags=["analytics"])
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806

    @api.get("/customers/{customer_id}/activity")
    async def customer_activity(
        customer_id: UUID,
        actor: Who,
        response: Response,
        min_position: Annotated[
            int | None, Query(ge=0, description="Wait for this position of `source`")
        ] = None,
        source: Annotated[
            str, Query(description=f"The context of `min_position`: one of {SOURCES}")
        ] = "customer",
    ) -> dict[str, Any]:
        """A customer's activity across contexts. ``min_position`` (the position a command in
        ``source`` answered) waits up to the read timeout until this customer's document
        includes it: read-your-writes across services and the bus."""
        if source not in SOURCES:
            raise InvalidCommand("source", f"must be one of {SOURCES}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + runtime.read_wait_seconds
        delay = 0.01
        while True:
            doc = await runtime.read_store.get(COLLECTION, str(customer_id))
            reached = 0 if doc is None else int(doc["sources"].get(source, 0))
            if min_position is None or reached >= min_position or loop.time() >= deadline:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
        response.headers["X-CRM-Read-Position"] = str(reached)
        if min_position is not None and reached < min_position:
            response.headers["X-CRM-Stale"] = "true"
        if doc is None or doc["tenant"] != actor.tenant:
            raise NotFound(f"no activity for customer {customer_id}")
        if actor.role is Role.SALES_REP and doc["owner_id"] not in (None, actor.id):
            raise NotFound(f"no activity for customer {customer_id}")
        return {k: v for k, v in doc.items() if not k.startswith("_")}

    return api
