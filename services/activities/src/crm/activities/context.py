"""The activities context as the platform wires it: tasks (planned by people and by the
platform's processes), their reminders, the next task planned on completing one, and the
notifications they raise (in the console, and by e-mail through the mailer)."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from crm.activities.api import (
    calendar_routes,
    care_routes,
    notification_routes,
    retention_routes,
    task_routes,
    webhook_routes,
    work_report_routes,
)
from crm.activities.application.care import care_job, care_rules_commands
from crm.activities.application.mailer import mailer_job
from crm.activities.application.notification_commands import (
    PreferencesOf,
    notification_commands,
    preferences_commands,
)
from crm.activities.application.notify import NotifyOfDeadlines, NotifyOfTasks
from crm.activities.application.reactions import OpenNextTask, OpenRetentionTask
from crm.activities.application.references import References
from crm.activities.application.reminders import reminder_job
from crm.activities.application.task_commands import task_commands
from crm.activities.application.webhook_commands import AllowedHosts, webhook_commands
from crm.activities.application.webhook_delivery import webhook_job
from crm.activities.application.work_reports import WorkReportQueries, work_report_commands
from crm.activities.projections.care_models import CARE_DATES_PROJECTION
from crm.activities.projections.consent_models import CONSENTS_PROJECTION
from crm.activities.projections.notification_models import NOTIFICATIONS_PROJECTION
from crm.activities.projections.reference_models import CUSTOMER_DIRECTORY, REFERENCES_PROJECTION
from crm.activities.projections.retention_models import RETENTION_PROJECTION
from crm.activities.projections.task_models import TASKS_PROJECTION
from crm.activities.projections.visit_models import VISITS_PROJECTION
from crm.activities.projections.webhook_models import WEBHOOKS_PROJECTION
from crm.activities.projections.work_models import WORK_DAYS_PROJECTION
from crm.kernel.commands import CommandTable
from crm.kernel.context import BoundedContext, Job
from crm.kernel.erasure import RebuildAfterErasure
from crm.kernel.http import Authenticator
from crm.kernel.http.routers import merged
from crm.kernel.projection import Projection
from crm.kernel.reactor import Reaction
from crm.kernel.runtime import Runtime

ROUTERS: list[Callable[[Runtime, Authenticator], APIRouter]] = [
    task_routes.router,
    notification_routes.router,
    calendar_routes.router,
    care_routes.router,
    work_report_routes.router,
    retention_routes.router,
    webhook_routes.router,
]

PROJECTIONS: list[Projection] = [
    TASKS_PROJECTION,
    NOTIFICATIONS_PROJECTION,
    VISITS_PROJECTION,
    CARE_DATES_PROJECTION,
    REFERENCES_PROJECTION,
    CUSTOMER_DIRECTORY,
    WORK_DAYS_PROJECTION,
    CONSENTS_PROJECTION,
    RETENTION_PROJECTION,
    WEBHOOKS_PROJECTION,
]

CATEGORIES = frozenset(
    {"task", "notification", "notifyprefs", "carerules", "workreport", "webhook", "webhooklease"}
)


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    return merged(*(build(runtime, authenticate) for build in ROUTERS))


def commands(runtime: Runtime) -> list[CommandTable[Any]]:
    return [
        task_commands(References(runtime)),
        notification_commands(PreferencesOf(runtime)),
        preferences_commands(),
        care_rules_commands(),
        work_report_commands(WorkReportQueries(runtime.read_store)),
        *webhook_commands(AllowedHosts.parse(runtime.webhook_allowed_hosts)),
    ]


def jobs(runtime: Runtime) -> list[Job]:
    return [reminder_job(runtime), mailer_job(runtime), care_job(runtime), webhook_job(runtime)]


def reactions(runtime: Runtime) -> list[Reaction]:
    """The next task planned on completing one; a retention task for a customer whose
    churn risk became high; erasing a customer purges the plaintext
    copies of their tasks' titles and notes."""
    return [
        OpenNextTask(runtime.commands, runtime.clock),
        OpenRetentionTask(runtime),
        NotifyOfTasks(runtime.commands, runtime.clock),
        NotifyOfDeadlines(runtime),
        RebuildAfterErasure("activities.purge-erased-customers", [TASKS_PROJECTION], runtime),
    ]


CONTEXT = BoundedContext(
    name="activities",
    router=router,
    categories=CATEGORIES,
    commands=commands,
    projections=tuple(PROJECTIONS),
    reactions=reactions,
    jobs=jobs,
)
