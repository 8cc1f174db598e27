"""The service-desk context as the platform wires it."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter

from crm.kernel.commands import CommandTable
from crm.kernel.context import BoundedContext, Job
from crm.kernel.custom_fields import DefinitionsOf
from crm.kernel.directory import Customers
from crm.kernel.erasure import RebuildAfterErasure
from crm.kernel.http import Authenticator
from crm.kernel.http.routers import merged
from crm.kernel.projection import Projection
from crm.kernel.reactor import Reaction
from crm.kernel.runtime import Runtime
from crm.service_desk.api import kb_routes, ticket_routes, visit_routes
from crm.service_desk.application.article_commands import article_commands
from crm.service_desk.application.calendar_commands import calendar_commands
from crm.service_desk.application.contract_commands import contract_commands
from crm.service_desk.application.scheduler import scheduler_job
from crm.service_desk.application.sla_policy_commands import sla_policy_commands
from crm.service_desk.application.ticket_commands import SatisfactionRules, ticket_commands
from crm.service_desk.application.visit_commands import technician_day_commands, visit_commands
from crm.service_desk.application.visit_reconciler import release_stale_job
from crm.service_desk.projections import kb_models, ticket_models, visit_models
from crm.service_desk.projections.customer_directory import CUSTOMER_DIRECTORY

ROUTERS: list[Callable[[Runtime, Authenticator], APIRouter]] = [
    ticket_routes.router,
    visit_routes.router,
    kb_routes.router,
]

PROJECTIONS: list[Projection] = [
    *ticket_models.PROJECTIONS,
    *visit_models.PROJECTIONS,
    *kb_models.PROJECTIONS,
    CUSTOMER_DIRECTORY,
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
    return merged(*(build(runtime, authenticate) for build in ROUTERS))


def commands(runtime: Runtime) -> list[CommandTable[Any]]:
    """The desk's command tables; the ticket's take the satisfaction and reopen settings."""
    bus = runtime.commands
    satisfaction = SatisfactionRules(
        low_score=runtime.satisfaction_low_score,
        reopen_complaint_on_low_score=runtime.satisfaction_reopens_complaints,
    )
    reopen_window = timedelta(days=runtime.ticket_reopen_window_days)
    customers = Customers(runtime, CUSTOMER_DIRECTORY)
    return [
        ticket_commands(
            bus,
            customers,
            satisfaction=satisfaction,
            reopen_window=reopen_window,
            definitions=DefinitionsOf(runtime.store, runtime.codec),
        ),
        sla_policy_commands(bus),
        calendar_commands(bus),
        contract_commands(customers),
        visit_commands(bus, customers),
        technician_day_commands(bus),
        article_commands(),
    ]


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
    commands=commands,
    projections=tuple(PROJECTIONS),
    reactions=reactions,
    jobs=jobs,
)
