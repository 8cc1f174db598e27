"""The order-to-cash commands sent to the command bus as plain values, without HTTP, on the
in-memory event store: the catalogue's derived ids, quote lines, the quote-to-order process,
one invoice per order, payments, and the scheduler's system commands."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from crm.events import EventMetadata
from crm.events.customer import CustomerKind, CustomerRegistered
from crm.events.money import Money
from crm.kernel.adapters.memory import InMemoryEventStore, InMemoryReadStore
from crm.kernel.auth import TokenIssuer
from crm.kernel.clock import ManualClock
from crm.kernel.codec import EventCodec
from crm.kernel.commands import CommandBus
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound, RuleViolated
from crm.kernel.event_store import NO_STREAM, Idempotency
from crm.kernel.projection import ProjectionRunner
from crm.kernel.reactor import system_context
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.sales.application.catalogue import LineInput, product_id_for
from crm.sales.application.invoice_commands import (
    IssueInvoice,
    MarkInvoiceOverdue,
    RecordPayment,
    invoice_id_for_order,
)
from crm.sales.application.order_commands import order_id_for_quote
from crm.sales.application.product_commands import CreateProduct
from crm.sales.application.quote_commands import (
    AcceptQuote,
    ChangeQuoteLine,
    DraftQuote,
    RemoveQuoteLine,
    SendQuote,
)
from crm.sales.application.quote_to_order import order_from_quote
from crm.sales.context import CUSTOMER_DIRECTORY, commands
from crm.sales.domain.invoices import Invoice
from crm.sales.domain.orders import Order
from crm.sales.domain.quotes import Quote
from tests.conftest import SECRET, T0


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def ctx(actor: str = "boss", role: str = "manager", key: str | None = None) -> CommandContext:
    idempotency = Idempotency(key, "h") if key else None
    return CommandContext(actor=actor, role=role, tenant="t1", now=T0, idempotency=idempotency)


REP = ctx("rep-1", "sales_rep")


@pytest.fixture
async def bus(codec: EventCodec) -> CommandBus:
    runtime = Runtime(
        InMemoryEventStore(), InMemoryReadStore(), codec, ManualClock(T0), TokenIssuer(SECRET)
    )
    runtime.commands.register(*commands(runtime))
    # customer c-1 of t1, in the pool, as the sales directory knows it
    registered = CustomerRegistered(kind=CustomerKind.COMPANY, name="C1")
    meta = EventMetadata(tenant="t1", actor="test", correlation_id=uuid4())
    new = await codec.encode("customer-c-1", [registered], meta, T0)
    await runtime.store.append("customer-c-1", new, NO_STREAM)
    await ProjectionRunner(CUSTOMER_DIRECTORY, runtime.store, runtime.read_store, codec).catch_up()
    return runtime.commands


async def widget(bus: CommandBus, sku: str = "wid-1", price: str = "10.00") -> str:
    command = CreateProduct.in_tenant("t1", sku=sku, name="Widget", list_price=eur(price))
    await bus.execute(command, ctx())
    return command.product_id


async def accepted_quote(bus: CommandBus) -> str:
    await widget(bus)
    draft = DraftQuote("c-1", "EUR", date(2026, 3, 31), (LineInput(Decimal(2), sku="WID-1"),))
    await bus.execute(draft, REP)
    await bus.execute(SendQuote(draft.quote_id), REP)
    await bus.execute(AcceptQuote(draft.quote_id), REP)
    return draft.quote_id


async def test_a_product_id_is_its_sku_s_and_a_sku_is_taken_once(bus: CommandBus) -> None:
    product_id = await widget(bus, " wid-1 ")
    assert product_id == product_id_for("t1", "WID-1")
    with pytest.raises(RuleViolated) as taken:
        await widget(bus, "WID-1", "11.00")
    assert taken.value.code == "sku_taken"
    forged = CreateProduct("not-the-sku-s-id", "GAD-2", "Gadget", eur("1.00"))
    with pytest.raises(InvalidCommand):
        await bus.execute(forged, ctx())
    with pytest.raises(Forbidden):  # reps read the catalogue, managers configure it
        await bus.execute(
            CreateProduct.in_tenant("t1", sku="Y", name="Y", list_price=eur("1")), REP
        )


async def test_a_draft_s_lines_are_changed_and_removed(bus: CommandBus) -> None:
    await widget(bus)
    lines = (LineInput(Decimal(1), sku="WID-1"), LineInput(Decimal(3), sku="WID-1"))
    draft = DraftQuote("c-1", "EUR", date(2026, 3, 31), lines)
    await bus.execute(draft, REP)
    changed = LineInput(Decimal(5), sku="WID-1", discount_percent=Decimal(10), line_id="L1")
    await bus.execute(ChangeQuoteLine(draft.quote_id, changed), REP)
    await bus.execute(RemoveQuoteLine(draft.quote_id, "L2"), REP)
    quote = await bus.repository(Quote).load(draft.quote_id)
    assert list(quote.state.lines) == ["L1"]
    assert quote.state.total == eur("45.00")
    with pytest.raises(NotFound):  # another rep's quote does not exist for them
        await bus.execute(RemoveQuoteLine(draft.quote_id, "L1"), ctx("rep-2", "sales_rep"))
    with pytest.raises(InvalidCommand):
        ChangeQuoteLine(draft.quote_id, LineInput(Decimal(1), sku="WID-1"))


async def test_an_accepted_quote_becomes_one_order_however_often_it_is_asked(
    bus: CommandBus,
) -> None:
    quote_id = await accepted_quote(bus)
    first = await order_from_quote(bus, quote_id, replace(REP, idempotency=Idempotency("k", "h")))
    again = await order_from_quote(bus, quote_id, REP)
    assert first.stream_id == again.stream_id == f"order-{order_id_for_quote(quote_id)}"
    assert (first.stream_version, again.stream_version) == (0, 0)
    replayed = await order_from_quote(
        bus, quote_id, replace(REP, idempotency=Idempotency("k", "h"))
    )
    assert replayed.replayed
    order = await bus.repository(Order).load(order_id_for_quote(quote_id))
    assert (order.state.quote_id, order.state.total) == (quote_id, eur("20.00"))
    quote = await bus.repository(Quote).load(quote_id)
    assert quote.state.order_id == order.id


async def test_one_invoice_per_order_paid_in_parts_and_marked_overdue_once(
    bus: CommandBus,
) -> None:
    quote_id = await accepted_quote(bus)
    order = await order_from_quote(bus, quote_id, REP)
    order_id = order.stream_id.partition("-")[2]
    issue = IssueInvoice(order_id, due_date=date(2026, 3, 10))
    await bus.execute(issue, REP)
    assert issue.invoice_id == invoice_id_for_order(order_id)
    with pytest.raises(RuleViolated) as twice:
        await bus.execute(issue, REP)
    assert twice.value.code == "already_invoiced"
    with pytest.raises(NotFound):  # another rep's order
        await bus.execute(IssueInvoice(order_id), ctx("rep-2", "sales_rep"))

    await bus.execute(RecordPayment(issue.invoice_id, eur("5.00"), "p1"), REP)
    await bus.execute(RecordPayment(issue.invoice_id, eur("5.00"), "p1"), REP)  # the same one
    with pytest.raises(RuleViolated) as over:
        await bus.execute(RecordPayment(issue.invoice_id, eur("15.01"), "p2"), REP)
    assert over.value.code == "overpayment"

    later = T0 + timedelta(days=10)
    system = system_context("process:test", "t1", later, f"overdue:{issue.invoice_id}")
    marked = await bus.run(MarkInvoiceOverdue(issue.invoice_id), system)
    again = await bus.run(MarkInvoiceOverdue(issue.invoice_id), replace(system, idempotency=None))
    assert (marked.recorded, again.recorded) == (True, False)
    invoice = await bus.repository(Invoice).load(issue.invoice_id)
    assert invoice.state.overdue
    assert invoice.state.balance == eur("15.00")
