"""The quote's commands: draft it with its first lines, edit its lines while it is a draft,
send it, and the customer's answer (accept, reject) or the scheduler's expiry.

A quote is worked by its owner and their team's manager (the policy's scope); a rep drafts
quotes for themselves. Lines are priced from the catalogue before the quote acts (see
:class:`~crm.sales.application.catalogue.Catalogue`). Turning an accepted quote into an order
is a process over two streams: :mod:`crm.sales.application.quote_to_order`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from uuid import uuid4

from crm.kernel.commands import CommandTable, Expect
from crm.kernel.directory import Customers
from crm.kernel.errors import InvalidCommand
from crm.kernel.repository import CommandContext
from crm.sales.application.catalogue import Catalogue, LineInput, next_line_id
from crm.sales.application.policy import POLICY, SalesAction, owner_for_new, scope_of
from crm.sales.domain.pricing import LineRequest
from crm.sales.domain.quotes import Quote


@dataclass(frozen=True, slots=True)
class DraftQuote:
    """Draft a quote with its first lines, in one append."""

    customer_id: str
    currency: str
    valid_until: date
    lines: tuple[LineInput, ...]
    opportunity_id: str | None = None
    campaign_id: str | None = None
    owner_id: str | None = None
    """The owning rep; None: whoever drafts it."""
    price_book_id: str | None = None
    quote_id: str = field(default_factory=lambda: str(uuid4()))


@dataclass(frozen=True, slots=True)
class AddQuoteLines:
    quote_id: str
    lines: tuple[LineInput, ...]
    price_book_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeQuoteLine:
    """Replace line ``line.line_id`` (priced again, like a new line)."""

    quote_id: str
    line: LineInput
    price_book_id: str | None = None

    def __post_init__(self) -> None:
        if self.line.line_id is None:
            raise InvalidCommand("line_id", "names the line to change")


@dataclass(frozen=True, slots=True)
class RemoveQuoteLine:
    quote_id: str
    line_id: str


@dataclass(frozen=True, slots=True)
class SendQuote:
    quote_id: str


@dataclass(frozen=True, slots=True)
class AcceptQuote:
    quote_id: str


@dataclass(frozen=True, slots=True)
class RejectQuote:
    quote_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MarkQuoteOrdered:
    """Record that the accepted quote became ``order_id`` (the first step of
    :mod:`~crm.sales.application.quote_to_order`); again for the same order, nothing."""

    quote_id: str
    order_id: str


@dataclass(frozen=True, slots=True)
class ExpireQuote:
    """Sent by the scheduler for a sent quote past its validity; records nothing otherwise."""

    quote_id: str


def _add(quote: Quote, requests: Sequence[LineRequest]) -> None:
    for request in requests:
        line_id = request.line_id or next_line_id(list(quote.state.lines))
        quote.add_line(replace(request, line_id=line_id))


def quote_commands(catalogue: Catalogue, customers: Customers) -> CommandTable[Quote]:
    """The table of quotes (``catalogue`` prices their lines; ``customers`` is the directory
    a quote's customer must be in, for the actor)."""

    async def draft(quote: Quote, cmd: DraftQuote, ctx: CommandContext) -> None:
        owner, team = owner_for_new(ctx, cmd.owner_id, what="quote")
        await customers.require(ctx, cmd.customer_id)
        requests = await catalogue.priced(ctx.tenant, cmd.currency, cmd.lines, cmd.price_book_id)
        quote.draft(
            customer_id=cmd.customer_id,
            owner_id=owner,
            currency=cmd.currency,
            valid_until=cmd.valid_until,
            now=ctx.now,
            opportunity_id=cmd.opportunity_id,
            campaign_id=cmd.campaign_id,
            team_id=team,
        )
        _add(quote, requests)

    async def add_lines(quote: Quote, cmd: AddQuoteLines, ctx: CommandContext) -> None:
        currency = quote.state.currency
        _add(quote, await catalogue.priced(ctx.tenant, currency, cmd.lines, cmd.price_book_id))

    async def change_line(quote: Quote, cmd: ChangeQuoteLine, ctx: CommandContext) -> None:
        currency = quote.state.currency
        (request,) = await catalogue.priced(ctx.tenant, currency, (cmd.line,), cmd.price_book_id)
        quote.change_line(request)

    t = CommandTable(
        Quote,
        POLICY,
        scope=lambda q: scope_of(q.state.owner_id, q.state.team_id),
        id_field="quote_id",
    )
    work = SalesAction.WORK
    t.on(DraftQuote, Expect.NEW, None, draft)  # owner_for_new authorises
    t.on(AddQuoteLines, Expect.EXISTING, work, add_lines)
    t.on(ChangeQuoteLine, Expect.EXISTING, work, change_line)
    t.on(RemoveQuoteLine, Expect.EXISTING, work, lambda q, cmd, _: q.remove_line(cmd.line_id))
    t.on(SendQuote, Expect.EXISTING, work, lambda q, _, ctx: q.send(ctx.now))
    t.on(AcceptQuote, Expect.EXISTING, work, lambda q, _, ctx: q.accept(ctx.now))
    t.on(RejectQuote, Expect.EXISTING, work, lambda q, cmd, _: q.reject(cmd.reason))
    t.on(MarkQuoteOrdered, Expect.EXISTING, work, lambda q, cmd, _: q.mark_ordered(cmd.order_id))
    t.on(ExpireQuote, Expect.EXISTING, work, lambda q, _, ctx: q.expire(ctx.now))
    return t
