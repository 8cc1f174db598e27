"""The customer's commands: one plain value each, and the table that runs them.

Routes, reactions and tests send these to the context's :class:`~crm.kernel.commands.
CommandBus`; the table says, for each, how its stream is found, the state it expects, the
access rule and the domain action (see :mod:`crm.kernel.commands`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import uuid4

from crm.customer.application.policy import POLICY, Action, scope_of
from crm.customer.domain.customer import Contact, Customer, Profile
from crm.events.custom_fields import FieldEntity
from crm.events.customer import Channel, ConsentPurpose, Direction
from crm.kernel.access import Principal
from crm.kernel.auth import Role
from crm.kernel.codec import EventCodec
from crm.kernel.commands import CommandBus, CommandTable, Expect
from crm.kernel.custom_fields import CustomFieldsState, check_values
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound
from crm.kernel.event_store import AppendResult
from crm.kernel.repository import CommandContext


def _new_id() -> str:
    return str(uuid4())


@dataclass(frozen=True, slots=True)
class RegisterCustomer:
    profile: Profile
    tags: tuple[str, ...] = ()
    owner_id: str | None = None
    """None: into the shared pool."""
    customer_id: str = field(default_factory=_new_id)
    confirm_distinct: bool = False
    """The user checked the likely duplicates and says this is another person: register."""
    custom: Mapping[str, Any] = field(default_factory=dict)
    """Values of the tenant's custom fields, by key (checked against their definitions)."""


@dataclass(frozen=True, slots=True)
class RegisterConvertedLead:
    """Register the customer a sales lead converts into, under the id sales chose. Run
    again (a redelivery, a retry after a crash) it records nothing."""

    customer_id: str
    profile: Profile
    owner_id: str | None
    lead_id: str


@dataclass(frozen=True, slots=True)
class LinkConvertedLead:
    """Note that ``lead_id`` was converted for this existing customer; if the customer was
    already erased, the lead's personal data is erased with it at once."""

    customer_id: str
    lead_id: str


@dataclass(frozen=True, slots=True)
class UpdateProfile:
    customer_id: str
    changes: Mapping[str, Any]
    """Profile fields to change; ``None`` clears one (except kind and name)."""
    expected_version: int | None = None
    confirm_distinct: bool = False
    """Change even if the new name, e-mail or phone matches another customer."""
    custom: Mapping[str, Any] = field(default_factory=dict)
    """Custom fields to change, by key; a blank value clears one."""


@dataclass(frozen=True, slots=True)
class AssignOwner:
    customer_id: str
    owner_id: str


@dataclass(frozen=True, slots=True)
class ReleaseToPool:
    customer_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimFromPool:
    customer_id: str


@dataclass(frozen=True, slots=True)
class TagCustomer:
    customer_id: str
    tag: str


@dataclass(frozen=True, slots=True)
class UntagCustomer:
    customer_id: str
    tag: str


@dataclass(frozen=True, slots=True)
class LogInteraction:
    customer_id: str
    channel: Channel
    summary: str
    direction: Direction = Direction.OUTBOUND
    occurred_at: datetime | None = None
    """When it happened (with a time zone); None: now."""
    duration_minutes: int | None = None
    interaction_id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        if self.occurred_at is not None and self.occurred_at.tzinfo is None:
            raise InvalidCommand("occurred_at", "needs a time zone (e.g. 2026-05-01T10:00:00Z)")


@dataclass(frozen=True, slots=True)
class RecordConsent:
    customer_id: str
    purpose: ConsentPurpose
    granted: bool
    method: str | None = None


@dataclass(frozen=True, slots=True)
class EraseCustomer:
    """Record the erasure, then delete the keys (crypto-shredding). Run again, it deletes
    them again: a crash in between leaves nothing that a retry does not finish.

    A customer converted from a sales lead is the lead's contact, whose personal data (the
    lead's own fields, the contact of the conversion request) is sealed with the lead's key:
    that key goes too, so the person is erased from sales as well."""

    customer_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RecordDataExport:
    """Record that everything held about the customer (``sections``) was exported for
    them; admins only (the policy's ``EXPORT``)."""

    customer_id: str
    sections: tuple[str, ...]
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MergeCustomers:
    """Merge ``merged_id``, a duplicate, into ``survivor_id`` (admins): recorded first on
    the merged one (``customer.merged_into``: from then on it refuses every command but an
    erasure), then the survivor absorbs it (:class:`AbsorbMerged`). Run again after a crash
    in between, it finishes the absorption; run again after it completed, it is refused
    (``customer_merged``)."""

    survivor_id: str
    merged_id: str


@dataclass(frozen=True, slots=True)
class AbsorbMerged:
    """The merge's step on the survivor (run by :class:`MergeCustomers`, not a route)."""

    survivor_id: str
    merged_id: str


@dataclass(frozen=True, slots=True)
class MarkDistinct:
    """An admin's decision that ``other_id`` is not a duplicate of ``customer_id``: the
    pair leaves the list of suspected duplicates."""

    customer_id: str
    other_id: str


