"""The order's and the invoice's after-sale forms: ship (carrier, tracking reference),
mark delivered, cancel with a reason, take a delivered order back (a return, with its reason),
void an invoice issued by mistake, and refund (part of) a payment, each the sales
context's own command as the signed-in user, so the API's rules hold (those who work sales:
a rep their own orders, a manager their team's, an admin all; an agent or analyst reads
without forms and is refused if they post). What the order's state refuses (cancelling a
shipped order, refunding more than was paid) is the 409 page saying so in the domain's
words; a wrong amount or date the 422 page naming the field. A refund's id is chosen when
the page is shown, so the same form sent twice is one refund.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from crm.console.pages import PREFIX, Console, guarded, see
from crm.console.sales import _money as money_of
from crm.sales.application.invoice_commands import RefundPayment, VoidInvoice
from crm.sales.application.order_commands import (
    CancelOrder,
    DeliverOrder,
    ReturnOrder,
    ShipOrder,
)
from crm.sales.application.order_queries import OrderQueries


def orders_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    bus = console.runtime.commands
    orders = OrderQueries(console.runtime.read_store)
    page = guarded(console)

    async def order_command(
        request: Request, order_id: UUID, command: object, done: str
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        await orders.order(actor, str(order_id))  # another rep's is the 404 page
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/orders/{order_id}?min_position={result.position}&done={done}")

    @api.post(f"{PREFIX}/orders/{{order_id}}/ship")
    @page
    async def ship(
        request: Request,
        order_id: UUID,
        carrier: str = Form(default="", max_length=200),
        tracking_ref: str = Form(default="", max_length=200),
    ) -> Response:
        command = ShipOrder(str(order_id), carrier.strip() or None, tracking_ref.strip() or None)
        return await order_command(request, order_id, command, "shipped")

    @api.post(f"{PREFIX}/orders/{{order_id}}/deliver")
    @page
    async def deliver(request: Request, order_id: UUID) -> Response:
        return await order_command(request, order_id, DeliverOrder(str(order_id)), "delivered")

    @api.post(f"{PREFIX}/orders/{{order_id}}/cancel")
    @page
    async def cancel(
        request: Request, order_id: UUID, reason: str = Form(default="", max_length=2000)
    ) -> Response:
        command = CancelOrder(str(order_id), reason.strip() or None)
        return await order_command(request, order_id, command, "cancelled")

    @api.post(f"{PREFIX}/orders/{{order_id}}/return")
    @page
    async def return_order(
        request: Request, order_id: UUID, reason: str = Form(min_length=1, max_length=2000)
    ) -> Response:
        """A delivered order coming back (its revenue leaves the reports); a reason is
        required."""
        command = ReturnOrder(str(order_id), reason.strip())
        return await order_command(request, order_id, command, "returned")

    @api.post(f"{PREFIX}/invoices/{{invoice_id}}/void")
    @page
    async def void(
        request: Request, invoice_id: UUID, reason: str = Form(default="", max_length=2000)
    ) -> Response:
        """An invoice issued by mistake, before any payment (one with payments is the 409
        page: refund them instead)."""
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        await orders.invoice(actor, str(invoice_id))  # another rep's is the 404 page
        command = VoidInvoice(str(invoice_id), reason.strip() or None)
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/invoices/{invoice_id}?min_position={result.position}&done=voided")

    @api.post(f"{PREFIX}/invoices/{{invoice_id}}/refunds")
    @page
    async def refund(
        request: Request,
        invoice_id: UUID,
        payment_id: str = Form(min_length=1, max_length=64),
        refund_id: UUID = Form(),
        amount: str = Form(min_length=1, max_length=40),
        refunded_on: date = Form(),
        reason: str = Form(default="", max_length=2000),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        i = await orders.invoice(actor, str(invoice_id))
        command = RefundPayment(
            str(invoice_id),
            payment_id.strip(),
            money_of(amount, i["amount"]["currency"]),
            str(refund_id),
            refunded_on=refunded_on,
            reason=reason.strip() or None,
        )
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/invoices/{invoice_id}?min_position={result.position}&done=refunded")

    return api
