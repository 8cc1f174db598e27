"""The service-desk context as the platform wires it."""

from collections.abc import Callable

from fastapi import APIRouter

from crm.kernel.context import BoundedContext, Job
from crm.kernel.erasure import RebuildAfterErasure
from crm.kernel.http import Authenticator
from crm.kernel.projection import Projection
from crm.kernel.reactor import Reaction
from crm.kernel.runtime import Runtime
from crm.service_desk.api import kb_routes, ticket_routes, visit_routes
from crm.service_desk.application.scheduler import scheduler_job
from crm.service_desk.application.visit_service import release_stale_job
from crm.service_desk.projections import kb_models, ticket_models, visit_models

ROUTERS: list[Callable[[Runtime, Authenticator], APIRouter]] = [
    ticket_routes.router,
    visit_routes.router,
    kb_routes.router,
]

PROJECTIONS: list[Projection] = [
    *ticket_models.PROJECTIONS,
    *visit_models.PROJECTIONS,
    *kb_models.PROJECTIONS,
]

JOBS: list[Callable[[Runtime], Job]] = [
    scheduler_job,
    release_stale_job,
]

CATEGORIES = frozenset(
    {"ticket", "slapolicy", "businesscalendar", "servicecontract"}
    | {"visit", "technician_day", "kb_article"}
)


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = APIRouter(tags=["service desk"])
    for build in ROUTERS:
        api.include_router(build(runtime, authenticate))
    return api


def jobs(runtime: Runtime) -> list[Job]:
    return [make(runtime) for make in JOBS]


def reactions(runtime: Runtime) -> list[Reaction]:
    """Erasing a customer purges the plaintext copies of their ticket and visit texts."""
    purge: list[Projection] = [ticket_models.PROJECTION, visit_models.VISITS_PROJECTION]
    return [RebuildAfterErasure("service-desk.purge-erased-customers", purge, runtime)]


CONTEXT = BoundedContext(
    name="service-desk",
    router=router,
    categories=CATEGORIES,
    projections=tuple(PROJECTIONS),
    reactions=reactions,
    jobs=jobs,
)
