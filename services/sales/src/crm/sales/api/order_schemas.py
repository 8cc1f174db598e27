"""Request bodies of the order-to-cash routes (the documents they answer are the read models'
own types, in :mod:`crm.sales.projections.order_models`). Unknown fields are refused, amounts
are decimal strings within their currency's minor unit and the one bound
(:data:`~crm.events.money.RequestMoney`: a JSON number or an exponent is a 422 naming the
field), quantities and discounts bounded decimal strings too."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from crm.events.money import Currency, Percent, Quantity, RequestMoney
from crm.kernel.http.body import Body

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class NewProduct(Body):
    sku: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Text
    list_price: RequestMoney
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Repricing(Body):
    list_price: RequestMoney


class Retirement(Body):
    reason: Reason | None = None


class NewPriceBook(Body):
    name: Text
    currency: Currency


class PriceEntry(Body):
    unit_price: RequestMoney


class NewLine(Body):
    """A product by ``product_id`` or ``sku``; without ``unit_price`` the line is priced from
    the document's price book, else from the product's list price."""

    product_id: Id | None = None
    sku: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    quantity: Quantity
    unit_price: RequestMoney | None = None
    discount_percent: Percent = Decimal(0)
    description: Annotated[str, StringConstraints(max_length=200)] | None = None
    line_id: Id | None = None

    @model_validator(mode="after")
    def one_product(self) -> Self:
        if (self.product_id is None) == (self.sku is None):
            raise ValueError("give either product_id or sku")
        return self


Lines = Annotated[list[NewLine], Field(min_length=1, max_length=500)]


class NewQuote(Body):
    customer_id: Id
    currency: Currency
    valid_until: date
    opportunity_id: Id | None = None
    campaign_id: Id | None = None
    owner_id: Id | None = Field(default=None, description="The owning rep; default: you")
    price_book_id: Id | None = None
    lines: Lines


class MoreLines(Body):
    price_book_id: Id | None = None
    lines: Lines


class Rejection(Body):
    reason: Reason | None = None


class NewOrder(Body):
    """Either ``{"quote_id"}`` (the order an accepted quote becomes) or a direct order:
    ``customer_id``, ``currency`` and ``lines``."""

    quote_id: Id | None = None
    customer_id: Id | None = None
    currency: Currency | None = None
    lines: Lines | None = None
    campaign_id: Id | None = None
    opportunity_id: Id | None = None
    owner_id: Id | None = None
    price_book_id: Id | None = None

    @model_validator(mode="after")
    def quote_or_lines(self) -> Self:
        direct = ("customer_id", "currency", "lines")
        if self.quote_id is not None:
            extra = [f for f in self.model_fields_set if f != "quote_id"]
            if extra:
                raise ValueError(f"an order from a quote takes only quote_id, not {extra}")
        else:
            missing = [f for f in direct if getattr(self, f) is None]
            if missing:
                raise ValueError(f"give quote_id, or {', '.join(missing)} for a direct order")
        return self


class Shipment(Body):
    carrier: Text | None = None
    tracking_ref: Text | None = None


class Cancellation(Body):
    reason: Reason | None = None


class Return(Body):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class NewInvoice(Body):
    order_id: Id
    due_date: date | None = Field(default=None, description="default: 30 days after today")
    number: str | None = Field(
        default=None,
        max_length=64,
        description="The company's own invoice number (发票号); no other invoice may have it",
    )


class NewPayment(Body):
    invoice_id: Id
    amount: RequestMoney
    received_on: date | None = Field(default=None, description="default: today")
    method: Text | None = None
    reference: Text | None = None
    payment_id: Id | None = Field(
        default=None, description="Your id for it; default: from the Idempotency-Key, else new"
    )


class PaymentAccepted(BaseModel):
    id: str
    invoice_id: str
    position: int
    version: int


class LineChange(NewLine):
    """A quote line again, as it should be now (the path names the line)."""

    price_book_id: Id | None = None


class NewRefund(Body):
    payment_id: Id
    amount: RequestMoney
    refund_id: Id | None = Field(
        default=None, description="Default: derived from the Idempotency-Key, else new"
    )
    refunded_on: date | None = Field(default=None, description="Default: today")
    reason: Reason | None = None
