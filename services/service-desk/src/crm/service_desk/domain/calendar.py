"""Business calendars: when the desk works, and arithmetic in working time.

SLA targets are counted in *business minutes*: minutes that fall inside the calendar's
working hours, on a day that is not a holiday, in the calendar's time zone. Working hours are
wall-clock times in that zone and every interval is turned into two real instants before any
minute is counted, so a target spanning a daylight-saving change counts the minutes that
really elapse (an interval 00:00-04:00 lasts 3 hours on the spring-forward night and 5 on the
fall-back night), and "Monday 09:00" stays 09:00 local whatever the UTC offset is that day.

A wall-clock time that does not exist (inside the spring-forward gap) is read with the offset
in force before the change, as :mod:`zoneinfo` does with ``fold=0``; an ambiguous one (inside
the fall-back hour) is read as its first occurrence.

The calendar aggregate records a calendar once (``service_desk.calendar.defined``) and may
retire it (``service_desk.calendar.retired``: no policy may name it from then on, tickets
opened with it keep counting in it); a
:class:`BusinessCalendar` is the pure value the SLA arithmetic runs on. Calendar ids are
chosen by the tenant, so the aggregate's id is qualified by it (``<tenant>:<calendar id>``,
see :func:`calendar_aggregate_id`) and two tenants may both name a calendar ``eu-support``;
the calendar id users, policies and tickets see is the tenant's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.events import DomainEvent
from crm.events.service_desk import CalendarDefined, CalendarRetired, WorkingHours
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.service_desk.domain.checks import aware, required_text
from crm.service_desk.domain.tenancy import local_id, qualified

MAX_HOLIDAYS = 1000
_DAY = timedelta(days=1)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCommand("time_zone", f"unknown time zone {name!r}") from None


def _intervals(hours: Iterable[WorkingHours]) -> dict[int, tuple[tuple[time, time | None], ...]]:
    """Per weekday, sorted, non-overlapping ``(start, end)``; ``end`` None is midnight."""
    by_day: dict[int, list[tuple[time, time | None]]] = {}
    for h in hours:
        end = None if h.end == time(0) else h.end
        if end is not None and end <= h.start:
            raise InvalidCommand("hours", f"weekday {h.weekday}: {h.start} is not before {h.end}")
        by_day.setdefault(h.weekday, []).append((h.start, end))
    result = {}
    for day, spans in by_day.items():
        spans.sort(key=lambda s: s[0])
        for (_, end), (start, _) in pairwise(spans):
            if end is None or start < end:
                raise InvalidCommand("hours", f"weekday {day}: working intervals overlap")
        result[day] = tuple(spans)
    if not result:
        raise InvalidCommand("hours", "a calendar needs at least one working interval")
    return result


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours per weekday (0 = Monday) in ``time_zone``, and holidays (local dates)."""

    id: str
    time_zone: str
    hours: tuple[WorkingHours, ...]
    holidays: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _by_day: Mapping[int, tuple[tuple[time, time | None], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", _zone(self.time_zone))
        object.__setattr__(self, "_by_day", _intervals(self.hours))

    @classmethod
    def from_event(cls, id: str, defined: CalendarDefined) -> Self:
        return cls(id, defined.time_zone, defined.hours, frozenset(defined.holidays))

    def _working_intervals(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The real (UTC) instants of ``day``'s working intervals, in order."""
        if day in self.holidays:
            return
        for start, end in self._by_day.get(day.weekday(), ()):
            begin = datetime.combine(day, start, tzinfo=self._zone)
            finish = (
                datetime.combine(day + _DAY, time(0), tzinfo=self._zone)
                if end is None
                else datetime.combine(day, end, tzinfo=self._zone)
            )
            yield begin.astimezone(UTC), finish.astimezone(UTC)

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self._zone).date()

    def add(self, start: datetime, minutes: int) -> datetime:
        """The instant (UTC) at which ``minutes`` business minutes after ``start`` have been
        worked. Time outside working hours does not count, so a target set on Friday evening
        starts running on Monday morning. Zero minutes: the next working instant."""
        aware(start, "start")
        if minutes < 0:
            raise InvalidCommand("minutes", "must not be negative")
        remaining = timedelta(minutes=minutes)
        cursor = start.astimezone(UTC)
        day = self._local_date(start)
        last_working = self._last_possible_day(day)
        while day <= last_working:
            for begin, finish in self._working_intervals(day):
                cursor = max(cursor, begin)
                if cursor >= finish:
                    continue
                if remaining <= finish - cursor:
                    return cursor + remaining
                remaining -= finish - cursor
                cursor = finish
            day += _DAY
        raise InvalidCommand("minutes", "the calendar has no working time left to count")

    def _last_possible_day(self, day: date) -> date:
        """A guard, never reached by a valid calendar: every week has working time (checked
        at construction) and holidays are finite, so any target ends within weeks of the last
        holiday. The guard keeps a bug from turning into an endless loop."""
        latest_holiday = max(self.holidays, default=day)
        return max(day, latest_holiday) + timedelta(days=366 * 50)

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from ``start`` to ``end`` (negative when ``end`` is earlier)."""
        aware(start, "start")
        aware(end, "end")
        if end < start:
            return -self.business_time_between(end, start)
        total = timedelta(0)
        a, b = start.astimezone(UTC), end.astimezone(UTC)
        day, last = self._local_date(start), self._local_date(end)
        while day <= last:
            for begin, finish in self._working_intervals(day):
                overlap = min(b, finish) - max(a, begin)
                if overlap > timedelta(0):
                    total += overlap
            day += _DAY
        return total

    def business_minutes_between(self, start: datetime, end: datetime) -> int:
        """Whole business minutes from ``start`` to ``end`` (truncated towards zero)."""
        seconds = self.business_time_between(start, end).total_seconds()
        return int(seconds / 60)

    def is_working(self, instant: datetime) -> bool:
        aware(instant, "instant")
        at = instant.astimezone(UTC)
        return any(
            begin <= at < finish for begin, finish in self._working_intervals(self._local_date(at))
        )


DEFAULT_CALENDAR_ID = "default"
DEFAULT_CALENDAR = BusinessCalendar(
    DEFAULT_CALENDAR_ID,
    "UTC",
    tuple(WorkingHours(weekday=d, start=time(9), end=time(17)) for d in range(5)),
)
"""Monday to Friday, 09:00-17:00 UTC, no holidays: what the default policy counts in until a
tenant defines its own calendar."""


# -- the aggregate -------------------------------------------------------------------------------


def calendar_aggregate_id(tenant: str, calendar_id: str) -> str:
    """The id of the :class:`Calendar` aggregate of ``tenant``'s calendar ``calendar_id``."""
    return qualified(tenant, calendar_id)


@dataclass(frozen=True, slots=True)
class CalendarState:
    defined: CalendarDefined | None = None
    retired: bool = False

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, CalendarDefined):
            return type(self)(defined=event)
        if isinstance(event, CalendarRetired):
            return type(self)(defined=self.defined, retired=True)
        return self


class Calendar(Aggregate[CalendarState]):
    """A named business calendar, defined once: tickets keep due times computed with it, so
    changing its hours in place would make recorded due times unexplainable. To change the
    hours, define a new calendar and revise the policies to name it."""

    category = "businesscalendar"

    @classmethod
    def initial_state(cls) -> CalendarState:
        return CalendarState()

    @property
    def calendar_id(self) -> str:
        """The id the tenant chose (the aggregate's id is qualified by the tenant)."""
        return local_id(self.id)

    def define(
        self,
        *,
        name: str,
        time_zone: str,
        hours: Iterable[WorkingHours],
        holidays: Iterable[date] = (),
    ) -> None:
        event = CalendarDefined(
            name=required_text(name, "name"),
            time_zone=time_zone.strip(),
            hours=tuple(sorted(hours, key=lambda h: (h.weekday, h.start))),
            holidays=tuple(sorted(set(holidays))),
        )
        if len(event.holidays) > MAX_HOLIDAYS:
            raise InvalidCommand("holidays", f"at most {MAX_HOLIDAYS}")
        BusinessCalendar.from_event(self.calendar_id, event)  # validates zone and hours
        if self.state.retired:
            raise RuleViolated(
                f"calendar {self.calendar_id} was retired; define a calendar of another id",
                code="calendar_retired",
            )
        if self.state.defined is not None:
            if self.state.defined == event:
                return
            raise RuleViolated(
                f"calendar {self.calendar_id} is already defined; define a new calendar and "
                "revise the policies to use it",
                code="calendar_already_defined",
            )
        self.trigger(event)

    def retire(self, *, named_by: Iterable[str]) -> None:
        """No policy may name the calendar from now on; ``named_by``: the policies in force
        that name it (a calendar in use is not retired: revise them to name another first).
        Tickets keep the due times counted in it, and a reopened one counts in it again, so
        the calendar itself stays readable (:meth:`business_calendar`). Retiring a retired
        calendar records nothing."""
        if self.state.defined is None:
            raise NotFound(f"calendar {self.calendar_id} does not exist")
        if self.state.retired:
            return
        users = sorted(named_by)
        if users:
            raise RuleViolated(
                f"calendar {self.calendar_id} is the calendar of SLA policies "
                f"{', '.join(users)}: revise them to name another calendar first",
                code="calendar_in_use",
                details={"policies": users},
            )
        self.trigger(CalendarRetired())

    @property
    def retired(self) -> bool:
        return self.state.retired

    def business_calendar(self) -> BusinessCalendar:
        if self.state.defined is None:
            raise NotFound(f"calendar {self.calendar_id} does not exist")
        return BusinessCalendar.from_event(self.calendar_id, self.state.defined)
