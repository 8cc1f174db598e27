"""Field visits' commands, keeping a technician from being double-booked across streams.

The consistency boundary is the technician's UTC day (:class:`TechnicianDay`); a visit is
recorded in its own stream only once each day of its slot holds it (see the docstring of
:mod:`crm.service_desk.domain.visits`). So every command is a short sequence of appends, in
the order that keeps *every scheduled or completed visit's slot held* at every step:

- schedule: book each day (ascending), then record ``VisitScheduled``;
- reschedule: book each new day, record ``VisitRescheduled``, release the previous slot;
- cancel: record ``VisitCancelled``, then release the holds;
- complete: record ``VisitCompleted`` (nothing to release).

Only the visit's own append carries the request's idempotency key (the store records the key
with the first append it sees, so a later append under it would be "replayed" and lost); the
day appends are idempotent by themselves (booking the same visit and slot again, or releasing
what is not held, records nothing). A new visit's id is derived from the idempotency key when
there is one, so a retried request books the *same* visit again instead of tripping over the
hold its first attempt left.

Each append is retried on a fresh load when a concurrent writer wins the stream's version, so
two requests for overlapping slots both reach the day at its latest version and the second
is refused ``technician_double_booked`` (409). When a later step fails (refused, or lost to a
concurrent change of the visit), the holds this command booked are released again before
the error is answered. A crash between two appends can still leave a hold no visit refers to;
:class:`StaleHoldReconciler` (a background job) releases such holds once they are older than
the grace period.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4, uuid5

from crm.events.visits import ReleaseReason, TimeSlot
from crm.kernel.clock import Clock
from crm.kernel.codec import EventCodec
from crm.kernel.context import Job
from crm.kernel.errors import InvalidCommand, NotFound, WrongExpectedVersion
from crm.kernel.event_store import AppendResult, EventStore
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.read_store import Query, ReadStore
from crm.kernel.repository import A, CommandContext, Repository
from crm.kernel.runtime import Runtime
from crm.service_desk.application.policy import DeskAction, authorize
from crm.service_desk.domain.tickets import Ticket
from crm.service_desk.domain.visits import (
    STALE_AFTER,
    TechnicianDay,
    Visit,
    VisitState,
    checked_slot,
    technician_day_id,
    technician_days,
)
from crm.service_desk.projections.visit_models import VISITS, iso

log = logging.getLogger(__name__)

ATTEMPTS = 20
"""Fresh loads per append. A day stream is contended by the bookings of one technician's
day only; each round of concurrent writers lets at least one through, so this bounds a burst
of twenty simultaneous bookings of one technician's day."""

_VISIT_IDS = UUID("3b0f6c0e-7d51-4a43-9f0e-52a1c1d4a7e2")


def visit_id_for(ctx: CommandContext) -> str:
    """The new visit's id: derived from the idempotency key when the request has one (a
    retried request is the same visit), random otherwise."""
    if ctx.idempotency is None:
        return str(uuid4())
    return str(uuid5(_VISIT_IDS, ctx.idempotency.key))


def _untagged(ctx: CommandContext) -> CommandContext:
    """The context for every append but the visit's own: without the idempotency key."""
    return dataclasses.replace(ctx, idempotency=None)


async def _apply(
    repository: Repository[A],
    id: str,
    action: Callable[[A], None],
    ctx: CommandContext,
    *,
    create: bool = False,
) -> AppendResult | None:
    """Run ``action`` on a fresh load (a new aggregate if ``create`` and the stream does not
    exist) and append what it recorded, again on a conflict; None if it recorded nothing."""
    return await _attempt(repository, id, action, ctx, create=create, record_empty=False)


async def _record(
    repository: Repository[A],
    id: str,
    action: Callable[[A], None],
    ctx: CommandContext,
    *,
    create: bool = False,
) -> AppendResult:
    """:func:`_apply` for the visit's own append, which answers the request: when the
    command records nothing (the same request again), the empty append answers with where
    the stream stands, and records the idempotency key as any command does."""
    result = await _attempt(repository, id, action, ctx, create=create, record_empty=True)
    assert result is not None
    return result


