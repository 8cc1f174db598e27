"""Read models of the order-to-cash side: the catalogue, price books, quotes, orders, invoices.

One projection, ``sales_order_to_cash`` (the kernel's :class:`~crm.kernel.handlers.ByCategory`),
feeds five collections, one per aggregate kind, under one checkpoint: a command on any of these
streams answers with a position that every read of this side can wait for. (A projection that
read only quotes would not move its checkpoint past the order an accepted quote became, so
reading the quote with the order's position would wait in vain.)

Each collection's document is a typed model (``ProductDoc``, ``QuoteDoc``...): its handlers
write it and the routes answer it as it is. Documents are JSON as the API shows them: amounts
are ``{"amount": "12.50", "currency": "EUR"}`` and dates ISO strings, so ``due_date <
"2026-04-01"`` compares as dates do. Every document carries its ``tenant``, ``owner_id`` and
``team_id`` (what the policy's ``visibility_filter`` looks at). Quotes, orders and invoices
take ``team_id`` from the event that created them (an order from a quote inherits the quote's
team, an invoice its order's); catalogue documents and records stored before teams were
recorded have None, which only managers without a team (tenant-wide) and the owner see.

Payments are not a collection of their own: a payment always belongs to one invoice, so the
invoice document lists them (``GET /payments`` reads them from there).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TypeVar, cast

from typing_extensions import TypedDict

from crm.events import EventEnvelope
from crm.events.money import Money
from crm.events.sales_orders import (
    InvoiceIssued,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceStatus,
    InvoiceVoided,
    LineItem,
    OrderCancelled,
    OrderDelivered,
    OrderPlaced,
    OrderReturned,
    OrderShipped,
    OrderStatus,
    PaymentRecorded,
    PaymentRefunded,
    PriceBookCreated,
    PriceBookEntryRemoved,
    PriceBookEntrySet,
    ProductCreated,
    ProductRepriced,
    ProductRetired,
    QuoteAccepted,
    QuoteDrafted,
    QuoteExpired,
    QuoteLineAdded,
    QuoteLineChanged,
    QuoteLineRemoved,
    QuoteOrdered,
    QuoteRejected,
    QuoteSent,
    QuoteStatus,
)
from crm.kernel.handlers import ByCategory, DocKey, Handlers
from crm.kernel.projection import Projection
from crm.kernel.read_store import CollectionSpec, Index

PRODUCTS = "sales_products"
PRICE_BOOKS = "sales_price_books"
QUOTES = "sales_quotes"
ORDERS = "sales_orders"
INVOICES = "sales_invoices"


class MoneyDoc(TypedDict):
    amount: str
    """A decimal string: ``"12.50"``."""
    currency: str


class Record(TypedDict):
    """Fields every document carries."""

    id: str
    tenant: str
    owner_id: str | None
    team_id: str | None
    created_at: str
    created_by: str
    updated_at: str
    version: int


class ProductDoc(Record):
    sku: str
    name: str
    description: str | None
    list_price: MoneyDoc
    retired: bool
    retired_reason: str | None


class PriceBookEntryDoc(TypedDict):
    sku: str
    product_id: str
    unit_price: MoneyDoc


class PriceBookDoc(Record):
    name: str
    currency: str
    entries: list[PriceBookEntryDoc]


class LineDoc(TypedDict):
    line_id: str
    product_id: str
    sku: str
    description: str | None
    quantity: str
    unit_price: MoneyDoc
    discount_percent: str
    line_total: MoneyDoc


class QuoteDoc(Record):
    customer_id: str
    currency: str
    valid_until: str
    opportunity_id: str | None
    campaign_id: str | None
    status: QuoteStatus
    lines: list[LineDoc]
    total: MoneyDoc
    order_id: str | None
    sent_at: str | None
    answered_at: str | None
    reason: str | None


class OrderDoc(Record):
    customer_id: str
    currency: str
    lines: list[LineDoc]
    total: MoneyDoc
    quote_id: str | None
    opportunity_id: str | None
    campaign_id: str | None
    status: OrderStatus
    placed_at: str
    shipped_at: str | None
    delivered_at: str | None
    closed_at: str | None
    carrier: str | None
    tracking_ref: str | None
    reason: str | None


class PaymentDoc(TypedDict):
    payment_id: str
    amount: MoneyDoc
    received_on: str
    method: str | None
    reference: str | None
    balance_after: MoneyDoc
    recorded_at: str
    recorded_by: str


class InvoiceDoc(Record):
    order_id: str
    customer_id: str
    campaign_id: str | None
    amount: MoneyDoc
    paid: MoneyDoc
    balance: MoneyDoc
    status: InvoiceStatus
    issue_date: str
    due_date: str
    overdue: bool
    overdue_since: str | None
    paid_on: str | None
    payments: list[PaymentDoc]
    payment_count: int
    void_reason: str | None
    refunded: MoneyDoc
    """What was given back of its payments (``sales.invoice.payment_refunded``)."""
    number: str | None
    """The company's own invoice number (发票号), if it was given one."""


