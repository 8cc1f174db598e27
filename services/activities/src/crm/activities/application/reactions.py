"""The activities context's reactions.

Completing a task with a next one planned in the same step (``next_*`` of
``activities.task.completed``) opens that task under the id the completion fixed
(``next_task_id``), about the same subject, in the same team: once however often the event is
delivered (the id is fixed, the command runs under the reaction's key, and a task already
opened by this origin is left as it is). Logging the completed task as the customer's
interaction is the customer context's step (:mod:`crm.customer.application.reactions`).
"""

from __future__ import annotations

from crm.activities.application.task_commands import ScheduleTask
from crm.activities.domain.tasks import TaskPlan
from crm.events import DomainEvent, EventEnvelope
from crm.events.activities import TaskCompleted
from crm.kernel.clock import Clock
from crm.kernel.commands import CommandBus
from crm.kernel.reactor import reaction_context


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
        )
        await self.commands.execute(
            command, reaction_context(self.name, envelope, self.clock.now())
        )