@dataclass(frozen=True, slots=True)
class AddContact:
    """Add a person at a company customer (:class:`~crm.customer.domain.customer.Contact`)."""

    customer_id: str
    contact: Contact
    contact_id: str = field(default_factory=_new_id)


@dataclass(frozen=True, slots=True)
class UpdateContact:
    customer_id: str
    contact_id: str
    changes: Mapping[str, Any]
    """The contact's fields to change; ``None`` clears one (not the name)."""


@dataclass(frozen=True, slots=True)
class RemoveContact:
    customer_id: str
    contact_id: str


def _register_converted(c: Customer, cmd: RegisterConvertedLead, ctx: CommandContext) -> None:
    if c.state.registered and c.state.lead_id == cmd.lead_id:
        return  # an earlier delivery registered them
    c.register(cmd.profile, owner_id=cmd.owner_id, lead_id=cmd.lead_id)


def _release(c: Customer, cmd: ReleaseToPool, ctx: CommandContext) -> None:
    if Principal.of(ctx).role is Role.SALES_REP and c.state.owner_id != ctx.actor:
        raise Forbidden("a sales rep releases only their own customers")
    c.release_to_pool(cmd.reason)


def _log(c: Customer, cmd: LogInteraction, ctx: CommandContext) -> None:
    c.log_interaction(
        cmd.interaction_id,
        channel=cmd.channel,
        direction=cmd.direction,
        summary=cmd.summary,
        occurred_at=cmd.occurred_at or ctx.happened_at,
        now=ctx.now,
        duration_minutes=cmd.duration_minutes,
    )


def _link(c: Customer, cmd: LinkConvertedLead, ctx: CommandContext) -> None:
    c.link_lead(cmd.lead_id)


def _claim(c: Customer, cmd: ClaimFromPool, ctx: CommandContext) -> None:
    c.claim(ctx.actor)


def _consent(c: Customer, cmd: RecordConsent, ctx: CommandContext) -> None:
    c.record_consent(cmd.purpose, granted=cmd.granted, method=cmd.method)


MATCHED = ("name", "email", "phone", "company")
"""The profile fields duplicates are found by: an edit of one is checked again."""

DuplicateCheck = Callable[[CommandContext, Profile, str | None], Awaitable[None]]
"""Refuses a profile that likely duplicates another customer than the one named (see
:func:`crm.customer.application.duplicates.refuse_duplicates`)."""


async def _no_check(ctx: CommandContext, profile: Profile, exclude: str | None) -> None:
    return None


Definitions = Callable[[str], Awaitable[CustomFieldsState]]
"""A tenant's custom field definitions (:class:`crm.kernel.custom_fields.DefinitionsOf`)."""


async def _no_fields(tenant: str) -> CustomFieldsState:
    return CustomFieldsState()


