"""The price books' commands: create one per currency, price a sku in it, remove the price
(managers). A sku is priced only if the catalogue holds it and has not retired it."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import uuid4

from crm.events.money import Money
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import RuleViolated
from crm.kernel.repository import CommandContext
from crm.sales.application.catalogue import Catalogue
from crm.sales.application.policy import POLICY, SalesAction
from crm.sales.domain.products import PriceBook


@dataclass(frozen=True, slots=True)
class CreatePriceBook:
    name: str
    currency: str
    price_book_id: str = field(default_factory=lambda: str(uuid4()))


@dataclass(frozen=True, slots=True)
class SetPrice:
    price_book_id: str
    sku: str
    unit_price: Money


@dataclass(frozen=True, slots=True)
class RemovePrice:
    price_book_id: str
    sku: str


def price_book_commands(catalogue: Catalogue) -> CommandTable[PriceBook]:
    """The table of price books (``catalogue`` finds the product a price is set for)."""

    async def set_price(book: PriceBook, cmd: SetPrice, ctx: CommandContext) -> None:
        product = await catalogue.product_by_sku(ctx.tenant, cmd.sku)
        if product.state.retired:
            raise RuleViolated(f"product {product.state.sku} is retired", code="product_retired")
        book.set_entry(sku=cmd.sku, product_id=product.id, unit_price=cmd.unit_price)

    t = CommandTable(PriceBook, POLICY, id_field="price_book_id")
    configure = SalesAction.CONFIGURE
    t.on(
        CreatePriceBook,
        Expect.NEW,
        configure,
        lambda b, cmd, _: b.define(name=cmd.name, currency=cmd.currency),
    )
    t.on(SetPrice, Expect.EXISTING, configure, set_price)
    t.on(RemovePrice, Expect.EXISTING, configure, lambda b, cmd, _: b.remove_entry(cmd.sku))
    return t
