"""Commands of the order-to-cash side: products, price books, quotes, orders, invoices and
payments. Each loads what it needs, checks access against the loaded state, runs the domain
and appends to one stream.

Identities that carry a promise are derived, not drawn at random:

- a product's id is uuid5 of (tenant, sku). Refusing a duplicate sku by looking it up in the
  catalogue read model first would race: two concurrent creations of one sku both find
  nothing (or the model lags) and both append. With the id derived from the sku, the second
  creation appends to a stream that already exists, the store refuses it, and it is answered
  409 ``sku_taken``; the catalogue's unique (tenant, sku) index then always holds.
- an order from a quote is uuid5 of the quote id, and an invoice uuid5 of its order id: the
  conversion appends to two streams (the quote records its order, then the order is placed),
  so a retry or a concurrent duplicate meets the same ids and the domain's no-ops; only the
  last append carries the request's idempotency key (the first would be recorded under it and
  the second answered as a replay).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID, uuid4, uuid5

from crm.events.money import Money
from crm.kernel.codec import EventCodec
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated, WrongExpectedVersion
from crm.kernel.event_store import AppendResult, EventStore
from crm.kernel.repository import CommandContext, Repository, execute
from crm.sales.application.policy import SalesAction, authorize, owner_for_new
from crm.sales.domain.invoices import Invoice
from crm.sales.domain.orders import Order
from crm.sales.domain.pricing import LineRequest
from crm.sales.domain.products import PriceBook, Product, normalise_sku
from crm.sales.domain.quotes import Quote, today

NAMESPACE = UUID("4b0e7f0c-59a4-4c39-9a53-5d1f3e2f8a61")
DEFAULT_PAYMENT_TERM = timedelta(days=30)


def product_id_for(tenant: str, sku: str) -> str:
    """The one product id a sku can have in a tenant."""
    return str(uuid5(NAMESPACE, f"product\x00{tenant}\x00{normalise_sku(sku)}"))


def order_id_for_quote(quote_id: str) -> str:
    return str(uuid5(NAMESPACE, f"order-from-quote\x00{quote_id}"))


def invoice_id_for_order(order_id: str) -> str:
    return str(uuid5(NAMESPACE, f"invoice-of-order\x00{order_id}"))


def payment_id_for(ctx: CommandContext, given: str | None) -> str:
    """The id ``given``, else one derived from the request's Idempotency-Key (so the key alone
    makes a retried payment the same payment), else a new one."""
    if given is not None:
        return given
    if ctx.idempotency is not None:
        return str(uuid5(NAMESPACE, f"payment\x00{ctx.idempotency.key}"))
    return str(uuid4())


@dataclass(frozen=True, slots=True)
class LineInput:
    """A line as the caller wrote it: a product by id or sku, and optionally its price."""

    quantity: Decimal
    product_id: str | None = None
    sku: str | None = None
    unit_price: Money | None = None
    discount_percent: Decimal = Decimal(0)
    description: str | None = None
    line_id: str | None = None


def _next_line_id(taken: Sequence[str]) -> str:
    n = len(taken) + 1
    while f"L{n}" in taken:
        n += 1
    return f"L{n}"


class OrderService:
    def __init__(self, store: EventStore, codec: EventCodec) -> None:
        self.store = store
        self.products = Repository(store, codec, Product)
        self.price_books = Repository(store, codec, PriceBook)
        self.quotes = Repository(store, codec, Quote)
        self.orders = Repository(store, codec, Order)
        self.invoices = Repository(store, codec, Invoice)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _configure(ctx: CommandContext, what: str) -> None:
        authorize(ctx, SalesAction.CONFIGURE, what=what, owned=False)

    @staticmethod
    def _work(ctx: CommandContext, owner_id: str, team_id: str | None, what: str) -> None:
        """A record's owner and team decide who works it: its rep, their team's manager."""
        authorize(ctx, SalesAction.WORK, what=what, owner_id=owner_id, team_id=team_id)

    async def _current(self, stream_id: str) -> AppendResult:
        """Where an existing stream stands, answered like an append of nothing."""
        envelopes = await self.store.read_stream(stream_id)
        last = envelopes[-1]
        return AppendResult(stream_id, last.stream_version, last.position)

    async def _resolve_lines(
        self,
        ctx: CommandContext,
        currency: str,
        lines: Sequence[LineInput],
        price_book_id: str | None,
    ) -> list[LineRequest]:
        """Each line's product (which must be in the catalogue and not retired) and unit
        price: the one given, else the price book's, else the product's list price."""
        book = None
        if price_book_id is not None:
            try:
                book = (await self.price_books.load(price_book_id, tenant=ctx.tenant)).state
            except NotFound:
                raise InvalidCommand("price_book_id", "no such price book") from None
            if book.currency != currency:
                raise InvalidCommand("price_book_id", f"the price book is in {book.currency}")
        requests = []
        for i, line in enumerate(lines):
            field = f"lines.{i}"
            if line.product_id is not None:
                product_id, named = line.product_id, f"{field}.product_id"
            elif line.sku is not None:
                named = f"{field}.sku"
                try:
                    product_id = product_id_for(ctx.tenant, line.sku)
                except InvalidCommand as e:
                    raise InvalidCommand(named, e.message) from None
            else:
                raise InvalidCommand(f"{field}.product_id", "give a product_id or a sku")
            try:
                product = await self.products.load(product_id, tenant=ctx.tenant)
            except NotFound:
                raise InvalidCommand(named, "no such product in the catalogue") from None
            p = product.state
            assert p.sku is not None
            assert p.list_price is not None
            if p.retired:
                raise RuleViolated(f"product {p.sku} is retired", code="product_retired")
            unit_price = line.unit_price
            if unit_price is None and book is not None:
                unit_price = book.price_for(p.sku)
                if unit_price is None:
                    raise InvalidCommand(f"{field}.sku", f"the price book has no price for {p.sku}")
            if unit_price is None:
                unit_price = p.list_price
                if unit_price.currency != currency:
                    raise InvalidCommand(
                        f"{field}.unit_price",
                        f"the list price is in {unit_price.currency}: give a unit_price "
                        f"or a price book in {currency}",
                    )
            requests.append(
                LineRequest(
                    line_id=line.line_id or "",
                    product_id=product.id,
                    sku=p.sku,
                    quantity=line.quantity,
                    unit_price=unit_price,
                    discount_percent=line.discount_percent,
                    description=line.description,
                )
            )
        return requests

    # -- products and price books ------------------------------------------------------------

    async def create_product(
        self,
        ctx: CommandContext,
        *,
        sku: str,
        name: str,
        list_price: Money,
        description: str | None = None,
    ) -> AppendResult:
        self._configure(ctx, "product")
        product_id = product_id_for(ctx.tenant, sku)
        try:
            return await execute(
                self.products,
                product_id,
                lambda p: p.define(
                    sku=sku, name=name, list_price=list_price, description=description
                ),
                ctx,
                create=True,
            )
        except WrongExpectedVersion:
            raise RuleViolated(
                f"sku {normalise_sku(sku)} is already in the catalogue as product {product_id}",
                code="sku_taken",
            ) from None

    async def reprice_product(
        self, ctx: CommandContext, product_id: str, list_price: Money
    ) -> AppendResult:
        self._configure(ctx, "product")
        return await execute(self.products, product_id, lambda p: p.reprice(list_price), ctx)

    async def retire_product(
        self, ctx: CommandContext, product_id: str, reason: str | None
    ) -> AppendResult:
        self._configure(ctx, "product")
        return await execute(self.products, product_id, lambda p: p.retire(reason), ctx)

    async def create_price_book(
        self, ctx: CommandContext, *, name: str, currency: str
    ) -> AppendResult:
        self._configure(ctx, "price book")
        return await execute(
            self.price_books,
            str(uuid4()),
            lambda b: b.define(name=name, currency=currency),
            ctx,
            create=True,
        )

    async def set_price(
        self, ctx: CommandContext, price_book_id: str, sku: str, unit_price: Money
    ) -> AppendResult:
        """Price a catalogue product in the book; a retired product is not priced again."""
        self._configure(ctx, "price book")
        try:
            product = await self.products.load(product_id_for(ctx.tenant, sku), tenant=ctx.tenant)
        except NotFound:
            raise NotFound(f"no product has the sku {normalise_sku(sku)}") from None
        if product.state.retired:
            raise RuleViolated(f"product {product.state.sku} is retired", code="product_retired")
        return await execute(
            self.price_books,
            price_book_id,
            lambda b: b.set_entry(sku=sku, product_id=product.id, unit_price=unit_price),
            ctx,
        )

    async def remove_price(self, ctx: CommandContext, price_book_id: str, sku: str) -> AppendResult:
        self._configure(ctx, "price book")
        return await execute(self.price_books, price_book_id, lambda b: b.remove_entry(sku), ctx)

    # -- quotes ------------------------------------------------------------------------------

    async def draft_quote(
        self,
        ctx: CommandContext,
        *,
        customer_id: str,
        currency: str,
        valid_until: date,
        lines: Sequence[LineInput],
        opportunity_id: str | None = None,
        campaign_id: str | None = None,
        owner_id: str | None = None,
        price_book_id: str | None = None,
    ) -> AppendResult:
        """Draft a quote with its first lines, in one append."""
        owner, team = owner_for_new(ctx, owner_id, what="quote")
        requests = await self._resolve_lines(ctx, currency, lines, price_book_id)

        def draft(quote: Quote) -> None:
            quote.draft(
                customer_id=customer_id,
                owner_id=owner,
                currency=currency,
                valid_until=valid_until,
                now=ctx.now,
                opportunity_id=opportunity_id,
                campaign_id=campaign_id,
                team_id=team,
            )
            self._add(quote, requests)

        return await execute(self.quotes, str(uuid4()), draft, ctx, create=True)

    @staticmethod
    def _add(quote: Quote, requests: Sequence[LineRequest]) -> None:
        for request in requests:
            line_id = request.line_id or _next_line_id(list(quote.state.lines))
            quote.add_line(replace(request, line_id=line_id))

    async def add_quote_lines(
        self,
        ctx: CommandContext,
        quote_id: str,
        lines: Sequence[LineInput],
        price_book_id: str | None = None,
    ) -> AppendResult:
        quote = await self.quotes.load(quote_id, tenant=ctx.tenant)
        self._work(ctx, quote.state.owner_id, quote.state.team_id, f"quote {quote_id}")
        requests = await self._resolve_lines(ctx, quote.state.currency, lines, price_book_id)

        def add(q: Quote) -> None:
            self._work(ctx, q.state.owner_id, q.state.team_id, f"quote {quote_id}")
            self._add(q, requests)

        return await execute(self.quotes, quote_id, add, ctx)

    def _on_quote(
        self, ctx: CommandContext, quote_id: str, command: Callable[[Quote], None]
    ) -> Callable[[Quote], None]:
        def guarded(quote: Quote) -> None:
            self._work(ctx, quote.state.owner_id, quote.state.team_id, f"quote {quote_id}")
            command(quote)

        return guarded

    async def send_quote(self, ctx: CommandContext, quote_id: str) -> AppendResult:
        action = self._on_quote(ctx, quote_id, lambda q: q.send(ctx.now))
        return await execute(self.quotes, quote_id, action, ctx)

    async def accept_quote(self, ctx: CommandContext, quote_id: str) -> AppendResult:
        action = self._on_quote(ctx, quote_id, lambda q: q.accept(ctx.now))
        return await execute(self.quotes, quote_id, action, ctx)

    async def reject_quote(
        self, ctx: CommandContext, quote_id: str, reason: str | None
    ) -> AppendResult:
        action = self._on_quote(ctx, quote_id, lambda q: q.reject(reason))
        return await execute(self.quotes, quote_id, action, ctx)

    # -- orders ------------------------------------------------------------------------------

    async def order_from_quote(self, ctx: CommandContext, quote_id: str) -> AppendResult:
        """The accepted quote records its order, then the order is placed from it. A retry,
        with or without the same key, or a concurrent duplicate, ends at the same order."""
        order_id = order_id_for_quote(quote_id)
        mark = self._on_quote(ctx, quote_id, lambda q: q.mark_ordered(order_id))
        await execute(self.quotes, quote_id, mark, replace(ctx, idempotency=None))
        quote = await self.quotes.load(quote_id, tenant=ctx.tenant)
        try:
            return await execute(
                self.orders, order_id, lambda o: o.place_from_quote(quote), ctx, create=True
            )
        except WrongExpectedVersion:
            return await self._current(Order.stream_id_for(order_id))

    async def place_order(
        self,
        ctx: CommandContext,
        *,
        customer_id: str,
        currency: str,
        lines: Sequence[LineInput],
        campaign_id: str | None = None,
        opportunity_id: str | None = None,
        owner_id: str | None = None,
        price_book_id: str | None = None,
    ) -> AppendResult:
        """An order placed directly, without a quote."""
        owner, team = owner_for_new(ctx, owner_id, what="order")
        resolved = await self._resolve_lines(ctx, currency, lines, price_book_id)
        requests: list[LineRequest] = []
        for request in resolved:
            line_id = request.line_id or _next_line_id([r.line_id for r in requests])
            requests.append(replace(request, line_id=line_id))
        return await execute(
            self.orders,
            str(uuid4()),
            lambda o: o.place(
                customer_id=customer_id,
                owner_id=owner,
                currency=currency,
                lines=requests,
                opportunity_id=opportunity_id,
                campaign_id=campaign_id,
                team_id=team,
            ),
            ctx,
            create=True,
        )

    async def _on_order(
        self, ctx: CommandContext, order_id: str, command: Callable[[Order], None]
    ) -> AppendResult:
        def guarded(order: Order) -> None:
            self._work(ctx, order.state.owner_id, order.state.team_id, f"order {order_id}")
            command(order)

        return await execute(self.orders, order_id, guarded, ctx)

    async def ship_order(
        self, ctx: CommandContext, order_id: str, carrier: str | None, tracking_ref: str | None
    ) -> AppendResult:
        return await self._on_order(
            ctx, order_id, lambda o: o.ship(carrier=carrier, tracking_ref=tracking_ref)
        )

    async def deliver_order(self, ctx: CommandContext, order_id: str) -> AppendResult:
        return await self._on_order(ctx, order_id, lambda o: o.deliver())

    async def cancel_order(
        self, ctx: CommandContext, order_id: str, reason: str | None
    ) -> AppendResult:
        return await self._on_order(ctx, order_id, lambda o: o.cancel(reason))

    async def return_order(self, ctx: CommandContext, order_id: str, reason: str) -> AppendResult:
        return await self._on_order(ctx, order_id, lambda o: o.return_(reason))

    # -- invoices and payments ---------------------------------------------------------------

    async def issue_invoice(
        self, ctx: CommandContext, order_id: str, due_date: date | None = None
    ) -> AppendResult:
        """Invoice an order, due ``due_date`` (default: 30 days after today). One invoice per
        order: its id is derived from the order's, so a second issue is refused."""
        order = await self.orders.load(order_id, tenant=ctx.tenant)
        self._work(ctx, order.state.owner_id, order.state.team_id, f"order {order_id}")
        issued = today(ctx.now)
        due = due_date or issued + DEFAULT_PAYMENT_TERM
        invoice_id = invoice_id_for_order(order_id)
        try:
            return await execute(
                self.invoices,
                invoice_id,
                lambda i: i.issue(order, issue_date=issued, due_date=due),
                ctx,
                create=True,
            )
        except WrongExpectedVersion:
            raise RuleViolated(
                f"order {order_id} is already invoiced (invoice {invoice_id})",
                code="already_invoiced",
            ) from None

    async def record_payment(
        self,
        ctx: CommandContext,
        invoice_id: str,
        amount: Money,
        *,
        payment_id: str,
        received_on: date | None = None,
        method: str | None = None,
        reference: str | None = None,
    ) -> AppendResult:
        """Record payment ``payment_id`` (see :func:`payment_id_for`); the same payment again
        records nothing."""
        on = received_on or today(ctx.now)

        def pay(invoice: Invoice) -> None:
            i = invoice.state
            self._work(ctx, i.owner_id, i.team_id, f"invoice {invoice_id}")
            invoice.record_payment(
                payment_id, amount, received_on=on, method=method, reference=reference
            )

        return await execute(self.invoices, invoice_id, pay, ctx)

    async def void_invoice(
        self, ctx: CommandContext, invoice_id: str, reason: str | None
    ) -> AppendResult:
        def void(invoice: Invoice) -> None:
            i = invoice.state
            self._work(ctx, i.owner_id, i.team_id, f"invoice {invoice_id}")
            invoice.void(reason)

        return await execute(self.invoices, invoice_id, void, ctx)