def customer_commands(
    codec: EventCodec,
    duplicates: DuplicateCheck = _no_check,
    definitions: Definitions = _no_fields,
    bus: CommandBus | None = None,
) -> CommandTable[Customer]:
    """The table of the customer aggregate (``codec`` deletes keys after an erasure;
    ``duplicates`` checks registrations and profile edits, unless the command confirms the
    customer is distinct; ``definitions`` are the tenant's custom fields, which the
    commands' custom values are checked against; ``bus`` runs the merge's and the
    erasure's steps on the other customers they concern)."""

    def steps() -> CommandBus:
        if bus is None:
            raise RuntimeError("the customer table was built without a bus: no merges")
        return bus

    async def other(ctx: CommandContext, customer_id: str) -> Customer:
        return await steps().repository(Customer).load(customer_id, tenant=ctx.tenant)

    async def finish_merge(cmd: MergeCustomers, ctx: CommandContext) -> None:
        step = AbsorbMerged(cmd.survivor_id, cmd.merged_id)
        await steps().run(step, replace(ctx, idempotency=None))

    async def merge(c: Customer, cmd: MergeCustomers, ctx: CommandContext) -> None:
        if not c.state.registered:
            raise InvalidCommand("merged_id", f"customer {cmd.merged_id} does not exist")
        if cmd.survivor_id == cmd.merged_id:
            raise InvalidCommand("merged_id", "a customer cannot be merged into itself")
        survivor = (await other(ctx, cmd.survivor_id)).state
        if c.state.merged_into == cmd.survivor_id and cmd.merged_id not in survivor.absorbed:
            # recorded before a crash cut the merge short: its step finishes it
            await finish_merge(cmd, ctx)
            return
        c.merge_into(cmd.survivor_id, survivor)

    async def absorb_merged(
        c: Customer, cmd: MergeCustomers, ctx: CommandContext, _: AppendResult
    ) -> None:
        await finish_merge(cmd, ctx)

    async def absorb(c: Customer, cmd: AbsorbMerged, ctx: CommandContext) -> None:
        c.absorb(cmd.merged_id, (await other(ctx, cmd.merged_id)).state)

    async def mark_distinct(c: Customer, cmd: MarkDistinct, ctx: CommandContext) -> None:
        try:
            state = (await other(ctx, cmd.other_id)).state
        except NotFound:
            raise InvalidCommand("other_id", f"customer {cmd.other_id} does not exist") from None
        c.mark_distinct(cmd.other_id, state)

    async def register(c: Customer, cmd: RegisterCustomer, ctx: CommandContext) -> None:
        if Principal.of(ctx).role is Role.SALES_REP and cmd.owner_id not in (None, ctx.actor):
            raise Forbidden("a sales rep registers customers for themselves or into the pool")
        if not c.state.registered and not cmd.confirm_distinct:
            await duplicates(ctx, cmd.profile, None)
        custom = check_values(await definitions(ctx.tenant), FieldEntity.CUSTOMER, cmd.custom)
        c.register(
            cmd.profile,
            tags=cmd.tags,
            owner_id=cmd.owner_id,
            today=ctx.now.date(),
            custom=custom,
        )

    async def update(c: Customer, cmd: UpdateProfile, ctx: CommandContext) -> None:
        before = c.state.profile
        custom = None
        if cmd.custom:
            custom = check_values(
                await definitions(ctx.tenant),
                FieldEntity.CUSTOMER,
                cmd.custom,
                current=c.state.custom_values,
            )
        # the rules first: a refused edit is checked no further
        c.update_profile(cmd.changes, ctx.now.date(), custom)
        after = c.state.profile
        if cmd.confirm_distinct or before is None or after is None:
            return
        if any(getattr(after, f) != getattr(before, f) for f in MATCHED):
            await duplicates(ctx, after, c.id)

    async def shred_lead(
        c: Customer, cmd: LinkConvertedLead, ctx: CommandContext, _: AppendResult
    ) -> None:
        if c.state.erased:
            await codec.erase(f"lead-{cmd.lead_id}")

    async def shred(c: Customer, cmd: EraseCustomer, ctx: CommandContext, _: AppendResult) -> None:
        # the customers merged into this one are the same person: erased first, by their keys
        for merged in sorted(c.state.absorbed):
            await steps().run(EraseCustomer(merged, cmd.reason), replace(ctx, idempotency=None))
        # the customer's key last: once it is gone, every key of the person is
        for lead in sorted(c.state.leads):
            await codec.erase(f"lead-{lead}")
        await codec.erase(c.stream_id)

    t = CommandTable(
        Customer, POLICY, scope=lambda c: scope_of(c.state.owner_id), id_field="customer_id"
    )
    t.on(RegisterCustomer, Expect.NEW, Action.REGISTER, register)
    t.on(RegisterConvertedLead, Expect.ANY, None, _register_converted)
    t.on(LinkConvertedLead, Expect.EXISTING, None, _link, then=shred_lead)
    t.on(UpdateProfile, Expect.EXISTING, Action.EDIT, update)
    t.on(AssignOwner, Expect.EXISTING, Action.ASSIGN, lambda c, m, _: c.assign_owner(m.owner_id))
    t.on(ReleaseToPool, Expect.EXISTING, Action.RELEASE, _release)
    t.on(ClaimFromPool, Expect.EXISTING, Action.CLAIM, _claim, sees_record=False)
    t.on(TagCustomer, Expect.EXISTING, Action.EDIT, lambda c, m, _: c.tag(m.tag))
    t.on(UntagCustomer, Expect.EXISTING, Action.EDIT, lambda c, m, _: c.untag(m.tag))
    t.on(
        AddContact,
        Expect.EXISTING,
        Action.EDIT,
        lambda c, m, _: c.add_contact(m.contact_id, m.contact),
    )
    t.on(
        UpdateContact,
        Expect.EXISTING,
        Action.EDIT,
        lambda c, m, _: c.update_contact(m.contact_id, m.changes),
    )
    t.on(
        RemoveContact, Expect.EXISTING, Action.EDIT, lambda c, m, _: c.remove_contact(m.contact_id)
    )
    t.on(LogInteraction, Expect.EXISTING, Action.INTERACT, _log)
    t.on(RecordConsent, Expect.EXISTING, Action.INTERACT, _consent)
    t.on(
        RecordDataExport,
        Expect.EXISTING,
        Action.EXPORT,
        lambda c, m, _: c.record_export(list(m.sections), m.reason),
    )
    t.on(
        EraseCustomer, Expect.EXISTING, Action.ERASE, lambda c, m, _: c.erase(m.reason), then=shred
    )
    t.on(MarkDistinct, Expect.EXISTING, Action.MERGE, mark_distinct)
    t.on(
        MergeCustomers,
        Expect.ANY,
        Action.MERGE,
        merge,
        id=lambda m: m.merged_id,
        then=absorb_merged,
    )
    t.on(AbsorbMerged, Expect.EXISTING, None, absorb, id=lambda m: m.survivor_id)
    return t
