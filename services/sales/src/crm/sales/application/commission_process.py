"""The commission process manager: turns sales facts into entries of the reps' statements.

- ``sales.order.placed``: commission on booked revenue (held back if the plan says so);
- ``sales.invoice.payment_recorded``: commission on collected revenue, the payment's part of
  the invoice;
- ``sales.invoice.paid``: held commissions of the order are released;
- ``sales.invoice.payment_refunded``: what the refunded part of the payment earned is clawed
  back (collected basis);
- ``sales.order.cancelled`` and ``sales.order.returned``: what the order earned on booked
  revenue is clawed back (on collected revenue only a refund takes commission back).

Each entry is posted to the rep's statement of the fact's month, or to the first month after
it that is not approved yet. The shares come from the order's split (else its owner has it
all), the plan is the one that pays the rep on the fact's day (see
:func:`~crm.sales.domain.commissions.plan_for`). An entry's id is derived from the event and
the rep and every step runs under the reaction's idempotency key, so a redelivered event posts
nothing twice. The process's memory is the statements themselves: a clawback finds what was
earned by reading the statements of the reps the order was ever split with.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from uuid import uuid5

from crm.events import DomainEvent, EventEnvelope
from crm.events.commissions import (
    ClawbackReason,
    CommissionBasis,
    CommissionClawedBack,
    CommissionReleased,
    EntryKind,
    EntrySource,
    SplitShare,
)
from crm.events.money import Money
from crm.events.sales_orders import (
    InvoicePaid,
    OrderCancelled,
    OrderPlaced,
    OrderReturned,
    PaymentRecorded,
    PaymentRefunded,
)
from crm.kernel.clock import Clock
from crm.kernel.commands import CommandBus
from crm.kernel.errors import NotFound
from crm.kernel.reactor import reaction_context
from crm.kernel.tenancy import qualified
from crm.sales.application.catalogue import NAMESPACE
from crm.sales.application.commission_commands import EarnCommission, PostEntry
from crm.sales.domain.commissions import (
    PLANS_ID,
    CommissionPlans,
    CommissionSplit,
    CommissionStatement,
    Entry,
    Plan,
    PlanVersion,
    StatementClosed,
    month_of,
    months_from,
    next_month,
    plan_for,
    share_of,
    statement_id,
)
from crm.sales.domain.invoices import Invoice
from crm.sales.domain.orders import Order
from crm.sales.domain.quotes import today

MAX_MONTHS_AHEAD = 120


def _id_of(stream_id: str) -> str:
    return stream_id.partition("-")[2]


def entry_id(envelope: EventEnvelope, rep_id: str, of: str = "") -> str:
    return str(uuid5(NAMESPACE, f"commission\x00{envelope.event_id}\x00{rep_id}\x00{of}"))


class CommissionProcess:
    name = "sales.commissions"
    categories = frozenset({"order", "invoice"})
    event_types = frozenset(
        e.event_type
        for e in (
            OrderPlaced,
            PaymentRecorded,
            InvoicePaid,
            PaymentRefunded,
            OrderCancelled,
            OrderReturned,
        )
    )

    def __init__(self, commands: CommandBus, clock: Clock) -> None:
        self.commands = commands
        self.clock = clock
        self.orders = commands.repository(Order)
        self.invoices = commands.repository(Invoice)
        self.plans = commands.repository(CommissionPlans)
        self.splits = commands.repository(CommissionSplit)
        self.statements = commands.repository(CommissionStatement)

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        own = _id_of(envelope.stream_id)
        match event:
            case OrderPlaced():
                day = today(envelope.occurred_at)
                await self._earn(envelope, own, day, CommissionBasis.BOOKED, Decimal(1), None)
            case PaymentRecorded():
                invoice = await self.invoices.load(own, tenant=envelope.tenant)
                assert invoice.state.amount is not None
                fraction = event.amount.amount / invoice.state.amount.amount
                await self._earn(
                    envelope,
                    invoice.state.order_id,
                    event.received_on,
                    CommissionBasis.COLLECTED,
                    fraction,
                    (own, event.payment_id),
                )
            case InvoicePaid():
                await self._release(envelope, event.order_id, event.paid_on)
            case PaymentRefunded():
                await self._refund(envelope, event)
            case OrderCancelled() | OrderReturned():
                reason = (
                    ClawbackReason.RETURN
                    if isinstance(event, OrderReturned)
                    else ClawbackReason.CANCELLATION
                )
                await self._cancel(envelope, own, today(envelope.occurred_at), reason)

    # -- what an order is split into, and where an entry goes ----------------------------------

    async def _shares(self, order: Order, tenant: str) -> tuple[tuple[SplitShare, ...], set[str]]:
        """The shares of the order now, and every rep it was ever split with."""
        try:
            split = await self.splits.load(order.id, tenant=tenant)
        except NotFound:
            split = None
        owner = order.state.owner_id
        if split is None or not split.state.shares:
            return (SplitShare(rep_id=owner, percent=Decimal(100)),), {owner}
        return split.state.shares, {owner, *split.state.reps_ever}

    async def _statement(self, tenant: str, rep: str, period: str) -> CommissionStatement | None:
        try:
            return await self.statements.load(
                qualified(tenant, statement_id(rep, period)), tenant=tenant
            )
        except NotFound:
            return None

    async def _post(
        self,
        envelope: EventEnvelope,
        rep: str,
        day: date,
        step: str,
        make: Callable[[str], object],
    ) -> None:
        """Run ``make(period)`` for the first month from ``day``'s that is not approved."""
        period = month_of(day)
        ctx = reaction_context(self.name, envelope, self.clock.now(), step=step)
        for _ in range(MAX_MONTHS_AHEAD):
            statement = await self._statement(envelope.tenant, rep, period)
            if statement is not None and statement.state.approved:
                period = next_month(period)
                continue
            try:
                await self.commands.execute(make(period), ctx)
                return
            except StatementClosed:  # approved since it was read
                period = next_month(period)
        raise StatementClosed(f"no open statement of {rep} within {MAX_MONTHS_AHEAD} months")

    async def _earned(
        self, tenant: str, reps: set[str], first: date, last: date
    ) -> list[tuple[str, str, Entry, list[Entry]]]:
        """Every earned entry of ``reps`` from ``first``'s month to ``last``'s, each with its
        id, rep and the releases and clawbacks that refer to it."""
        found: list[tuple[str, str, Entry]] = []
        related: dict[str, list[Entry]] = {}
        end = month_of(max(last, first))
        for rep in sorted(reps):
            for period in months_from(month_of(first), end):
                s = await self._statement(tenant, rep, period)
                if s is None:
                    continue
                for eid, entry in s.state.entries.items():
                    if entry.kind is EntryKind.EARNED:
                        found.append((eid, rep, entry))
                    elif entry.earned_entry_id is not None:
                        related.setdefault(entry.earned_entry_id, []).append(entry)
        return [(eid, rep, e, related.get(eid, [])) for eid, rep, e in found]

    # -- the steps ---------------------------------------------------------------------------

    async def _earn(
        self,
        envelope: EventEnvelope,
        order_id: str,
        day: date,
        basis: CommissionBasis,
        fraction: Decimal,
        payment: tuple[str, str] | None,
    ) -> None:
        tenant = envelope.tenant
        plans = await self._plans(tenant)
        if plans is None:  # a tenant without plans pays no commission
            return
        order = await self.orders.load(order_id, tenant=tenant)
        o = order.state
        shares, _ = await self._shares(order, tenant)
        for share in shares:
            found = plan_for(plans.state, share.rep_id, day, o.currency)
            if found is None or found[1].terms.basis is not basis:
                continue

            def make(
                period: str,
                share: SplitShare = share,
                plan: Plan = found[0],
                version: PlanVersion = found[1],
            ) -> EarnCommission:
                return EarnCommission(
                    rep_id=share.rep_id,
                    period=period,
                    entry_id=entry_id(envelope, share.rep_id),
                    source=EntrySource.ORDER if payment is None else EntrySource.PAYMENT,
                    order_id=order.id,
                    customer_id=o.customer_id,
                    invoice_id=None if payment is None else payment[0],
                    payment_id=None if payment is None else payment[1],
                    plan_id=plan.plan_id,
                    plan_version=version.version,
                    terms=version.terms,
                    lines=o.lines,
                    fraction=fraction,
                    share_percent=share.percent,
                    held=version.terms.hold_until_collected,
                    occurred_on=day,
                    team_id=o.team_id,
                )

            await self._post(envelope, share.rep_id, day, f"earn:{share.rep_id}", make)

    async def _plans(self, tenant: str) -> CommissionPlans | None:
        try:
            return await self.plans.load(qualified(tenant, PLANS_ID), tenant=tenant)
        except NotFound:
            return None

    async def _placed_on(self, order: Order) -> date:
        (first, *_) = await self.commands.store.read_stream(order.stream_id)
        return today(first.occurred_at)

    async def _release(self, envelope: EventEnvelope, order_id: str, day: date) -> None:
        tenant = envelope.tenant
        order = await self.orders.load(order_id, tenant=tenant)
        _, reps = await self._shares(order, tenant)
        last = max(day, today(self.clock.now()))
        for eid, rep, e, related in await self._earned(
            tenant, reps, await self._placed_on(order), last
        ):
            if e.order_id != order_id or not e.held:
                continue
            if any(r.kind is EntryKind.RELEASED for r in related):
                continue
            held_left = e.commission + _sum_held(related, e.commission.currency)
            if held_left.is_zero:
                continue

            def make(
                period: str, rep: str = rep, eid: str = eid, amount: Money = held_left
            ) -> PostEntry:
                return PostEntry(
                    CommissionReleased(
                        entry_id=entry_id(envelope, rep, eid),
                        earned_entry_id=eid,
                        rep_id=rep,
                        period=period,
                        order_id=order_id,
                        commission=amount,
                        occurred_on=day,
                        team_id=order.state.team_id,
                    )
                )

            await self._post(envelope, rep, day, f"release:{eid}", make)

    async def _refund(self, envelope: EventEnvelope, event: PaymentRefunded) -> None:
        tenant = envelope.tenant
        invoice = await self.invoices.load(_id_of(envelope.stream_id), tenant=tenant)
        payment = invoice.state.payments.get(event.payment_id)
        if payment is None:
            return
        order = await self.orders.load(event.order_id, tenant=tenant)
        _, reps = await self._shares(order, tenant)
        after = event.refunded_total.amount
        before = after - event.amount.amount
        whole = event.payment_amount.amount
        last = max(event.refunded_on, today(self.clock.now()))
        for eid, rep, e, _ in await self._earned(tenant, reps, payment.received_on, last):
            if e.payment_id != event.payment_id or e.basis is not CommissionBasis.COLLECTED:
                continue
            commission = share_of(e.commission, before, whole) - share_of(
                e.commission, after, whole
            )
            revenue = share_of(e.revenue, before, whole) - share_of(e.revenue, after, whole)
            currency = e.commission.currency

            def make(
                period: str,
                rep: str = rep,
                eid: str = eid,
                commission: Money = commission,
                revenue: Money = revenue,
                currency: str = currency,
            ) -> PostEntry:
                return PostEntry(
                    CommissionClawedBack(
                        entry_id=entry_id(envelope, rep, eid),
                        earned_entry_id=eid,
                        rep_id=rep,
                        period=period,
                        reason=ClawbackReason.REFUND,
                        order_id=event.order_id,
                        payment_id=event.payment_id,
                        refund_id=event.refund_id,
                        revenue=revenue,
                        commission=commission,
                        held=Money.zero(currency).rounded(),
                        occurred_on=event.refunded_on,
                        team_id=order.state.team_id,
                    )
                )

            await self._post(envelope, rep, event.refunded_on, f"claw:{eid}", make)

    async def _cancel(
        self, envelope: EventEnvelope, order_id: str, day: date, reason: ClawbackReason
    ) -> None:
        tenant = envelope.tenant
        order = await self.orders.load(order_id, tenant=tenant)
        _, reps = await self._shares(order, tenant)
        last = max(day, today(self.clock.now()))
        for eid, rep, e, related in await self._earned(
            tenant, reps, await self._placed_on(order), last
        ):
            if e.order_id != order_id or e.basis is not CommissionBasis.BOOKED:
                continue
            currency = e.commission.currency
            released = not e.held or any(r.kind is EntryKind.RELEASED for r in related)
            clawed = [r for r in related if r.kind is EntryKind.CLAWED_BACK]
            left = e.commission + _sum(clawed, currency) + _sum_held(clawed, currency)
            revenue_left = e.revenue + _sum_revenue(clawed, currency)
            if left.is_zero and revenue_left.is_zero:
                continue
            zero = Money.zero(currency).rounded()
            payable, held = (zero - left, zero) if released else (zero, zero - left)

            def make(
                period: str,
                rep: str = rep,
                eid: str = eid,
                payable: Money = payable,
                held: Money = held,
                revenue: Money = zero - revenue_left,
            ) -> PostEntry:
                return PostEntry(
                    CommissionClawedBack(
                        entry_id=entry_id(envelope, rep, eid),
                        earned_entry_id=eid,
                        rep_id=rep,
                        period=period,
                        reason=reason,
                        order_id=order_id,
                        revenue=revenue,
                        commission=payable,
                        held=held,
                        occurred_on=day,
                        team_id=order.state.team_id,
                    )
                )

            await self._post(envelope, rep, day, f"claw:{eid}", make)


def _sum(entries: list[Entry], currency: str) -> Money:
    total = Money.zero(currency)
    for e in entries:
        total = total + e.commission
    return total


def _sum_held(entries: list[Entry], currency: str) -> Money:
    """What clawbacks took from the held part."""
    total = Money.zero(currency)
    for e in entries:
        if e.kind is EntryKind.CLAWED_BACK:
            total = total + e.held_amount
    return total


def _sum_revenue(entries: list[Entry], currency: str) -> Money:
    total = Money.zero(currency)
    for e in entries:
        total = total + e.revenue
    return total
