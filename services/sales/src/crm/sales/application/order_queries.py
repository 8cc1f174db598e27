"""Reads of the order-to-cash side, from its read models, filtered by what the actor may see.

The catalogue and the price books are read by every role; quotes, orders and invoices (and
the payments listed on invoices) only by those who may see their owner's records. A record
the actor may not see is answered as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.kernel.auth import Actor
from crm.kernel.directory import Customers, records_of
from crm.kernel.errors import NotFound
from crm.kernel.read_store import Document, Page, Query, ReadStore, equal_to
from crm.sales.application.catalogue import product_id_for
from crm.sales.application.policy import POLICY, SalesAction, scope_of
from crm.sales.projections.order_models import (
    INVOICES,
    ORDERS,
    PRICE_BOOKS,
    PRODUCTS,
    QUOTES,
    PaymentDoc,
)

PAYMENT_SCAN_PAGE = 500


class PaymentItem(PaymentDoc):
    """A payment as ``GET /payments`` lists it: with the invoice it settles."""

    invoice_id: str
    order_id: str
    customer_id: str
    owner_id: str


@dataclass(frozen=True)
class ProductFilter:
    sku: str | None = None
    retired: bool | None = None
    q: str | None = None


@dataclass(frozen=True)
class QuoteFilter:
    customer_id: str | None = None
    status: str | None = None
    owner_id: str | None = None
    opportunity_id: str | None = None
    campaign_id: str | None = None


@dataclass(frozen=True)
class OrderFilter:
    customer_id: str | None = None
    status: str | None = None
    campaign_id: str | None = None
    owner_id: str | None = None
    quote_id: str | None = None


@dataclass(frozen=True)
class InvoiceFilter:
    status: str | None = None
    overdue: bool | None = None
    customer_id: str | None = None
    order_id: str | None = None
    owner_id: str | None = None
    number: str | None = None


class OrderQueries:
    def __init__(self, read_store: ReadStore, customers: Customers | None = None) -> None:
        """``customers``: the context's directory, through which a list filtered by a
        customer also lists the records of the customers merged into them."""
        self.read_store = read_store
        self.customers = customers

    async def _find(
        self, collection: str, conditions: list[dict[str, Any]], sort: str, limit: int, offset: int
    ) -> Page:
        return await self.read_store.find(
            collection, Query.all_of(conditions, sort=sort, limit=limit, offset=offset)
        )

    async def _owned(self, actor: Actor, collection: str, what: str, id: str) -> Document:
        doc = await self.read_store.get(collection, id)
        if doc is None or doc["tenant"] != actor.tenant:
            raise NotFound(f"{what} {id} does not exist")
        scope = scope_of(doc["owner_id"], doc["team_id"])
        POLICY.authorize(actor, SalesAction.VIEW, what=f"{what} {id}", scope=scope)
        return doc

    def _visible(self, actor: Actor, *conditions: dict[str, Any]) -> list[dict[str, Any]]:
        visible = POLICY.visibility_filter(actor)
        return [{"tenant": actor.tenant}, *conditions, *([visible] if visible else [])]

    # -- catalogue ---------------------------------------------------------------------------

    async def product(self, actor: Actor, product_id: str) -> Document:
        POLICY.authorize(actor, SalesAction.VIEW, what="product")
        doc = await self.read_store.get(PRODUCTS, product_id)
        if doc is None or doc["tenant"] != actor.tenant:
            raise NotFound(f"product {product_id} does not exist")
        return doc

    async def products(
        self, actor: Actor, flt: ProductFilter, *, sort: str, limit: int, offset: int
    ) -> Page:
        POLICY.authorize(actor, SalesAction.VIEW, what="product")
        conditions: list[dict[str, Any]] = [{"tenant": actor.tenant}]
        if flt.sku is not None:
            # The id is derived from the sku: an exact lookup that also normalises the sku.
            conditions.append({"id": product_id_for(actor.tenant, flt.sku)})
        conditions += equal_to(retired=flt.retired)
        if flt.q:
            conditions.append(
                {"$or": [{"name": {"$icontains": flt.q}}, {"sku": {"$icontains": flt.q}}]}
            )
        return await self._find(PRODUCTS, conditions, sort, limit, offset)

    async def price_book(self, actor: Actor, price_book_id: str) -> Document:
        POLICY.authorize(actor, SalesAction.VIEW, what="price book")
        doc = await self.read_store.get(PRICE_BOOKS, price_book_id)
        if doc is None or doc["tenant"] != actor.tenant:
            raise NotFound(f"price book {price_book_id} does not exist")
        return doc

    async def price_books(
        self, actor: Actor, currency: str | None, *, limit: int, offset: int
    ) -> Page:
        POLICY.authorize(actor, SalesAction.VIEW, what="price book")
        conditions = [{"tenant": actor.tenant}, *equal_to(currency=currency)]
        return await self._find(PRICE_BOOKS, conditions, "name", limit, offset)

    # -- quotes, orders, invoices --------------------------------------------------------------

    async def quote(self, actor: Actor, quote_id: str) -> Document:
        return await self._owned(actor, QUOTES, "quote", quote_id)

    async def quotes(
        self, actor: Actor, flt: QuoteFilter, *, sort: str, limit: int, offset: int
    ) -> Page:
        conditions = self._visible(
            actor,
            *await records_of(self.customers, actor.tenant, flt.customer_id),
            *equal_to(
                status=flt.status,
                owner_id=flt.owner_id,
                opportunity_id=flt.opportunity_id,
                campaign_id=flt.campaign_id,
            ),
        )
        return await self._find(QUOTES, conditions, sort, limit, offset)

    async def order(self, actor: Actor, order_id: str) -> Document:
        return await self._owned(actor, ORDERS, "order", order_id)

    async def orders(
        self, actor: Actor, flt: OrderFilter, *, sort: str, limit: int, offset: int
    ) -> Page:
        conditions = self._visible(
            actor,
            *await records_of(self.customers, actor.tenant, flt.customer_id),
            *equal_to(
                status=flt.status,
                campaign_id=flt.campaign_id,
                owner_id=flt.owner_id,
                quote_id=flt.quote_id,
            ),
        )
        return await self._find(ORDERS, conditions, sort, limit, offset)

    async def invoice(self, actor: Actor, invoice_id: str) -> Document:
        return await self._owned(actor, INVOICES, "invoice", invoice_id)

    async def invoices(
        self, actor: Actor, flt: InvoiceFilter, *, sort: str, limit: int, offset: int
    ) -> Page:
        conditions = self._visible(
            actor,
            *equal_to(
                status=flt.status,
                overdue=flt.overdue,
                order_id=flt.order_id,
                owner_id=flt.owner_id,
                number=flt.number,
            ),
            *await records_of(self.customers, actor.tenant, flt.customer_id),
        )
        return await self._find(INVOICES, conditions, sort, limit, offset)

    async def payments(
        self,
        actor: Actor,
        *,
        invoice_id: str | None,
        customer_id: str | None,
        limit: int,
        offset: int,
    ) -> Page:
        """Payments of the invoices the actor may see, newest first. They live on their
        invoices, so this scans the visible invoices that have any; a tenant with very many
        paid invoices would want a payments collection of its own."""
        conditions = self._visible(
            actor,
            {"payment_count": {"$gt": 0}},
            *equal_to(id=invoice_id),
            *await records_of(self.customers, actor.tenant, customer_id),
        )
        payments: list[dict[str, Any]] = []
        scanned = 0
        while True:
            page = await self._find(INVOICES, conditions, "issue_date", PAYMENT_SCAN_PAGE, scanned)
            for invoice in page.items:
                payments.extend(
                    {
                        **payment,
                        "invoice_id": invoice["id"],
                        "order_id": invoice["order_id"],
                        "customer_id": invoice["customer_id"],
                        "owner_id": invoice["owner_id"],
                    }
                    for payment in invoice["payments"]
                )
            scanned += len(page.items)
            if not page.items or scanned >= page.total:
                break
        payments.sort(key=lambda p: (p["received_on"], p["recorded_at"]), reverse=True)
        return Page(payments[offset : offset + limit], len(payments), limit, offset)
