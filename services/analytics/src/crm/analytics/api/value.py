"""Customer value: expected lifetime value, value tiers and churn risk side by side.

``GET /analytics/value``: the actor's customers by CLV, highest first (see
:mod:`crm.analytics.application.value_queries`); "high value, high risk", the list a manager
acts on first, is ``?tier=high&risk=high``. Who sees what is the customer list's rule
(:mod:`crm.analytics.application.policy`): analysts see no names, sales reps their own
customers only, agents nothing (403). ``?format=csv``: the same rows (columns
``VALUE_COLUMNS``).
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from crm.analytics.api.consistency import AssessedConsistency
from crm.analytics.api.csv import csv_response
from crm.analytics.application.value_queries import VALUE_COLUMNS, ValueFilter, ValueQueries
from crm.kernel.auth import Actor
from crm.kernel.http import Authenticator
from crm.kernel.http.params import Offset
from crm.kernel.runtime import Runtime


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter(prefix="/analytics", tags=["analytics"])
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(AssessedConsistency(runtime))
    queries = ValueQueries(runtime)

    @api.get("/value", response_model=None)
    async def customer_value(
        actor: Who,
        _: int = consistent,
        tier: Literal["high", "medium", "low"] | None = None,
        risk: Literal["low", "medium", "high"] | None = None,
        owner_id: str | None = None,
        currency: Annotated[
            str | None,
            Query(pattern="^[A-Z]{3}$", description="default: most customers' currency"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Offset = 0,
        format: Literal["json", "csv"] = "json",
    ) -> dict[str, Any] | Response:
        """Expected customer lifetime value (BG/NBD purchases x Gamma-Gamma spend, discounted
        over the tenant's horizon), the value tier from it, and the churn risk; ``model``
        says which parameters and policy gave the figures. 409 ``value_model_unavailable``
        when the tenant's history is too short to fit the models."""
        wanted = ValueFilter(tier, risk, owner_id, currency)
        found = await queries.value(
            actor, wanted, limit=limit, offset=offset, now=runtime.clock.now()
        )
        if format == "csv":
            return csv_response(VALUE_COLUMNS, found["items"], "customer-value")
        return found

    return api