async def _attempt(
    repository: Repository[A],
    id: str,
    action: Callable[[A], None],
    ctx: CommandContext,
    *,
    create: bool,
    record_empty: bool,
) -> AppendResult | None:
    for attempt in range(ATTEMPTS):
        try:
            aggregate = await repository.load(id, tenant=ctx.tenant)
        except NotFound:
            if not create:
                raise
            aggregate = repository.aggregate.create(id)
        action(aggregate)
        if not aggregate.changes and not record_empty:
            return None
        try:
            return await repository.save(aggregate, ctx)
        except WrongExpectedVersion:
            if attempt == ATTEMPTS - 1:
                raise
            await asyncio.sleep(0)
    raise AssertionError("unreachable")


def _latest(*results: AppendResult | None) -> AppendResult | None:
    found = [r for r in results if r is not None]
    return max(found, key=lambda r: r.position) if found else None


@dataclass(frozen=True, slots=True)
class Booking:
    """The day streams one command booked (what to release if a later step fails)."""

    visit_id: str
    technician_id: str
    slot: TimeSlot
    days: tuple[str, ...]


class VisitService:
    def __init__(self, store: EventStore, codec: EventCodec) -> None:
        self.visits = Repository(store, codec, Visit)
        self.days = Repository(store, codec, TechnicianDay)
        self.tickets = Repository(store, codec, Ticket)

    # -- steps -------------------------------------------------------------------------------

    async def _ticket_guard(self, ctx: CommandContext, ticket_id: str) -> Ticket:
        """The ticket the visit is for, if the actor may work on it."""
        ticket = await self.tickets.load(ticket_id, tenant=ctx.tenant)
        state = ticket.state
        authorize(
            ctx,
            DeskAction.VIEW,
            what=f"ticket {ticket_id}",
            group_id=state.group_id,
            agent_id=state.agent_id,
        )
        authorize(ctx, DeskAction.WORK, what="visit", scoped=False)
        return ticket

    async def _book(
        self, ctx: CommandContext, visit_id: str, ticket_id: str, technician: str, slot: TimeSlot
    ) -> Booking:
        """Hold ``slot`` in each of the technician's days, in order; on a refusal, release
        what this call booked and raise."""
        booked: list[str] = []
        try:
            for day_id in technician_days(ctx.tenant, technician, slot):
                result = await _apply(
                    self.days,
                    day_id,
                    lambda d: d.book(
                        visit_id=visit_id, ticket_id=ticket_id, slot=slot, now=ctx.now
                    ),
                    _untagged(ctx),
                    create=True,
                )
                if result is not None:
                    booked.append(day_id)
        except BaseException:
            await self._undo(ctx, Booking(visit_id, technician, slot, tuple(booked)))
            raise
        return Booking(visit_id, technician, slot, tuple(booked))

    async def _release(
        self,
        ctx: CommandContext,
        visit_id: str,
        day_ids: tuple[str, ...],
        reason: ReleaseReason,
        slot: TimeSlot | None = None,
    ) -> AppendResult | None:
        last: AppendResult | None = None
        for day_id in day_ids:
            try:
                result = await _apply(
                    self.days,
                    day_id,
                    lambda d: d.release(visit_id, reason=reason, now=ctx.now, slot=slot),
                    _untagged(ctx),
                )
            except NotFound:
                continue
            last = _latest(last, result)
        return last

    async def _undo(self, ctx: CommandContext, booking: Booking) -> None:
        """Release what a failed command booked; if even that fails, the reconciliation
        releases it after the grace period."""
        if not booking.days:
            return
        try:
            await asyncio.shield(
                self._release(
                    ctx, booking.visit_id, booking.days, ReleaseReason.STALE, booking.slot
                )
            )
        except Exception:
            log.exception("could not release the holds of visit %s", booking.visit_id)

    # -- commands ----------------------------------------------------------------------------

    async def schedule(
        self,
        ctx: CommandContext,
        *,
        ticket_id: str,
        customer_id: str,
        technician_id: str,
        slot: TimeSlot,
        address: str,
        notes: str | None = None,
    ) -> AppendResult:
        ticket = await self._ticket_guard(ctx, ticket_id.strip())
        opened = ticket.state.opened
        assert opened is not None
        if customer_id.strip() != opened.customer_id:
            raise InvalidCommand("customer_id", f"ticket {ticket_id} is for another customer")
        visit_id = visit_id_for(ctx)

        def schedule(visit: Visit) -> None:
            visit.schedule(
                ticket_id=ticket_id,
                customer_id=customer_id,
                technician_id=technician_id,
                slot=slot,
                address=address,
                now=ctx.now,
                notes=notes,
            )

        schedule(Visit.create(visit_id))  # refuse bad input before holding anything
        utc = checked_slot(slot)
        booking = await self._book(ctx, visit_id, ticket_id.strip(), technician_id.strip(), utc)
        try:
            return await _record(self.visits, visit_id, schedule, ctx, create=True)
        except BaseException:
            await self._undo(ctx, booking)
            raise

    async def _open_visit(self, ctx: CommandContext, visit_id: str) -> Visit:
        visit = await self.visits.load(visit_id, tenant=ctx.tenant)
        await self._ticket_guard(ctx, visit.state.ticket_id)
        return visit

    async def reschedule(
        self,
        ctx: CommandContext,
        visit_id: str,
        *,
        slot: TimeSlot,
        technician_id: str | None = None,
        reason: str | None = None,
    ) -> AppendResult:
        visit = await self._open_visit(ctx, visit_id)
        technician = (technician_id or visit.state.technician_id).strip()

        def reschedule(v: Visit) -> None:
            v.reschedule(technician_id=technician, slot=slot, now=ctx.now, reason=reason)

        reschedule(visit)  # refuse bad input (and a finished visit) before holding anything
        if not visit.changes:  # to where it is: nothing to book
            return await _record(self.visits, visit_id, reschedule, ctx)
        utc = checked_slot(slot)
        booking = await self._book(ctx, visit_id, visit.state.ticket_id, technician, utc)
        moved: list[tuple[str, TimeSlot]] = []

        def record(v: Visit) -> None:
            moved.clear()
            before = v.state
            reschedule(v)
            if v.changes and before.slot is not None:
                moved.append((before.technician_id, before.slot))

        try:
            result = await _record(self.visits, visit_id, record, ctx)
        except BaseException:
            await self._undo(ctx, booking)
            raise
        released = None
        for previous_technician, previous_slot in moved:
            released = await self._release(
                ctx,
                visit_id,
                technician_days(ctx.tenant, previous_technician, previous_slot),
                ReleaseReason.RESCHEDULED,
                previous_slot,
            )
        return _position_of(result, released)

    async def cancel(self, ctx: CommandContext, visit_id: str, reason: str) -> AppendResult:
        await self._open_visit(ctx, visit_id)
        result = await _record(self.visits, visit_id, lambda v: v.cancel(reason, now=ctx.now), ctx)
        visit = await self.visits.load(visit_id, tenant=ctx.tenant)
        state = visit.state
        assert state.slot is not None
        # Also when nothing was recorded (cancelled before): a retry finishes the releases.
        released = await self._release(
            ctx,
            visit_id,
            technician_days(ctx.tenant, state.technician_id, state.slot),
            ReleaseReason.CANCELLED,
        )
        return _position_of(result, released)

    async def complete(self, ctx: CommandContext, visit_id: str, report: str) -> AppendResult:
        await self._open_visit(ctx, visit_id)
        return await _record(self.visits, visit_id, lambda v: v.complete(report, now=ctx.now), ctx)


