"""How a quote or order line is priced, and what a document totals to.

The rule, in one place for quotes and orders alike:

- line total = quantity x unit price x (1 - discount_percent / 100), rounded to the currency's
  minor unit (2 places for EUR, 0 for JPY, 3 for KWD...) half to even (banker's rounding);
- the document total is the sum of the rounded line totals, so the lines a customer reads
  always add up to the total printed under them;
- tax is left out: prices are net, a tax rule would be a separate line of the invoice.

Unit prices may carry more places than the currency (0.0125 EUR per unit): only line totals are
rounded. Everything is :class:`~decimal.Decimal`; a float never gets in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from crm.events.money import Money
from crm.events.sales_orders import LineItem
from crm.kernel.errors import InvalidCommand
from crm.sales.domain.checks import bounded, optional_text, required_text

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class LineRequest:
    """A line as a caller asks for it, before it is checked and priced."""

    line_id: str
    product_id: str
    sku: str
    quantity: Decimal
    unit_price: Money
    discount_percent: Decimal = Decimal(0)
    description: str | None = None


def currency_code(value: str, field: str = "currency") -> str:
    """An ISO 4217 code as the published language writes it (``EUR``), or InvalidCommand."""
    if len(value) != 3 or not value.isascii() or not value.isalpha() or not value.isupper():
        raise InvalidCommand(field, "must be an ISO 4217 code such as EUR")
    return value


def line_total(quantity: Decimal, unit_price: Money, discount_percent: Decimal) -> Money:
    factor = quantity * (HUNDRED - discount_percent) / HUNDRED
    return unit_price.times(factor).rounded()


def price_line(request: LineRequest, currency: str) -> LineItem:
    """The line checked (each error names its field) and priced in ``currency``."""
    quantity = Decimal(request.quantity)
    if not quantity.is_finite() or quantity <= 0:
        raise InvalidCommand("quantity", "must be greater than zero")
    discount = Decimal(request.discount_percent)
    if not discount.is_finite() or not 0 <= discount <= HUNDRED:
        raise InvalidCommand("discount_percent", "must be between 0 and 100")
    if request.unit_price.currency != currency:
        raise InvalidCommand("unit_price", f"must be in {currency}, like the rest of the document")
    if request.unit_price.is_negative:
        raise InvalidCommand("unit_price", "must not be negative")
    total = bounded(line_total(quantity, request.unit_price, discount), "quantity")
    return LineItem(
        line_id=required_text(request.line_id, "line_id", max_length=64),
        product_id=required_text(request.product_id, "product_id", max_length=64),
        sku=required_text(request.sku, "sku", max_length=64),
        description=optional_text(request.description, "description"),
        quantity=quantity,
        unit_price=request.unit_price,
        discount_percent=discount,
        line_total=total,
    )


def total(lines: Iterable[LineItem], currency: str) -> Money:
    """Sum of the (already rounded) line totals; zero for no lines."""
    result = Money.zero(currency)
    for line in lines:
        result = result + line.line_total
    return result.rounded()