R = TypeVar("R", bound=Record)


def _money(value: Money) -> MoneyDoc:
    return cast(MoneyDoc, value.model_dump(mode="json"))


def _line(line: LineItem) -> LineDoc:
    return cast(LineDoc, line.model_dump(mode="json"))


def _sum_lines(lines: Iterable[LineDoc], currency: str) -> MoneyDoc:
    """The document total: the sum of the rounded line totals (the rule of ``pricing.total``)."""
    amount = sum((Decimal(line["line_total"]["amount"]) for line in lines), Decimal(0))
    return _money(Money(amount=amount, currency=currency).rounded())


def _record(
    key: DocKey, envelope: EventEnvelope, owner_id: str, team_id: str | None = None
) -> Record:
    at = envelope.occurred_at.isoformat()
    return Record(
        id=key[1],
        tenant=envelope.tenant,
        owner_id=owner_id,
        team_id=team_id,
        created_at=at,
        created_by=envelope.actor,
        updated_at=at,
        version=envelope.stream_version,
    )


def _touch(doc: R, envelope: EventEnvelope) -> R:
    doc["updated_at"] = envelope.occurred_at.isoformat()
    doc["version"] = envelope.stream_version
    return doc


def _existing(doc: R | None, key: DocKey, envelope: EventEnvelope) -> R:
    if doc is None:
        raise LookupError(f"{envelope.event_type} for {key[1]}, which was never created")
    return doc.copy()


# -- the catalogue ---------------------------------------------------------------------------

products: Handlers[ProductDoc] = Handlers()


@products(ProductCreated)
def product_created(
    key: DocKey, doc: ProductDoc | None, event: ProductCreated, envelope: EventEnvelope
) -> ProductDoc:
    return ProductDoc(
        **_record(key, envelope, envelope.actor),
        sku=event.sku,
        name=event.name,
        description=event.description,
        list_price=_money(event.list_price),
        retired=False,
        retired_reason=None,
    )


@products(ProductRepriced)
def product_repriced(
    key: DocKey, doc: ProductDoc | None, event: ProductRepriced, envelope: EventEnvelope
) -> ProductDoc:
    new = _existing(doc, key, envelope)
    new["list_price"] = _money(event.list_price)
    return _touch(new, envelope)


@products(ProductRetired)
def product_retired(
    key: DocKey, doc: ProductDoc | None, event: ProductRetired, envelope: EventEnvelope
) -> ProductDoc:
    new = _existing(doc, key, envelope)
    new.update({"retired": True, "retired_reason": event.reason})
    return _touch(new, envelope)


class ProductsModel:
    """The catalogue. ``(tenant, sku)`` is a unique index: the application derives a product's
    id from its tenant and sku, so a sku can only ever have one stream, hence one document."""

    collection = PRODUCTS
    collections = (
        CollectionSpec(
            PRODUCTS,
            (Index(("tenant", "sku"), unique=True), Index(("tenant", "retired", "name"))),
        ),
    )
    event_types = products.event_types
    evolve = staticmethod(products.evolve)


# -- price books -----------------------------------------------------------------------------

price_books: Handlers[PriceBookDoc] = Handlers()


@price_books(PriceBookCreated)
def price_book_created(
    key: DocKey, doc: PriceBookDoc | None, event: PriceBookCreated, envelope: EventEnvelope
) -> PriceBookDoc:
    return PriceBookDoc(
        **_record(key, envelope, envelope.actor),
        name=event.name,
        currency=event.currency,
        entries=[],
    )


