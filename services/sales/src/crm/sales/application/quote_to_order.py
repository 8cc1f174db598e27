"""The process that turns an accepted quote into its order: two appends, on two streams.

1. the quote records the order it becomes (:class:`MarkQuoteOrdered`), so two concurrent
   conversions race on the quote's stream and only one order id can ever be recorded;
2. the order is placed from the quote (:class:`PlaceOrderFromQuote`), which checks that the
   quote names it.

The order id is derived from the quote's (:func:`order_id_for_quote`), so a retry, with or
without the same key, or a concurrent duplicate, meets the same ids and the domain's no-ops,
and ends at the same order.

The promise about the request's idempotency key: the FIRST append runs WITHOUT it and only
the LAST append carries it. Were the first recorded under the key, the second would be
answered as a replay of the first (the quote's position, not the order) and never appended.
A retry under the key therefore runs step 1 again (it records nothing: the quote already
names this order) and step 2 is answered from the key's record.
"""

from __future__ import annotations

from dataclasses import replace

from crm.kernel.commands import CommandBus
from crm.kernel.event_store import AppendResult
from crm.kernel.repository import CommandContext
from crm.sales.application.order_commands import PlaceOrderFromQuote, order_id_for_quote
from crm.sales.application.quote_commands import MarkQuoteOrdered


async def order_from_quote(bus: CommandBus, quote_id: str, ctx: CommandContext) -> AppendResult:
    """The order accepted quote ``quote_id`` became, placed if it was not yet."""
    mark = MarkQuoteOrdered(quote_id, order_id_for_quote(quote_id))
    await bus.execute(mark, replace(ctx, idempotency=None))
    return await bus.execute(PlaceOrderFromQuote(quote_id), ctx)
