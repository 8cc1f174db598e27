"""Customer care's dates: the anniversary of a first order (29 February included), and which
occasions a tenant's rules say are due on a given day."""

from __future__ import annotations

from datetime import date

from crm.activities.domain.care import (
    DEFAULT_RULES,
    CareRules,
    due_care,
    month_days,
    next_anniversary,
)
from crm.events.activities import CareOccasion, CareRule, CareRulesSet, TaskKind
from crm.kernel.errors import InvalidCommand
from tests.unit.given_when_then import Scenario


def test_the_next_anniversary_is_this_years_or_next_and_never_the_first_year() -> None:
    assert next_anniversary(date(2024, 5, 10), date(2026, 5, 1)) == date(2026, 5, 10)
    assert next_anniversary(date(2024, 5, 10), date(2026, 5, 11)) == date(2027, 5, 10)
    assert next_anniversary(date(2026, 3, 1), date(2026, 3, 2)) == date(2027, 3, 1)
    assert next_anniversary(date(2026, 3, 10), date(2026, 3, 2)) is None  # not a year yet
    assert next_anniversary(date(2024, 2, 29), date(2026, 2, 1)) == date(2026, 2, 28)
    assert next_anniversary(date(2024, 2, 29), date(2028, 2, 1)) == date(2028, 2, 29)


def test_month_days_span_the_lookahead_and_take_29_february_with_the_28th() -> None:
    days = month_days(date(2026, 2, 20), 10)
    assert days[0] == "02-20"
    assert days[-1] == "02-29"  # 2026 has no 29th: its anniversaries fall on the 28th
    assert "03-02" in days
    assert len(month_days(date(2026, 6, 1), 60)) == 61


def test_an_occasion_is_due_from_days_before_until_the_day() -> None:
    rules = DEFAULT_RULES  # contract end 30 days before, anniversary 7 days before
    today = date(2026, 3, 2)
    due = due_care(rules, today, first_order_on=date(2025, 3, 9), contract_ends_on=date(2026, 4, 1))
    assert [(d.occasion, d.on) for d in due] == [
        (CareOccasion.CONTRACT_END, date(2026, 4, 1)),
        (CareOccasion.FIRST_ORDER_ANNIVERSARY, date(2026, 3, 9)),
    ]
    assert due_care(rules, today, first_order_on=date(2025, 3, 10), contract_ends_on=None) == []
    assert due_care(rules, today, first_order_on=None, contract_ends_on=date(2026, 4, 2)) == []
    off = (CareRule(occasion=CareOccasion.CONTRACT_END, days_before=30, enabled=False),)
    assert due_care(off, today, first_order_on=None, contract_ends_on=date(2026, 3, 5)) == []


def test_rules_are_set_once_per_change_and_name_each_occasion_once() -> None:
    rules = (
        CareRule(occasion=CareOccasion.CONTRACT_END, days_before=14, task_kind=TaskKind.MEETING),
    )
    Scenario(CareRules).when(lambda r: r.set(rules, "boss")).then(
        CareRulesSet(rules=rules, set_by="boss")
    )
    Scenario(CareRules).given(CareRulesSet(rules=rules, set_by="boss")).when(
        lambda r: r.set(rules, "boss")
    ).then_nothing()
    Scenario(CareRules).when(lambda r: r.set((*rules, *rules), "boss")).then_raises(
        InvalidCommand, match="contract_end is named twice"
    )
