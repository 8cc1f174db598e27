"""Customer care (客户关怀): a tenant's rules for the occasions its people should get in touch
on (the anniversary of a customer's first order, the end of their service contract), and the
dates those occasions fall on.

Pure: no I/O, time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Self

from crm.events import DomainEvent
from crm.events.activities import CareOccasion, CareRule, CareRulesSet, TaskKind
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand

DEFAULT_RULES: tuple[CareRule, ...] = (
    CareRule(occasion=CareOccasion.CONTRACT_END, days_before=30, task_kind=TaskKind.CALL),
    CareRule(occasion=CareOccasion.FIRST_ORDER_ANNIVERSARY, days_before=7, task_kind=TaskKind.CALL),
)
"""A tenant's rules until it sets its own: call 30 days before a contract ends, and a week
before the anniversary of a customer's first order."""

LOOKAHEAD = 60
"""The furthest ahead (days) a rule may look: ``CareRule.days_before`` is at most this."""


@dataclass(frozen=True, slots=True)
class CareRulesState:
    rules: tuple[CareRule, ...] = DEFAULT_RULES
    set_once: bool = False

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, CareRulesSet):
            return replace(self, rules=tuple(event.rules), set_once=True)
        return self


class CareRules(Aggregate[CareRulesState]):
    """One tenant's rules: stream ``carerules-<tenant>``."""

    category = "carerules"

    @classmethod
    def initial_state(cls) -> CareRulesState:
        return CareRulesState()

    def set(self, rules: tuple[CareRule, ...], by: str) -> None:
        occasions = [r.occasion for r in rules]
        for i, occasion in enumerate(occasions):
            if occasion in occasions[:i]:
                raise InvalidCommand(f"rules.{i}.occasion", f"{occasion.value} is named twice")
        if self.state.set_once and self.state.rules == rules:
            return
        self.trigger(CareRulesSet(rules=rules, set_by=by))


def anniversary_on(first: date, year: int) -> date:
    """The anniversary of ``first`` in ``year`` (29 February: the 28th in other years)."""
    try:
        return first.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def next_anniversary(first: date, today: date) -> date | None:
    """The first anniversary of ``first`` on or after ``today`` (None: none yet, the first
    order is less than a year before it)."""
    candidate = anniversary_on(first, today.year)
    if candidate < today:
        candidate = anniversary_on(first, today.year + 1)
    return candidate if candidate.year > first.year else None


def month_days(today: date, days: int = LOOKAHEAD) -> list[str]:
    """The ``MM-DD`` of every day from ``today`` to ``days`` later, with 02-29 when 28
    February is among them (its anniversaries fall on the 28th in other years)."""
    out = [(today + timedelta(days=n)).strftime("%m-%d") for n in range(days + 1)]
    if "02-28" in out and "02-29" not in out:
        out.append("02-29")
    return out


@dataclass(frozen=True, slots=True)
class CareDue:
    occasion: CareOccasion
    on: date
    rule: CareRule


def due_care(
    rules: tuple[CareRule, ...],
    today: date,
    *,
    first_order_on: date | None,
    contract_ends_on: date | None,
) -> list[CareDue]:
    """The occasions whose rule says to get in touch as of ``today``: the occasion is at most
    ``days_before`` days ahead (and not past)."""
    out: list[CareDue] = []
    for rule in rules:
        if not rule.enabled:
            continue
        on: date | None = None
        if rule.occasion is CareOccasion.CONTRACT_END:
            on = contract_ends_on
        elif first_order_on is not None:
            on = next_anniversary(first_order_on, today)
        if on is not None and today <= on <= today + timedelta(days=rule.days_before):
            out.append(CareDue(rule.occasion, on, rule))
    return out
