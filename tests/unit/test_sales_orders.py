"""Orders, placed directly or from an accepted quote, given/when/then on events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from crm.events import REGISTRY, DomainEvent
from crm.events.money import Money
from crm.events.sales_orders import (
    LineItem,
    OrderCancelled,
    OrderDelivered,
    OrderPlaced,
    OrderReturned,
    OrderShipped,
    OrderStatus,
    QuoteAccepted,
    QuoteDrafted,
    QuoteLineAdded,
    QuoteOrdered,
    QuoteSent,
)
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.orders import Order
from crm.sales.domain.pricing import LineRequest
from crm.sales.domain.quotes import Quote
from tests.unit.given_when_then import Scenario


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def widget(line_id: str, quantity: str, discount: str = "0") -> LineRequest:
    return LineRequest(
        line_id=line_id,
        product_id="p-1",
        sku="WID-1",
        quantity=Decimal(quantity),
        unit_price=eur("19.90"),
        discount_percent=Decimal(discount),
    )


def item(line_id: str, quantity: int, line_total: str, discount: int = 0) -> LineItem:
    return LineItem(
        line_id=line_id,
        product_id="p-1",
        sku="WID-1",
        quantity=Decimal(quantity),
        unit_price=eur("19.90"),
        discount_percent=Decimal(discount),
        line_total=eur(line_total),
    )


PLACED = OrderPlaced(
    customer_id="c-1",
    owner_id="rep-1",
    currency="EUR",
    lines=(item("l1", 3, "53.73", 10), item("l2", 1, "19.90")),
    total=eur("73.63"),
    campaign_id="camp-1",
)
SHIPPED = OrderShipped(customer_id="c-1", carrier="DHL", tracking_ref="T-1")
DELIVERED = OrderDelivered(customer_id="c-1")
CANCELLED = OrderCancelled(
    customer_id="c-1", owner_id="rep-1", total=eur("73.63"), campaign_id="camp-1"
)
RETURNED = OrderReturned(
    customer_id="c-1", owner_id="rep-1", total=eur("73.63"), reason="broken", campaign_id="camp-1"
)


def order() -> Scenario[Order]:
    return Scenario(Order, "o-1")


def test_place_an_order_directly_remembering_its_campaign() -> None:
    o = (
        order()
        .when(
            lambda o: o.place(
                customer_id="c-1",
                owner_id="rep-1",
                currency="EUR",
                lines=[widget("l1", "3", "10"), widget("l2", "1")],
                campaign_id="camp-1",
            )
        )
        .then(PLACED)
    )
    assert o.state.status is OrderStatus.PLACED
    assert o.state.campaign_id == "camp-1"


def test_an_order_placed_directly_joins_the_given_team() -> None:
    o = (
        order()
        .when(
            lambda o: o.place(
                customer_id="c-1",
                owner_id="rep-1",
                currency="EUR",
                lines=[widget("l1", "3", "10"), widget("l2", "1")],
                campaign_id="camp-1",
                team_id="north",
            )
        )
        .then(PLACED.model_copy(update={"team_id": "north"}))
    )
    assert o.state.team_id == "north"
    shipped = order().given(PLACED.model_copy(update={"team_id": "north"}), SHIPPED)
    assert shipped.when(lambda o: None).then().state.team_id == "north"


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([widget("l1", "1"), widget("l1", "2")], "lines"),
        ([widget("l1", "0")], "quantity"),
        ([widget("l1", "1", "101")], "discount_percent"),
    ],
)
def test_place_refuses_bad_lines(lines: list[LineRequest], field: str) -> None:
    error = (
        order()
        .when(lambda o: o.place(customer_id="c-1", owner_id="rep-1", currency="EUR", lines=lines))
        .then_raises(InvalidCommand)
    )
    assert isinstance(error, InvalidCommand)
    assert error.field == field


def test_an_order_is_placed_once() -> None:
    order().given(PLACED).when(
        lambda o: o.place(customer_id="c-1", owner_id="rep-1", currency="EUR", lines=[])
    ).then_raises(RuleViolated, "already exists")


def test_the_placed_event_survives_the_wire() -> None:
    payload = PLACED.model_dump(mode="json")
    assert payload["total"] == {"amount": "73.63", "currency": "EUR"}
    assert payload["lines"][0]["quantity"] == "3"
    assert REGISTRY.decode("sales.order.placed", 1, payload) == PLACED


# -- from a quote --------------------------------------------------------------------------

QUOTE_LINE = item("l1", 3, "53.73", 10)
ACCEPTED_QUOTE: tuple[DomainEvent, ...] = (
    QuoteDrafted(
        customer_id="c-1",
        owner_id="rep-1",
        currency="EUR",
        valid_until=date(2026, 5, 31),
        opportunity_id="opp-1",
        campaign_id="camp-1",
    ),
    QuoteLineAdded(line=QUOTE_LINE),
    QuoteSent(
        customer_id="c-1",
        owner_id="rep-1",
        total=eur("53.73"),
        valid_until=date(2026, 5, 31),
        opportunity_id="opp-1",
        campaign_id="camp-1",
    ),
    QuoteAccepted(
        customer_id="c-1",
        owner_id="rep-1",
        total=eur("53.73"),
        opportunity_id="opp-1",
        campaign_id="camp-1",
    ),
)


def a_quote(*extra: DomainEvent) -> Quote:
    history = (*ACCEPTED_QUOTE, *extra)
    return Quote.rehydrate("q-1", history, len(history) - 1)


def test_place_the_order_an_accepted_quote_became() -> None:
    quote = a_quote(QuoteOrdered(order_id="o-1"))
    o = (
        order()
        .when(lambda o: o.place_from_quote(quote))
        .then(
            OrderPlaced(
                customer_id="c-1",
                owner_id="rep-1",
                currency="EUR",
                lines=(QUOTE_LINE,),
                total=eur("53.73"),
                quote_id="q-1",
                opportunity_id="opp-1",
                campaign_id="camp-1",
            )
        )
    )
    assert o.state.quote_id == "q-1"


def test_the_order_of_a_quote_inherits_the_quote_team() -> None:
    teamed = (ACCEPTED_QUOTE[0].model_copy(update={"team_id": "north"}), *ACCEPTED_QUOTE[1:])
    history = (*teamed, QuoteOrdered(order_id="o-1"))
    quote = Quote.rehydrate("q-1", history, len(history) - 1)
    o = (
        order()
        .when(lambda o: o.place_from_quote(quote))
        .then(
            OrderPlaced(
                customer_id="c-1",
                owner_id="rep-1",
                currency="EUR",
                lines=(QUOTE_LINE,),
                total=eur("53.73"),
                quote_id="q-1",
                opportunity_id="opp-1",
                campaign_id="camp-1",
                team_id="north",
            )
        )
    )
    assert o.state.team_id == "north"


def test_a_quote_that_did_not_record_this_order_is_refused() -> None:
    order().when(lambda o: o.place_from_quote(a_quote())).then_raises(
        RuleViolated, "has not recorded order o-1"
    )
    order().when(lambda o: o.place_from_quote(a_quote(QuoteOrdered(order_id="o-9")))).then_raises(
        RuleViolated, "became order o-9"
    )


def test_a_quote_not_accepted_is_refused() -> None:
    sent = Quote.rehydrate("q-1", ACCEPTED_QUOTE[:3], 2)
    order().when(lambda o: o.place_from_quote(sent)).then_raises(RuleViolated, "accepted")
    order().when(lambda o: o.place_from_quote(Quote.create("q-2"))).then_raises(NotFound)


def test_a_retried_conversion_meets_the_placed_order() -> None:
    quote = a_quote(QuoteOrdered(order_id="o-1"))
    order().given(PLACED).when(lambda o: o.place_from_quote(quote)).then_raises(
        RuleViolated, "already exists"
    )


# -- the order's life ----------------------------------------------------------------------


def test_ship_deliver_and_return_with_a_reason() -> None:
    order().given(PLACED).when(lambda o: o.ship(carrier="DHL", tracking_ref="T-1")).then(SHIPPED)
    order().given(PLACED, SHIPPED).when(lambda o: o.deliver()).then(DELIVERED)
    o = order().given(PLACED, SHIPPED, DELIVERED).when(lambda o: o.return_("broken")).then(RETURNED)
    assert o.state.status is OrderStatus.RETURNED


def test_a_return_needs_a_reason() -> None:
    order().given(PLACED, SHIPPED, DELIVERED).when(lambda o: o.return_("  ")).then_raises(
        InvalidCommand, "reason"
    )


def test_cancel_before_shipping() -> None:
    o = order().given(PLACED).when(lambda o: o.cancel()).then(CANCELLED)
    assert o.state.status is OrderStatus.CANCELLED


@pytest.mark.parametrize(
    ("history", "command", "message"),
    [
        ((PLACED, SHIPPED), lambda o: o.ship(), "only a placed order can be shipped"),
        ((PLACED, CANCELLED), lambda o: o.ship(), "only a placed order can be shipped"),
        ((PLACED,), lambda o: o.deliver(), "only a shipped order can be delivered"),
        ((PLACED, SHIPPED, DELIVERED), lambda o: o.deliver(), "only a shipped"),
        ((PLACED, SHIPPED), lambda o: o.cancel(), "only a placed order can be cancelled"),
        ((PLACED, SHIPPED, DELIVERED), lambda o: o.cancel(), "only a placed"),
        ((PLACED, CANCELLED), lambda o: o.cancel(), "only a placed"),
        ((PLACED,), lambda o: o.return_("x"), "only a delivered order can be returned"),
        ((PLACED, SHIPPED), lambda o: o.return_("x"), "only a delivered"),
        ((PLACED, SHIPPED, DELIVERED, RETURNED), lambda o: o.return_("x"), "only a delivered"),
    ],
)
def test_each_step_only_from_its_state(
    history: tuple[DomainEvent, ...], command: Callable[[Order], None], message: str
) -> None:
    order().given(*history).when(command).then_raises(RuleViolated, message)


def test_commands_on_an_unplaced_order_are_not_found() -> None:
    order().when(lambda o: o.ship()).then_raises(NotFound)
