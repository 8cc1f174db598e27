"""Invoices and payments, given/when/then on events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from crm.events import DomainEvent
from crm.events.money import Money
from crm.events.sales_orders import (
    InvoiceIssued,
    InvoiceNumberClaimed,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceStatus,
    InvoiceVoided,
    LineItem,
    OrderCancelled,
    OrderPlaced,
    OrderShipped,
    PaymentRecorded,
)
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.invoices import CLAIM_GRACE, Invoice, InvoiceNumber
from crm.sales.domain.orders import Order
from tests.unit.given_when_then import Scenario

ISSUED_ON = date(2026, 5, 4)
DUE = date(2026, 6, 3)
DAY_AFTER_DUE = datetime(2026, 6, 4, 0, 0, tzinfo=UTC)
LAST_DAY = datetime(2026, 6, 3, 23, 59, tzinfo=UTC)


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


PLACED = OrderPlaced(
    customer_id="c-1",
    owner_id="rep-1",
    currency="EUR",
    lines=(
        LineItem(
            line_id="l1",
            product_id="p-1",
            sku="WID-1",
            quantity=Decimal(5),
            unit_price=eur("20"),
            line_total=eur("100.00"),
        ),
    ),
    total=eur("100.00"),
    campaign_id="camp-1",
)
ISSUED = InvoiceIssued(
    order_id="o-1",
    customer_id="c-1",
    owner_id="rep-1",
    amount=eur("100.00"),
    issue_date=ISSUED_ON,
    due_date=DUE,
    campaign_id="camp-1",
)


def paid(payment_id: str, amount: str, balance: str, on: date = ISSUED_ON) -> PaymentRecorded:
    return PaymentRecorded(
        payment_id=payment_id,
        customer_id="c-1",
        amount=eur(amount),
        received_on=on,
        balance=eur(balance),
    )


FIRST = paid("pay-1", "40", "60.00")
PAID_IN_FULL = InvoicePaid(
    order_id="o-1",
    customer_id="c-1",
    owner_id="rep-1",
    amount=eur("100.00"),
    paid_on=date(2026, 5, 20),
    campaign_id="camp-1",
)
VOIDED = InvoiceVoided(customer_id="c-1", amount=eur("100.00"))


def an_order(*events: DomainEvent) -> Order:
    history = (PLACED, *events)
    return Order.rehydrate("o-1", history, len(history) - 1)


def invoice() -> Scenario[Invoice]:
    return Scenario(Invoice, "inv-1")


# -- issuing -------------------------------------------------------------------------------


def test_issue_for_an_order_copies_its_total_and_attribution() -> None:
    i = (
        invoice()
        .when(lambda i: i.issue(an_order(), issue_date=ISSUED_ON, due_date=DUE))
        .then(ISSUED)
    )
    assert i.state.balance == eur("100")
    invoice().when(
        lambda i: i.issue(
            an_order(OrderShipped(customer_id="c-1")), issue_date=ISSUED_ON, due_date=DUE
        )
    ).then(ISSUED)


def test_the_invoice_inherits_the_order_team_for_its_payments() -> None:
    teamed = PLACED.model_copy(update={"team_id": "north"})
    order = Order.rehydrate("o-1", (teamed,), 0)
    i = (
        invoice()
        .when(lambda i: i.issue(order, issue_date=ISSUED_ON, due_date=DUE))
        .then(ISSUED.model_copy(update={"team_id": "north"}))
    )
    assert i.state.team_id == "north"
    # The payments that follow keep it in the team (payments are listed by their invoice).
    fully_paid = PAID_IN_FULL.model_copy(update={"paid_on": ISSUED_ON})
    settled = (
        invoice()
        .given(i.changes[0], FIRST)
        .when(lambda i: i.record_payment("pay-2", eur("60"), received_on=ISSUED_ON))
        .then(paid("pay-2", "60", "0.00"), fully_paid)
    )
    assert settled.state.team_id == "north"


@pytest.mark.parametrize("due", [ISSUED_ON, date(2026, 5, 3)])
def test_the_due_date_is_after_the_issue_date(due: date) -> None:
    invoice().when(lambda i: i.issue(an_order(), issue_date=ISSUED_ON, due_date=due)).then_raises(
        InvalidCommand, "due_date"
    )


def test_a_cancelled_or_unknown_order_is_not_invoiced() -> None:
    cancelled = an_order(
        OrderCancelled(customer_id="c-1", owner_id="rep-1", total=eur("100"), campaign_id="camp-1")
    )
    invoice().when(lambda i: i.issue(cancelled, issue_date=ISSUED_ON, due_date=DUE)).then_raises(
        RuleViolated, "cannot be invoiced"
    )
    invoice().when(
        lambda i: i.issue(Order.create("o-2"), issue_date=ISSUED_ON, due_date=DUE)
    ).then_raises(NotFound)


def test_an_invoice_is_issued_once() -> None:
    invoice().given(ISSUED).when(
        lambda i: i.issue(an_order(), issue_date=ISSUED_ON, due_date=DUE)
    ).then_raises(RuleViolated, "already exists")


# -- payments ------------------------------------------------------------------------------


def test_a_partial_payment_lowers_the_balance() -> None:
    i = (
        invoice()
        .given(ISSUED)
        .when(lambda i: i.record_payment("pay-1", eur("40"), received_on=ISSUED_ON))
        .then(FIRST)
    )
    assert i.state.balance == eur("60")
    assert i.state.status is InvoiceStatus.ISSUED


def test_the_payment_that_clears_the_balance_pays_the_invoice() -> None:
    i = (
        invoice()
        .given(ISSUED, FIRST)
        .when(
            lambda i: i.record_payment(
                "pay-2", eur("60.00"), received_on=date(2026, 5, 20), method="transfer"
            )
        )
        .then(
            PaymentRecorded(
                payment_id="pay-2",
                customer_id="c-1",
                amount=eur("60.00"),
                received_on=date(2026, 5, 20),
                balance=eur("0.00"),
                method="transfer",
            ),
            PAID_IN_FULL,
        )
    )
    assert i.state.status is InvoiceStatus.PAID


def test_one_payment_in_full_records_the_payment_then_paid() -> None:
    invoice().given(ISSUED).when(
        lambda i: i.record_payment("pay-1", eur("100"), received_on=date(2026, 5, 20))
    ).then(paid("pay-1", "100", "0.00", date(2026, 5, 20)), PAID_IN_FULL)


def test_an_overpayment_is_refused_by_name() -> None:
    error = (
        invoice()
        .given(ISSUED, FIRST)
        .when(lambda i: i.record_payment("pay-2", eur("60.01"), received_on=ISSUED_ON))
        .then_raises(RuleViolated, "overpayment")
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "overpayment"


def test_a_paid_invoice_takes_no_further_payment() -> None:
    error = (
        invoice()
        .given(ISSUED, paid("pay-1", "100", "0.00"), PAID_IN_FULL)
        .when(lambda i: i.record_payment("pay-2", eur("0.01"), received_on=ISSUED_ON))
        .then_raises(RuleViolated, "already paid")
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "overpayment"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (eur("0"), "greater than zero"),
        (eur("-5"), "greater than zero"),
        (Money.of("5", "USD"), "EUR"),
    ],
)
def test_a_payment_is_positive_and_in_the_invoice_currency(amount: Money, message: str) -> None:
    invoice().given(ISSUED).when(
        lambda i: i.record_payment("pay-1", amount, received_on=ISSUED_ON)
    ).then_raises(InvalidCommand, message)


def test_the_same_payment_twice_is_recorded_once() -> None:
    invoice().given(ISSUED, FIRST).when(
        lambda i: i.record_payment("pay-1", eur("40.00"), received_on=ISSUED_ON)
    ).then_nothing()
    settled = (ISSUED, paid("pay-1", "100", "0.00"), PAID_IN_FULL)
    invoice().given(*settled).when(
        lambda i: i.record_payment("pay-1", eur("100"), received_on=ISSUED_ON)
    ).then_nothing()


def test_a_payment_id_reused_for_another_payment_is_refused() -> None:
    invoice().given(ISSUED, FIRST).when(
        lambda i: i.record_payment("pay-1", eur("10"), received_on=ISSUED_ON)
    ).then_raises(RuleViolated, "already recorded")


def test_a_void_invoice_takes_no_payment() -> None:
    invoice().given(ISSUED, VOIDED).when(
        lambda i: i.record_payment("pay-1", eur("10"), received_on=ISSUED_ON)
    ).then_raises(RuleViolated, "void")


def test_payments_on_an_unknown_invoice_are_not_found() -> None:
    invoice().when(
        lambda i: i.record_payment("pay-1", eur("10"), received_on=ISSUED_ON)
    ).then_raises(NotFound)


def test_cents_add_up_exactly() -> None:
    # Three thirds: the last cent decides between paid, still owed and overpaid.
    history: list[DomainEvent] = [ISSUED, paid("a", "33.33", "66.67"), paid("b", "33.33", "33.34")]
    invoice().given(*history).when(
        lambda i: i.record_payment("c", eur("33.35"), received_on=ISSUED_ON)
    ).then_raises(RuleViolated, "overpayment")
    invoice().given(*history).when(
        lambda i: i.record_payment("c", eur("33.33"), received_on=ISSUED_ON)
    ).then(paid("c", "33.33", "0.01"))
    invoice().given(*history).when(
        lambda i: i.record_payment("c", eur("33.34"), received_on=date(2026, 5, 20))
    ).then(paid("c", "33.34", "0.00", date(2026, 5, 20)), PAID_IN_FULL)


# -- overdue -------------------------------------------------------------------------------

OVERDUE = InvoiceOverdue(
    customer_id="c-1", owner_id="rep-1", due_date=DUE, balance=eur("60.00"), as_of=date(2026, 6, 4)
)


def test_unpaid_after_its_due_date_is_overdue_once() -> None:
    i = invoice().given(ISSUED, FIRST).when(lambda i: i.mark_overdue(DAY_AFTER_DUE)).then(OVERDUE)
    assert i.state.overdue
    invoice().given(ISSUED, FIRST, OVERDUE).when(
        lambda i: i.mark_overdue(datetime(2026, 6, 10, tzinfo=UTC))
    ).then_nothing()


def test_an_overdue_invoice_can_still_be_paid() -> None:
    invoice().given(ISSUED, FIRST, OVERDUE).when(
        lambda i: i.record_payment("pay-2", eur("60"), received_on=date(2026, 5, 20))
    ).then(paid("pay-2", "60", "0.00", date(2026, 5, 20)), PAID_IN_FULL)


@pytest.mark.parametrize(
    ("history", "now"),
    [
        ((ISSUED,), LAST_DAY),  # due today is not overdue yet
        ((ISSUED, paid("pay-1", "100", "0.00"), PAID_IN_FULL), DAY_AFTER_DUE),
        ((ISSUED, VOIDED), DAY_AFTER_DUE),
    ],
)
def test_not_overdue_before_the_day_after_nor_when_paid_or_void(
    history: tuple[DomainEvent, ...], now: datetime
) -> None:
    invoice().given(*history).when(lambda i: i.mark_overdue(now)).then_nothing()


def test_the_scheduled_check_needs_a_time_zone_and_an_invoice() -> None:
    invoice().given(ISSUED).when(lambda i: i.mark_overdue(datetime(2026, 6, 10))).then_raises(
        InvalidCommand, "now"
    )
    invoice().when(lambda i: i.mark_overdue(DAY_AFTER_DUE)).then_raises(NotFound)


# -- void ----------------------------------------------------------------------------------


def test_void_an_invoice_without_payments_once() -> None:
    invoice().given(ISSUED).when(lambda i: i.void("order cancelled")).then(
        InvoiceVoided(customer_id="c-1", amount=eur("100.00"), reason="order cancelled")
    )
    invoice().given(ISSUED, VOIDED).when(lambda i: i.void()).then_nothing()


def test_an_invoice_with_payments_is_not_voided() -> None:
    invoice().given(ISSUED, FIRST).when(lambda i: i.void()).then_raises(RuleViolated, "refund")


CLAIMED_AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def claimed_by(invoice_id: str) -> InvoiceNumber:
    event = InvoiceNumberClaimed(number="FP-1", invoice_id=invoice_id, claimed_at=CLAIMED_AT)
    return InvoiceNumber.rehydrate("t:k", [event], 1)


def test_a_number_is_claimed_once_per_invoice() -> None:
    number = InvoiceNumber.create("t:k")
    number.claim("FP-1", "inv-1", now=CLAIMED_AT, holder_holds=False)
    assert [type(e) for e in number.changes] == [InvoiceNumberClaimed]
    again = claimed_by("inv-1")
    again.claim("FP-1", "inv-1", now=CLAIMED_AT + CLAIM_GRACE * 10, holder_holds=True)
    assert again.changes == ()  # its own: nothing


@pytest.mark.parametrize(
    ("later", "holder_holds"),
    [(CLAIM_GRACE * 10, True), (CLAIM_GRACE / 2, False)],
    ids=["issued with it", "its issue may be on the way"],
)
def test_another_invoices_claim_is_refused(later: timedelta, holder_holds: bool) -> None:
    number = claimed_by("inv-1")
    with pytest.raises(RuleViolated) as refused:
        number.claim("FP-1", "inv-2", now=CLAIMED_AT + later, holder_holds=holder_holds)
    assert refused.value.code == "invoice_number_taken"
    assert refused.value.details == {"field": "number", "invoice_id": "inv-1"}


def test_a_claim_whose_invoice_was_never_issued_with_it_is_taken_over_after_the_grace() -> None:
    number = claimed_by("inv-1")
    number.claim("FP-1", "inv-2", now=CLAIMED_AT + CLAIM_GRACE, holder_holds=False)
    (taken,) = number.changes
    assert isinstance(taken, InvoiceNumberClaimed)
    assert taken.invoice_id == "inv-2"
    assert number.state.invoice_id == "inv-2"
