"""An order placed in 2019 and recorded today (``CommandContext.occurred_at``) is 2019 history
in every read model: the 360 view's first order, revenue by month, the invoice and payment
dates; while its events say when they were recorded (now)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crm.customer.application.customer_commands import RegisterCustomer
from crm.customer.domain.customer import Profile
from crm.events.customer import CustomerKind
from crm.events.money import Money
from crm.kernel.repository import CommandContext
from crm.platform.bootstrap import Platform
from crm.sales.application.catalogue import LineInput
from crm.sales.application.invoice_commands import IssueInvoice, RecordPayment
from crm.sales.application.order_commands import PlaceOrder
from crm.sales.application.product_commands import CreateProduct
from tests.conftest import T0, Api

pytestmark = pytest.mark.contexts("customer", "sales", "analytics")

PLACED = datetime(2019, 6, 3, 9, 15, tzinfo=UTC)
PAID = datetime(2019, 7, 1, 16, 0, tzinfo=UTC)


async def test_an_order_of_2019_is_2019_history_in_the_read_models(
    api: Api, platform: Platform
) -> None:
    bus = platform.runtime.commands
    now = CommandContext(actor="m1", role="manager", tenant="default", now=T0)
    customer = RegisterCustomer(Profile(kind=CustomerKind.PERSON, name="Wang Fang"))
    await bus.execute(customer, replace(now, occurred_at=datetime(2018, 1, 2, tzinfo=UTC)))
    price = Money(amount=Decimal("120.00"), currency="EUR")
    await bus.execute(
        CreateProduct.in_tenant("default", sku="BOX", name="Box", list_price=price), now
    )
    order = PlaceOrder(customer.customer_id, "EUR", (LineInput(Decimal(2), sku="BOX"),))
    placed = await bus.execute(order, replace(now, occurred_at=PLACED))
    await bus.execute(IssueInvoice(order.order_id), replace(now, occurred_at=PLACED))
    invoice_id = IssueInvoice(order.order_id).invoice_id
    pay = RecordPayment(invoice_id, Money(amount=Decimal("240.00"), currency="EUR"), "p-1")
    await bus.execute(pay, replace(now, occurred_at=PAID))

    (envelope,) = [
        e
        for e in await platform.store.read_stream(f"order-{order.order_id}")
        if e.position == placed.position
    ]
    assert envelope.occurred_at == PLACED
    assert envelope.recorded_at.year >= 2026

    client = api.as_user("m1")
    head = await platform.store.head_position()
    wait = {"min_position": str(head)}
    view = await client.get(f"/analytics/customers/{customer.customer_id}/360", params=wait)
    assert view.status_code == 200, view.text
    orders = view.json()["orders"]
    assert orders["first_at"].startswith("2019-06-03")
    assert orders["last_at"].startswith("2019-06-03")

    revenue = await client.get(
        "/analytics/reports/revenue", params={**wait, "from": "2019-01", "to": "2019-12"}
    )
    assert revenue.status_code == 200, revenue.text
    months = {row["month"]: row for row in revenue.json()["months"]}
    assert months["2019-06"]["booked"] == {"amount": "240.00", "currency": "EUR"}
    assert months["2019-07"]["collected"] == {"amount": "240.00", "currency": "EUR"}

    got = await client.get(f"/invoices/{invoice_id}", params=wait)
    assert got.status_code == 200, got.text
    assert got.json()["issue_date"] == date(2019, 6, 3).isoformat()
    assert got.json()["payments"][0]["received_on"] == date(2019, 7, 1).isoformat()
