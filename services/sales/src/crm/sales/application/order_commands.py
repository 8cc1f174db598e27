"""The order's commands: place one directly from lines, or as the order an accepted quote
became; then ship, deliver, cancel (before shipping) or return it (once delivered).

An order from a quote has the id :func:`order_id_for_quote` derives from the quote's: a retry
or a concurrent duplicate of the conversion meets the same stream, so one quote becomes
exactly one order (the process is :mod:`crm.sales.application.quote_to_order`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from uuid import uuid4, uuid5

from crm.kernel.commands import CommandTable, Expect
from crm.kernel.directory import Customers
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.sales.application.catalogue import NAMESPACE, Catalogue, LineInput, next_line_id
from crm.sales.application.policy import POLICY, SalesAction, owner_for_new, scope_of
from crm.sales.domain.orders import Order
from crm.sales.domain.pricing import LineRequest
from crm.sales.domain.quotes import Quote


def order_id_for_quote(quote_id: str) -> str:
    return str(uuid5(NAMESPACE, f"order-from-quote\x00{quote_id}"))


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """An order placed directly, without a quote."""

    customer_id: str
    currency: str
    lines: tuple[LineInput, ...]
    campaign_id: str | None = None
    opportunity_id: str | None = None
    owner_id: str | None = None
    """The owning rep; None: whoever places it."""
    price_book_id: str | None = None
    order_id: str = field(default_factory=lambda: str(uuid4()))


@dataclass(frozen=True, slots=True)
class PlaceOrderFromQuote:
    """Place the order the accepted quote recorded (:class:`~crm.sales.application.
    quote_commands.MarkQuoteOrdered`); once placed, again records nothing."""

    quote_id: str

    @property
    def order_id(self) -> str:
        return order_id_for_quote(self.quote_id)


@dataclass(frozen=True, slots=True)
class ShipOrder:
    order_id: str
    carrier: str | None = None
    tracking_ref: str | None = None


@dataclass(frozen=True, slots=True)
class DeliverOrder:
    order_id: str


@dataclass(frozen=True, slots=True)
class CancelOrder:
    order_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReturnOrder:
    order_id: str
    reason: str


def order_commands(
    runtime: Runtime, catalogue: Catalogue, customers: Customers
) -> CommandTable[Order]:
    """The table of orders (``catalogue`` prices direct orders' lines; ``customers`` is the
    directory a direct order's customer must be in, for the actor; the quote an order comes
    from is read from the store)."""
    quotes = runtime.commands.repository(Quote)

    async def place(order: Order, cmd: PlaceOrder, ctx: CommandContext) -> None:
        owner, team = owner_for_new(ctx, cmd.owner_id, what="order")
        await customers.require(ctx, cmd.customer_id)
        resolved = await catalogue.priced(ctx.tenant, cmd.currency, cmd.lines, cmd.price_book_id)
        requests: list[LineRequest] = []
        for request in resolved:
            line_id = request.line_id or next_line_id([r.line_id for r in requests])
            requests.append(replace(request, line_id=line_id))
        order.place(
            customer_id=cmd.customer_id,
            owner_id=owner,
            currency=cmd.currency,
            lines=requests,
            opportunity_id=cmd.opportunity_id,
            campaign_id=cmd.campaign_id,
            team_id=team,
        )

    async def place_from_quote(order: Order, cmd: PlaceOrderFromQuote, ctx: CommandContext) -> None:
        if order.state.placed and order.state.quote_id == cmd.quote_id:
            return  # a retry, or a concurrent duplicate that placed it first
        quote = await quotes.load(cmd.quote_id, tenant=ctx.tenant)
        q = quote.state
        POLICY.authorize(
            ctx, SalesAction.WORK, what=f"quote {quote.id}", scope=scope_of(q.owner_id, q.team_id)
        )
        order.place_from_quote(quote)

    t = CommandTable(
        Order,
        POLICY,
        scope=lambda o: scope_of(o.state.owner_id, o.state.team_id),
        id_field="order_id",
    )
    work = SalesAction.WORK
    t.on(PlaceOrder, Expect.NEW, None, place)  # owner_for_new authorises
    # ANY: the concurrent duplicate that loses the append finds the order placed on its retry.
    t.on(PlaceOrderFromQuote, Expect.ANY, work, place_from_quote)
    t.on(
        ShipOrder,
        Expect.EXISTING,
        work,
        lambda o, cmd, _: o.ship(carrier=cmd.carrier, tracking_ref=cmd.tracking_ref),
    )
    t.on(DeliverOrder, Expect.EXISTING, work, lambda o, _, __: o.deliver())
    t.on(CancelOrder, Expect.EXISTING, work, lambda o, cmd, _: o.cancel(cmd.reason))
    t.on(ReturnOrder, Expect.EXISTING, work, lambda o, cmd, _: o.return_(cmd.reason))
    return t
