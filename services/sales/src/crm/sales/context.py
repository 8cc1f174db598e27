"""The sales context as the platform wires it."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from crm.kernel.commands import CommandTable
from crm.kernel.context import BoundedContext, Job
from crm.kernel.custom_fields import DefinitionsOf
from crm.kernel.directory import Customers
from crm.kernel.http import Authenticator
from crm.kernel.http.routers import merged
from crm.kernel.projection import Projection
from crm.kernel.runtime import Runtime
from crm.sales.api import pipeline_routes
from crm.sales.api.commission_routes import router as commission_router
from crm.sales.api.order_routes import router as order_router
from crm.sales.application.campaign_commands import campaign_commands
from crm.sales.application.catalogue import Catalogue
from crm.sales.application.commission_commands import commission_commands
from crm.sales.application.invoice_commands import invoice_commands, invoice_number_commands
from crm.sales.application.lead_commands import lead_commands
from crm.sales.application.opportunity_commands import opportunity_commands
from crm.sales.application.order_commands import order_commands
from crm.sales.application.pipeline_commands import pipeline_commands, tenant_pipeline
from crm.sales.application.price_book_commands import price_book_commands
from crm.sales.application.product_commands import product_commands
from crm.sales.application.quote_commands import quote_commands
from crm.sales.application.reactions import reactions
from crm.sales.application.scheduler import SalesScheduler
from crm.sales.application.target_commands import target_commands
from crm.sales.domain.pipeline import Pipeline
from crm.sales.projections import pipeline_models
from crm.sales.projections.commission_models import PROJECTION as COMMISSION_PROJECTION
from crm.sales.projections.customer_directory import CUSTOMER_DIRECTORY
from crm.sales.projections.order_models import PROJECTIONS as ORDER_PROJECTIONS

ROUTERS: list[Callable[[Runtime, Authenticator], APIRouter]] = [
    pipeline_routes.router,
    order_router,
    commission_router,
]

PROJECTIONS: list[Projection] = [
    *pipeline_models.PROJECTIONS,
    *ORDER_PROJECTIONS,
    COMMISSION_PROJECTION,
    CUSTOMER_DIRECTORY,
]

CATEGORIES = frozenset(
    {"lead", "pipeline", "opportunity", "campaign", "target"}
    | {"product", "pricebook", "quote", "order", "invoice", "invoice_number"}
    | {"commissionplans", "commissionsplit", "commission"}
)


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    return merged(*(build(runtime, authenticate) for build in ROUTERS))


def pipeline_tables(runtime: Runtime) -> list[CommandTable[Any]]:
    """Leads, opportunities, the tenant's pipeline, campaigns and targets."""
    pipeline = tenant_pipeline(runtime.commands.repository(Pipeline))
    customers = Customers(runtime, CUSTOMER_DIRECTORY)
    definitions = DefinitionsOf(runtime.store, runtime.codec)
    return [
        lead_commands(customers, definitions),
        opportunity_commands(pipeline, customers, definitions),
        pipeline_commands(),
        campaign_commands(),
        target_commands(),
    ]


def commands(runtime: Runtime) -> list[CommandTable[Any]]:
    catalogue = Catalogue(runtime)
    customers = Customers(runtime, CUSTOMER_DIRECTORY)
    return [
        *pipeline_tables(runtime),
        product_commands(),
        price_book_commands(catalogue),
        quote_commands(catalogue, customers),
        order_commands(runtime, catalogue, customers),
        invoice_commands(runtime),
        invoice_number_commands(runtime),
        *commission_commands(runtime),
    ]


def jobs(runtime: Runtime) -> list[Job]:
    scheduler = SalesScheduler(runtime)
    return [lambda: scheduler.run(runtime.clock, runtime.scheduler_interval_seconds)]


CONTEXT = BoundedContext(
    name="sales",
    router=router,
    categories=CATEGORIES,
    commands=commands,
    projections=tuple(PROJECTIONS),
    reactions=reactions,
    jobs=jobs,
)
