"""Products and price books: what can be sold, and at what price in which currency.

A product has a sku, a name and a positive list price in one currency. That no two products
share a sku is the application's check (a lookup in the catalogue read model before it creates
one, or a stream keyed by the sku): an aggregate only sees its own stream. A retired product
stays in the catalogue for the quotes and orders that name it, but cannot be repriced.

A price book holds, for one currency, a price per sku: the price a quote line starts from when
the customer is billed in that currency. Quoting a retired product or a sku the book does not
price is refused by the application, which reads both before it adds a quote line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Self

from crm.events import DomainEvent
from crm.events.money import Money
from crm.events.sales_orders import (
    PriceBookCreated,
    PriceBookEntryRemoved,
    PriceBookEntrySet,
    ProductCreated,
    ProductRepriced,
    ProductRetired,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain import pricing
from crm.sales.domain.checks import optional_text, positive, required_text

MAX_SKU = 64


def normalise_sku(sku: str) -> str:
    """Skus compare case-insensitively and hold no spaces: ``" ab-12 "`` is ``"AB-12"``."""
    cleaned = required_text(sku, "sku", max_length=MAX_SKU).upper()
    if any(c.isspace() for c in cleaned):
        raise InvalidCommand("sku", "must not contain spaces")
    return cleaned


@dataclass(frozen=True, slots=True)
class ProductState:
    sku: str | None = None
    name: str | None = None
    list_price: Money | None = None
    retired: bool = False

    @property
    def created(self) -> bool:
        return self.sku is not None

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case ProductCreated():
                return replace(self, sku=event.sku, name=event.name, list_price=event.list_price)
            case ProductRepriced():
                return replace(self, list_price=event.list_price)
            case ProductRetired():
                return replace(self, retired=True)
        return self


class Product(Aggregate[ProductState]):
    category = "product"

    @classmethod
    def initial_state(cls) -> ProductState:
        return ProductState()

    def _require_active(self) -> ProductState:
        if not self.state.created:
            raise NotFound(f"product {self.id} does not exist")
        if self.state.retired:
            raise RuleViolated(f"product {self.id} is retired", code="product_retired")
        return self.state

    def define(
        self, *, sku: str, name: str, list_price: Money, description: str | None = None
    ) -> None:
        """Put the product in the catalogue (``create`` is the kernel's factory, hence the name)."""
        if self.state.created:
            raise RuleViolated(f"product {self.id} already exists", code="already_exists")
        self.trigger(
            ProductCreated(
                sku=normalise_sku(sku),
                name=required_text(name, "name"),
                list_price=positive(list_price, "list_price"),
                description=optional_text(description, "description", max_length=2000),
            )
        )

    def reprice(self, list_price: Money) -> None:
        """A new list price, in any currency; the same price again records nothing."""
        state = self._require_active()
        assert state.list_price is not None
        positive(list_price, "list_price")
        if list_price == state.list_price:
            return
        self.trigger(ProductRepriced(list_price=list_price, previous_list_price=state.list_price))

    def retire(self, reason: str | None = None) -> None:
        if not self.state.created:
            raise NotFound(f"product {self.id} does not exist")
        if self.state.retired:
            return
        assert self.state.sku is not None
        self.trigger(ProductRetired(sku=self.state.sku, reason=optional_text(reason, "reason")))


@dataclass(frozen=True, slots=True)
class PriceBookEntry:
    product_id: str
    unit_price: Money


@dataclass(frozen=True, slots=True)
class PriceBookState:
    name: str | None = None
    currency: str | None = None
    entries: Mapping[str, PriceBookEntry] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def created(self) -> bool:
        return self.currency is not None

    def price_for(self, sku: str) -> Money | None:
        """The book's unit price for ``sku``, or None if it does not price it."""
        entry = self.entries.get(normalise_sku(sku))
        return None if entry is None else entry.unit_price

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case PriceBookCreated():
                return replace(self, name=event.name, currency=event.currency)
            case PriceBookEntrySet():
                entries = dict(self.entries)
                entries[event.sku] = PriceBookEntry(event.product_id, event.unit_price)
                return replace(self, entries=MappingProxyType(entries))
            case PriceBookEntryRemoved():
                entries = dict(self.entries)
                entries.pop(event.sku, None)
                return replace(self, entries=MappingProxyType(entries))
        return self


class PriceBook(Aggregate[PriceBookState]):
    category = "pricebook"

    @classmethod
    def initial_state(cls) -> PriceBookState:
        return PriceBookState()

    def _require_created(self) -> PriceBookState:
        if not self.state.created:
            raise NotFound(f"price book {self.id} does not exist")
        return self.state

    def define(self, *, name: str, currency: str) -> None:
        if self.state.created:
            raise RuleViolated(f"price book {self.id} already exists", code="already_exists")
        pricing.currency_code(currency)
        self.trigger(PriceBookCreated(name=required_text(name, "name"), currency=currency))

    def set_entry(self, *, sku: str, product_id: str, unit_price: Money) -> None:
        """Price ``sku`` in this book; setting the same price again records nothing."""
        state = self._require_created()
        key = normalise_sku(sku)
        positive(unit_price, "unit_price")
        if unit_price.currency != state.currency:
            raise InvalidCommand("unit_price", f"this price book is in {state.currency}")
        product = required_text(product_id, "product_id", max_length=64)
        current = state.entries.get(key)
        if current is not None and current == PriceBookEntry(product, unit_price):
            return
        self.trigger(
            PriceBookEntrySet(
                sku=key,
                product_id=product,
                unit_price=unit_price,
                previous_unit_price=None if current is None else current.unit_price,
            )
        )

    def remove_entry(self, sku: str) -> None:
        state = self._require_created()
        key = normalise_sku(sku)
        if key not in state.entries:
            raise NotFound(f"price book {self.id} has no entry for {key}")
        self.trigger(PriceBookEntryRemoved(sku=key))
