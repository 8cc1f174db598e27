"""Field visits' commands, keeping a technician from being double-booked across streams.

The consistency boundary is the technician's UTC day (:class:`TechnicianDay`); a visit is
recorded in its own stream only once each day of its slot holds it (see the docstring of
:mod:`crm.service_desk.domain.visits`). So a visit command is a short sequence of appends,
each a command of its own on the bus, in the order that keeps *every scheduled or completed
visit's slot held* at every step:

- schedule: :class:`BookSlot` in each day (ascending), then ``VisitScheduled``;
- reschedule: book each new day, ``VisitRescheduled``, then :class:`ReleaseSlot` of the
  previous slot (``then``: only once the visit no longer refers to it);
- cancel: ``VisitCancelled``, then release the holds;
- complete: ``VisitCompleted`` (nothing to release).

The day steps run inside the visit command's action, before the visit's own append. Each is
the bus's one path: loaded (a day without a stream yet is created), acted on, appended at
the version it was loaded at, and run again on a fresh load when a concurrent booking of the
same day wins: so of two overlapping bookings the loser, reloaded, finds the overlap and is
refused ``technician_double_booked`` (409). Only the visit's own append carries the request's
idempotency key (a key is recorded with the first append under it, so a day step under it
would be "replayed" and lost); the day steps are idempotent by themselves (booking the same
visit and slot again, or releasing what is not held, records nothing). A new visit's id is
derived from the idempotency key when there is one (:func:`visit_id_for`), so a retried
request books the *same* visit again instead of tripping over the hold its first attempt left.

When a step is refused -- a later day, or the visit itself on a fresh load after losing a
race to a concurrent change of it -- the command releases the holds of its slot that the
visit (as stored) does not refer to before the error is answered: such a hold is stale by
definition, so releasing it never frees a slot a visit needs. A crash between two appends can
still leave a hold no visit refers to; the reconciliation
(:mod:`crm.service_desk.application.visit_reconciler`) releases it after the grace period.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from uuid import UUID, uuid4, uuid5

from crm.events.visits import ReleaseReason, TimeSlot, VisitRescheduled
from crm.kernel.commands import CommandBus, CommandTable, Expect
from crm.kernel.directory import Customers
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.kernel.event_store import AppendResult
from crm.kernel.repository import CommandContext
from crm.service_desk.application.policy import POLICY, DeskAction, scope_of
from crm.service_desk.domain.tickets import Ticket
from crm.service_desk.domain.visits import (
    STALE_AFTER,
    TechnicianDay,
    Visit,
    VisitState,
    VisitStatus,
    checked_slot,
    days_of,
)

log = logging.getLogger(__name__)

DAY_ATTEMPTS = 20
"""Fresh loads of a day step. A day stream is contended by the bookings of one technician's
day only; each round of concurrent writers lets at least one through, so this bounds a burst
of twenty simultaneous bookings of one technician's day."""

_VISIT_IDS = UUID("3b0f6c0e-7d51-4a43-9f0e-52a1c1d4a7e2")


def visit_id_for(ctx: CommandContext) -> str:
    """The new visit's id: derived from the idempotency key when the request has one (a
    retried request is the same visit), random otherwise."""
    if ctx.idempotency is None:
        return str(uuid4())
    return str(uuid5(_VISIT_IDS, ctx.idempotency.key))


# -- the visit's commands -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleVisit:
    ticket_id: str
    customer_id: str
    technician_id: str
    slot: TimeSlot
    address: str
    notes: str | None = None
    visit_id: str = field(default_factory=lambda: str(uuid4()))
    """See :func:`visit_id_for`."""


@dataclass(frozen=True, slots=True)
class RescheduleVisit:
    visit_id: str
    slot: TimeSlot
    technician_id: str | None = None
    """Another technician; None: the same one."""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CancelVisit:
    visit_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class CompleteVisit:
    visit_id: str
    report: str


# -- the technician day's commands (steps of the visit's, and of the reconciliation) -------------


def _day_id(cmd: BookSlot | ReleaseSlot | ReleaseStaleHolds) -> str:
    """The tenant's own id of the day (the table qualifies it: see ``technician_day_id``)."""
    return f"{cmd.technician_id}:{cmd.day.isoformat()}"


@dataclass(frozen=True, slots=True)
class BookSlot:
    technician_id: str
    day: date
    visit_id: str
    ticket_id: str
    slot: TimeSlot


