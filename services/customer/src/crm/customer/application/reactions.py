"""The customer context's part in other contexts' processes.

Lead conversion (started by sales): ``sales.lead.conversion_requested`` for a new customer
registers that customer here, under the id sales chose and with the lead's contact, recording
the lead it came from; sales recognises the resulting ``customer.registered`` by that lead id
and opens the opportunity. A conversion for an existing customer links the lead to that
customer instead (``customer.lead_linked``): the lead's contact is the same person, so erasing
the customer erases the lead's personal data too. Each delivery of the request has one effect
(see :mod:`crm.kernel.reactor`).

Tasks (activities): a completed call, e-mail, meeting, visit or retention task about a
customer is logged in the customer's timeline as the interaction it fixed the id of
(``interaction_id`` of ``activities.task.completed``): once per task occurrence however often
the event is delivered, since the customer records each interaction id once. An erased
customer's completed task logs nothing (there is no one to log it for).

Erasure: once the customers read model has applied ``customer.erased``, the earlier versions
of the customer's document are purged from the read store's files too
(:class:`~crm.kernel.erasure.RebuildAfterErasure` with nothing to rebuild).
"""

from __future__ import annotations

from crm.customer.application.customer_commands import (
    LinkConvertedLead,
    LogInteraction,
    RegisterConvertedLead,
)
from crm.customer.domain.customer import Profile
from crm.customer.projections.customers import CustomersProjection
from crm.events import ERASED, DomainEvent, EventEnvelope
from crm.events.activities import TaskCompleted
from crm.events.customer import CustomerKind, Direction
from crm.events.sales import LeadConversionRequested
from crm.kernel.clock import Clock
from crm.kernel.commands import CommandBus
from crm.kernel.erasure import RebuildAfterErasure
from crm.kernel.errors import InvalidCommand, RuleViolated
from crm.kernel.reactor import Reaction, reaction_context
from crm.kernel.runtime import Runtime


class RegisterLeadContact:
    name = "customer.register-converted-lead"
    categories = frozenset({"lead"})
    event_types = frozenset({LeadConversionRequested.event_type})

    def __init__(self, commands: CommandBus, clock: Clock) -> None:
        self.commands = commands
        self.clock = clock

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        assert isinstance(event, LeadConversionRequested)
        lead_id = envelope.stream_id.partition("-")[2]
        ctx = reaction_context(self.name, envelope, self.clock.now())
        if not event.new_customer:
            # the lead's contact is this customer: erasing them must reach the lead too
            await self.commands.execute(LinkConvertedLead(event.customer_id, lead_id), ctx)
            return
        if event.contact_name in (None, ERASED):
            raise InvalidCommand(
                "contact_name", "the lead's contact was erased: there is no one to register"
            )
        assert event.contact_name is not None
        profile = Profile(
            kind=CustomerKind.PERSON,  # the lead's contact, at ``company`` if any
            name=event.contact_name,
            email=event.contact_email,
            phone=event.contact_phone,
            company=event.company,
            title=event.title,
            source=event.source or "lead",
        )
        command = RegisterConvertedLead(
            event.customer_id, profile, owner_id=event.owner_id, lead_id=lead_id
        )
        await self.commands.execute(command, ctx)


class LogCompletedTask:
    name = "customer.log-completed-task"
    categories = frozenset({"task"})
    event_types = frozenset({TaskCompleted.event_type})

    def __init__(self, commands: CommandBus, clock: Clock) -> None:
        self.commands = commands
        self.clock = clock

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        assert isinstance(event, TaskCompleted)
        if event.interaction_id is None or event.customer_id is None or event.channel is None:
            return  # a kind of task that is no interaction, or not about a customer
        parts = [p for p in (event.title, event.note) if p and p != ERASED]
        summary = " — ".join(parts) or event.outcome.value
        command = LogInteraction(
            event.customer_id,
            event.channel,
            summary,
            direction=Direction.OUTBOUND,
            occurred_at=event.completed_at,
            duration_minutes=event.duration_minutes,
            interaction_id=event.interaction_id,
        )
        try:
            await self.commands.execute(
                command, reaction_context(self.name, envelope, self.clock.now())
            )
        except RuleViolated as e:
            if e.code != "customer_erased":
                raise


def reactions(runtime: Runtime) -> list[Reaction]:
    return [
        RegisterLeadContact(runtime.commands, runtime.clock),
        LogCompletedTask(runtime.commands, runtime.clock),
        # the customers read model applies the erasure itself; once it has, no earlier
        # version of the customer's document may stay on disk
        RebuildAfterErasure("customer.purge-erased", [], runtime, settled=[CustomersProjection()]),
    ]
