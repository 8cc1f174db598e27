"""Products and price books, given/when/then on events."""

from __future__ import annotations

import pytest

from crm.events import REGISTRY
from crm.events.money import Money
from crm.events.sales_orders import (
    SALES_ORDER_EVENTS,
    PriceBookCreated,
    PriceBookEntryRemoved,
    PriceBookEntrySet,
    ProductCreated,
    ProductRepriced,
    ProductRetired,
)
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.products import PriceBook, Product
from tests.unit.given_when_then import Scenario


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


CREATED = ProductCreated(sku="WID-1", name="Widget", list_price=eur("19.90"))
BOOK = PriceBookCreated(name="Euro list", currency="EUR")
ENTRY = PriceBookEntrySet(sku="WID-1", product_id="p-1", unit_price=eur("18.00"))


def product() -> Scenario[Product]:
    return Scenario(Product, "p-1")


def book() -> Scenario[PriceBook]:
    return Scenario(PriceBook, "b-1")


def test_every_event_registers_under_the_sales_prefix_on_import() -> None:
    for model in SALES_ORDER_EVENTS:
        assert model.event_type.startswith("sales.")
        assert REGISTRY.model(model.event_type) is model


def test_define_a_product_normalises_its_sku() -> None:
    product().when(
        lambda p: p.define(sku=" wid-1 ", name=" Widget ", list_price=eur("19.90"))
    ).then(CREATED)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sku": "", "name": "Widget", "list_price": eur("1")}, "sku"),
        ({"sku": "WID 1", "name": "Widget", "list_price": eur("1")}, "sku"),
        ({"sku": "WID-1", "name": "  ", "list_price": eur("1")}, "name"),
        ({"sku": "WID-1", "name": "Widget", "list_price": eur("0")}, "list_price"),
        ({"sku": "WID-1", "name": "Widget", "list_price": eur("-5")}, "list_price"),
    ],
)
def test_define_refuses_bad_input(kwargs: dict[str, object], field: str) -> None:
    error = product().when(lambda p: p.define(**kwargs)).then_raises(InvalidCommand)  # type: ignore[arg-type]
    assert isinstance(error, InvalidCommand)
    assert error.field == field


def test_a_product_is_defined_once() -> None:
    product().given(CREATED).when(
        lambda p: p.define(sku="WID-2", name="Other", list_price=eur("1"))
    ).then_raises(RuleViolated, "already exists")


def test_reprice_records_the_previous_price() -> None:
    p = (
        product()
        .given(CREATED)
        .when(lambda p: p.reprice(eur("21.00")))
        .then(ProductRepriced(list_price=eur("21.00"), previous_list_price=eur("19.90")))
    )
    assert p.state.list_price == eur("21.00")


def test_repricing_to_the_same_price_records_nothing() -> None:
    product().given(CREATED).when(lambda p: p.reprice(eur("19.9"))).then_nothing()


def test_a_list_price_must_stay_positive() -> None:
    product().given(CREATED).when(lambda p: p.reprice(eur("0"))).then_raises(
        InvalidCommand, "list_price"
    )


def test_retire_once_then_nothing_more() -> None:
    product().given(CREATED).when(lambda p: p.retire("end of line")).then(
        ProductRetired(sku="WID-1", reason="end of line")
    )
    retired = ProductRetired(sku="WID-1")
    product().given(CREATED, retired).when(lambda p: p.retire()).then_nothing()
    product().given(CREATED, retired).when(lambda p: p.reprice(eur("5"))).then_raises(
        RuleViolated, "retired"
    )


def test_commands_on_an_unknown_product_are_not_found() -> None:
    product().when(lambda p: p.retire()).then_raises(NotFound)
    product().when(lambda p: p.reprice(eur("1"))).then_raises(NotFound)


def test_a_price_book_is_per_currency() -> None:
    book().when(lambda b: b.define(name="Euro list", currency="EUR")).then(BOOK)
    book().when(lambda b: b.define(name="x", currency="eur")).then_raises(
        InvalidCommand, "currency"
    )
    book().given(BOOK).when(lambda b: b.define(name="x", currency="USD")).then_raises(
        RuleViolated, "already exists"
    )


def test_set_an_entry_per_sku_and_change_it() -> None:
    b = (
        book()
        .given(BOOK)
        .when(lambda b: b.set_entry(sku="wid-1", product_id="p-1", unit_price=eur("18.00")))
        .then(ENTRY)
    )
    assert b.state.price_for("WID-1") == eur("18")
    assert b.state.price_for("other") is None
    book().given(BOOK, ENTRY).when(
        lambda b: b.set_entry(sku="WID-1", product_id="p-1", unit_price=eur("17.50"))
    ).then(
        PriceBookEntrySet(
            sku="WID-1",
            product_id="p-1",
            unit_price=eur("17.50"),
            previous_unit_price=eur("18.00"),
        )
    )
    book().given(BOOK, ENTRY).when(
        lambda b: b.set_entry(sku="WID-1", product_id="p-1", unit_price=eur("18"))
    ).then_nothing()


def test_an_entry_is_in_the_books_currency_and_positive() -> None:
    book().given(BOOK).when(
        lambda b: b.set_entry(sku="WID-1", product_id="p-1", unit_price=Money.of("5", "USD"))
    ).then_raises(InvalidCommand, "EUR")
    book().given(BOOK).when(
        lambda b: b.set_entry(sku="WID-1", product_id="p-1", unit_price=eur("0"))
    ).then_raises(InvalidCommand, "unit_price")


def test_remove_an_entry() -> None:
    b = (
        book()
        .given(BOOK, ENTRY)
        .when(lambda b: b.remove_entry("wid-1"))
        .then(PriceBookEntryRemoved(sku="WID-1"))
    )
    assert b.state.price_for("WID-1") is None
    book().given(BOOK).when(lambda b: b.remove_entry("WID-1")).then_raises(NotFound)
    book().when(lambda b: b.remove_entry("WID-1")).then_raises(NotFound)