def _position_of(result: AppendResult, later: AppendResult | None) -> AppendResult:
    """The visit's answer with the position of the command's last append (a read of the
    visit with that position then also shows the released holds)."""
    if later is None or later.position <= result.position:
        return result
    return dataclasses.replace(result, position=later.position)


# -- reconciliation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconcileReport:
    now: datetime
    released: tuple[str, ...] = ()
    """The day streams where a stale hold was released."""
    failed: tuple[str, ...] = ()


class StaleHoldReconciler:
    """Releases holds no visit refers to, once booked more than ``grace`` ago.

    The visits read model says which visits have such holds (``stale_since``); the decision
    is taken on the event store, by :meth:`TechnicianDay.release_stale` with the current
    state of every visit holding a slot that day, so a read model lagging behind never
    releases a hold a visit needs. ``grace`` must exceed how long a command can take between
    its first and last append."""

    ACTOR = "process:visit-reconciler"
    PAGE = 200

    def __init__(
        self, store: EventStore, codec: EventCodec, read_store: ReadStore, *, grace: timedelta
    ) -> None:
        self.read_store = read_store
        self.grace = grace
        self.visits = Repository(store, codec, Visit)
        self.days = Repository(store, codec, TechnicianDay)

    async def _visit_state(self, visit_id: str, tenant: str) -> VisitState:
        try:
            return (await self.visits.load(visit_id, tenant=tenant)).state
        except NotFound:
            return VisitState()

    async def _reconcile_day(self, day_id: str, tenant: str, now: datetime) -> bool:
        ctx = CommandContext(actor=self.ACTOR, role=SYSTEM_ROLE, tenant=tenant, now=now)
        for attempt in range(ATTEMPTS):
            day = await self.days.load(day_id, tenant=tenant)
            ids = sorted({h.visit_id for h in day.state.holds})
            visits = {i: await self._visit_state(i, tenant) for i in ids}
            day.release_stale(visits, now=now, grace=self.grace)
            if not day.changes:
                return False
            try:
                await self.days.save(day, ctx)
            except WrongExpectedVersion:
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            return True
        raise AssertionError("unreachable")

    async def release_stale(self, now: datetime) -> ReconcileReport:
        cutoff = iso(now - self.grace)
        candidates: list[tuple[str, str]] = []
        offset = 0
        while True:
            page = await self.read_store.find(
                VISITS,
                Query(
                    filter={"stale_since": {"$lt": cutoff}},
                    sort=(("stale_since", 1),),
                    limit=self.PAGE,
                    offset=offset,
                ),
            )
            for doc in page.items:
                for hold in doc["holds"]:
                    day_id = technician_day_id(
                        doc["tenant"], hold["technician_id"], date.fromisoformat(hold["day"])
                    )
                    if (day_id, doc["tenant"]) not in candidates:
                        candidates.append((day_id, doc["tenant"]))
            offset += len(page.items)
            if not page.items or offset >= page.total:
                break
        released: list[str] = []
        failed: list[str] = []
        for day_id, tenant in candidates:
            try:
                if await self._reconcile_day(day_id, tenant, now):
                    released.append(day_id)
            except Exception:
                log.exception("stale holds of %s: not released; the next run tries again", day_id)
                failed.append(day_id)
        return ReconcileReport(now, tuple(released), tuple(failed))

    async def run(self, clock: Clock, interval: float) -> None:
        """Reconcile every ``interval`` seconds, forever (cancel the task to stop it)."""
        while True:
            try:
                report = await self.release_stale(clock.now())
            except Exception:
                log.exception("visit reconciliation failed; retrying in %s s", interval)
            else:
                if report.released:
                    log.info("released stale holds in %d technician days", len(report.released))
            await asyncio.sleep(interval)


def reconciler(runtime: Runtime, *, grace: timedelta = STALE_AFTER) -> StaleHoldReconciler:
    return StaleHoldReconciler(runtime.store, runtime.codec, runtime.read_store, grace=grace)


def release_stale_job(runtime: Runtime) -> Job:
    """The reconciliation as a background job of the context (``JOBS``)."""
    job = reconciler(runtime)
    return lambda: job.run(runtime.clock, runtime.scheduler_interval_seconds)
