"""The analytics context as the platform wires it."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from crm.analytics.api import customers, lead_scores, reports, routes, value
from crm.analytics.application.churn_commands import churn_model_commands, churn_risk_commands
from crm.analytics.application.lead_score_commands import (
    lead_model_commands,
    lead_score_commands,
)
from crm.analytics.application.value_tiers import ValueTierMonitor, value_tier_commands
from crm.analytics.churn.monitor import ChurnMonitor
from crm.analytics.leads.scorer import LeadScorer
from crm.analytics.projections.activity_models import CustomerActivityProjection
from crm.analytics.projections.customer_360_models import Customer360Projection
from crm.analytics.projections.funnel_models import FunnelProjection
from crm.analytics.projections.lead_scoring_models import LeadScoringProjection
from crm.analytics.projections.report_models import ReportsProjection
from crm.analytics.projections.retention_models import RETENTION_PROJECTION
from crm.kernel.commands import CommandTable
from crm.kernel.context import BoundedContext, Job
from crm.kernel.http import Authenticator
from crm.kernel.http.routers import merged
from crm.kernel.projection import Projection
from crm.kernel.runtime import Runtime

ROUTERS: list[Callable[[Runtime, Authenticator], APIRouter]] = [
    routes.router,
    customers.router,
    reports.router,
    value.router,
    lead_scores.router,
]

PROJECTIONS: list[Projection] = [
    CustomerActivityProjection(),
    Customer360Projection(),
    FunnelProjection(),
    ReportsProjection(),
    LeadScoringProjection(),
    RETENTION_PROJECTION,
]

CATEGORIES = frozenset({"churnrisk", "churnmodel", "leadscore", "leadmodel", "valuetier"})
"""Analytics' own streams: churn assessments, fitted churn models and lead scores (published on
``crm.analytics.events`` for other services to act on)."""


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    return merged(*(build(runtime, authenticate) for build in ROUTERS))


def commands(runtime: Runtime) -> list[CommandTable[Any]]:
    """What the churn monitor records (the tenants' models and the customers' risks) and the
    lead scorer (the scores)."""
    return [
        churn_model_commands(),
        churn_risk_commands(),
        lead_score_commands(),
        lead_model_commands(),
        value_tier_commands(),
    ]


def jobs(runtime: Runtime) -> list[Job]:
    monitor = ChurnMonitor(runtime)
    scorer = LeadScorer(runtime)
    values = ValueTierMonitor(runtime)
    return [
        lambda: monitor.run(runtime.clock, runtime.scheduler_interval_seconds),
        lambda: scorer.run(runtime.clock, runtime.scheduler_interval_seconds),
        lambda: values.run(runtime.clock, runtime.scheduler_interval_seconds),
    ]


CONTEXT = BoundedContext(
    name="analytics",
    router=router,
    categories=CATEGORIES,
    commands=commands,
    projections=tuple(PROJECTIONS),
    jobs=jobs,
)
