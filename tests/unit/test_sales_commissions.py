"""Commissions in the domain: rates, attainment tiers crossed mid-month, splits, half-even
rounding to the cent, plan versions that never rewrite the past, closed statements and
clawbacks that add up to what was earned, with figures worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm.events import DomainEvent
from crm.events.commissions import (
    AttainmentTier,
    CommissionBasis,
    CommissionEarned,
    CommissionRate,
    CommissionStatementApproved,
    EntrySource,
    PlanTerms,
    RateKind,
    SplitShare,
)
from crm.events.money import Money
from crm.events.sales_orders import LineItem
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.commissions import (
    CommissionPlans,
    CommissionSplit,
    CommissionStatement,
    StatementClosed,
    compute,
    months_from,
    next_month,
    plan_for,
    rate_for,
    share_of,
    tier_multiplier,
)

D = Decimal


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def line(sku: str, total: str) -> LineItem:
    return LineItem(
        line_id=sku,
        product_id=f"p-{sku}",
        sku=sku,
        quantity=D(1),
        unit_price=eur(total),
        line_total=eur(total),
    )


TIERED = PlanTerms(
    currency="EUR",
    basis=CommissionBasis.COLLECTED,
    base_rate=D(5),
    rates=(
        CommissionRate(kind=RateKind.PRODUCT, key="GOLD-1", rate=D(12)),
        CommissionRate(kind=RateKind.GROUP, key="hardware", rate=D(3)),
        CommissionRate(kind=RateKind.CUSTOMER_TIER, key="key-accounts", rate=D(8)),
    ),
    product_groups={"hardware": ("HW-1", "GOLD-1")},
    customer_tiers={"key-accounts": ("c-big",)},
    tiers=(
        AttainmentTier(from_percent=D(0), multiplier=D(1)),
        AttainmentTier(from_percent=D(100), multiplier=D("1.5")),
    ),
)


def test_a_line_takes_its_skus_rate_then_its_groups_then_its_customers_tier_then_the_base() -> None:
    assert rate_for(TIERED, line("GOLD-1", "1"), "c-big") == 12  # sku before its group
    assert rate_for(TIERED, line("HW-1", "1"), "c-big") == 3  # group before the tier
    assert rate_for(TIERED, line("SW-1", "1"), "c-big") == 8
    assert rate_for(TIERED, line("SW-1", "1"), "c-small") == 5


def test_a_sale_that_crosses_the_target_mid_month_is_paid_at_both_tiers() -> None:
    # target 10 000, 9 000 reached: of 2 000 the first 1 000 earns x1, the next 1 000 x1.5
    assert tier_multiplier(TIERED, D(9000), D(2000), D(10000)) == D("1.25")
    found = compute(
        TIERED,
        [line("SW-1", "2000.00")],
        "c-small",
        fraction=D(1),
        share_percent=D(100),
        before=D(9000),
        target=D(10000),
    )
    # 2 000 x 5 % = 100 at x1.25 = 125.00
    assert (found.commission, found.revenue) == (eur("125.00"), eur("2000.00"))
    assert found.attainment_before == 90
    # wholly below, wholly above, and no target (the first tier)
    assert tier_multiplier(TIERED, D(0), D(2000), D(10000)) == 1
    assert tier_multiplier(TIERED, D(10000), D(500), D(10000)) == D("1.5")
    assert tier_multiplier(TIERED, D(99999), D(500), None) == 1


def test_a_split_share_of_a_payment_is_rounded_once_half_to_even() -> None:
    lines = [line("SW-1", "12.25"), line("HW-1", "100.00")]
    # a payment of half the invoice, 50 % share: SW 3.0625 x 5 % = 0.153125,
    # HW 25.00 x 3 % = 0.75; 0.903125 -> 0.90
    found = compute(
        TIERED, lines, "c", fraction=D("0.5"), share_percent=D(50), before=D(0), target=None
    )
    assert (found.commission, found.revenue) == (eur("0.90"), eur("28.06"))
    flat = TIERED.model_copy(update={"tiers": (), "rates": (), "base_rate": D(10)})
    # 12.25 x 10 % = 1.225 -> 1.22 (half to even; half up would give 1.23); 12.35 -> 1.24
    one = compute(
        flat,
        [line("A", "12.25")],
        "c",
        fraction=D(1),
        share_percent=D(100),
        before=D(0),
        target=None,
    )
    other = compute(
        flat,
        [line("A", "12.35")],
        "c",
        fraction=D(1),
        share_percent=D(100),
        before=D(0),
        target=None,
    )
    assert (one.commission, other.commission) == (eur("1.22"), eur("1.24"))


def test_partial_refunds_claw_back_exactly_what_was_earned_in_all() -> None:
    earned = eur("10.01")
    # a payment of 30.00 refunded 10.00 then 20.00
    first = share_of(earned, D(0), D(30)) - share_of(earned, D(10), D(30))
    second = share_of(earned, D(10), D(30)) - share_of(earned, D(30), D(30))
    assert (first, second) == (eur("-3.34"), eur("-6.67"))
    assert earned + first + second == eur("0.00")


def plan_history() -> list[DomainEvent]:
    """Plan p1 from 1 January at 5 %, and (decided on 20 February) at 7 % from 1 March."""
    plans = CommissionPlans.create("t:plans")
    plans.add_plan(
        "p1",
        "Field sales",
        TIERED,
        effective_from=date(2026, 1, 1),
        effective_to=None,
        today=date(2026, 1, 1),
    )
    richer = TIERED.model_copy(update={"base_rate": D(7)})
    plans.revise("p1", richer, effective_from=date(2026, 3, 1), today=date(2026, 2, 20))
    return list(plans.changes)


def test_a_plan_change_applies_from_its_date_and_never_to_the_past() -> None:
    history = plan_history()
    plans = CommissionPlans.rehydrate("t:plans", history, len(history) - 1)
    before = plan_for(plans.state, "alice", date(2026, 2, 28), "EUR")
    after = plan_for(plans.state, "alice", date(2026, 3, 1), "EUR")
    assert before is not None
    assert after is not None
    assert (before[1].version, before[1].terms.base_rate) == (1, 5)
    assert (after[1].version, after[1].terms.base_rate) == (2, 7)
    assert plan_for(plans.state, "alice", date(2025, 12, 31), "EUR") is None
    assert plan_for(plans.state, "alice", date(2026, 3, 1), "USD") is None
    with pytest.raises(InvalidCommand) as past:
        plans.revise("p1", TIERED, effective_from=date(2026, 3, 15), today=date(2026, 4, 1))
    assert past.value.field == "effective_from"
    with pytest.raises(InvalidCommand):  # not after the last version's start
        plans.revise("p1", TIERED, effective_from=date(2026, 3, 1), today=date(2026, 3, 1))
    plans.end("p1", effective_to=date(2026, 6, 30), today=date(2026, 4, 1))
    ended = CommissionPlans.rehydrate("t:plans", [*history, *plans.changes], len(history))
    assert plan_for(ended.state, "alice", date(2026, 6, 30), "EUR") is not None
    assert plan_for(ended.state, "alice", date(2026, 7, 1), "EUR") is None


def test_a_plan_naming_the_rep_pays_them_before_the_plan_for_everyone() -> None:
    plans = CommissionPlans.create("t:plans")
    day = date(2026, 3, 1)
    plans.add_plan("all", "All", TIERED, effective_from=day, effective_to=None, today=day)
    named = TIERED.model_copy(update={"rep_ids": ("bob",)})
    plans.add_plan("bob", "Bob's", named, effective_from=day, effective_to=None, today=day)
    state = CommissionPlans.rehydrate("t:plans", plans.changes, 1).state
    assert plan_for(state, "bob", day, "EUR")[0].plan_id == "bob"  # type: ignore[index]
    assert plan_for(state, "alice", day, "EUR")[0].plan_id == "all"  # type: ignore[index]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"base_rate": D(101)}, "terms.base_rate"),
        ({"hold_until_collected": True}, "terms.hold_until_collected"),
        (
            {"tiers": (AttainmentTier(from_percent=D(50), multiplier=D(1)),)},
            "terms.tiers.0.from_percent",
        ),
        (
            {"rates": (CommissionRate(kind=RateKind.GROUP, key="nope", rate=D(1)),)},
            "terms.rates.0.key",
        ),
    ],
)
def test_terms_that_cannot_be_applied_are_refused_naming_the_field(
    change: dict[str, object], field: str
) -> None:
    plans = CommissionPlans.create("t:plans")
    day = date(2026, 3, 1)
    with pytest.raises(InvalidCommand) as refused:
        plans.add_plan(
            "p",
            "P",
            TIERED.model_copy(update=change),
            effective_from=day,
            effective_to=None,
            today=day,
        )
    assert refused.value.field == field


def test_a_split_adds_up_to_a_hundred() -> None:
    split = CommissionSplit.create("o1")
    with pytest.raises(InvalidCommand):
        split.set("o1", [SplitShare(rep_id="a", percent=D(60))], None)
    with pytest.raises(InvalidCommand):
        split.set(
            "o1",
            [SplitShare(rep_id="a", percent=D(50)), SplitShare(rep_id="a", percent=D(50))],
            None,
        )
    split.set(
        "o1", [SplitShare(rep_id="a", percent=D(70)), SplitShare(rep_id="b", percent=D(30))], "t1"
    )
    assert len(split.changes) == 1


def earned(entry_id: str, commission: str, *, held: bool = False) -> CommissionEarned:
    return CommissionEarned(
        entry_id=entry_id,
        rep_id="alice",
        period="2026-03",
        source=EntrySource.PAYMENT,
        order_id="o1",
        customer_id="c",
        plan_id="p1",
        plan_version=1,
        basis=CommissionBasis.COLLECTED,
        share_percent=D(100),
        revenue=eur("100.00"),
        commission=eur(commission),
        held=held,
        occurred_on=date(2026, 3, 5),
    )


def test_an_approved_statement_is_closed_and_nobody_approves_their_own() -> None:
    statement = CommissionStatement.create("t:alice-2026-03")
    with pytest.raises(NotFound):
        statement.approve("boss")
    statement.earn(earned("e1", "5.00"))
    statement.earn(earned("e1", "5.00"))  # posted once
    statement.earn(earned("e2", "2.50", held=True))
    assert len(statement.changes) == 2
    s = CommissionStatement.rehydrate("t:alice-2026-03", statement.changes, 1)
    assert (s.state.payable, s.state.held, s.state.revenue) == (D("5.00"), D("2.50"), D("200.00"))
    with pytest.raises(RuleViolated):
        s.approve("alice")
    s.approve("boss", "March")
    approved = s.changes[-1]
    assert isinstance(approved, CommissionStatementApproved)
    assert (approved.payable, approved.entries) == (eur("5.00"), 2)
    closed = CommissionStatement.rehydrate("t:alice-2026-03", [*statement.changes, approved], 2)
    with pytest.raises(StatementClosed):
        closed.earn(earned("e3", "1.00"))


def test_months() -> None:
    assert next_month("2026-12") == "2027-01"
    assert months_from("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
