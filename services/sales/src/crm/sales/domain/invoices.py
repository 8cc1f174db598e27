"""The invoice and the payments that settle it.

An invoice is issued for an order (its total, customer, owner, team and campaign) with a due
date after its issue date. Payments are recorded against it, partial ones too, in its currency; a
payment larger than what is still owed is refused as an overpayment rather than silently
leaving a credit nobody asked for. When the balance reaches zero the invoice is paid. A payment
carries an id chosen by the caller, so a retried request records it once: the same id with the
same amount and date is a no-op, the same id with anything else is refused.

The invoice is overdue from the day after its due date while something is still owed; a
scheduled check calls :meth:`Invoice.mark_overdue` with the time it runs, and the event is
recorded the first time only. A void invoice (issued by mistake, or its order cancelled)
takes no payments; one with payments cannot be voided (that needs a refund, not a void).

A refund gives back (part of) a recorded payment: never more than the payment less what was
refunded of it already, in its currency, under an id chosen by the caller (the same refund
again is a no-op). It does not reopen the invoice: the balance and the status stay (what the
customer owes is lowered by what was refunded, e.g. for goods returned).

One invoice per order is the application's promise: it derives the invoice id from the order
id, so a second issue for the same order meets an existing stream and is refused here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Self

from crm.events import DomainEvent
from crm.events.money import Money
from crm.events.sales_orders import (
    InvoiceIssued,
    InvoiceNumberClaimed,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceStatus,
    InvoiceVoided,
    OrderStatus,
    PaymentRecorded,
    PaymentRefunded,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.checks import optional_text, required_text
from crm.sales.domain.orders import Order
from crm.sales.domain.quotes import today

INVOICEABLE = frozenset({OrderStatus.PLACED, OrderStatus.SHIPPED, OrderStatus.DELIVERED})


@dataclass(frozen=True, slots=True)
class Payment:
    amount: Money
    received_on: date


@dataclass(frozen=True, slots=True)
class Refund:
    payment_id: str
    amount: Money
    refunded_on: date


@dataclass(frozen=True, slots=True)
class InvoiceState:
    status: InvoiceStatus | None = None
    order_id: str = ""
    customer_id: str = ""
    owner_id: str = ""
    campaign_id: str | None = None
    team_id: str | None = None
    amount: Money | None = None
    issue_date: date = date.min
    due_date: date = date.min
    payments: Mapping[str, Payment] = field(default_factory=lambda: MappingProxyType({}))
    balance: Money | None = None
    overdue: bool = False
    refunds: Mapping[str, Refund] = field(default_factory=lambda: MappingProxyType({}))
    number: str | None = None

    @property
    def issued(self) -> bool:
        return self.status is not None

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case InvoiceIssued():
                return replace(
                    self,
                    status=InvoiceStatus.ISSUED,
                    order_id=event.order_id,
                    customer_id=event.customer_id,
                    owner_id=event.owner_id,
                    campaign_id=event.campaign_id,
                    team_id=event.team_id,
                    amount=event.amount,
                    issue_date=event.issue_date,
                    due_date=event.due_date,
                    balance=event.amount,
                    number=event.number,
                )
            case PaymentRecorded():
                payments = dict(self.payments)
                payments[event.payment_id] = Payment(event.amount, event.received_on)
                return replace(self, payments=MappingProxyType(payments), balance=event.balance)
            case PaymentRefunded():
                refunds = dict(self.refunds)
                refunds[event.refund_id] = Refund(event.payment_id, event.amount, event.refunded_on)
                return replace(self, refunds=MappingProxyType(refunds))
            case InvoicePaid():
                return replace(self, status=InvoiceStatus.PAID)
            case InvoiceOverdue():
                return replace(self, overdue=True)
            case InvoiceVoided():
                return replace(self, status=InvoiceStatus.VOID)
        return self


MAX_NUMBER = 64


def invoice_number(text: str | None) -> str | None:
    """An invoice number as kept: trimmed, 1 to 64 characters, none of them a control
    character (None, or only spaces: none)."""
    if text is None or not text.strip():
        return None
    number = text.strip()
    if len(number) > MAX_NUMBER:
        raise InvalidCommand("number", f"must be at most {MAX_NUMBER} characters")
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in number):
        raise InvalidCommand("number", "must not hold control characters")
    return number


class Invoice(Aggregate[InvoiceState]):
    category = "invoice"

    @classmethod
    def initial_state(cls) -> InvoiceState:
        return InvoiceState()

    def _require_issued(self) -> InvoiceState:
        if not self.state.issued:
            raise NotFound(f"invoice {self.id} does not exist")
        return self.state

    def issue(
        self, order: Order, *, issue_date: date, due_date: date, number: str | None = None
    ) -> None:
        """Invoice ``order`` for its total; it must not be cancelled or returned. ``number``:
        the company's own (its uniqueness in the tenant is the application's to check)."""
        number = invoice_number(number)
        if self.state.issued:
            raise RuleViolated(f"invoice {self.id} already exists", code="already_exists")
        o = order.state
        if not o.placed:
            raise NotFound(f"order {order.id} does not exist")
        if o.status not in INVOICEABLE:
            raise RuleViolated(
                f"order {order.id} is {o.status} and cannot be invoiced", code="order_not_billable"
            )
        assert o.total is not None
        if not o.total.amount > 0:
            raise RuleViolated(f"order {order.id} totals {o.total}: nothing to invoice")
        if due_date <= issue_date:
            raise InvalidCommand("due_date", "must be after the issue date")
        self.trigger(
            InvoiceIssued(
                order_id=order.id,
                customer_id=o.customer_id,
                owner_id=o.owner_id,
                amount=o.total,
                issue_date=issue_date,
                due_date=due_date,
                campaign_id=o.campaign_id,
                team_id=o.team_id,
                number=number,
            )
        )

    def record_payment(
        self,
        payment_id: str,
        amount: Money,
        *,
        received_on: date,
        method: str | None = None,
        reference: str | None = None,
    ) -> None:
        state = self._require_issued()
        assert state.balance is not None
        assert state.amount is not None
        pid = required_text(payment_id, "payment_id", max_length=64)
        known = state.payments.get(pid)
        if known is not None:
            if known == Payment(amount, received_on):
                return
            raise RuleViolated(
                f"payment {pid} is already recorded with {known.amount} on {known.received_on}",
                code="payment_id_reused",
            )
        if state.status is InvoiceStatus.VOID:
            raise RuleViolated(f"invoice {self.id} is void", code="invoice_void")
        if state.status is InvoiceStatus.PAID:
            raise RuleViolated(
                f"invoice {self.id} is already paid: a further payment would be an overpayment",
                code="overpayment",
            )
        if amount.currency != state.amount.currency:
            raise InvalidCommand("amount", f"the invoice is in {state.amount.currency}")
        if not amount.amount > 0:
            raise InvalidCommand("amount", "must be greater than zero")
        if state.balance < amount:
            raise RuleViolated(
                f"a payment of {amount} exceeds the balance of {state.balance}: overpayment",
                code="overpayment",
            )
        balance = (state.balance - amount).rounded()
        self.trigger(
            PaymentRecorded(
                payment_id=pid,
                customer_id=state.customer_id,
                amount=amount,
                received_on=received_on,
                balance=balance,
                method=optional_text(method, "method"),
                reference=optional_text(reference, "reference"),
            )
        )
        if balance.is_zero:
            self.trigger(
                InvoicePaid(
                    order_id=state.order_id,
                    customer_id=state.customer_id,
                    owner_id=state.owner_id,
                    amount=state.amount,
                    paid_on=received_on,
                    campaign_id=state.campaign_id,
                )
            )

    def refunded_of(self, payment_id: str) -> Money | None:
        """What was refunded of the payment so far (None: no such payment)."""
        payment = self.state.payments.get(payment_id)
        if payment is None:
            return None
        total = Money.zero(payment.amount.currency)
        for refund in self.state.refunds.values():
            if refund.payment_id == payment_id:
                total = total + refund.amount
        return total

    def refund_payment(
        self,
        refund_id: str,
        payment_id: str,
        amount: Money,
        *,
        refunded_on: date,
        reason: str | None = None,
    ) -> None:
        state = self._require_issued()
        rid = required_text(refund_id, "refund_id", max_length=64)
        known = state.refunds.get(rid)
        if known is not None:
            if known == Refund(payment_id, amount, refunded_on):
                return
            raise RuleViolated(
                f"refund {rid} is already recorded with {known.amount} on {known.refunded_on}",
                code="refund_id_reused",
            )
        payment = state.payments.get(payment_id)
        refunded = self.refunded_of(payment_id)
        if payment is None or refunded is None:
            raise NotFound(f"invoice {self.id} has no payment {payment_id}")
        if amount.currency != payment.amount.currency:
            raise InvalidCommand("amount", f"the payment is in {payment.amount.currency}")
        if not amount.amount > 0:
            raise InvalidCommand("amount", "must be greater than zero")
        left = payment.amount - refunded
        if left < amount:
            raise RuleViolated(
                f"a refund of {amount} exceeds what is left of payment {payment_id} ({left})",
                code="refund_exceeds_payment",
            )
        if refunded_on < payment.received_on:
            raise InvalidCommand("refunded_on", "must not be before the payment was received")
        self.trigger(
            PaymentRefunded(
                refund_id=rid,
                payment_id=payment_id,
                order_id=state.order_id,
                customer_id=state.customer_id,
                amount=amount,
                refunded_on=refunded_on,
                payment_amount=payment.amount,
                refunded_total=refunded + amount,
                reason=optional_text(reason, "reason", max_length=2000),
            )
        )

    def mark_overdue(self, now: datetime) -> None:
        """Called by a scheduled check on any invoice: records, once, that an unpaid invoice is
        past its due date; does nothing if it is not due yet, paid, void or already marked."""
        state = self._require_issued()
        as_of = today(now)
        if state.status is not InvoiceStatus.ISSUED or state.overdue or as_of <= state.due_date:
            return
        assert state.balance is not None
        self.trigger(
            InvoiceOverdue(
                customer_id=state.customer_id,
                owner_id=state.owner_id,
                due_date=state.due_date,
                balance=state.balance,
                as_of=as_of,
            )
        )

    def void(self, reason: str | None = None) -> None:
        state = self._require_issued()
        if state.status is InvoiceStatus.VOID:
            return
        if state.status is InvoiceStatus.PAID or state.payments:
            raise RuleViolated(
                f"invoice {self.id} has payments; refund them rather than void it",
                code="invoice_has_payments",
            )
        assert state.amount is not None
        self.trigger(
            InvoiceVoided(
                customer_id=state.customer_id,
                amount=state.amount,
                reason=optional_text(reason, "reason", max_length=2000),
            )
        )


def number_taken(number: str, invoice_id: str) -> RuleViolated:
    """The refusal of ``number`` for another invoice than ``invoice_id``, which has it."""
    return RuleViolated(
        f"invoice number {number} is invoice {invoice_id}'s",
        code="invoice_number_taken",
        details={"field": "number", "invoice_id": invoice_id},
    )


CLAIM_GRACE = timedelta(minutes=5)
"""How long a claimed number waits for its invoice to be issued with it before another
invoice may take it (the issue that claimed it failed after the claim, or its process died)."""


@dataclass(frozen=True, slots=True)
class InvoiceNumberState:
    invoice_id: str | None = None
    claimed_at: datetime | None = None

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case InvoiceNumberClaimed():
                return replace(self, invoice_id=event.invoice_id, claimed_at=event.claimed_at)
        return self


class InvoiceNumber(Aggregate[InvoiceNumberState]):
    """One invoice number of a tenant (id ``<tenant>:<key>``, the key derived from the
    number): which invoice holds it. Its stream version serialises the issues under the
    number, where the invoices read model could not tell two at the same instant apart."""

    category = "invoice_number"

    @classmethod
    def initial_state(cls) -> InvoiceNumberState:
        return InvoiceNumberState()

    def claim(self, number: str, invoice_id: str, *, now: datetime, holder_holds: bool) -> None:
        """Hold ``number`` for ``invoice_id`` (held for it already: nothing). Another
        invoice's claim is refused (``invoice_number_taken``) while that invoice was issued
        with the number (``holder_holds``) or its claim is younger than :data:`CLAIM_GRACE`
        (its issue may still be on the way); else it is stale and taken over."""
        held_by, since = self.state.invoice_id, self.state.claimed_at
        if held_by == invoice_id:
            return
        if held_by is not None and (holder_holds or since is None or now - since < CLAIM_GRACE):
            raise number_taken(number, held_by)
        self.trigger(InvoiceNumberClaimed(number=number, invoice_id=invoice_id, claimed_at=now))
