"""Routes of the order-to-cash side: /products, /price-books, /quotes, /orders, /invoices,
/payments. A command route turns the request into a command for the bus and answers with its
position; a read answers the read model's own document."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from crm.events.sales_orders import InvoiceStatus, OrderStatus, QuoteStatus
from crm.kernel.auth import Actor
from crm.kernel.directory import Customers
from crm.kernel.errors import InvalidCommand
from crm.kernel.http import (
    Authenticator,
    CommandAccepted,
    Commands,
    PageOf,
    ReadConsistency,
    accepted,
    checked_sort,
)
from crm.kernel.http.export import EXPORT_RESPONSES, ListFormat, PageLimit, listed
from crm.kernel.http.params import Offset
from crm.kernel.http.routers import api_router
from crm.kernel.read_store import Page
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.sales.api.order_schemas import (
    Cancellation,
    LineChange,
    MoreLines,
    NewInvoice,
    NewLine,
    NewOrder,
    NewPayment,
    NewPriceBook,
    NewProduct,
    NewQuote,
    NewRefund,
    PaymentAccepted,
    PriceEntry,
    Rejection,
    Repricing,
    Retirement,
    Return,
    Shipment,
)
from crm.sales.application.catalogue import LineInput
from crm.sales.application.invoice_commands import (
    IssueInvoice,
    RecordPayment,
    RefundPayment,
    VoidInvoice,
    payment_id_for,
    refund_id_for,
)
from crm.sales.application.order_commands import (
    CancelOrder,
    DeliverOrder,
    PlaceOrder,
    ReturnOrder,
    ShipOrder,
)
from crm.sales.application.order_queries import (
    InvoiceFilter,
    OrderFilter,
    OrderQueries,
    PaymentItem,
    ProductFilter,
    QuoteFilter,
)
from crm.sales.application.price_book_commands import CreatePriceBook, RemovePrice, SetPrice
from crm.sales.application.product_commands import CreateProduct, RepriceProduct, RetireProduct
from crm.sales.application.quote_commands import (
    AcceptQuote,
    AddQuoteLines,
    ChangeQuoteLine,
    DraftQuote,
    RejectQuote,
    RemoveQuoteLine,
    SendQuote,
)
from crm.sales.application.quote_to_order import order_from_quote
from crm.sales.projections.customer_directory import CUSTOMER_DIRECTORY
from crm.sales.projections.order_models import (
    PROJECTION,
    InvoiceDoc,
    OrderDoc,
    PriceBookDoc,
    ProductDoc,
    QuoteDoc,
)


def _line(line: NewLine, line_id: str | None = None) -> LineInput:
    return LineInput(
        quantity=line.quantity,
        product_id=line.product_id,
        sku=line.sku,
        unit_price=line.unit_price,
        discount_percent=line.discount_percent,
        description=line.description,
        line_id=line_id or line.line_id,
    )


def _lines(lines: list[NewLine]) -> tuple[LineInput, ...]:
    return tuple(_line(line) for line in lines)


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(tags=["sales: order to cash"])
    bus = runtime.commands
    queries = OrderQueries(runtime.read_store, Customers(runtime, CUSTOMER_DIRECTORY))
    Ctx = Annotated[CommandContext, Depends(Commands(runtime, authenticate).context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, PROJECTION))

    async def run(command: object, ctx: CommandContext, response: Response) -> CommandAccepted:
        return accepted(await bus.execute(command, ctx), response)

    # -- products ----------------------------------------------------------------------------

    @api.post("/products", status_code=201, response_model=CommandAccepted)
    async def create_product(body: NewProduct, ctx: Ctx, response: Response) -> CommandAccepted:
        command = CreateProduct.in_tenant(
            ctx.tenant,
            sku=body.sku,
            name=body.name,
            list_price=body.list_price,
            description=body.description,
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response, created_under="/products")

    @api.get("/products", response_model=PageOf[ProductDoc], responses=EXPORT_RESPONSES)
    async def list_products(
        actor: Who,
        _: int = consistent,
        sku: str | None = None,
        retired: bool | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        sort: str = "sku",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        flt = ProductFilter(sku=sku, retired=retired, q=q)
        order = checked_sort(sort, frozenset({"sku", "name", "created_at"}))

        async def search(at: int, size: int) -> Page:
            return await queries.products(actor, flt, sort=order, limit=size, offset=at)

        return await listed(format, search, ProductDoc, "products", offset=offset, limit=limit)

    @api.get("/products/{product_id}", response_model=ProductDoc)
    async def get_product(product_id: UUID, actor: Who, _: int = consistent) -> Any:
        return await queries.product(actor, str(product_id))

    @api.post("/products/{product_id}/reprice", response_model=CommandAccepted)
    async def reprice(
        product_id: UUID, body: Repricing, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        return await run(RepriceProduct(str(product_id), body.list_price), ctx, response)

    @api.post("/products/{product_id}/retire", response_model=CommandAccepted)
    async def retire(
        product_id: UUID, ctx: Ctx, response: Response, body: Retirement | None = None
    ) -> CommandAccepted:
        reason = body.reason if body else None
        return await run(RetireProduct(str(product_id), reason), ctx, response)

    # -- price books -------------------------------------------------------------------------

    @api.post("/price-books", status_code=201, response_model=CommandAccepted)
    async def create_price_book(
        body: NewPriceBook, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await bus.execute(CreatePriceBook(body.name, body.currency), ctx)
        return accepted(result, response, created_under="/price-books")

    @api.get("/price-books", response_model=PageOf[PriceBookDoc], responses=EXPORT_RESPONSES)
    async def list_price_books(
        actor: Who,
        _: int = consistent,
        currency: str | None = None,
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:

        async def search(at: int, size: int) -> Page:
            return await queries.price_books(actor, currency, limit=size, offset=at)

        return await listed(format, search, PriceBookDoc, "price-books", offset=offset, limit=limit)

    @api.get("/price-books/{price_book_id}", response_model=PriceBookDoc)
    async def get_price_book(price_book_id: UUID, actor: Who, _: int = consistent) -> Any:
        return await queries.price_book(actor, str(price_book_id))

    @api.put("/price-books/{price_book_id}/entries/{sku}", response_model=CommandAccepted)
    async def set_price(
        price_book_id: UUID, sku: str, body: PriceEntry, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        return await run(SetPrice(str(price_book_id), sku, body.unit_price), ctx, response)

    @api.delete("/price-books/{price_book_id}/entries/{sku}", response_model=CommandAccepted)
    async def remove_price(
        price_book_id: UUID, sku: str, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        return await run(RemovePrice(str(price_book_id), sku), ctx, response)

    # -- quotes ------------------------------------------------------------------------------

    @api.post("/quotes", status_code=201, response_model=CommandAccepted)
    async def draft_quote(body: NewQuote, ctx: Ctx, response: Response) -> CommandAccepted:
        command = DraftQuote(
            customer_id=body.customer_id,
            currency=body.currency,
            valid_until=body.valid_until,
            lines=_lines(body.lines),
            opportunity_id=body.opportunity_id,
            campaign_id=body.campaign_id,
            owner_id=body.owner_id,
            price_book_id=body.price_book_id,
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response, created_under="/quotes")

    @api.get("/quotes", response_model=PageOf[QuoteDoc], responses=EXPORT_RESPONSES)
    async def list_quotes(
        actor: Who,
        _: int = consistent,
        customer_id: str | None = None,
        status: QuoteStatus | None = None,
        owner_id: str | None = None,
        opportunity_id: str | None = None,
        campaign_id: str | None = None,
        sort: str = "-created_at",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        flt = QuoteFilter(
            customer_id=customer_id,
            status=None if status is None else status.value,
            owner_id=owner_id,
            opportunity_id=opportunity_id,
            campaign_id=campaign_id,
        )
        order = checked_sort(sort, frozenset({"created_at", "updated_at", "valid_until"}))

        async def search(at: int, size: int) -> Page:
            return await queries.quotes(actor, flt, sort=order, limit=size, offset=at)

        return await listed(format, search, QuoteDoc, "quotes", offset=offset, limit=limit)

    @api.get("/quotes/{quote_id}", response_model=QuoteDoc)
    async def get_quote(quote_id: UUID, actor: Who, _: int = consistent) -> Any:
        return await queries.quote(actor, str(quote_id))

    @api.post("/quotes/{quote_id}/lines", response_model=CommandAccepted)
    async def add_lines(
        quote_id: UUID, body: MoreLines, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = AddQuoteLines(str(quote_id), _lines(body.lines), body.price_book_id)
        return await run(command, ctx, response)

    @api.put("/quotes/{quote_id}/lines/{line_id}", response_model=CommandAccepted)
    async def change_line(
        quote_id: UUID, line_id: str, body: LineChange, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        if body.line_id not in (None, line_id):
            raise InvalidCommand("line_id", "differs from the line the path names")
        command = ChangeQuoteLine(str(quote_id), _line(body, line_id), body.price_book_id)
        return await run(command, ctx, response)

    @api.delete("/quotes/{quote_id}/lines/{line_id}", response_model=CommandAccepted)
    async def remove_line(
        quote_id: UUID, line_id: str, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        return await run(RemoveQuoteLine(str(quote_id), line_id), ctx, response)

    @api.post("/quotes/{quote_id}/send", response_model=CommandAccepted)
    async def send_quote(quote_id: UUID, ctx: Ctx, response: Response) -> CommandAccepted:
        return await run(SendQuote(str(quote_id)), ctx, response)

    @api.post("/quotes/{quote_id}/accept", response_model=CommandAccepted)
    async def accept_quote(quote_id: UUID, ctx: Ctx, response: Response) -> CommandAccepted:
        return await run(AcceptQuote(str(quote_id)), ctx, response)

    @api.post("/quotes/{quote_id}/reject", response_model=CommandAccepted)
    async def reject_quote(
        quote_id: UUID, ctx: Ctx, response: Response, body: Rejection | None = None
    ) -> CommandAccepted:
        reason = body.reason if body else None
        return await run(RejectQuote(str(quote_id), reason), ctx, response)

    # -- orders ------------------------------------------------------------------------------

    @api.post("/orders", status_code=201, response_model=CommandAccepted)
    async def place_order(body: NewOrder, ctx: Ctx, response: Response) -> CommandAccepted:
        if body.quote_id is not None:
            result = await order_from_quote(bus, body.quote_id, ctx)
        else:
            assert body.customer_id
            assert body.currency
            assert body.lines
            command = PlaceOrder(
                customer_id=body.customer_id,
                currency=body.currency,
                lines=_lines(body.lines),
                campaign_id=body.campaign_id,
                opportunity_id=body.opportunity_id,
                owner_id=body.owner_id,
                price_book_id=body.price_book_id,
            )
            result = await bus.execute(command, ctx)
        return accepted(result, response, created_under="/orders")

    @api.get("/orders", response_model=PageOf[OrderDoc], responses=EXPORT_RESPONSES)
    async def list_orders(
        actor: Who,
        _: int = consistent,
        customer_id: str | None = None,
        status: OrderStatus | None = None,
        campaign_id: str | None = None,
        owner_id: str | None = None,
        quote_id: str | None = None,
        sort: str = "-placed_at",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        flt = OrderFilter(
            customer_id=customer_id,
            status=None if status is None else status.value,
            campaign_id=campaign_id,
            owner_id=owner_id,
            quote_id=quote_id,
        )
        order = checked_sort(sort, frozenset({"placed_at", "updated_at"}))

        async def search(at: int, size: int) -> Page:
            return await queries.orders(actor, flt, sort=order, limit=size, offset=at)

        return await listed(format, search, OrderDoc, "orders", offset=offset, limit=limit)

    @api.get("/orders/{order_id}", response_model=OrderDoc)
    async def get_order(order_id: UUID, actor: Who, _: int = consistent) -> Any:
        return await queries.order(actor, str(order_id))

    @api.post("/orders/{order_id}/ship", response_model=CommandAccepted)
    async def ship(
        order_id: UUID, ctx: Ctx, response: Response, body: Shipment | None = None
    ) -> CommandAccepted:
        carrier = body.carrier if body else None
        tracking = body.tracking_ref if body else None
        return await run(ShipOrder(str(order_id), carrier, tracking), ctx, response)

    @api.post("/orders/{order_id}/deliver", response_model=CommandAccepted)
    async def deliver(order_id: UUID, ctx: Ctx, response: Response) -> CommandAccepted:
        return await run(DeliverOrder(str(order_id)), ctx, response)

    @api.post("/orders/{order_id}/cancel", response_model=CommandAccepted)
    async def cancel(
        order_id: UUID, ctx: Ctx, response: Response, body: Cancellation | None = None
    ) -> CommandAccepted:
        reason = body.reason if body else None
        return await run(CancelOrder(str(order_id), reason), ctx, response)

    @api.post("/orders/{order_id}/return", response_model=CommandAccepted)
    async def return_order(
        order_id: UUID, body: Return, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        return await run(ReturnOrder(str(order_id), body.reason), ctx, response)

    # -- invoices and payments ---------------------------------------------------------------

    @api.post("/invoices", status_code=201, response_model=CommandAccepted)
    async def issue_invoice(body: NewInvoice, ctx: Ctx, response: Response) -> CommandAccepted:
        result = await bus.execute(IssueInvoice(body.order_id, body.due_date, body.number), ctx)
        return accepted(result, response, created_under="/invoices")

    @api.get("/invoices", response_model=PageOf[InvoiceDoc], responses=EXPORT_RESPONSES)
    async def list_invoices(
        actor: Who,
        _: int = consistent,
        status: InvoiceStatus | None = None,
        overdue: bool | None = None,
        customer_id: str | None = None,
        order_id: str | None = None,
        owner_id: str | None = None,
        number: Annotated[str | None, Query(max_length=64, description="发票号")] = None,
        sort: str = "due_date",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        flt = InvoiceFilter(
            status=None if status is None else status.value,
            overdue=overdue,
            customer_id=customer_id,
            order_id=order_id,
            owner_id=owner_id,
            number=number.strip() if number else None,
        )
        order = checked_sort(sort, frozenset({"due_date", "issue_date", "updated_at"}))

        async def search(at: int, size: int) -> Page:
            return await queries.invoices(actor, flt, sort=order, limit=size, offset=at)

        return await listed(format, search, InvoiceDoc, "invoices", offset=offset, limit=limit)

    @api.get("/invoices/{invoice_id}", response_model=InvoiceDoc)
    async def get_invoice(invoice_id: UUID, actor: Who, _: int = consistent) -> Any:
        return await queries.invoice(actor, str(invoice_id))

    @api.post("/invoices/{invoice_id}/refunds", status_code=201, response_model=CommandAccepted)
    async def refund_payment(
        invoice_id: UUID, body: NewRefund, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        """Give back (part of) a payment; the invoice's balance stays (see the domain)."""
        command = RefundPayment(
            str(invoice_id),
            body.payment_id,
            body.amount,
            refund_id=refund_id_for(ctx, body.refund_id),
            refunded_on=body.refunded_on,
            reason=body.reason,
        )
        return accepted(await bus.execute(command, ctx), response, created_under="/invoices")

    @api.post("/invoices/{invoice_id}/void", response_model=CommandAccepted)
    async def void_invoice(
        invoice_id: UUID, ctx: Ctx, response: Response, body: Cancellation | None = None
    ) -> CommandAccepted:
        """Void an invoice issued by mistake: one with a payment is refused (409
        ``invoice_has_payments``: refund them); voiding a void one records nothing."""
        reason = body.reason if body else None
        return await run(VoidInvoice(str(invoice_id), reason), ctx, response)

    @api.post("/payments", status_code=201, response_model=PaymentAccepted)
    async def record_payment(body: NewPayment, ctx: Ctx, response: Response) -> PaymentAccepted:
        command = RecordPayment(
            body.invoice_id,
            body.amount,
            payment_id=payment_id_for(ctx, body.payment_id),
            received_on=body.received_on,
            method=body.method,
            reference=body.reference,
        )
        answer = accepted(await bus.execute(command, ctx), response, created_under="/invoices")
        return PaymentAccepted(
            id=command.payment_id,
            invoice_id=answer.id,
            position=answer.position,
            version=answer.version,
        )

    @api.get("/payments", response_model=PageOf[PaymentItem], responses=EXPORT_RESPONSES)
    async def list_payments(
        actor: Who,
        _: int = consistent,
        invoice_id: str | None = None,
        customer_id: str | None = None,
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:

        async def search(at: int, size: int) -> Page:
            return await queries.payments(
                actor, invoice_id=invoice_id, customer_id=customer_id, limit=size, offset=at
            )

        return await listed(format, search, PaymentItem, "payments", offset=offset, limit=limit)

    return api
