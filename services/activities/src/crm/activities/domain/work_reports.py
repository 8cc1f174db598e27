"""Work reports (日报 / 周报 / 月报): the periods they count, and a user's own summary and plan
for one period, which their manager comments on.

Periods: a day ``2026-03-02``, an ISO week ``2026-W10`` (Monday to Sunday, the week of the
ISO year it belongs to) and a month ``2026-03``. Pure: no I/O, time is passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Self

from crm.events import DomainEvent
from crm.events.activities import WorkPeriod, WorkReportCommented, WorkReportSubmitted
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, RuleViolated

MAX_SUMMARY = 4000
MAX_PLAN = 4000
MAX_COMMENT = 2000
MAX_COMMENTS = 50

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def period_key(period: WorkPeriod, day: date) -> str:
    """The key of the ``period`` that ``day`` falls in."""
    if period is WorkPeriod.DAY:
        return day.isoformat()
    if period is WorkPeriod.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.strftime("%Y-%m")


def period_bounds(period: WorkPeriod, key: str) -> tuple[date, date]:
    """The first and last day of the period ``key`` names."""
    if period is WorkPeriod.DAY:
        day = date.fromisoformat(key)
        return day, day
    if period is WorkPeriod.WEEK:
        match = _WEEK.match(key)
        assert match is not None
        first = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        return first, first + timedelta(days=6)
    first = date.fromisoformat(key + "-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def parse_period(key: str, field: str = "period") -> WorkPeriod:
    """The kind of period ``key`` names (``2026-03-02``, ``2026-W10``, ``2026-03``); anything
    else, or a day or week that does not exist, is a 422 naming ``field``."""
    try:
        if _DAY.match(key):
            date.fromisoformat(key)
            return WorkPeriod.DAY
        if (week := _WEEK.match(key)) is not None:
            date.fromisocalendar(int(week[1]), int(week[2]), 1)
            return WorkPeriod.WEEK
    except ValueError:
        raise InvalidCommand(field, f"{key!r} is no day or ISO week of the calendar") from None
    if _MONTH.match(key):
        return WorkPeriod.MONTH
    raise InvalidCommand(
        field, "must be a day (2026-03-02), an ISO week (2026-W10) or a month (2026-03)"
    )


def periods_between(period: WorkPeriod, first: date, last: date) -> list[str]:
    """The keys of every ``period`` from the one holding ``first`` to the one holding
    ``last``, in order."""
    keys: list[str] = []
    day = period_bounds(period, period_key(period, first))[0]
    while day <= last:
        key = period_key(period, day)
        keys.append(key)
        day = period_bounds(period, key)[1] + timedelta(days=1)
    return keys


@dataclass(frozen=True, slots=True)
class Comment:
    by: str
    text: str
    at: datetime
    on_revision: int


@dataclass(frozen=True, slots=True)
class WorkReportState:
    user_id: str | None = None
    key: str | None = None
    summary: str = ""
    plan: str = ""
    revision: int = 0
    comments: tuple[Comment, ...] = ()

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case WorkReportSubmitted():
                return replace(
                    self,
                    user_id=event.user_id,
                    key=event.key,
                    summary=event.summary,
                    plan=event.plan,
                    revision=event.revision,
                )
            case WorkReportCommented():
                comment = Comment(
                    event.commented_by, event.comment, event.commented_at, event.on_revision
                )
                return replace(self, comments=(*self.comments, comment))
        return self


class WorkReport(Aggregate[WorkReportState]):
    """One user's report of one period: stream ``workreport-<tenant>:<user>:<period key>``."""

    category = "workreport"

    @classmethod
    def initial_state(cls) -> WorkReportState:
        return WorkReportState()

    def submit(self, user_id: str, key: str, summary: str, plan: str, now: datetime) -> None:
        period = parse_period(key)
        summary, plan = summary.strip(), plan.strip()
        if not summary and not plan:
            raise InvalidCommand("summary", "a report needs a summary or a plan")
        if len(summary) > MAX_SUMMARY:
            raise InvalidCommand("summary", f"must be at most {MAX_SUMMARY} characters")
        if len(plan) > MAX_PLAN:
            raise InvalidCommand("plan", f"must be at most {MAX_PLAN} characters")
        s = self.state
        if s.revision and (s.summary, s.plan) == (summary, plan):
            return  # the same text again: nothing changed
        self.trigger(
            WorkReportSubmitted(
                user_id=user_id,
                period=period,
                key=key,
                summary=summary,
                plan=plan,
                submitted_at=now,
                revision=s.revision + 1,
            )
        )

    def comment(self, text: str, by: str, now: datetime) -> None:
        s = self.state
        if s.revision == 0 or s.user_id is None or s.key is None:
            raise RuleViolated("the report was not submitted yet", code="not_submitted")
        text = text.strip()
        if not text:
            raise InvalidCommand("comment", "must not be blank")
        if len(text) > MAX_COMMENT:
            raise InvalidCommand("comment", f"must be at most {MAX_COMMENT} characters")
        if len(s.comments) >= MAX_COMMENTS:
            raise RuleViolated(
                f"a report takes {MAX_COMMENTS} comments at most", code="too_many_comments"
            )
        self.trigger(
            WorkReportCommented(
                user_id=s.user_id,
                key=s.key,
                comment=text,
                commented_by=by,
                commented_at=now,
                on_revision=s.revision,
            )
        )
