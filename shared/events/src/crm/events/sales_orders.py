"""Events of the sales context's order-to-cash side: products, price books, quotes, orders,
invoices and their payments.

Streams: ``product-<id>``, ``pricebook-<id>``, ``quote-<id>``, ``order-<id>``,
``invoice-<id>``; topic ``crm.sales.events``. Every amount is a :class:`Money` (decimal string
and currency), never a float. Events that analytics reads on their own (revenue per period,
campaign effectiveness, overdue invoices per customer) carry ``customer_id``, ``owner_id``,
``campaign_id`` and ``opportunity_id`` so a consumer needs no join to attribute them.
The events that create a quote, an order or an invoice carry its ``team_id`` too: the sales
team it belongs to, whose manager sees and works it (None in events stored before teams were
recorded, and for records made by someone in no team).
Payments are events of the invoice they settle (``sales.invoice.payment_recorded``): a payment
always belongs to exactly one invoice, whose stream version guards its balance.
No field here is personal data: customers are referred to by id only.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from crm.events.base import DomainEvent
from crm.events.money import Amount, Currency, Money
from crm.events.registry import event


class LineItem(BaseModel):
    """One priced line of a quote or an order, with the total it came to.

    ``line_total`` = quantity x unit price x (1 - discount_percent / 100), rounded to the
    currency's minor unit half to even (see ``crm.sales.domain.pricing``); the document total is
    the sum of the rounded line totals. It is recorded so that no consumer re-derives it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    line_id: str
    product_id: str
    sku: str
    description: str | None = None
    quantity: Annotated[Amount, Field(gt=0)]
    unit_price: Money
    discount_percent: Annotated[Amount, Field(ge=0, le=100)] = Decimal(0)
    line_total: Money


# -- products and price books --------------------------------------------------------------


@event("sales.product.created")
class ProductCreated(DomainEvent):
    """A product entered the catalogue. The sku's uniqueness is checked by the application
    (a lookup in the catalogue read model, or a sku-keyed stream), not by this event."""

    sku: str
    name: str
    list_price: Money
    description: str | None = None


@event("sales.product.repriced")
class ProductRepriced(DomainEvent):
    list_price: Money
    previous_list_price: Money


@event("sales.product.retired")
class ProductRetired(DomainEvent):
    """The product can no longer be quoted or ordered; past quotes and orders keep it."""

    sku: str
    reason: str | None = None


@event("sales.price_book.created")
class PriceBookCreated(DomainEvent):
    name: str
    currency: Currency


@event("sales.price_book.entry_set")
class PriceBookEntrySet(DomainEvent):
    """The book's price for a sku, added or changed."""

    sku: str
    product_id: str
    unit_price: Money
    previous_unit_price: Money | None = None


@event("sales.price_book.entry_removed")
class PriceBookEntryRemoved(DomainEvent):
    sku: str


# -- quotes --------------------------------------------------------------------------------


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


@event("sales.quote.drafted")
class QuoteDrafted(DomainEvent):
    customer_id: str
    owner_id: str
    currency: Currency
    valid_until: date
    opportunity_id: str | None = None
    campaign_id: str | None = None
    team_id: str | None = None
    """The sales team the quote belongs to (its creator's): whose manager sees it."""


@event("sales.quote.line_added")
class QuoteLineAdded(DomainEvent):
    line: LineItem


@event("sales.quote.line_changed")
class QuoteLineChanged(DomainEvent):
    """The whole line after the change."""

    line: LineItem


@event("sales.quote.line_removed")
class QuoteLineRemoved(DomainEvent):
    line_id: str


@event("sales.quote.sent")
class QuoteSent(DomainEvent):
    customer_id: str
    owner_id: str
    total: Money
    valid_until: date
    opportunity_id: str | None = None
    campaign_id: str | None = None


@event("sales.quote.accepted")
class QuoteAccepted(DomainEvent):
    customer_id: str
    owner_id: str
    total: Money
    opportunity_id: str | None = None
    campaign_id: str | None = None


@event("sales.quote.rejected")
class QuoteRejected(DomainEvent):
    customer_id: str
    owner_id: str
    total: Money
    reason: str | None = None
    opportunity_id: str | None = None
    campaign_id: str | None = None


@event("sales.quote.expired")
class QuoteExpired(DomainEvent):
    """A sent quote got no answer before ``valid_until``; a scheduled check records it."""

    customer_id: str
    owner_id: str
    total: Money
    valid_until: date
    opportunity_id: str | None = None
    campaign_id: str | None = None


@event("sales.quote.ordered")
class QuoteOrdered(DomainEvent):
    """The accepted quote became this order; it can become no other."""

    order_id: str


# -- orders --------------------------------------------------------------------------------


class OrderStatus(StrEnum):
    PLACED = "placed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"


