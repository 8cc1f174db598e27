"""The analyst API. Reads only: analytics is fed by events and changes nothing."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from crm.analytics.application.activity_queries import SOURCES, ActivityQueries
from crm.analytics.projections.activity_models import ActivityDoc
from crm.kernel.auth import Actor
from crm.kernel.http import Authenticator
from crm.kernel.runtime import Runtime


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter(prefix="/analytics", tags=["analytics"])
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    queries = ActivityQueries(runtime.read_store, runtime.read_wait_seconds)

    @api.get("/customers/{customer_id}/activity", response_model=ActivityDoc)
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
    ) -> ActivityDoc:
        """A customer's activity across contexts. ``min_position`` (the position a command in
        ``source`` answered) waits up to the read timeout until this customer's document
        includes it: read-your-writes across services and the bus."""
        activity = await queries.get(actor, str(customer_id), min_position, source)
        response.headers["X-CRM-Read-Position"] = str(activity.reached)
        if activity.stale:
            response.headers["X-CRM-Stale"] = "true"
        return activity.document

    return api
