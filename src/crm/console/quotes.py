"""The order-to-cash pages: a quote (drafted for a customer, or for one of their
opportunities, with lines picked from the product catalogue and priced by the catalogue: a
price book's price, else the product's list price), sent, accepted or rejected as the
customer answered, and placed as an order; the order, with "issue invoice"; the invoice,
with its payments and "record payment".

Every read is :class:`OrderQueries` (another rep's quote, order or invoice is the 404 page)
and every form one of the sales context's commands on the runtime's bus as the signed-in
user, so the rules hold as over ``/quotes``, ``/orders`` and ``/invoices``: an agent or an
analyst reads without forms, and a form they post anyway is refused (403). Totals are the
domain's (Decimal line totals, rounded to the currency), shown with Babel's money format.

A form on a quote carries the version of the quote the page showed: if the quote changed
meanwhile (a line added, sent, answered in another tab), the page says so plainly, with the
version and status it is at now, and changes nothing. The API's quote routes take no
``If-Match``; the check is the page's own, against the quote's stream.

A payment's id is chosen when the invoice page is shown, so the same form sent twice (a
double click, a reload) is the same payment, which the invoice records once.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from crm.console.pages import PREFIX, Console, Visit, guarded, see
from crm.console.sales import CURRENCIES, works_sales
from crm.console.sales import _money as money_of
from crm.kernel.auth import Actor
from crm.kernel.errors import InvalidCommand
from crm.kernel.http import ReadConsistency
from crm.sales.application.catalogue import LineInput
from crm.sales.application.invoice_commands import IssueInvoice, RecordPayment
from crm.sales.application.order_queries import InvoiceFilter, OrderQueries, ProductFilter
from crm.sales.application.quote_commands import (
    AcceptQuote,
    AddQuoteLines,
    DraftQuote,
    RejectQuote,
    RemoveQuoteLine,
    SendQuote,
)
from crm.sales.application.quote_to_order import order_from_quote
from crm.sales.domain.quotes import Quote
from crm.sales.projections.order_models import PROJECTION as ORDERS_PROJECTION

CATALOGUE_SHOWN = 500
"""Products (not retired) the line form offers, by sku; price books, by name."""
DEFAULT_VALIDITY = timedelta(days=30)
QUOTE_DONE = ("drafted", "saved", "sent", "accepted", "rejected")
INVOICE_DONE = ("issued", "paid", "refunded", "voided")
ORDER_DONE = ("placed", "shipped", "delivered", "cancelled", "returned")


def decimal_of(value: str, field_name: str) -> Decimal:
    """A form's number as a Decimal (``1``, ``2.5``, ``2,5``); anything else is a 422 naming
    ``field_name`` (the domain checks the range)."""
    text = value.strip().replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidCommand(field_name, "a number, e.g. 2 or 2.5") from None
    if not number.is_finite():
        raise InvalidCommand(field_name, "a number, e.g. 2 or 2.5")
    return number


def line_of(product_id: str, quantity: str, discount_percent: str) -> LineInput:
    """The line the form describes: a product of the catalogue by id (the catalogue prices
    it), its quantity and discount."""
    product = product_id.strip()
    try:
        UUID(product)
    except ValueError:
        raise InvalidCommand("lines.0.product_id", "pick a product of the catalogue") from None
    return LineInput(
        quantity=decimal_of(quantity, "quantity"),
        product_id=product,
        discount_percent=decimal_of(discount_percent or "0", "discount_percent"),
    )


def quotes_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    bus = runtime.commands
    page = guarded(console)
    orders = OrderQueries(runtime.read_store)
    quotes_repo = bus.repository(Quote)
    orders_read = Depends(ReadConsistency(runtime, ORDERS_PROJECTION))

    async def catalogue(actor: Actor) -> tuple[list[Any], list[Any]]:
        products = await orders.products(
            actor, ProductFilter(retired=False), sort="sku", limit=CATALOGUE_SHOWN, offset=0
        )
        books = await orders.price_books(actor, None, limit=CATALOGUE_SHOWN, offset=0)
        return list(products.items), list(books.items)

    # -- a new quote -------------------------------------------------------------------------

    @api.get(f"{PREFIX}/quotes/new")
    @page
    async def new_quote(
        request: Request,
        customer: UUID,
        opportunity: UUID | None = None,
        _: int = orders_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        c = await console.customers.get(actor, str(customer))  # 404 for one not seen
        o = None
        if opportunity is not None:
            o = await console.sales.opportunity(actor, str(opportunity))
            if o["customer_id"] != str(customer):
                raise InvalidCommand("opportunity", "is another customer's")
        products, books = await catalogue(actor)
        currency = o["amount"]["currency"] if o else "EUR"
        return console.render(
            visit,
            request,
            "quote_new.html",
            c=c,
            o=o,
            products=products,
            books=books,
            currency=currency,
            currencies=CURRENCIES if currency in CURRENCIES else (currency, *CURRENCIES),
            works=works_sales(actor),
            valid_until=(runtime.clock.now().date() + DEFAULT_VALIDITY).isoformat(),
        )

    @api.post(f"{PREFIX}/quotes")
    @page
    async def draft_quote(
        request: Request,
        customer_id: UUID = Form(),
        opportunity_id: str = Form(default="", max_length=64),
        currency: str = Form(min_length=3, max_length=3),
        valid_until: date = Form(),
        price_book_id: str = Form(default="", max_length=64),
        product_id: str = Form(min_length=1, max_length=64),
        quantity: str = Form(min_length=1, max_length=40),
        discount_percent: str = Form(default="0", max_length=40),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        opportunity = opportunity_id.strip() or None
        if opportunity is not None:
            o = await console.sales.opportunity(actor, opportunity)
            if o["customer_id"] != str(customer_id):
                raise InvalidCommand("opportunity_id", "is another customer's")
        command = DraftQuote(
            customer_id=str(customer_id),
            currency=currency.strip().upper(),
            valid_until=valid_until,
            lines=(line_of(product_id, quantity, discount_percent),),
            opportunity_id=opportunity,
            price_book_id=price_book_id.strip() or None,
        )
        result = await bus.execute(command, console.context(visit))
        return see(
            f"{PREFIX}/quotes/{command.quote_id}?min_position={result.position}&done=drafted"
        )

    # -- the quote ---------------------------------------------------------------------------

    @api.get(f"{PREFIX}/quotes/{{quote_id}}")
    @page
    async def quote(
        request: Request,
        quote_id: UUID,
        min_position: int | None = None,
        done: str | None = None,
        _: int = orders_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        q = await orders.quote(actor, str(quote_id))
        customer = await console.customers.get(actor, q["customer_id"])
        works = works_sales(actor)
        products, books = (await catalogue(actor)) if works and q["status"] == "draft" else ([], [])
        return console.render(
            visit,
            request,
            "quote.html",
            q=q,
            c=customer,
            works=works,
            products=products,
            books=[b for b in books if b["currency"] == q["currency"]],
            names=await console.directory.names(actor.tenant),
            done=visit.t(f"quote.done.{done}") if done in QUOTE_DONE else None,
        )

    async def stale(visit: Visit, request: Request, actor: Actor, id_: str, seen: int) -> Response:
        """The conflict page: the quote is no longer at the version the page showed."""
        current = await quotes_repo.load(id_, tenant=actor.tenant)
        status = current.state.status
        message = visit.t(
            "quote.stale",
            seen=seen,
            now=current.version,
            status=visit.t(f"quote_status.{status.value if status else 'draft'}"),
        )
        return console.error(request, visit, 409, message)

    async def quote_command(
        request: Request, quote_id: UUID, version: int, command: object, done: str
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        id_ = str(quote_id)
        await orders.quote(actor, id_)  # another rep's is the 404 page, not a conflict
        current = await quotes_repo.load(id_, tenant=actor.tenant)
        if current.version != version:
            return await stale(visit, request, actor, id_, version)
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/quotes/{quote_id}?min_position={result.position}&done={done}")

    @api.post(f"{PREFIX}/quotes/{{quote_id}}/lines")
    @page
    async def add_line(
        request: Request,
        quote_id: UUID,
        version: int = Form(ge=0),
        price_book_id: str = Form(default="", max_length=64),
        product_id: str = Form(min_length=1, max_length=64),
        quantity: str = Form(min_length=1, max_length=40),
        discount_percent: str = Form(default="0", max_length=40),
    ) -> Response:
        command = AddQuoteLines(
            str(quote_id),
            (line_of(product_id, quantity, discount_percent),),
            price_book_id.strip() or None,
        )
        return await quote_command(request, quote_id, version, command, "saved")

    @api.post(f"{PREFIX}/quotes/{{quote_id}}/lines/{{line_id}}/remove")
    @page
    async def remove_line(
        request: Request, quote_id: UUID, line_id: str, version: int = Form(ge=0)
    ) -> Response:
        command = RemoveQuoteLine(str(quote_id), line_id[:20])
        return await quote_command(request, quote_id, version, command, "saved")

    @api.post(f"{PREFIX}/quotes/{{quote_id}}/send")
    @page
    async def send(request: Request, quote_id: UUID, version: int = Form(ge=0)) -> Response:
        return await quote_command(request, quote_id, version, SendQuote(str(quote_id)), "sent")

    @api.post(f"{PREFIX}/quotes/{{quote_id}}/accept")
    @page
    async def accept(request: Request, quote_id: UUID, version: int = Form(ge=0)) -> Response:
        command = AcceptQuote(str(quote_id))
        return await quote_command(request, quote_id, version, command, "accepted")

    @api.post(f"{PREFIX}/quotes/{{quote_id}}/reject")
    @page
    async def reject(
        request: Request,
        quote_id: UUID,
        version: int = Form(ge=0),
        reason: str = Form(default="", max_length=500),
    ) -> Response:
        command = RejectQuote(str(quote_id), reason.strip() or None)
        return await quote_command(request, quote_id, version, command, "rejected")

    @api.post(f"{PREFIX}/quotes/{{quote_id}}/order")
    @page
    async def place_order(request: Request, quote_id: UUID, version: int = Form(ge=0)) -> Response:
        """The order the accepted quote becomes (again: the same order, placed once)."""
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        id_ = str(quote_id)
        await orders.quote(actor, id_)
        current = await quotes_repo.load(id_, tenant=actor.tenant)
        if current.version != version:
            return await stale(visit, request, actor, id_, version)
        result = await order_from_quote(bus, id_, console.context(visit))
        order_id = result.stream_id.partition("-")[2]
        return see(f"{PREFIX}/orders/{order_id}?min_position={result.position}&done=placed")

    # -- the order ---------------------------------------------------------------------------

    @api.get(f"{PREFIX}/orders/{{order_id}}")
    @page
    async def order(
        request: Request,
        order_id: UUID,
        min_position: int | None = None,
        done: str | None = None,
        _: int = orders_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        o = await orders.order(actor, str(order_id))
        customer = await console.customers.get(actor, o["customer_id"])
        invoiced = await orders.invoices(
            actor, InvoiceFilter(order_id=o["id"]), sort="-issue_date", limit=10, offset=0
        )
        return console.render(
            visit,
            request,
            "order.html",
            o=o,
            c=customer,
            invoices=invoiced.items,
            works=works_sales(actor),
            names=await console.directory.names(actor.tenant),
            done=visit.t(f"order.done.{done}") if done in ORDER_DONE else None,
            due=(runtime.clock.now().date() + timedelta(days=30)).isoformat(),
        )

    @api.post(f"{PREFIX}/orders/{{order_id}}/invoice")
    @page
    async def issue_invoice(
        request: Request,
        order_id: UUID,
        due_date: str = Form(default="", max_length=10),
        number: str = Form(default="", max_length=64),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        await orders.order(actor, str(order_id))  # another rep's is the 404 page
        due = None
        if due_date.strip():
            try:
                due = date.fromisoformat(due_date.strip())
            except ValueError:
                raise InvalidCommand("due_date", "a date, e.g. 2027-01-31") from None
        command = IssueInvoice(str(order_id), due, number.strip() or None)
        result = await bus.execute(command, console.context(visit))
        return see(
            f"{PREFIX}/invoices/{command.invoice_id}?min_position={result.position}&done=issued"
        )

    # -- the invoice -------------------------------------------------------------------------

    @api.get(f"{PREFIX}/invoices/{{invoice_id}}")
    @page
    async def invoice(
        request: Request,
        invoice_id: UUID,
        min_position: int | None = None,
        done: str | None = None,
        _: int = orders_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        i = await orders.invoice(actor, str(invoice_id))
        customer = await console.customers.get(actor, i["customer_id"])
        return console.render(
            visit,
            request,
            "invoice.html",
            i=i,
            c=customer,
            works=works_sales(actor),
            payment_id=str(uuid4()),
            refund_id=str(uuid4()),
            today=runtime.clock.now().date().isoformat(),
            names=await console.directory.names(actor.tenant),
            done=visit.t(f"invoice.done.{done}") if done in INVOICE_DONE else None,
        )

    @api.post(f"{PREFIX}/invoices/{{invoice_id}}/payments")
    @page
    async def record_payment(
        request: Request,
        invoice_id: UUID,
        payment_id: UUID = Form(),
        amount: str = Form(min_length=1, max_length=40),
        received_on: date = Form(),
        method: str = Form(default="", max_length=50),
        reference: str = Form(default="", max_length=200),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        i = await orders.invoice(actor, str(invoice_id))
        command = RecordPayment(
            str(invoice_id),
            money_of(amount, i["amount"]["currency"]),
            str(payment_id),
            received_on=received_on,
            method=method.strip() or None,
            reference=reference.strip() or None,
        )
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/invoices/{invoice_id}?min_position={result.position}&done=paid")

    return api


__all__ = ["decimal_of", "line_of", "quotes_router"]
