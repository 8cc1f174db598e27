"""Quotes and the pricing rule, given/when/then on events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from crm.events import REGISTRY, DomainEvent
from crm.events.money import Money
from crm.events.sales_orders import (
    LineItem,
    QuoteAccepted,
    QuoteDrafted,
    QuoteExpired,
    QuoteLineAdded,
    QuoteLineChanged,
    QuoteLineRemoved,
    QuoteOrdered,
    QuoteRejected,
    QuoteSent,
    QuoteStatus,
)
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.pricing import LineRequest, line_total, price_line, total
from crm.sales.domain.quotes import Quote
from tests.unit.given_when_then import Scenario

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
VALID_UNTIL = date(2026, 5, 31)
AFTER_VALIDITY = datetime(2026, 6, 1, 0, 0, 1, tzinfo=UTC)


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def request(
    line_id: str = "l1",
    quantity: str = "3",
    unit_price: Money | None = None,
    discount: str = "10",
) -> LineRequest:
    return LineRequest(
        line_id=line_id,
        product_id="p-1",
        sku="WID-1",
        quantity=Decimal(quantity),
        unit_price=unit_price or eur("19.90"),
        discount_percent=Decimal(discount),
    )


DRAFTED = QuoteDrafted(
    customer_id="c-1",
    owner_id="rep-1",
    currency="EUR",
    valid_until=VALID_UNTIL,
    opportunity_id="opp-1",
    campaign_id="camp-1",
)
LINE = LineItem(
    line_id="l1",
    product_id="p-1",
    sku="WID-1",
    quantity=Decimal(3),
    unit_price=eur("19.90"),
    discount_percent=Decimal(10),
    line_total=eur("53.73"),
)
LINE_ADDED = QuoteLineAdded(line=LINE)
ATTRIBUTION = {
    "customer_id": "c-1",
    "owner_id": "rep-1",
    "opportunity_id": "opp-1",
    "campaign_id": "camp-1",
}
SENT = QuoteSent(total=eur("53.73"), valid_until=VALID_UNTIL, **ATTRIBUTION)
ACCEPTED = QuoteAccepted(total=eur("53.73"), **ATTRIBUTION)


def quote() -> Scenario[Quote]:
    return Scenario(Quote, "q-1")


# -- the pricing rule ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "price", "discount", "expected"),
    [
        ("3", Money.of("19.90", "EUR"), "10", "53.73"),  # 53.73 exactly
        ("1", Money.of("0.125", "EUR"), "0", "0.12"),  # half to even: down
        ("1", Money.of("0.135", "EUR"), "0", "0.14"),  # half to even: up
        ("1", Money.of("10.005", "EUR"), "0", "10.00"),  # half-up would say 10.01
        ("3", Money.of("100", "JPY"), "12.5", "262"),  # 262.5 -> 262, JPY has no minor unit
        ("2", Money.of("1.0005", "KWD"), "0", "2.001"),  # KWD has three places
        ("7", Money.of("9.99", "EUR"), "100", "0.00"),  # fully discounted
        ("0.5", Money.of("120", "EUR"), "0", "60.00"),  # fractional quantities (hours)
    ],
)
def test_line_total_rounds_half_to_even_at_the_line(
    quantity: str, price: Money, discount: str, expected: str
) -> None:
    result = line_total(Decimal(quantity), price, Decimal(discount))
    assert result == Money.of(expected, price.currency)
    assert format(result.amount, "f") == expected


def test_the_total_is_the_sum_of_rounded_lines() -> None:
    # Each line is 0.125 -> 0.12; rounding the unrounded sum (0.375) would say 0.38.
    lines = [price_line(request(str(i), "1", eur("0.125"), "0"), "EUR") for i in range(3)]
    assert total(lines, "EUR") == eur("0.36")
    assert format(total([], "EUR").amount, "f") == "0.00"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (request(quantity="0"), "quantity"),
        (request(quantity="-1"), "quantity"),
        (request(discount="-0.01"), "discount_percent"),
        (request(discount="100.01"), "discount_percent"),
        (request(unit_price=Money.of("5", "USD")), "unit_price"),
        (request(unit_price=eur("-1")), "unit_price"),
        (request(line_id=" "), "line_id"),
    ],
)
def test_a_bad_line_names_its_field(line: LineRequest, field: str) -> None:
    with pytest.raises(InvalidCommand) as caught:
        price_line(line, "EUR")
    assert caught.value.field == field


def test_boundary_discounts_and_a_free_line_are_fine() -> None:
    assert price_line(request(discount="0"), "EUR").line_total == eur("59.70")
    assert price_line(request(discount="100"), "EUR").line_total == eur("0")
    assert price_line(request(unit_price=eur("0")), "EUR").line_total == eur("0")


# -- drafting and editing ------------------------------------------------------------------


def test_draft_a_quote() -> None:
    q = (
        quote()
        .when(
            lambda q: q.draft(
                customer_id="c-1",
                owner_id="rep-1",
                currency="EUR",
                valid_until=VALID_UNTIL,
                now=NOW,
                opportunity_id="opp-1",
                campaign_id="camp-1",
            )
        )
        .then(DRAFTED)
    )
    assert q.state.status is QuoteStatus.DRAFT


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"valid_until": date(2026, 5, 3)}, "valid_until"),
        ({"currency": "euro"}, "currency"),
        ({"customer_id": ""}, "customer_id"),
        ({"now": datetime(2026, 5, 4, 12, 0)}, "now"),  # naive
    ],
)
def test_draft_refuses_bad_input(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "customer_id": "c-1",
        "owner_id": "rep-1",
        "currency": "EUR",
        "valid_until": VALID_UNTIL,
        "now": NOW,
        **kwargs,
    }
    error = quote().when(lambda q: q.draft(**args)).then_raises(InvalidCommand)  # type: ignore[arg-type]
    assert isinstance(error, InvalidCommand)
    assert error.field == field


def test_a_quote_is_drafted_in_its_team_and_stays_there() -> None:
    q = (
        quote()
        .when(
            lambda q: q.draft(
                customer_id="c-1",
                owner_id="rep-1",
                currency="EUR",
                valid_until=VALID_UNTIL,
                now=NOW,
                team_id=" north ",
            )
        )
        .then(
            QuoteDrafted(
                customer_id="c-1",
                owner_id="rep-1",
                currency="EUR",
                valid_until=VALID_UNTIL,
                team_id="north",
            )
        )
    )
    assert q.state.team_id == "north"
    teamed = DRAFTED.model_copy(update={"team_id": "north"})
    later = quote().given(teamed, LINE_ADDED, SENT, ACCEPTED).when(lambda q: None).then()
    assert later.state.team_id == "north"
    assert quote().given(DRAFTED).when(lambda q: None).then().state.team_id is None


def test_a_quote_drafted_before_teams_were_recorded_still_reads() -> None:
    payload = DRAFTED.model_dump(mode="json")
    del payload["team_id"]
    assert REGISTRY.decode("sales.quote.drafted", 1, payload) == DRAFTED


def test_a_quote_valid_through_today_can_be_drafted() -> None:
    quote().when(
        lambda q: q.draft(
            customer_id="c-1", owner_id="rep-1", currency="EUR", valid_until=NOW.date(), now=NOW
        )
    ).then(
        QuoteDrafted(customer_id="c-1", owner_id="rep-1", currency="EUR", valid_until=NOW.date())
    )


def test_add_a_priced_line() -> None:
    q = quote().given(DRAFTED).when(lambda q: q.add_line(request())).then(LINE_ADDED)
    assert q.state.total == eur("53.73")


def test_one_currency_per_quote() -> None:
    quote().given(DRAFTED).when(
        lambda q: q.add_line(request(unit_price=Money.of("19.90", "USD")))
    ).then_raises(InvalidCommand, "EUR")


def test_a_line_id_is_added_once() -> None:
    quote().given(DRAFTED, LINE_ADDED).when(lambda q: q.add_line(request())).then_raises(
        RuleViolated, "already has a line"
    )


def test_change_a_line_records_the_whole_line() -> None:
    q = (
        quote()
        .given(DRAFTED, LINE_ADDED)
        .when(lambda q: q.change_line(request(quantity="4", discount="0")))
        .then(QuoteLineChanged(line=LINE.model_copy(update=CHANGED)))
    )
    assert q.state.total == eur("79.60")
    quote().given(DRAFTED, LINE_ADDED).when(lambda q: q.change_line(request())).then_nothing()
    quote().given(DRAFTED).when(lambda q: q.change_line(request())).then_raises(NotFound)


CHANGED = {"quantity": Decimal(4), "discount_percent": Decimal(0), "line_total": eur("79.60")}


def test_remove_a_line() -> None:
    q = (
        quote()
        .given(DRAFTED, LINE_ADDED)
        .when(lambda q: q.remove_line("l1"))
        .then(QuoteLineRemoved(line_id="l1"))
    )
    assert not q.state.lines
    quote().given(DRAFTED).when(lambda q: q.remove_line("l1")).then_raises(NotFound)


@pytest.mark.parametrize(
    "history",
    [
        (DRAFTED, LINE_ADDED, SENT),
        (DRAFTED, LINE_ADDED, SENT, ACCEPTED),
        (DRAFTED, LINE_ADDED, SENT, QuoteRejected(total=eur("53.73"), **ATTRIBUTION)),
    ],
)
def test_only_a_draft_is_edited_or_sent(history: tuple[DomainEvent, ...]) -> None:
    commands: list[Callable[[Quote], None]] = [
        lambda q: q.add_line(request("l2")),
        lambda q: q.change_line(request()),
        lambda q: q.remove_line("l1"),
        lambda q: q.send(NOW),
    ]
    for command in commands:
        quote().given(*history).when(command).then_raises(RuleViolated, "only a draft")


def test_commands_on_an_undrafted_quote_are_not_found() -> None:
    quote().when(lambda q: q.send(NOW)).then_raises(NotFound)
    quote().when(lambda q: q.expire(NOW)).then_raises(NotFound)


# -- sending and answering -----------------------------------------------------------------


def test_send_records_the_total_and_attribution() -> None:
    q = quote().given(DRAFTED, LINE_ADDED).when(lambda q: q.send(NOW)).then(SENT)
    assert q.state.status is QuoteStatus.SENT


def test_an_empty_quote_is_not_sent() -> None:
    quote().given(DRAFTED).when(lambda q: q.send(NOW)).then_raises(RuleViolated, "without lines")


def test_a_quote_past_its_validity_is_not_sent() -> None:
    quote().given(DRAFTED, LINE_ADDED).when(lambda q: q.send(AFTER_VALIDITY)).then_raises(
        RuleViolated, "valid until"
    )


def test_accept_a_sent_quote() -> None:
    q = quote().given(DRAFTED, LINE_ADDED, SENT).when(lambda q: q.accept(NOW)).then(ACCEPTED)
    assert q.state.status is QuoteStatus.ACCEPTED


def test_accept_on_the_last_valid_day_in_another_time_zone() -> None:
    # 23:30 on May 31st in UTC-5 is June 1st in UTC: validity is judged in UTC.
    late = datetime(2026, 5, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    quote().given(DRAFTED, LINE_ADDED, SENT).when(lambda q: q.accept(late)).then_raises(
        RuleViolated, "expired"
    )
    last_day = datetime(2026, 5, 31, 23, 59, tzinfo=UTC)
    quote().given(DRAFTED, LINE_ADDED, SENT).when(lambda q: q.accept(last_day)).then(ACCEPTED)


def test_reject_a_sent_quote_with_a_reason() -> None:
    quote().given(DRAFTED, LINE_ADDED, SENT).when(lambda q: q.reject("too expensive")).then(
        QuoteRejected(total=eur("53.73"), reason="too expensive", **ATTRIBUTION)
    )


@pytest.mark.parametrize(
    "history",
    [
        (DRAFTED, LINE_ADDED),
        (DRAFTED, LINE_ADDED, SENT, ACCEPTED),
        (DRAFTED, LINE_ADDED, SENT, QuoteRejected(total=eur("53.73"), **ATTRIBUTION)),
    ],
)
def test_only_a_sent_quote_is_accepted_or_rejected(history: tuple[DomainEvent, ...]) -> None:
    quote().given(*history).when(lambda q: q.accept(NOW)).then_raises(RuleViolated, "only a sent")
    quote().given(*history).when(lambda q: q.reject()).then_raises(RuleViolated, "only a sent")


# -- expiry --------------------------------------------------------------------------------

EXPIRED = QuoteExpired(total=eur("53.73"), valid_until=VALID_UNTIL, **ATTRIBUTION)


def test_a_sent_quote_expires_the_day_after_its_validity() -> None:
    q = (
        quote()
        .given(DRAFTED, LINE_ADDED, SENT)
        .when(lambda q: q.expire(AFTER_VALIDITY))
        .then(EXPIRED)
    )
    assert q.state.status is QuoteStatus.EXPIRED
    quote().given(DRAFTED, LINE_ADDED, SENT, EXPIRED).when(lambda q: q.accept(NOW)).then_raises(
        RuleViolated, "only a sent"
    )


@pytest.mark.parametrize(
    ("history", "now"),
    [
        ((DRAFTED, LINE_ADDED, SENT), datetime(2026, 5, 31, 23, 59, tzinfo=UTC)),  # last day
        ((DRAFTED, LINE_ADDED, SENT, EXPIRED), AFTER_VALIDITY),  # already expired
        ((DRAFTED, LINE_ADDED, SENT, ACCEPTED), AFTER_VALIDITY),  # answered in time
        ((DRAFTED, LINE_ADDED), AFTER_VALIDITY),  # never sent
    ],
)
def test_the_scheduled_expiry_does_nothing_otherwise(
    history: tuple[DomainEvent, ...], now: datetime
) -> None:
    quote().given(*history).when(lambda q: q.expire(now)).then_nothing()


# -- becoming an order ---------------------------------------------------------------------


def test_an_accepted_quote_becomes_exactly_one_order() -> None:
    accepted = (DRAFTED, LINE_ADDED, SENT, ACCEPTED)
    q = (
        quote()
        .given(*accepted)
        .when(lambda q: q.mark_ordered("o-1"))
        .then(QuoteOrdered(order_id="o-1"))
    )
    assert q.state.order_id == "o-1"
    ordered = (*accepted, QuoteOrdered(order_id="o-1"))
    quote().given(*ordered).when(lambda q: q.mark_ordered("o-1")).then_nothing()
    quote().given(*ordered).when(lambda q: q.mark_ordered("o-2")).then_raises(
        RuleViolated, "already became order o-1"
    )


def test_only_an_accepted_quote_becomes_an_order() -> None:
    quote().given(DRAFTED, LINE_ADDED, SENT).when(lambda q: q.mark_ordered("o-1")).then_raises(
        RuleViolated, "only an accepted"
    )
