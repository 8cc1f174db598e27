"""Read models of the order-to-cash side: the catalogue, price books, quotes, orders, invoices.

One projection, ``sales_order_to_cash``, feeds five collections, one per aggregate kind.
Documents are JSON as the API shows them: amounts are ``{"amount": "12.50", "currency":
"EUR"}`` and dates ISO strings, so ``due_date < "2026-04-01"`` compares as dates do. Every
document carries its ``tenant``, ``owner_id`` and ``team_id`` (what the policy's
``visibility_filter`` looks at). Quotes, orders and invoices take ``team_id`` from the event
that created them (an order from a quote inherits the quote's team, an invoice its order's);
catalogue documents and records stored before teams were recorded have None, which only
managers without a team (tenant-wide) and the owner see.

Payments are not a collection of their own: a payment always belongs to one invoice, so the
invoice document lists them (``GET /payments`` reads them from there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from crm.events import DomainEvent, EventEnvelope
from crm.events.money import Money
from crm.events.sales_orders import (
    InvoiceIssued,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceVoided,
    LineItem,
    OrderCancelled,
    OrderDelivered,
    OrderPlaced,
    OrderReturned,
    OrderShipped,
    PaymentRecorded,
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
from crm.kernel.projection import DocKey, Projection
from crm.kernel.read_store import CollectionSpec, Document, Index

PRODUCTS = "sales_products"
PRICE_BOOKS = "sales_price_books"
QUOTES = "sales_quotes"
ORDERS = "sales_orders"
INVOICES = "sales_invoices"


def _money(value: Money) -> dict[str, Any]:
    return value.model_dump(mode="json")


def _line(line: LineItem) -> dict[str, Any]:
    return line.model_dump(mode="json")


def _sum_lines(lines: Iterable[dict[str, Any]], currency: str) -> dict[str, Any]:
    """The document total: the sum of the rounded line totals (the rule of ``pricing.total``)."""
    amount = sum((Decimal(line["line_total"]["amount"]) for line in lines), Decimal(0))
    return _money(Money(amount=amount, currency=currency).rounded())


def _id_of(envelope: EventEnvelope) -> str:
    return envelope.stream_id.partition("-")[2]


def _created(
    key: DocKey,
    envelope: EventEnvelope,
    owner_id: str,
    team_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    at = envelope.occurred_at.isoformat()
    return {
        "id": key[1],
        "tenant": envelope.tenant,
        "owner_id": owner_id,
        "team_id": team_id,
        **fields,
        "created_at": at,
        "created_by": envelope.actor,
    }


def _touch(doc: Document, envelope: EventEnvelope) -> Document:
    doc["updated_at"] = envelope.occurred_at.isoformat()
    doc["version"] = envelope.stream_version
    return doc


def _existing(doc: Document | None, event: DomainEvent, key: DocKey) -> Document:
    if doc is None:
        raise LookupError(f"{event.event_type} for {key[1]}, which was never created")
    return dict(doc)


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
    event_types = frozenset(e.event_type for e in (ProductCreated, ProductRepriced, ProductRetired))

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if isinstance(event, ProductCreated):
            new = _created(
                key,
                envelope,
                envelope.actor,
                sku=event.sku,
                name=event.name,
                description=event.description,
                list_price=_money(event.list_price),
                retired=False,
                retired_reason=None,
            )
            return _touch(new, envelope)
        new = _existing(doc, event, key)
        match event:
            case ProductRepriced():
                new["list_price"] = _money(event.list_price)
            case ProductRetired():
                new.update(retired=True, retired_reason=event.reason)
        return _touch(new, envelope)


class PriceBooksModel:
    """Price books with their entries as a list sorted by sku (a sku may hold a dot, which
    a document store does not take in a field name)."""

    collection = PRICE_BOOKS
    collections = (CollectionSpec(PRICE_BOOKS, (Index(("tenant", "currency")),)),)
    event_types = frozenset(
        e.event_type for e in (PriceBookCreated, PriceBookEntrySet, PriceBookEntryRemoved)
    )

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if isinstance(event, PriceBookCreated):
            new = _created(
                key, envelope, envelope.actor, name=event.name, currency=event.currency, entries=[]
            )
            return _touch(new, envelope)
        new = _existing(doc, event, key)
        match event:
            case PriceBookEntrySet():
                entries = [e for e in new["entries"] if e["sku"] != event.sku]
                entries.append(
                    {
                        "sku": event.sku,
                        "product_id": event.product_id,
                        "unit_price": _money(event.unit_price),
                    }
                )
                new["entries"] = sorted(entries, key=lambda e: e["sku"])
            case PriceBookEntryRemoved():
                new["entries"] = [e for e in new["entries"] if e["sku"] != event.sku]
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
    event_types = frozenset(
        e.event_type
        for e in (
            QuoteDrafted,
            QuoteLineAdded,
            QuoteLineChanged,
            QuoteLineRemoved,
            QuoteSent,
            QuoteAccepted,
            QuoteRejected,
            QuoteExpired,
            QuoteOrdered,
        )
    )

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        at = envelope.occurred_at.isoformat()
        if isinstance(event, QuoteDrafted):
            new = _created(
                key,
                envelope,
                event.owner_id,
                event.team_id,
                customer_id=event.customer_id,
                currency=event.currency,
                valid_until=event.valid_until.isoformat(),
                opportunity_id=event.opportunity_id,
                campaign_id=event.campaign_id,
                status=QuoteStatus.DRAFT.value,
                lines=[],
                total=_money(Money.zero(event.currency).rounded()),
                order_id=None,
                sent_at=None,
                answered_at=None,
                reason=None,
            )
            return _touch(new, envelope)
        new = _existing(doc, event, key)
        match event:
            case QuoteLineAdded() | QuoteLineChanged():
                lines = [line for line in new["lines"] if line["line_id"] != event.line.line_id]
                lines.append(_line(event.line))
                # A changed line keeps its place: sort by the order lines were first added in.
                order = {line["line_id"]: i for i, line in enumerate(new["lines"])}
                lines.sort(key=lambda line: order.get(line["line_id"], len(order)))
                new.update(lines=lines, total=_sum_lines(lines, new["currency"]))
            case QuoteLineRemoved():
                lines = [line for line in new["lines"] if line["line_id"] != event.line_id]
                new.update(lines=lines, total=_sum_lines(lines, new["currency"]))
            case QuoteSent():
                new.update(status=QuoteStatus.SENT.value, sent_at=at)
            case QuoteAccepted():
                new.update(status=QuoteStatus.ACCEPTED.value, answered_at=at)
            case QuoteRejected():
                new.update(status=QuoteStatus.REJECTED.value, answered_at=at, reason=event.reason)
            case QuoteExpired():
                new.update(status=QuoteStatus.EXPIRED.value, answered_at=at)
            case QuoteOrdered():
                new["order_id"] = event.order_id
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
    event_types = frozenset(
        e.event_type
        for e in (OrderPlaced, OrderShipped, OrderDelivered, OrderCancelled, OrderReturned)
    )

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        at = envelope.occurred_at.isoformat()
        if isinstance(event, OrderPlaced):
            new = _created(
                key,
                envelope,
                event.owner_id,
                event.team_id,
                customer_id=event.customer_id,
                currency=event.currency,
                lines=[_line(line) for line in event.lines],
                total=_money(event.total),
                quote_id=event.quote_id,
                opportunity_id=event.opportunity_id,
                campaign_id=event.campaign_id,
                status="placed",
                placed_at=at,
                shipped_at=None,
                delivered_at=None,
                closed_at=None,
                carrier=None,
                tracking_ref=None,
                reason=None,
            )
            return _touch(new, envelope)
        new = _existing(doc, event, key)
        match event:
            case OrderShipped():
                new.update(
                    status="shipped",
                    shipped_at=at,
                    carrier=event.carrier,
                    tracking_ref=event.tracking_ref,
                )
            case OrderDelivered():
                new.update(status="delivered", delivered_at=at)
            case OrderCancelled():
                new.update(status="cancelled", closed_at=at, reason=event.reason)
            case OrderReturned():
                new.update(status="returned", closed_at=at, reason=event.reason)
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
                Index(("status", "overdue", "due_date")),
            ),
        ),
    )
    event_types = frozenset(
        e.event_type
        for e in (InvoiceIssued, PaymentRecorded, InvoicePaid, InvoiceOverdue, InvoiceVoided)
    )

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        at = envelope.occurred_at.isoformat()
        if isinstance(event, InvoiceIssued):
            new = _created(
                key,
                envelope,
                event.owner_id,
                event.team_id,
                order_id=event.order_id,
                customer_id=event.customer_id,
                campaign_id=event.campaign_id,
                amount=_money(event.amount),
                paid=_money(Money.zero(event.amount.currency).rounded()),
                balance=_money(event.amount),
                status="issued",
                issue_date=event.issue_date.isoformat(),
                due_date=event.due_date.isoformat(),
                overdue=False,
                overdue_since=None,
                paid_on=None,
                payments=[],
                payment_count=0,
                void_reason=None,
            )
            return _touch(new, envelope)
        new = _existing(doc, event, key)
        match event:
            case PaymentRecorded():
                paid = Money(**new["paid"]) + event.amount
                new["payments"] = [
                    *new["payments"],
                    {
                        "payment_id": event.payment_id,
                        "amount": _money(event.amount),
                        "received_on": event.received_on.isoformat(),
                        "method": event.method,
                        "reference": event.reference,
                        "balance_after": _money(event.balance),
                        "recorded_at": at,
                        "recorded_by": envelope.actor,
                    },
                ]
                new.update(
                    paid=_money(paid.rounded()),
                    balance=_money(event.balance),
                    payment_count=len(new["payments"]),
                )
            case InvoicePaid():
                new.update(status="paid", paid_on=event.paid_on.isoformat())
            case InvoiceOverdue():
                new.update(overdue=True, overdue_since=event.as_of.isoformat())
            case InvoiceVoided():
                new.update(status="void", void_reason=event.reason)
        return _touch(new, envelope)


class Model(Protocol):
    """How one kind of stream becomes one document of ``collection``."""

    @property
    def collection(self) -> str: ...

    @property
    def collections(self) -> tuple[CollectionSpec, ...]: ...

    @property
    def event_types(self) -> frozenset[str]: ...

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None: ...


class OrderToCashProjection:
    """One projection for the five collections: a command on one of these streams answers
    with a position that every read of this side can wait for. (A projection that reads
    only quotes would not move its checkpoint past the order an accepted quote became, so
    reading the quote with the order's position would wait in vain.)"""

    name = "sales_order_to_cash"
    version = 1
    models: ClassVar[Mapping[str, Model]] = {
        "product": ProductsModel(),
        "pricebook": PriceBooksModel(),
        "quote": QuotesModel(),
        "order": OrdersModel(),
        "invoice": InvoicesModel(),
    }
    collections = tuple(spec for model in models.values() for spec in model.collections)
    event_types: frozenset[str] = frozenset().union(
        *(model.event_types for model in models.values())
    )
    categories = frozenset(models)

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        return ((self.models[envelope.category].collection, _id_of(envelope)),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        return self.models[envelope.category].evolve(key, doc, event, envelope)


PROJECTION_NAME = OrderToCashProjection.name

PROJECTIONS: tuple[Projection, ...] = (OrderToCashProjection(),)
