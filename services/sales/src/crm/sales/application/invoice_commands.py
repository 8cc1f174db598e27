"""The invoice's commands: issue it for an order, record payments against it, void it, and
the scheduler's overdue mark. Payments are facts of the invoice they settle, so they are its
commands too.

Ids that carry a promise are derived:

- an invoice is uuid5 of its order id: one invoice per order. A second issue (or the loser of
  two concurrent ones, on its retry) finds the stream and is answered 409 ``already_invoiced``.
- a payment's id is the caller's, else derived from the request's Idempotency-Key (see
  :func:`payment_id_for`): the key alone makes a retried payment the same payment, which the
  invoice records once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import date, timedelta
from uuid import uuid4, uuid5

from crm.events.money import Money
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import NotFound, RuleViolated
from crm.kernel.read_store import Query, ReadStore
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.sales.application.catalogue import NAMESPACE
from crm.sales.application.policy import POLICY, SalesAction, scope_of
from crm.sales.domain.invoices import Invoice, InvoiceNumber, invoice_number, number_taken
from crm.sales.domain.orders import Order
from crm.sales.domain.quotes import today
from crm.sales.projections.order_models import INVOICES

DEFAULT_PAYMENT_TERM = timedelta(days=30)


def invoice_id_for_order(order_id: str) -> str:
    return str(uuid5(NAMESPACE, f"invoice-of-order\x00{order_id}"))


async def invoice_numbered(read_store: ReadStore, tenant: str, number: str) -> str | None:
    """The tenant's invoice numbered ``number`` as the invoices read model has it (None:
    none)."""
    page = await read_store.find(
        INVOICES, Query.all_of([{"tenant": tenant}, {"number": number}], sort="id", limit=1)
    )
    return str(page.items[0]["id"]) if page.items else None


def payment_id_for(ctx: CommandContext, given: str | None) -> str:
    """The id ``given``, else one derived from the request's Idempotency-Key (so the key alone
    makes a retried payment the same payment), else a new one."""
    if given is not None:
        return given
    if ctx.idempotency is not None:
        return str(uuid5(NAMESPACE, f"payment\x00{ctx.idempotency.key}"))
    return str(uuid4())


def refund_id_for(ctx: CommandContext, given: str | None) -> str:
    """As :func:`payment_id_for`, for a refund."""
    if given is not None:
        return given
    if ctx.idempotency is not None:
        return str(uuid5(NAMESPACE, f"refund\x00{ctx.idempotency.key}"))
    return str(uuid4())


@dataclass(frozen=True, slots=True)
class IssueInvoice:
    """Invoice the order, due ``due_date`` (default: 30 days after today), under the
    company's own invoice ``number`` if it has one (no other invoice of the tenant's has it)."""

    order_id: str
    due_date: date | None = None
    number: str | None = None

    @property
    def invoice_id(self) -> str:
        return invoice_id_for_order(self.order_id)


@dataclass(frozen=True, slots=True)
class ClaimInvoiceNumber:
    """Hold the tenant's invoice ``number`` for ``invoice_id`` (see
    :meth:`InvoiceNumber.claim`): the step an issue under a number takes before its own
    append."""

    number: str
    invoice_id: str

    @property
    def claim_id(self) -> str:
        """The tenant's own id of the number's stream (the table qualifies it)."""
        return invoice_number_key(self.number)


def invoice_number_key(number: str) -> str:
    return str(uuid5(NAMESPACE, f"invoice-number\x00{number}"))


@dataclass(frozen=True, slots=True)
class RecordPayment:
    """Record payment ``payment_id`` (see :func:`payment_id_for`); the same payment again
    records nothing."""

    invoice_id: str
    amount: Money
    payment_id: str
    received_on: date | None = None
    """Default: today."""
    method: str | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class RefundPayment:
    """Give back ``amount`` of payment ``payment_id``; ``refund_id`` as a payment's id is
    chosen (see :func:`payment_id_for`)."""

    invoice_id: str
    payment_id: str
    amount: Money
    refund_id: str
    refunded_on: date | None = None
    """Default: today."""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class VoidInvoice:
    invoice_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MarkInvoiceOverdue:
    """Sent by the scheduler for an unpaid invoice past its due date; records it once."""

    invoice_id: str


def _pay(i: Invoice, cmd: RecordPayment, ctx: CommandContext) -> None:
    i.record_payment(
        cmd.payment_id,
        cmd.amount,
        received_on=cmd.received_on or today(ctx.happened_at),
        method=cmd.method,
        reference=cmd.reference,
    )


def _refund(i: Invoice, cmd: RefundPayment, ctx: CommandContext) -> None:
    i.refund_payment(
        cmd.refund_id,
        cmd.payment_id,
        cmd.amount,
        refunded_on=cmd.refunded_on or today(ctx.happened_at),
        reason=cmd.reason,
    )


def invoice_commands(runtime: Runtime) -> CommandTable[Invoice]:
    """The table of invoices (the order an invoice is issued for is read from the store)."""
    orders = runtime.commands.repository(Order)

    async def issue(invoice: Invoice, cmd: IssueInvoice, ctx: CommandContext) -> None:
        order = await orders.load(cmd.order_id, tenant=ctx.tenant)
        o = order.state
        POLICY.authorize(
            ctx, SalesAction.WORK, what=f"order {order.id}", scope=scope_of(o.owner_id, o.team_id)
        )
        if invoice.state.issued:
            raise RuleViolated(
                f"order {order.id} is already invoiced (invoice {invoice.id})",
                code="already_invoiced",
            )
        issued = today(ctx.happened_at)  # an imported invoice keeps its own date
        due = cmd.due_date or issued + DEFAULT_PAYMENT_TERM
        number = invoice_number(cmd.number)
        if number is not None:
            # an invoice issued before numbers were claimed is found in the read model
            other = await invoice_numbered(runtime.read_store, ctx.tenant, number)
            if other is not None and other != invoice.id:
                raise number_taken(number, other)
        invoice.issue(order, issue_date=issued, due_date=due, number=number)
        if number is not None:
            # once the issue is known to hold, the number's own stream decides between two
            # issues under it at the same instant; the key stays with the invoice's append
            await runtime.commands.execute(
                ClaimInvoiceNumber(number, invoice.id), replace(ctx, idempotency=None)
            )

    t = CommandTable(
        Invoice,
        POLICY,
        scope=lambda i: scope_of(i.state.owner_id, i.state.team_id),
        id_field="invoice_id",
    )
    work = SalesAction.WORK
    # ANY, not NEW: the loser of two concurrent issues finds the invoice on its retry.
    t.on(IssueInvoice, Expect.ANY, work, issue)
    t.on(RecordPayment, Expect.EXISTING, work, _pay)
    t.on(RefundPayment, Expect.EXISTING, work, _refund)
    t.on(VoidInvoice, Expect.EXISTING, work, lambda i, cmd, _: i.void(cmd.reason))
    t.on(MarkInvoiceOverdue, Expect.EXISTING, work, lambda i, _, ctx: i.mark_overdue(ctx.now))
    return t


def invoice_number_commands(runtime: Runtime) -> CommandTable[InvoiceNumber]:
    """The invoice numbers' table: the claim an issue under a number runs before its own
    append (the access is the issue's: sales work)."""
    invoices = runtime.commands.repository(Invoice)

    async def claim(n: InvoiceNumber, cmd: ClaimInvoiceNumber, ctx: CommandContext) -> None:
        holder = n.state.invoice_id
        holds = False
        if holder is not None and holder != cmd.invoice_id:
            with contextlib.suppress(NotFound):
                state = (await invoices.load(holder, tenant=ctx.tenant)).state
                holds = state.issued and state.number == cmd.number
        n.claim(cmd.number, cmd.invoice_id, now=ctx.now, holder_holds=holds)

    t = CommandTable(InvoiceNumber, POLICY, noun="invoice number", tenant_qualified=True)
    # ANY: of two claims at once the loser runs again on a fresh load and meets the winner's
    t.on(ClaimInvoiceNumber, Expect.ANY, SalesAction.WORK, claim, id=lambda c: c.claim_id)
    return t