@dataclass(frozen=True, slots=True)
class ReleaseSlot:
    technician_id: str
    day: date
    visit_id: str
    reason: ReleaseReason
    slot: TimeSlot | None = None
    """None: every hold of the visit that day."""


@dataclass(frozen=True, slots=True)
class ReleaseStaleHolds:
    technician_id: str
    day: date
    grace: timedelta = STALE_AFTER


class VisitSteps:
    """The day steps of the visit commands, and the ticket check they share."""

    def __init__(self, bus: CommandBus) -> None:
        self.bus = bus

    async def ticket(self, ctx: CommandContext, ticket_id: str) -> Ticket:
        """The ticket the visit is for, if the actor may see it (else 404)."""
        ticket = await self.bus.repository(Ticket).load(ticket_id, tenant=ctx.tenant)
        scope = scope_of(ticket.state.group_id, ticket.state.agent_id)
        POLICY.authorize(ctx, DeskAction.VIEW, what=f"ticket {ticket_id}", scope=scope)
        return ticket

    async def book(
        self,
        ctx: CommandContext,
        stored: VisitState,
        visit_id: str,
        ticket_id: str,
        tech: str,
        slot: TimeSlot,
    ) -> None:
        """Hold ``slot`` in each of the technician's days, in order; on a refusal, release
        what the visit does not refer to and raise."""
        try:
            for day in days_of(slot):
                await self.bus.run(BookSlot(tech, day, visit_id, ticket_id, slot), _untagged(ctx))
        except BaseException:
            await self.undo(ctx, stored, visit_id, tech, slot)
            raise

    async def release(
        self,
        ctx: CommandContext,
        visit_id: str,
        tech: str,
        slot: TimeSlot,
        reason: ReleaseReason,
        *,
        only_slot: bool,
    ) -> None:
        """Release the visit's holds in the days of ``slot`` (only that slot's, or all)."""
        for day in days_of(slot):
            step = ReleaseSlot(tech, day, visit_id, reason, slot if only_slot else None)
            try:
                await self.bus.run(step, _untagged(ctx))
            except NotFound:
                continue  # a day never booked

    async def undo(
        self, ctx: CommandContext, stored: VisitState, visit_id: str, tech: str, slot: TimeSlot
    ) -> None:
        """Release the holds of ``slot`` the visit as ``stored`` does not refer to (stale by
        definition); if even that fails, the reconciliation releases them later."""
        if stored.refers_to(tech, slot):
            return
        try:
            await asyncio.shield(
                self.release(ctx, visit_id, tech, slot, ReleaseReason.STALE, only_slot=True)
            )
        except Exception:
            log.exception("could not release the holds of visit %s", visit_id)


def _untagged(ctx: CommandContext) -> CommandContext:
    """The context of a day step: without the request's idempotency key (see the module)."""
    return replace(ctx, idempotency=None)


