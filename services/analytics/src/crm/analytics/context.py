"""The analytics context as the platform wires it."""

from collections.abc import Callable

from fastapi import APIRouter

from crm.analytics.api.routes import router as activity_router
from crm.analytics.projections.activity import CustomerActivityProjection
from crm.kernel.context import BoundedContext, Job
from crm.kernel.http import Authenticator
from crm.kernel.projection import Projection
from crm.kernel.runtime import Runtime

# helper-25 imports
# helper-26 imports

ROUTERS: list[Callable[[Runtime, Authenticator], APIRouter]] = [
    activity_router,
    # helper-25
    # helper-26
]

PROJECTIONS: list[Projection] = [
    CustomerActivityProjection(),
    # helper-25
    # helper-26
]

JOBS: list[Callable[[Runtime], Job]] = [
    # helper-25
]

CATEGORIES = frozenset({"churnrisk", "churnmodel"})
"""Analytics' own streams: churn assessments and fitted churn models (published on
``crm.analytics.events`` for other services to act on)."""


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter()
    for build in ROUTERS:
        api.include_router(build(runtime, authenticate))
    return api


def jobs(runtime: Runtime) -> list[Job]:
    return [make(runtime) for make in JOBS]


CONTEXT = BoundedContext(
    name="analytics",
    router=router,
    categories=CATEGORIES,
    projections=tuple(PROJECTIONS),
    jobs=jobs,
)