@price_books(PriceBookEntrySet)
def price_set(
    key: DocKey, doc: PriceBookDoc | None, event: PriceBookEntrySet, envelope: EventEnvelope
) -> PriceBookDoc:
    new = _existing(doc, key, envelope)
    entries = [e for e in new["entries"] if e["sku"] != event.sku]
    entries.append(
        PriceBookEntryDoc(
            sku=event.sku, product_id=event.product_id, unit_price=_money(event.unit_price)
        )
    )
    new["entries"] = sorted(entries, key=lambda e: e["sku"])
    return _touch(new, envelope)


@price_books(PriceBookEntryRemoved)
def price_removed(
    key: DocKey, doc: PriceBookDoc | None, event: PriceBookEntryRemoved, envelope: EventEnvelope
) -> PriceBookDoc:
    new = _existing(doc, key, envelope)
    new["entries"] = [e for e in new["entries"] if e["sku"] != event.sku]
    return _touch(new, envelope)


class PriceBooksModel:
    """Price books with their entries as a list sorted by sku (a sku may hold a dot, which
    a document store does not take in a field name)."""

    collection = PRICE_BOOKS
    collections = (CollectionSpec(PRICE_BOOKS, (Index(("tenant", "currency")),)),)
    event_types = price_books.event_types
    evolve = staticmethod(price_books.evolve)


# -- quotes ----------------------------------------------------------------------------------

quotes: Handlers[QuoteDoc] = Handlers()


@quotes(QuoteDrafted)
def quote_drafted(
    key: DocKey, doc: QuoteDoc | None, event: QuoteDrafted, envelope: EventEnvelope
) -> QuoteDoc:
    return QuoteDoc(
        **_record(key, envelope, event.owner_id, event.team_id),
        customer_id=event.customer_id,
        currency=event.currency,
        valid_until=event.valid_until.isoformat(),
        opportunity_id=event.opportunity_id,
        campaign_id=event.campaign_id,
        status=QuoteStatus.DRAFT,
        lines=[],
        total=_money(Money.zero(event.currency).rounded()),
        order_id=None,
        sent_at=None,
        answered_at=None,
        reason=None,
    )


@quotes(QuoteLineAdded, QuoteLineChanged)
def quote_line_set(
    key: DocKey,
    doc: QuoteDoc | None,
    event: QuoteLineAdded | QuoteLineChanged,
    envelope: EventEnvelope,
) -> QuoteDoc:
    new = _existing(doc, key, envelope)
    lines = [line for line in new["lines"] if line["line_id"] != event.line.line_id]
    lines.append(_line(event.line))
    # A changed line keeps its place: sort by the order lines were first added in.
    order = {line["line_id"]: i for i, line in enumerate(new["lines"])}
    lines.sort(key=lambda line: order.get(line["line_id"], len(order)))
    new.update({"lines": lines, "total": _sum_lines(lines, new["currency"])})
    return _touch(new, envelope)


@quotes(QuoteLineRemoved)
def quote_line_removed(
    key: DocKey, doc: QuoteDoc | None, event: QuoteLineRemoved, envelope: EventEnvelope
) -> QuoteDoc:
    new = _existing(doc, key, envelope)
    lines = [line for line in new["lines"] if line["line_id"] != event.line_id]
    new.update({"lines": lines, "total": _sum_lines(lines, new["currency"])})
    return _touch(new, envelope)


@quotes(QuoteSent)
def quote_sent(
    key: DocKey, doc: QuoteDoc | None, event: QuoteSent, envelope: EventEnvelope
) -> QuoteDoc:
    new = _existing(doc, key, envelope)
    new.update({"status": QuoteStatus.SENT, "sent_at": envelope.occurred_at.isoformat()})
    return _touch(new, envelope)