def visit_commands(bus: CommandBus, customers: Customers) -> CommandTable[Visit]:
    """The visit's table; its actions run the day steps on ``bus``; ``customers`` is the
    directory a visit's customer must be in."""
    steps = VisitSteps(bus)

    async def schedule(v: Visit, cmd: ScheduleVisit, ctx: CommandContext) -> None:
        ticket = await steps.ticket(ctx, cmd.ticket_id.strip())
        ticket.check_visit_bookable()
        opened = ticket.state.opened
        assert opened is not None
        if cmd.customer_id.strip() != opened.customer_id:
            raise InvalidCommand("customer_id", f"ticket {cmd.ticket_id} is for another customer")
        await customers.require(ctx, cmd.customer_id)
        stored = v.state
        v.schedule(  # refuses bad input before anything is held
            ticket_id=cmd.ticket_id,
            customer_id=cmd.customer_id,
            technician_id=cmd.technician_id,
            slot=cmd.slot,
            address=cmd.address,
            now=ctx.now,
            notes=cmd.notes,
        )
        slot = checked_slot(cmd.slot)
        await steps.book(ctx, stored, v.id, ticket.id, cmd.technician_id.strip(), slot)

    async def reschedule(v: Visit, cmd: RescheduleVisit, ctx: CommandContext) -> None:
        (await steps.ticket(ctx, v.state.ticket_id)).check_visit_bookable()
        stored = v.state
        tech = (cmd.technician_id or stored.technician_id).strip()
        try:
            v.reschedule(technician_id=tech, slot=cmd.slot, now=ctx.now, reason=cmd.reason)
        except RuleViolated:
            # on a fresh load after a lost race, the slot an earlier attempt held is stale
            await steps.undo(ctx, stored, v.id, tech, checked_slot(cmd.slot))
            raise
        if v.changes:  # else: to where it is, nothing to book
            await steps.book(ctx, stored, v.id, stored.ticket_id, tech, checked_slot(cmd.slot))

    async def release_previous(
        v: Visit, cmd: RescheduleVisit, ctx: CommandContext, _: AppendResult
    ) -> None:
        for moved in v.changes:
            if isinstance(moved, VisitRescheduled):
                tech, previous = moved.previous_technician_id, moved.previous_slot
                reason = ReleaseReason.RESCHEDULED
                await steps.release(ctx, v.id, tech, previous, reason, only_slot=True)

    async def cancel(v: Visit, cmd: CancelVisit, ctx: CommandContext) -> None:
        await steps.ticket(ctx, v.state.ticket_id)
        state = v.state
        if state.status is VisitStatus.CANCELLED and state.slot is not None:
            # cancelled before: a retry finishes the releases a crash may have cut short
            await steps.release(
                ctx,
                v.id,
                state.technician_id,
                state.slot,
                ReleaseReason.CANCELLED,
                only_slot=False,
            )
            return
        v.cancel(cmd.reason, now=ctx.now)

    async def release_holds(
        v: Visit, cmd: CancelVisit, ctx: CommandContext, _: AppendResult
    ) -> None:
        assert v.state.slot is not None
        reason = ReleaseReason.CANCELLED
        await steps.release(ctx, v.id, v.state.technician_id, v.state.slot, reason, only_slot=False)

    async def complete(v: Visit, cmd: CompleteVisit, ctx: CommandContext) -> None:
        await steps.ticket(ctx, v.state.ticket_id)
        v.complete(cmd.report, now=ctx.now)

    t = CommandTable(Visit, POLICY, id_field="visit_id", noun="visit")
    t.on(ScheduleVisit, Expect.ANY, DeskAction.WORK, schedule)
    t.on(RescheduleVisit, Expect.EXISTING, DeskAction.WORK, reschedule, then=release_previous)
    t.on(CancelVisit, Expect.EXISTING, DeskAction.WORK, cancel, then=release_holds)
    t.on(CompleteVisit, Expect.EXISTING, DeskAction.WORK, complete)
    return t


def technician_day_commands(bus: CommandBus) -> CommandTable[TechnicianDay]:
    """The technician day's table: the steps of the visit commands and the reconciliation
    (whose access is the visit command's: the desk's work). ``bus`` loads the visits a
    reconciliation asks about."""

    async def release_stale(d: TechnicianDay, cmd: ReleaseStaleHolds, ctx: CommandContext) -> None:
        visits = bus.repository(Visit)
        states: dict[str, VisitState] = {}
        for visit_id in sorted({h.visit_id for h in d.state.holds}):
            try:
                states[visit_id] = (await visits.load(visit_id, tenant=ctx.tenant)).state
            except NotFound:
                continue  # its command died before recording it
        d.release_stale(states, now=ctx.now, grace=cmd.grace)

    def book(d: TechnicianDay, cmd: BookSlot, ctx: CommandContext) -> None:
        d.book(visit_id=cmd.visit_id, ticket_id=cmd.ticket_id, slot=cmd.slot, now=ctx.now)

    def release(d: TechnicianDay, cmd: ReleaseSlot, ctx: CommandContext) -> None:
        d.release(cmd.visit_id, reason=cmd.reason, now=ctx.now, slot=cmd.slot)

    work = DeskAction.WORK
    t = CommandTable(TechnicianDay, POLICY, noun="technician day", tenant_qualified=True)
    t.on(BookSlot, Expect.ANY, work, book, id=_day_id, attempts=DAY_ATTEMPTS)
    t.on(ReleaseSlot, Expect.EXISTING, work, release, id=_day_id, attempts=DAY_ATTEMPTS)
    t.on(ReleaseStaleHolds, Expect.EXISTING, work, release_stale, id=_day_id, attempts=DAY_ATTEMPTS)
    return t
