"""What quotes and orders look up in the catalogue before they act: each line's product and
unit price. Both tables use it, so it lives here rather than in either.

A product's id is derived from its tenant and sku (:func:`product_id_for`), so a line may name
its product by sku without a read model: the lookup is one stream read, never stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid5

from crm.events.money import Money
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.kernel.repository import Repository
from crm.kernel.runtime import Runtime
from crm.sales.domain.pricing import LineRequest
from crm.sales.domain.products import PriceBook, PriceBookState, Product, normalise_sku

NAMESPACE = UUID("4b0e7f0c-59a4-4c39-9a53-5d1f3e2f8a61")
"""Of every id the order-to-cash side derives (products, orders from quotes, invoices,
payments): changing it would give existing records new ids."""


def product_id_for(tenant: str, sku: str) -> str:
    """The one product id a sku can have in a tenant."""
    return str(uuid5(NAMESPACE, f"product\x00{tenant}\x00{normalise_sku(sku)}"))


@dataclass(frozen=True, slots=True)
class LineInput:
    """A line as the caller wrote it: a product by id or sku, and optionally its price."""

    quantity: Decimal
    product_id: str | None = None
    sku: str | None = None
    unit_price: Money | None = None
    discount_percent: Decimal = Decimal(0)
    description: str | None = None
    line_id: str | None = None


def next_line_id(taken: Sequence[str]) -> str:
    """``L<n>``, the first free one after the lines already there."""
    n = len(taken) + 1
    while f"L{n}" in taken:
        n += 1
    return f"L{n}"


class Catalogue:
    """Products and price books as the commands of other aggregates read them."""

    def __init__(self, runtime: Runtime) -> None:
        self.products: Repository[Product] = runtime.commands.repository(Product)
        self.price_books: Repository[PriceBook] = runtime.commands.repository(PriceBook)

    async def product_by_sku(self, tenant: str, sku: str) -> Product:
        """The catalogue's product with ``sku``; NotFound names the sku."""
        try:
            return await self.products.load(product_id_for(tenant, sku), tenant=tenant)
        except NotFound:
            raise NotFound(f"no product has the sku {normalise_sku(sku)}") from None

    async def _book(self, tenant: str, currency: str, price_book_id: str) -> PriceBookState:
        try:
            book = (await self.price_books.load(price_book_id, tenant=tenant)).state
        except NotFound:
            raise InvalidCommand("price_book_id", "no such price book") from None
        if book.currency != currency:
            raise InvalidCommand("price_book_id", f"the price book is in {book.currency}")
        return book

    async def priced(
        self,
        tenant: str,
        currency: str,
        lines: Sequence[LineInput],
        price_book_id: str | None,
    ) -> list[LineRequest]:
        """Each line's product (which must be in the catalogue and not retired) and unit
        price: the one given, else the price book's, else the product's list price. Errors
        name the line's field (``lines.0.sku``)."""
        book = None if price_book_id is None else await self._book(tenant, currency, price_book_id)
        requests = []
        for i, line in enumerate(lines):
            field = f"lines.{i}"
            if line.product_id is not None:
                product_id, named = line.product_id, f"{field}.product_id"
            elif line.sku is not None:
                named = f"{field}.sku"
                try:
                    product_id = product_id_for(tenant, line.sku)
                except InvalidCommand as e:
                    raise InvalidCommand(named, e.message) from None
            else:
                raise InvalidCommand(f"{field}.product_id", "give a product_id or a sku")
            try:
                product = await self.products.load(product_id, tenant=tenant)
            except NotFound:
                raise InvalidCommand(named, "no such product in the catalogue") from None
            p = product.state
            assert p.sku is not None
            assert p.list_price is not None
            if p.retired:
                raise RuleViolated(f"product {p.sku} is retired", code="product_retired")
            unit_price = line.unit_price
            if unit_price is None and book is not None:
                unit_price = book.price_for(p.sku)
                if unit_price is None:
                    raise InvalidCommand(f"{field}.sku", f"the price book has no price for {p.sku}")
            if unit_price is None:
                unit_price = p.list_price
                if unit_price.currency != currency:
                    raise InvalidCommand(
                        f"{field}.unit_price",
                        f"the list price is in {unit_price.currency}: give a unit_price "
                        f"or a price book in {currency}",
                    )
            requests.append(
                LineRequest(
                    line_id=line.line_id or "",
                    product_id=product.id,
                    sku=p.sku,
                    quantity=line.quantity,
                    unit_price=unit_price,
                    discount_percent=line.discount_percent,
                    description=line.description,
                )
            )
        return requests
