# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width commas)
"""Customer care (客户关怀): a tenant's rules for the occasions its people should get in touch
on (a customer's birthday and anniversary, the anniversary of their first order, the end of
their service contract, some days
after a purchase or a resolved complaint, a valuable customer nobody spoke to for a while),
the dates those occasions fall on, and the message each rule's task carries.

Pure: no I/O, time is passed in.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.events import DomainEvent
from crm.events.activities import (
    AFTER_OCCASIONS,
    PLACEHOLDERS,
    CareOccasion,
    CareRule,
    CareRulesSet,
    TaskKind,
)
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
AFTER_MAX_DAYS = 90
"""The most ``days`` an ``after_purchase`` or ``after_complaint`` rule may wait."""
GRACE = 7
"""How many days late an after-purchase or after-complaint task is still opened (a scheduler
that was down catches up; a rule set today does not reach back to last year's orders)."""
VALUABLE_TIER = "high"
"""The value tier a ``no_contact`` rule looks at."""

DEFAULT_TEMPLATES: dict[CareOccasion, tuple[str, str]] = {
    CareOccasion.FIRST_ORDER_ANNIVERSARY: (
        "{customer_name} first ordered from us a year ago or more: the anniversary is {date}.",
        "{customer_name} 的首单周年纪念日是 {date}。",
    ),
    CareOccasion.CONTRACT_END: (
        "The service contract of {customer_name} ends on {date}: time to talk about renewing.",
        "{customer_name} 的服务合同将于 {date} 到期，请沟通续约。",
    ),
    CareOccasion.AFTER_PURCHASE: (
        "{customer_name} ordered {days} days ago: ask how it is going.",
        "{customer_name} 已下单 {days} 天，请回访使用情况。",
    ),
    CareOccasion.AFTER_COMPLAINT: (
        "A complaint of {customer_name} was resolved {days} days ago: check they are satisfied.",
        "{customer_name} 的投诉已解决 {days} 天，请回访满意度。",
    ),
    CareOccasion.NO_CONTACT: (
        "Nobody has been in touch with {customer_name}, a high-value customer, for {days} days.",
        "高价值客户 {customer_name} 已 {days} 天无人联系。",
    ),
    CareOccasion.BIRTHDAY: (
        "{customer_name} has a birthday on {date}: send our wishes.",
        "{customer_name} 的生日是 {date}，请送上祝福。",
    ),
    CareOccasion.ANNIVERSARY: (
        "{customer_name} celebrates an anniversary on {date}.",
        "{customer_name} 的纪念日是 {date}。",
    ),
}
"""Each occasion's message when its rule names none (English, Chinese)."""


def placeholders(template: str, name: str) -> set[str]:
    """The placeholders ``template`` names (a 422 naming ``name`` if it is not a template of
    plain ``{placeholder}`` fields; ``{{`` and ``}}`` are literal braces)."""
    found: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as e:
        raise InvalidCommand(name, f"not a template: {e}") from None
    for _, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if field_name not in PLACEHOLDERS:
            known = ", ".join(sorted(PLACEHOLDERS))
            raise InvalidCommand(name, f"unknown placeholder {{{field_name}}} (known: {known})")
        if spec or conversion:
            raise InvalidCommand(name, f"{{{field_name}}} takes no format or conversion")
        found.add(field_name)
    return found


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its placeholders replaced (checked by :func:`placeholders`)."""
    return template.format_map(dict(values))


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCommand("time_zone", f"unknown time zone {name[:60]!r}") from None
    return name


def check_rule(rule: CareRule, i: int) -> None:
    at = f"rules.{i}"
    if rule.occasion in AFTER_OCCASIONS:
        if rule.days is None:
            raise InvalidCommand(f"{at}.days", f"{rule.occasion.value} needs a number of days")
        if rule.occasion is not CareOccasion.NO_CONTACT and rule.days > AFTER_MAX_DAYS:
            raise InvalidCommand(f"{at}.days", f"at most {AFTER_MAX_DAYS}")
        if rule.days_before > rule.days:
            raise InvalidCommand(f"{at}.days_before", "at most the rule's days")
    elif rule.days is not None:
        raise InvalidCommand(f"{at}.days", f"not for {rule.occasion.value}")
    for name in ("template_en", "template_zh"):
        template = getattr(rule, name)
        if template is not None:
            if not template.strip():
                raise InvalidCommand(f"{at}.{name}", "must not be blank")
            placeholders(template, f"{at}.{name}")


@dataclass(frozen=True, slots=True)
class CareRulesState:
    rules: tuple[CareRule, ...] = DEFAULT_RULES
    time_zone: str = "UTC"
    pool_team_id: str | None = None
    set_once: bool = False

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, CareRulesSet):
            return replace(
                self,
                rules=tuple(event.rules),
                time_zone=event.time_zone,
                pool_team_id=event.pool_team_id,
                set_once=True,
            )
        return self


class CareRules(Aggregate[CareRulesState]):
    """One tenant's rules, time zone and pool team: stream ``carerules-<tenant>``."""

    category = "carerules"

    @classmethod
    def initial_state(cls) -> CareRulesState:
        return CareRulesState()

    def set(
        self,
        rules: tuple[CareRule, ...],
        by: str,
        *,
        time_zone: str = "UTC",
        pool_team_id: str | None = None,
    ) -> None:
        occasions = [r.occasion for r in rules]
        for i, occasion in enumerate(occasions):
            if occasion in occasions[:i]:
                raise InvalidCommand(f"rules.{i}.occasion", f"{occasion.value} is named twice")
        for i, rule in enumerate(rules):
            check_rule(rule, i)
        check_time_zone(time_zone)
        state = self.state
        if state.set_once and (state.rules, state.time_zone, state.pool_team_id) == (
            rules,
            time_zone,
            pool_team_id,
        ):
            return
        self.trigger(
            CareRulesSet(rules=rules, set_by=by, time_zone=time_zone, pool_team_id=pool_team_id)
        )


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
class CareFacts:
    """What customer care knows of one customer (``None``: not known)."""

    first_order_on: date | None = None
    contract_ends_on: date | None = None
    last_order_on: date | None = None
    last_contact_on: date | None = None
    value_tier: str | None = None
    complaints_resolved_on: tuple[date, ...] = field(default=())
    birthday: date | None = None
    celebration: date | None = None
    """The date the customer celebrates every year (their profile's ``anniversary``)."""


@dataclass(frozen=True, slots=True)
class CareDue:
    occasion: CareOccasion
    on: date
    rule: CareRule


def _occasion_dates(rule: CareRule, facts: CareFacts, today: date) -> list[date]:
    days = timedelta(days=rule.days or 0)
    found: list[date | None]
    match rule.occasion:
        case CareOccasion.CONTRACT_END:
            found = [facts.contract_ends_on]
        case CareOccasion.FIRST_ORDER_ANNIVERSARY:
            first = facts.first_order_on
            found = [next_anniversary(first, today) if first is not None else None]
        case CareOccasion.AFTER_PURCHASE:
            found = [facts.last_order_on + days if facts.last_order_on else None]
        case CareOccasion.AFTER_COMPLAINT:
            found = [resolved + days for resolved in facts.complaints_resolved_on]
        case CareOccasion.NO_CONTACT:
            valuable = facts.value_tier == VALUABLE_TIER
            last = facts.last_contact_on
            found = [last + days if valuable and last is not None else None]
        case CareOccasion.BIRTHDAY:
            born = facts.birthday
            found = [next_anniversary(born, today) if born is not None else None]
        case CareOccasion.ANNIVERSARY:
            since = facts.celebration
            found = [next_anniversary(since, today) if since is not None else None]
    return [on for on in found if on is not None]


def _late_by(occasion: CareOccasion) -> timedelta | None:
    """How late after its date an occasion is still acted on (None: for as long as it holds,
    a valuable customer not contacted)."""
    if occasion is CareOccasion.NO_CONTACT:
        return None
    if occasion in AFTER_OCCASIONS:
        return timedelta(days=GRACE)
    return timedelta(0)


def due_care(rules: tuple[CareRule, ...], today: date, facts: CareFacts) -> list[CareDue]:
    """The occasions whose rule says to get in touch as of ``today`` (the tenant's day): the
    occasion is at most ``days_before`` days ahead, and not past (an after-purchase or
    after-complaint occasion: at most :data:`GRACE` days past; no contact: as long as the
    silence lasts)."""
    out: list[CareDue] = []
    for rule in rules:
        if not rule.enabled:
            continue
        late = _late_by(rule.occasion)
        for on in _occasion_dates(rule, facts, today):
            if on - timedelta(days=rule.days_before) > today:
                continue
            if late is not None and on + late < today:
                continue
            out.append(CareDue(rule.occasion, on, rule))
    return out


def care_message(due: CareDue, customer_name: str) -> tuple[str, str]:
    """The task's message in English and Chinese, from the rule's templates (the
    occasion's defaults where it names none)."""
    en, zh = DEFAULT_TEMPLATES[due.occasion]
    values = {
        "customer_name": customer_name,
        "date": due.on.isoformat(),
        "days": str(due.rule.days if due.rule.days is not None else due.rule.days_before),
        "occasion": due.occasion.value,
    }
    return render(due.rule.template_en or en, values), render(due.rule.template_zh or zh, values)