@quotes(QuoteAccepted, QuoteRejected, QuoteExpired)
def quote_answered(
    key: DocKey,
    doc: QuoteDoc | None,
    event: QuoteAccepted | QuoteRejected | QuoteExpired,
    envelope: EventEnvelope,
) -> QuoteDoc:
    """Accepted, rejected (with its reason) or expired: the quote's answer and its time."""
    new = _existing(doc, key, envelope)
    new["answered_at"] = envelope.occurred_at.isoformat()
    match event:
        case QuoteAccepted():
            new["status"] = QuoteStatus.ACCEPTED
        case QuoteRejected():
            new.update({"status": QuoteStatus.REJECTED, "reason": event.reason})
        case QuoteExpired():
            new["status"] = QuoteStatus.EXPIRED
    return _touch(new, envelope)


@quotes(QuoteOrdered)
def quote_ordered(
    key: DocKey, doc: QuoteDoc | None, event: QuoteOrdered, envelope: EventEnvelope
) -> QuoteDoc:
    new = _existing(doc, key, envelope)
    new["order_id"] = event.order_id
    return _touch(new, envelope)


class QuotesModel:
    collection = QUOTES
    collections = (
        CollectionSpec(
            QUOTES,
            (
                Index(("tenant", "owner_id")),
                Index(("tenant", "team_id")),
                Index(("tenant", "customer_id")),
                Index(("tenant", "status")),
                Index(("status", "valid_until")),
            ),
        ),
    )
    event_types = quotes.event_types
    evolve = staticmethod(quotes.evolve)


# -- orders ----------------------------------------------------------------------------------

orders: Handlers[OrderDoc] = Handlers()


@orders(OrderPlaced)
def order_placed(
    key: DocKey, doc: OrderDoc | None, event: OrderPlaced, envelope: EventEnvelope
) -> OrderDoc:
    return OrderDoc(
        **_record(key, envelope, event.owner_id, event.team_id),
        customer_id=event.customer_id,
        currency=event.currency,
        lines=[_line(line) for line in event.lines],
        total=_money(event.total),
        quote_id=event.quote_id,
        opportunity_id=event.opportunity_id,
        campaign_id=event.campaign_id,
        status=OrderStatus.PLACED,
        placed_at=envelope.occurred_at.isoformat(),
        shipped_at=None,
        delivered_at=None,
        closed_at=None,
        carrier=None,
        tracking_ref=None,
        reason=None,
    )


@orders(OrderShipped)
def order_shipped(
    key: DocKey, doc: OrderDoc | None, event: OrderShipped, envelope: EventEnvelope
) -> OrderDoc:
    new = _existing(doc, key, envelope)
    new.update(
        {
            "status": OrderStatus.SHIPPED,
            "shipped_at": envelope.occurred_at.isoformat(),
            "carrier": event.carrier,
            "tracking_ref": event.tracking_ref,
        }
    )
    return _touch(new, envelope)


@orders(OrderDelivered)
def order_delivered(
    key: DocKey, doc: OrderDoc | None, event: OrderDelivered, envelope: EventEnvelope
) -> OrderDoc:
    new = _existing(doc, key, envelope)
    new.update({"status": OrderStatus.DELIVERED, "delivered_at": envelope.occurred_at.isoformat()})
    return _touch(new, envelope)


@orders(OrderCancelled, OrderReturned)
def order_closed(
    key: DocKey,
    doc: OrderDoc | None,
    event: OrderCancelled | OrderReturned,
    envelope: EventEnvelope,
) -> OrderDoc:
    new = _existing(doc, key, envelope)
    cancelled = isinstance(event, OrderCancelled)
    new.update(
        {
            "status": OrderStatus.CANCELLED if cancelled else OrderStatus.RETURNED,
            "closed_at": envelope.occurred_at.isoformat(),
            "reason": event.reason,
        }
    )
    return _touch(new, envelope)


class OrdersModel:
    collection = ORDERS
    collections = (
        CollectionSpec(
            ORDERS,
            (
                Index(("tenant", "owner_id")),
                Index(("tenant", "team_id")),
                Index(("tenant", "customer_id")),
                Index(("tenant", "status")),
                Index(("tenant", "campaign_id")),
                Index(("tenant", "placed_at")),
            ),
        ),
    )
    event_types = orders.event_types
    evolve = staticmethod(orders.evolve)


# -- invoices and their payments -------------------------------------------------------------

invoices: Handlers[InvoiceDoc] = Handlers()


