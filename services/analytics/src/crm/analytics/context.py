"""The analytics context as the platform wires it."""

from collections.abc import Callable

from fastapi import APIRouter

# helper-25 imports
from crm.analytics.api.customers import router as customers_router

# helper-26 imports
from crm.analytics.api.reports import router as reports_router
from crm.analytics.api.routes import router as activity_router
from crm.analytics.churn.monitor import ChurnMonitor
from crm.analytics.projections.activity_models import CustomerActivityProjection
from crm.analytics.projections.customer_360_models import Customer360Projection
from crm.analytics.projections.funnel_models import FunnelProjection
from crm.analytics.projections.report_models import ReportsProjection
from crm.kernel.context import BoundedContext, Job
from crm.kernel.http import Authenticator
from crm.kernel.projection import Projection
from crm.kernel.runtime import Runtime

ROUTERS: list[Callable[[Runtime, Authenticator], APIRouter]] = [
    activity_router,
    customers_router,  # helper-25
    # helper-26
    reports_router,
]

PROJECTIONS: list[Projection] = [
    CustomerActivityProjection(),
    Customer360Projection(),  # helper-25
    # helper-26
    FunnelProjection(),
    ReportsProjection(),
]


def churn_monitor(runtime: Runtime) -> Job:  # helper-25
    monitor = ChurnMonitor(runtime)
    return lambda: monitor.run(runtime.clock, runtime.scheduler_interval_seconds)


JOBS: list[Callable[[Runtime], Job]] = [
    churn_monitor,  # helper-25
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
