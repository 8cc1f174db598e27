"""The activities context's reactions.

Completing a task with a next one planned in the same step (``next_*`` of
``activities.task.completed``) opens that task under the id the completion fixed
(``next_task_id``), about the same subject, in the same team: once however often the event is
delivered (the id is fixed, the command runs under the reaction's key, and a task already
opened by this origin is left as it is). Logging the completed task as the customer's
interaction is the customer context's step (:mod:`crm.customer.application.reactions`).

A customer whose churn risk became high (``analytics.churn_risk.level_changed`` to ``high``)
gets a retention task: for the customer's owner (a customer in the shared pool: the queue of
the tenant's pool team, ``pool_team_id`` of ``PUT /care/rules``, for its managers to hand
out; none set: the tenant's queue), due in two days, urgent when the score is 80 or more, with
the assessment's reason codes as its reasons. One per change (its id is derived from the
event), and none while the customer has an open retention task already (the tasks read
model, waited for up to the last task event).
"""

from __future__ import annotations

from datetime import timedelta
from uuid import NAMESPACE_URL, uuid5

from crm.activities.application.care import RulesOf
from crm.activities.application.task_commands import ScheduleTask
from crm.activities.domain.tasks import TaskPlan
from crm.activities.projections.reference_models import CUSTOMER_DIRECTORY
from crm.activities.projections.task_models import TASKS, TASKS_PROJECTION
from crm.events import DomainEvent, EventEnvelope
from crm.events.activities import SubjectKind, TaskCompleted, TaskKind, TaskPriority
from crm.events.analytics import ChurnLevel, ChurnRiskLevelChanged
from crm.kernel.clock import Clock
from crm.kernel.commands import CommandBus
from crm.kernel.directory import Customers
from crm.kernel.projection import wait_until
from crm.kernel.reactor import reaction_context
from crm.kernel.read_store import Query
from crm.kernel.runtime import Runtime

RETENTION_DUE = timedelta(days=2)
URGENT_SCORE = 80
RETENTION_TITLE = "Keep the customer: churn risk high / 挽留客户：流失风险高"  # noqa: RUF001


class OpenNextTask:
    name = "activities.open-next-task"
    categories = frozenset({"task"})
    event_types = frozenset({TaskCompleted.event_type})

    def __init__(self, commands: CommandBus, clock: Clock) -> None:
        self.commands = commands
        self.clock = clock

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        assert isinstance(event, TaskCompleted)
        if event.next_task_id is None or event.next_kind is None or event.next_due_at is None:
            return
        plan = TaskPlan(
            kind=event.next_kind,
            title=event.next_title or "",
            due_at=event.next_due_at,
            assignee_id=event.next_assignee_id,
        )
        command = ScheduleTask(
            plan,
            event.subject_kind,
            event.subject_id,
            task_id=event.next_task_id,
            origin=f"{envelope.stream_id}:{event.occurrence}",
            team_id=event.team_id,
            planned_by=event.completed_by,
        )
        await self.commands.execute(
            command, reaction_context(self.name, envelope, self.clock.now())
        )


class OpenRetentionTask:
    name = "activities.open-retention-task"
    categories = frozenset({"churnrisk"})
    event_types = frozenset({ChurnRiskLevelChanged.event_type})

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.customers = Customers(runtime, CUSTOMER_DIRECTORY)
        self.rules = RulesOf(runtime)

    async def _open_retention_task(self, tenant: str, customer_id: str) -> bool:
        runtime = self.runtime
        await wait_until(
            runtime.read_store,
            TASKS,
            await runtime.store.head_position(),
            runtime.read_wait_seconds,
            store=runtime.store,
            categories=TASKS_PROJECTION.categories,
        )
        flt = {"tenant": tenant, "customer_id": customer_id, "kind": "retention", "status": "open"}
        page = await runtime.read_store.find(TASKS, Query(filter=flt, limit=1))
        return page.total > 0

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        assert isinstance(event, ChurnRiskLevelChanged)
        if event.level is not ChurnLevel.HIGH or event.previous_level is ChurnLevel.HIGH:
            return
        entry = await self.customers.entry(envelope.tenant, event.customer_id)
        if entry is None or entry["erased"]:
            return  # no one to keep
        if await self._open_retention_task(envelope.tenant, event.customer_id):
            return
        urgent = event.score >= URGENT_SCORE
        plan = TaskPlan(
            kind=TaskKind.RETENTION,
            title=RETENTION_TITLE,
            due_at=event.changed_at + RETENTION_DUE,
            assignee_id=entry["owner_id"],
            priority=TaskPriority.URGENT if urgent else TaskPriority.HIGH,
        )
        command = ScheduleTask(
            plan,
            SubjectKind.CUSTOMER,
            event.customer_id,
            task_id=str(uuid5(NAMESPACE_URL, f"crm:retention:{envelope.event_id}")),
            reasons=event.reason_codes,
            origin=f"{envelope.stream_id}@{envelope.stream_version}",
            team_id=await self._pool_team(envelope.tenant, entry["owner_id"]),
        )
        ctx = reaction_context(self.name, envelope, self.runtime.clock.now())
        await self.runtime.commands.execute(command, ctx)

    async def _pool_team(self, tenant: str, owner_id: str | None) -> str | None:
        if owner_id is not None:
            return None
        return (await self.rules.settings(tenant)).pool_team_id
