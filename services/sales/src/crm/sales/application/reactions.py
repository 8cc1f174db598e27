"""The lead-conversion process manager: sales' steps of converting a lead.

The process, across two contexts, with no synchronous call between them:

1. ``POST /leads/{id}/convert`` records ``sales.lead.conversion_requested`` on the lead, with
   the customer and opportunity ids chosen once (derived from the lead id).
2. For a new customer, the customer context reacts by registering the customer under that id
   (:mod:`crm.customer.application.reactions`), recording the lead it came from.
3. Sales reacts to that ``customer.registered`` (or, for an existing customer, directly to the
   request): it opens the opportunity under its chosen id, then marks the lead converted.

The process's state is the lead's own stream (requested, then converted), so it survives any
restart. Every step is idempotent three times over: the reaction's key per (event, step)
makes a redelivered event append nothing; the opportunity's id is fixed, so a second opening
meets an existing stream; and the domain treats a repeated completion as done.
"""

from __future__ import annotations

from crm.events import DomainEvent, EventEnvelope
from crm.events.customer import CustomerRegistered
from crm.events.sales import LeadConversionRequested
from crm.kernel.clock import Clock
from crm.kernel.commands import CommandBus
from crm.kernel.erasure import RebuildAfterErasure
from crm.kernel.errors import RuleViolated
from crm.kernel.reactor import Reaction, reaction_context
from crm.kernel.runtime import Runtime
from crm.sales.application.commission_process import CommissionProcess
from crm.sales.application.lead_commands import CompleteLeadConversion
from crm.sales.application.opportunity_commands import OpenConvertedOpportunity
from crm.sales.domain.leads import Lead
from crm.sales.projections.pipeline_models import LeadsProjection, OpportunitiesProjection


def _id_of(stream_id: str) -> str:
    return stream_id.partition("-")[2]


class _Conversion:
    name: str

    def __init__(self, commands: CommandBus, clock: Clock) -> None:
        self.commands = commands
        self.clock = clock

    async def finish(
        self, request: LeadConversionRequested, lead_id: str, envelope: EventEnvelope
    ) -> None:
        """Open the opportunity, then mark the lead converted: two commands, each under a
        key of its own step."""
        now = self.clock.now()
        await self.commands.execute(
            OpenConvertedOpportunity(lead_id, request),
            reaction_context(self.name, envelope, now, step="open-opportunity"),
        )
        await self.commands.execute(
            CompleteLeadConversion(lead_id, request.customer_id, request.opportunity_id),
            reaction_context(self.name, envelope, now, step="complete-lead"),
        )


class ConvertLeadForExistingCustomer(_Conversion):
    """Step 3 when the lead converts for a customer that already exists."""

    name = "sales.convert-lead-for-existing-customer"
    categories = frozenset({"lead"})
    event_types = frozenset({LeadConversionRequested.event_type})

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        assert isinstance(event, LeadConversionRequested)
        if not event.new_customer:
            await self.finish(event, _id_of(envelope.stream_id), envelope)


class ConvertLeadForRegisteredCustomer(_Conversion):
    """Step 3 once the customer context registered the lead's new customer."""

    name = "sales.convert-lead-for-registered-customer"
    categories = frozenset({"customer"})
    event_types = frozenset({CustomerRegistered.event_type})

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        assert isinstance(event, CustomerRegistered)
        if event.lead_id is None:
            return
        leads = self.commands.repository(Lead)
        lead = await leads.load(event.lead_id, tenant=envelope.tenant)
        request = lead.state.conversion
        customer_id = _id_of(envelope.stream_id)
        if request is None or request.customer_id != customer_id:
            raise RuleViolated(
                f"customer {customer_id} names lead {event.lead_id}, which did not ask for it",
                code="conversion_mismatch",
            )
        await self.finish(request, event.lead_id, envelope)


def reactions(runtime: Runtime) -> list[Reaction]:
    return [
        ConvertLeadForExistingCustomer(runtime.commands, runtime.clock),
        ConvertLeadForRegisteredCustomer(runtime.commands, runtime.clock),
        CommissionProcess(runtime.commands, runtime.clock),
        # a converted lead is the customer: its contact is purged from the stored leads too,
        # and the customer's personal custom values of opportunities from the opportunities
        RebuildAfterErasure(
            "sales.purge-erased-leads", [LeadsProjection(), OpportunitiesProjection()], runtime
        ),
    ]