@event("sales.order.placed")
class OrderPlaced(DomainEvent):
    customer_id: str
    owner_id: str
    currency: Currency
    lines: tuple[LineItem, ...]
    total: Money
    quote_id: str | None = None
    """None: placed directly, not from a quote."""
    opportunity_id: str | None = None
    campaign_id: str | None = None
    """The campaign the sale is attributed to."""
    team_id: str | None = None
    """The sales team the order belongs to: its quote's, or its creator's if placed directly."""


@event("sales.order.shipped")
class OrderShipped(DomainEvent):
    customer_id: str
    carrier: str | None = None
    tracking_ref: str | None = None


@event("sales.order.delivered")
class OrderDelivered(DomainEvent):
    customer_id: str


@event("sales.order.cancelled")
class OrderCancelled(DomainEvent):
    """Carries the total and attribution so revenue reports can take the sale back."""

    customer_id: str
    owner_id: str
    total: Money
    reason: str | None = None
    campaign_id: str | None = None


@event("sales.order.returned")
class OrderReturned(DomainEvent):
    customer_id: str
    owner_id: str
    total: Money
    reason: str
    campaign_id: str | None = None


# -- invoices and payments -----------------------------------------------------------------


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    PAID = "paid"
    VOID = "void"


@event("sales.invoice.issued")
class InvoiceIssued(DomainEvent):
    """An invoice for an order. One invoice per order is the application's promise (it derives
    the invoice id from the order id, so a second issue meets an existing stream)."""

    order_id: str
    customer_id: str
    owner_id: str
    amount: Money
    issue_date: date
    due_date: date
    campaign_id: str | None = None
    team_id: str | None = None
    """The order's team, whose manager sees the invoice and its payments."""
    number: str | None = Field(default=None, max_length=64)
    """The invoice's number in the company's books (发票号), one per invoice in a tenant;
    None: none given (the invoice is known by its id and its order)."""


@event("sales.invoice_number.claimed")
class InvoiceNumberClaimed(DomainEvent):
    """A tenant's invoice number (发票号) is held for ``invoice_id``: the one stream per number
    whose version serialises the issues under it, so of two at the same instant one wins. A
    claim taken over (its invoice was never issued with the number, after a grace period)
    is a second one in the same stream."""

    number: str = Field(max_length=64)
    invoice_id: str
    claimed_at: datetime


@event("sales.invoice.payment_recorded")
class PaymentRecorded(DomainEvent):
    payment_id: str
    """Chosen by the caller; recording the same payment twice changes nothing."""
    customer_id: str
    amount: Money
    received_on: date
    balance: Money
    """What is still owed after this payment."""
    method: str | None = None
    reference: str | None = None


@event("sales.invoice.payment_refunded")
class PaymentRefunded(DomainEvent):
    """Money of a recorded payment went back to the customer (goods returned, a goodwill
    credit). It gives back what was collected; it does not reopen the invoice: its balance
    and status stay as they were (what the customer owes is lowered by what was refunded).
    ``refunded_total`` is all that was refunded of this payment so far, this refund included,
    never more than the payment."""

    refund_id: str
    """Chosen by the caller; recording the same refund twice changes nothing."""
    payment_id: str
    order_id: str
    customer_id: str
    amount: Money
    refunded_on: date
    payment_amount: Money
    refunded_total: Money
    reason: str | None = None


@event("sales.invoice.paid")
class InvoicePaid(DomainEvent):
    """The balance reached zero. Revenue collected per period counts these (or the payments)."""

    order_id: str
    customer_id: str
    owner_id: str
    amount: Money
    paid_on: date
    campaign_id: str | None = None


@event("sales.invoice.overdue")
class InvoiceOverdue(DomainEvent):
    """Recorded once, by a scheduled check, the first time it finds the invoice unpaid after
    its due date."""

    customer_id: str
    owner_id: str
    due_date: date
    balance: Money
    as_of: date


@event("sales.invoice.voided")
class InvoiceVoided(DomainEvent):
    customer_id: str
    amount: Money
    reason: str | None = None


SALES_ORDER_EVENTS: tuple[type[DomainEvent], ...] = (
    ProductCreated,
    ProductRepriced,
    ProductRetired,
    PriceBookCreated,
    PriceBookEntrySet,
    PriceBookEntryRemoved,
    QuoteDrafted,
    QuoteLineAdded,
    QuoteLineChanged,
    QuoteLineRemoved,
    QuoteSent,
    QuoteAccepted,
    QuoteRejected,
    QuoteExpired,
    QuoteOrdered,
    OrderPlaced,
    OrderShipped,
    OrderDelivered,
    OrderCancelled,
    OrderReturned,
    InvoiceIssued,
    PaymentRecorded,
    PaymentRefunded,
    InvoicePaid,
    InvoiceOverdue,
    InvoiceVoided,
)
