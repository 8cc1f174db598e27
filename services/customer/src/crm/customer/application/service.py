"""The customer commands: authorise against the loaded state, run the domain, append."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import uuid4

from crm.customer.application.policy import Action, authorize
from crm.customer.domain.customer import Customer, Profile
from crm.events.customer import Channel, ConsentPurpose, Direction
from crm.kernel.auth import Role
from crm.kernel.codec import EventCodec
from crm.kernel.errors import Forbidden, InvalidCommand, WrongExpectedVersion
from crm.kernel.event_store import AppendResult, EventStore
from crm.kernel.repository import CommandContext, Repository, execute


class CustomerService:
    def __init__(self, store: EventStore, codec: EventCodec) -> None:
        self.codec = codec
        self.customers = Repository(store, codec, Customer)

    async def _act(
        self,
        ctx: CommandContext,
        customer_id: str,
        action: Action,
        command: Callable[[Customer], None],
        *,
        expected_version: int | None = None,
    ) -> AppendResult:
        role = Role(ctx.role)

        def guarded(customer: Customer) -> None:
            authorize(role, ctx.actor, action, customer.state.owner_id, customer_id)
            command(customer)

        return await execute(
            self.customers, customer_id, guarded, ctx, expected_version=expected_version
        )

    async def register(
        self,
        ctx: CommandContext,
        profile: Profile,
        *,
        tags: tuple[str, ...] = (),
        owner_id: str | None = None,
    ) -> AppendResult:
        role = Role(ctx.role)
        authorize(role, ctx.actor, Action.REGISTER, None, "new")
        if role is Role.SALES_REP and owner_id not in (None, ctx.actor):
            raise Forbidden("a sales rep registers customers for themselves or into the pool")
        customer_id = str(uuid4())
        return await execute(
            self.customers,
            customer_id,
            lambda c: c.register(profile, tags=tags, owner_id=owner_id),
            ctx,
            create=True,
        )

    async def register_converted_lead(
        self,
        ctx: CommandContext,
        customer_id: str,
        profile: Profile,
        *,
        owner_id: str | None,
        lead_id: str,
    ) -> AppendResult | None:
        """Register the customer a sales lead converts into, under the id sales chose. Run
        again (a redelivery, a retry after a crash) it appends nothing: the key of ``ctx``
        answers a retry, and a stream that exists means an earlier run already did it
        (returns None then)."""
        try:
            return await execute(
                self.customers,
                customer_id,
                lambda c: c.register(profile, owner_id=owner_id, lead_id=lead_id),
                ctx,
                create=True,
            )
        except WrongExpectedVersion:
            existing = await self.customers.load(customer_id)
            if existing.state.lead_id != lead_id:
                raise
            return None

    async def link_converted_lead(
        self, ctx: CommandContext, customer_id: str, lead_id: str
    ) -> AppendResult:
        """Note that ``lead_id`` was converted for this existing customer; if the customer
        was already erased, the lead's personal data is erased with it at once."""
        erased: list[bool] = []

        def link(customer: Customer) -> None:
            customer.link_lead(lead_id)
            erased[:] = [customer.state.erased]

        result = await execute(self.customers, customer_id, link, ctx)
        if erased and erased[0]:
            await self.codec.erase(f"lead-{lead_id}")
        return result

    async def update_profile(
        self,
        ctx: CommandContext,
        customer_id: str,
        changes: Mapping[str, Any],
        expected_version: int | None,
    ) -> AppendResult:
        return await self._act(
            ctx,
            customer_id,
            Action.EDIT,
            lambda c: c.update_profile(changes),
            expected_version=expected_version,
        )

    async def assign_owner(
        self, ctx: CommandContext, customer_id: str, owner_id: str
    ) -> AppendResult:
        return await self._act(ctx, customer_id, Action.ASSIGN, lambda c: c.assign_owner(owner_id))

    async def release(
        self, ctx: CommandContext, customer_id: str, reason: str | None
    ) -> AppendResult:
        def release(customer: Customer) -> None:
            if Role(ctx.role) is Role.SALES_REP and customer.state.owner_id != ctx.actor:
                raise Forbidden("a sales rep releases only their own customers")
            customer.release_to_pool(reason)

        return await self._act(ctx, customer_id, Action.RELEASE, release)

    async def claim(self, ctx: CommandContext, customer_id: str) -> AppendResult:
        return await self._act(ctx, customer_id, Action.CLAIM, lambda c: c.claim(ctx.actor))

    async def tag(self, ctx: CommandContext, customer_id: str, tag: str) -> AppendResult:
        return await self._act(ctx, customer_id, Action.EDIT, lambda c: c.tag(tag))

    async def untag(self, ctx: CommandContext, customer_id: str, tag: str) -> AppendResult:
        return await self._act(ctx, customer_id, Action.EDIT, lambda c: c.untag(tag))

    async def log_interaction(
        self,
        ctx: CommandContext,
        customer_id: str,
        *,
        channel: Channel,
        direction: Direction,
        summary: str,
        occurred_at: datetime | None,
        duration_minutes: int | None,
        interaction_id: str | None = None,
    ) -> AppendResult:
        when = occurred_at or ctx.now
        if when.tzinfo is None:
            raise InvalidCommand("occurred_at", "needs a time zone (e.g. 2026-05-01T10:00:00Z)")
        iid = interaction_id or str(uuid4())
        return await self._act(
            ctx,
            customer_id,
            Action.INTERACT,
            lambda c: c.log_interaction(
                iid,
                channel=channel,
                direction=direction,
                summary=summary,
                occurred_at=when,
                now=ctx.now,
                duration_minutes=duration_minutes,
            ),
        )

    async def record_consent(
        self,
        ctx: CommandContext,
        customer_id: str,
        purpose: ConsentPurpose,
        granted: bool,
        method: str | None,
    ) -> AppendResult:
        return await self._act(
            ctx,
            customer_id,
            Action.INTERACT,
            lambda c: c.record_consent(purpose, granted=granted, method=method),
        )

    async def erase(
        self, ctx: CommandContext, customer_id: str, reason: str | None
    ) -> AppendResult:
        """Record the erasure, then delete the keys. Run again, it deletes them again: a
        crash in between leaves nothing that a retry does not finish.

        A customer converted from a sales lead is the lead's contact, whose personal data
        (the lead's own fields, the contact of the conversion request) is sealed with the
        lead's key: that key goes too, so the person is erased from sales as well."""
        subjects: list[str] = []

        def erase(customer: Customer) -> None:
            customer.erase(reason)
            # the customer's key last: once it is gone, every key of the person is
            leads = [f"lead-{lead}" for lead in sorted(customer.state.leads)]
            subjects[:] = [*leads, customer.stream_id]

        result = await self._act(ctx, customer_id, Action.ERASE, erase)
        for subject in subjects:
            await self.codec.erase(subject)
        return result
