"""The order: what a customer bought, from an accepted quote or placed directly.

Its life is a line: placed -> shipped -> delivered, with two exits: cancelled (only before it
ships; after that the goods are on their way) and returned (only once delivered, with a reason).
An order remembers the campaign, opportunity and quote it came from, so revenue is attributed
without looking anything up, and the sales team it belongs to (whose manager works it): its
quote's, or the one it was placed in directly. Placing from a quote copies the quote's lines,
attribution and team and requires the quote to have recorded this order (see
:meth:`Quote.mark_ordered`), which is what makes one quote become exactly one order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Self

from crm.events import DomainEvent
from crm.events.money import Money
from crm.events.sales_orders import (
    LineItem,
    OrderCancelled,
    OrderDelivered,
    OrderPlaced,
    OrderReturned,
    OrderShipped,
    OrderStatus,
    QuoteStatus,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain import pricing
from crm.sales.domain.checks import optional_text, required_text
from crm.sales.domain.quotes import MAX_LINES, Quote


@dataclass(frozen=True, slots=True)
class OrderState:
    status: OrderStatus | None = None
    customer_id: str = ""
    owner_id: str = ""
    currency: str = ""
    lines: tuple[LineItem, ...] = ()
    total: Money | None = None
    quote_id: str | None = None
    opportunity_id: str | None = None
    campaign_id: str | None = None
    team_id: str | None = None

    @property
    def placed(self) -> bool:
        return self.status is not None

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case OrderPlaced():
                return replace(
                    self,
                    status=OrderStatus.PLACED,
                    customer_id=event.customer_id,
                    owner_id=event.owner_id,
                    currency=event.currency,
                    lines=event.lines,
                    total=event.total,
                    quote_id=event.quote_id,
                    opportunity_id=event.opportunity_id,
                    campaign_id=event.campaign_id,
                    team_id=event.team_id,
                )
            case OrderShipped():
                return replace(self, status=OrderStatus.SHIPPED)
            case OrderDelivered():
                return replace(self, status=OrderStatus.DELIVERED)
            case OrderCancelled():
                return replace(self, status=OrderStatus.CANCELLED)
            case OrderReturned():
                return replace(self, status=OrderStatus.RETURNED)
        return self


class Order(Aggregate[OrderState]):
    category = "order"

    @classmethod
    def initial_state(cls) -> OrderState:
        return OrderState()

    def _require_status(self, status: OrderStatus, doing: str) -> OrderState:
        if not self.state.placed:
            raise NotFound(f"order {self.id} does not exist")
        if self.state.status is not status:
            raise RuleViolated(
                f"only a {status.value} order can be {doing}; this one is {self.state.status}",
                code=f"order_not_{status.value}",
            )
        return self.state

    def _require_new(self) -> None:
        if self.state.placed:
            raise RuleViolated(f"order {self.id} already exists", code="already_exists")

    def _place(
        self,
        *,
        customer_id: str,
        owner_id: str,
        currency: str,
        lines: tuple[LineItem, ...],
        quote_id: str | None,
        opportunity_id: str | None,
        campaign_id: str | None,
        team_id: str | None,
    ) -> None:
        if not lines:
            raise InvalidCommand("lines", "an order has at least one line")
        if len(lines) > MAX_LINES:
            raise InvalidCommand("lines", f"at most {MAX_LINES} lines")
        ids = [line.line_id for line in lines]
        if len(set(ids)) != len(ids):
            raise InvalidCommand("lines", "line ids must be unique")
        self.trigger(
            OrderPlaced(
                customer_id=customer_id,
                owner_id=owner_id,
                currency=currency,
                lines=lines,
                total=pricing.total(lines, currency),
                quote_id=quote_id,
                opportunity_id=opportunity_id,
                campaign_id=campaign_id,
                team_id=team_id,
            )
        )

    # -- commands ----------------------------------------------------------------------------

    def place(
        self,
        *,
        customer_id: str,
        owner_id: str,
        currency: str,
        lines: Sequence[pricing.LineRequest],
        opportunity_id: str | None = None,
        campaign_id: str | None = None,
        team_id: str | None = None,
    ) -> None:
        """Place an order directly, without a quote, in the sales team ``team_id``."""
        self._require_new()
        pricing.currency_code(currency)
        self._place(
            customer_id=required_text(customer_id, "customer_id", max_length=64),
            owner_id=required_text(owner_id, "owner_id", max_length=64),
            currency=currency,
            lines=tuple(pricing.price_line(line, currency) for line in lines),
            quote_id=None,
            opportunity_id=optional_text(opportunity_id, "opportunity_id", max_length=64),
            campaign_id=optional_text(campaign_id, "campaign_id", max_length=64),
            team_id=optional_text(team_id, "team_id", max_length=64),
        )

    def place_from_quote(self, quote: Quote) -> None:
        """Place the order an accepted quote became: same lines, prices, attribution and
        team."""
        self._require_new()
        q = quote.state
        if not q.drafted:
            raise NotFound(f"quote {quote.id} does not exist")
        if q.status is not QuoteStatus.ACCEPTED:
            raise RuleViolated(
                f"only an accepted quote becomes an order; quote {quote.id} is {q.status}",
                code="quote_not_accepted",
            )
        if q.order_id != self.id:
            raise RuleViolated(
                f"quote {quote.id} has not recorded order {self.id}"
                + ("" if q.order_id is None else f" (it became order {q.order_id})"),
                code="quote_not_ordered_as_this",
            )
        self._place(
            customer_id=q.customer_id,
            owner_id=q.owner_id,
            currency=q.currency,
            lines=tuple(q.lines.values()),
            quote_id=quote.id,
            opportunity_id=q.opportunity_id,
            campaign_id=q.campaign_id,
            team_id=q.team_id,
        )

    def ship(self, *, carrier: str | None = None, tracking_ref: str | None = None) -> None:
        state = self._require_status(OrderStatus.PLACED, "shipped")
        self.trigger(
            OrderShipped(
                customer_id=state.customer_id,
                carrier=optional_text(carrier, "carrier"),
                tracking_ref=optional_text(tracking_ref, "tracking_ref"),
            )
        )

    def deliver(self) -> None:
        state = self._require_status(OrderStatus.SHIPPED, "delivered")
        self.trigger(OrderDelivered(customer_id=state.customer_id))

    def cancel(self, reason: str | None = None) -> None:
        """Only before shipping: a shipped order comes back as a return, not a cancellation."""
        state = self._require_status(OrderStatus.PLACED, "cancelled")
        assert state.total is not None
        self.trigger(
            OrderCancelled(
                customer_id=state.customer_id,
                owner_id=state.owner_id,
                total=state.total,
                reason=optional_text(reason, "reason", max_length=2000),
                campaign_id=state.campaign_id,
            )
        )

    def return_(self, reason: str) -> None:
        """Named ``return_`` because ``return`` is a keyword; a reason is required."""
        state = self._require_status(OrderStatus.DELIVERED, "returned")
        assert state.total is not None
        self.trigger(
            OrderReturned(
                customer_id=state.customer_id,
                owner_id=state.owner_id,
                total=state.total,
                reason=required_text(reason, "reason", max_length=2000),
                campaign_id=state.campaign_id,
            )
        )