@invoices(InvoiceIssued)
def invoice_issued(
    key: DocKey, doc: InvoiceDoc | None, event: InvoiceIssued, envelope: EventEnvelope
) -> InvoiceDoc:
    return InvoiceDoc(
        **_record(key, envelope, event.owner_id, event.team_id),
        order_id=event.order_id,
        customer_id=event.customer_id,
        campaign_id=event.campaign_id,
        amount=_money(event.amount),
        paid=_money(Money.zero(event.amount.currency).rounded()),
        balance=_money(event.amount),
        status=InvoiceStatus.ISSUED,
        issue_date=event.issue_date.isoformat(),
        due_date=event.due_date.isoformat(),
        overdue=False,
        overdue_since=None,
        paid_on=None,
        payments=[],
        payment_count=0,
        void_reason=None,
        refunded=_money(Money.zero(event.amount.currency).rounded()),
        number=event.number,
    )


@invoices(PaymentRecorded)
def payment_recorded(
    key: DocKey, doc: InvoiceDoc | None, event: PaymentRecorded, envelope: EventEnvelope
) -> InvoiceDoc:
    new = _existing(doc, key, envelope)
    paid = Money(**new["paid"]) + event.amount
    new["payments"] = [
        *new["payments"],
        PaymentDoc(
            payment_id=event.payment_id,
            amount=_money(event.amount),
            received_on=event.received_on.isoformat(),
            method=event.method,
            reference=event.reference,
            balance_after=_money(event.balance),
            recorded_at=envelope.occurred_at.isoformat(),
            recorded_by=envelope.actor,
        ),
    ]
    new.update(
        {
            "paid": _money(paid.rounded()),
            "balance": _money(event.balance),
            "payment_count": len(new["payments"]),
        }
    )
    return _touch(new, envelope)


@invoices(PaymentRefunded)
def payment_refunded(
    key: DocKey, doc: InvoiceDoc | None, event: PaymentRefunded, envelope: EventEnvelope
) -> InvoiceDoc:
    new = _existing(doc, key, envelope)
    new["refunded"] = _money((Money(**new["refunded"]) + event.amount).rounded())
    return _touch(new, envelope)


@invoices(InvoicePaid)
def invoice_paid(
    key: DocKey, doc: InvoiceDoc | None, event: InvoicePaid, envelope: EventEnvelope
) -> InvoiceDoc:
    new = _existing(doc, key, envelope)
    new.update({"status": InvoiceStatus.PAID, "paid_on": event.paid_on.isoformat()})
    return _touch(new, envelope)


@invoices(InvoiceOverdue)
def invoice_overdue(
    key: DocKey, doc: InvoiceDoc | None, event: InvoiceOverdue, envelope: EventEnvelope
) -> InvoiceDoc:
    new = _existing(doc, key, envelope)
    new.update({"overdue": True, "overdue_since": event.as_of.isoformat()})
    return _touch(new, envelope)


@invoices(InvoiceVoided)
def invoice_voided(
    key: DocKey, doc: InvoiceDoc | None, event: InvoiceVoided, envelope: EventEnvelope
) -> InvoiceDoc:
    new = _existing(doc, key, envelope)
    new.update({"status": InvoiceStatus.VOID, "void_reason": event.reason})
    return _touch(new, envelope)


class InvoicesModel:
    """Invoices with their payments. ``(status, overdue, due_date)`` is what the scheduled
    check asks for across tenants: issued, not yet marked overdue, due before today."""

    collection = INVOICES
    collections = (
        CollectionSpec(
            INVOICES,
            (
                Index(("tenant", "owner_id")),
                Index(("tenant", "team_id")),
                Index(("tenant", "customer_id")),
                Index(("tenant", "status", "overdue")),
                Index(("tenant", "order_id")),
                Index(("tenant", "number")),
                Index(("status", "overdue", "due_date")),
            ),
        ),
    )
    event_types = invoices.event_types
    evolve = staticmethod(invoices.evolve)


PROJECTION = ByCategory(
    "sales_order_to_cash",
    3,
    {
        "product": ProductsModel(),
        "pricebook": PriceBooksModel(),
        "quote": QuotesModel(),
        "order": OrdersModel(),
        "invoice": InvoicesModel(),
    },
)
PROJECTION_NAME = PROJECTION.name

PROJECTIONS: tuple[Projection, ...] = (PROJECTION,)
