"""Customer care's dates: the anniversary of a first order (29 February included), and which
occasions a tenant's rules say are due on a given day."""

from __future__ import annotations

from datetime import date

import pytest

from crm.activities.domain.care import (
    DEFAULT_RULES,
    CareDue,
    CareFacts,
    CareRules,
    care_message,
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
    facts = CareFacts(first_order_on=date(2025, 3, 9), contract_ends_on=date(2026, 4, 1))
    due = due_care(rules, today, facts)
    assert [(d.occasion, d.on) for d in due] == [
        (CareOccasion.CONTRACT_END, date(2026, 4, 1)),
        (CareOccasion.FIRST_ORDER_ANNIVERSARY, date(2026, 3, 9)),
    ]
    assert due_care(rules, today, CareFacts(first_order_on=date(2025, 3, 10))) == []
    assert due_care(rules, today, CareFacts(contract_ends_on=date(2026, 4, 2))) == []
    off = (CareRule(occasion=CareOccasion.CONTRACT_END, days_before=30, enabled=False),)
    assert due_care(off, today, CareFacts(contract_ends_on=date(2026, 3, 5))) == []


def test_after_a_purchase_or_a_complaint_the_occasion_is_days_later_and_a_week_late_at_most() -> (
    None
):
    rules = (
        CareRule(occasion=CareOccasion.AFTER_PURCHASE, days=10, days_before=2),
        CareRule(occasion=CareOccasion.AFTER_COMPLAINT, days=3),
    )
    facts = CareFacts(
        last_order_on=date(2026, 3, 1),
        complaints_resolved_on=(date(2026, 2, 20), date(2026, 3, 4)),
    )

    def due_on(today: date) -> list[tuple[CareOccasion, date]]:
        return [(d.occasion, d.on) for d in due_care(rules, today, facts)]

    assert due_on(date(2026, 3, 6)) == []  # the complaint's 3 days end on the 7th
    assert due_on(date(2026, 3, 8)) == [(CareOccasion.AFTER_COMPLAINT, date(2026, 3, 7))]
    assert due_on(date(2026, 3, 9)) == [  # 2 days before the purchase's 10th day
        (CareOccasion.AFTER_PURCHASE, date(2026, 3, 11)),
        (CareOccasion.AFTER_COMPLAINT, date(2026, 3, 7)),
    ]
    assert due_on(date(2026, 3, 18)) == [(CareOccasion.AFTER_PURCHASE, date(2026, 3, 11))]
    assert due_on(date(2026, 3, 19)) == []  # more than a week late: never
    due = due_care(rules, date(2026, 2, 25), facts)
    assert [(d.occasion, d.on) for d in due] == [(CareOccasion.AFTER_COMPLAINT, date(2026, 2, 23))]


def test_a_valuable_customer_not_contacted_for_days_is_due_until_someone_is_in_touch() -> None:
    rules = (CareRule(occasion=CareOccasion.NO_CONTACT, days=90, days_before=0),)
    silent = CareFacts(last_contact_on=date(2025, 1, 1), value_tier="high")
    assert [d.on for d in due_care(rules, date(2026, 3, 1), silent)] == [date(2025, 4, 1)]
    assert due_care(rules, date(2025, 3, 31), silent) == []  # 89 days: not yet
    medium = CareFacts(last_contact_on=date(2025, 1, 1), value_tier="medium")
    assert due_care(rules, date(2026, 3, 1), medium) == []
    assert due_care(rules, date(2026, 3, 1), CareFacts(value_tier="high")) == []


def test_the_message_is_the_rules_template_or_the_occasions_default_in_both_languages() -> None:
    rule = CareRule(
        occasion=CareOccasion.AFTER_PURCHASE,
        days=14,
        template_en="Hi {customer_name}, {days} days on ({date}): how is it? {{literal}}",
        template_zh="{customer_name}，您好：{date}",  # noqa: RUF001
    )
    due = CareDue(CareOccasion.AFTER_PURCHASE, date(2026, 3, 15), rule)
    assert care_message(due, "Ada") == (
        "Hi Ada, 14 days on (2026-03-15): how is it? {literal}",
        "Ada，您好：2026-03-15",  # noqa: RUF001
    )
    plain = CareDue(CareOccasion.CONTRACT_END, date(2026, 4, 1), DEFAULT_RULES[0])
    en, zh = care_message(plain, "Ada")
    assert "Ada" in en
    assert "2026-04-01" in en
    assert "Ada" in zh
    assert "2026-04-01" in zh


@pytest.mark.parametrize(
    ("rule", "field", "why"),
    [
        (
            {"occasion": "after_purchase", "days": 7, "template_en": "Hi {name}"},
            "rules.0.template_en",
            "unknown placeholder {name}",
        ),
        (
            {"occasion": "after_purchase", "days": 7, "template_zh": "{days!r}"},
            "rules.0.template_zh",
            "no format or conversion",
        ),
        (
            {"occasion": "after_purchase", "days": 7, "template_en": "{"},
            "rules.0.template_en",
            "not a template",
        ),
        (
            {"occasion": "after_purchase", "days": 7, "template_en": "{0}"},
            "rules.0.template_en",
            "unknown placeholder",
        ),
        ({"occasion": "after_complaint"}, "rules.0.days", "needs a number of days"),
        ({"occasion": "after_complaint", "days": 91}, "rules.0.days", "at most 90"),
        (
            {"occasion": "no_contact", "days": 5, "days_before": 6},
            "rules.0.days_before",
            "at most the rule's days",
        ),
        ({"occasion": "contract_end", "days": 5}, "rules.0.days", "not for contract_end"),
    ],
)
def test_a_bad_rule_is_refused_naming_its_field(
    rule: dict[str, object], field: str, why: str
) -> None:
    with pytest.raises(InvalidCommand, match=why) as caught:
        CareRules("acme", CareRules.initial_state()).set((CareRule.model_validate(rule),), "boss")
    assert caught.value.field == field


def test_the_time_zone_must_be_a_known_one() -> None:
    with pytest.raises(InvalidCommand) as caught:
        CareRules("acme", CareRules.initial_state()).set(
            DEFAULT_RULES, "boss", time_zone="Mars/Olympus"
        )
    assert caught.value.field == "time_zone"
    rules = CareRules("acme", CareRules.initial_state())
    rules.set(DEFAULT_RULES, "boss", time_zone="Asia/Shanghai", pool_team_id="east")
    assert rules.state.time_zone == "Asia/Shanghai"
    assert rules.state.pool_team_id == "east"


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


def test_a_birthday_on_29_february_falls_on_the_28th_in_other_years() -> None:
    rules = (
        CareRule(occasion=CareOccasion.BIRTHDAY, days_before=3),
        CareRule(occasion=CareOccasion.ANNIVERSARY, days_before=0),
    )
    facts = CareFacts(birthday=date(1992, 2, 29), celebration=date(2010, 3, 1))
    assert [(d.occasion, d.on) for d in due_care(rules, date(2027, 2, 25), facts)] == [
        (CareOccasion.BIRTHDAY, date(2027, 2, 28))
    ]
    assert due_care(rules, date(2027, 2, 24), facts) == []
    assert [d.on for d in due_care(rules, date(2028, 2, 26), facts)] == [date(2028, 2, 29)]
    assert [d.occasion for d in due_care(rules, date(2027, 3, 1), facts)] == [
        CareOccasion.ANNIVERSARY
    ]
