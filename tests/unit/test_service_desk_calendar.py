"""Business-hours arithmetic: working hours per weekday in a time zone, holidays, and the
daylight-saving changes that naive UTC arithmetic gets wrong; plus the calendar aggregate."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.events.service_desk import CalendarDefined, CalendarRetired, WorkingHours
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.service_desk.domain.calendar import (
    DEFAULT_CALENDAR,
    BusinessCalendar,
    Calendar,
    calendar_aggregate_id,
)
from tests.unit.given_when_then import Scenario

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = tuple(WorkingHours(weekday=d, start=time(9), end=time(17)) for d in range(5))
ALWAYS = tuple(WorkingHours(weekday=d, start=time(0), end=time(0)) for d in range(7))


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def office(holidays: frozenset[date] = frozenset()) -> BusinessCalendar:
    return BusinessCalendar("office", "Europe/Berlin", NINE_TO_FIVE, holidays)


# -- adding business minutes ---------------------------------------------------------------------


def test_minutes_inside_one_working_day() -> None:
    assert office().add(berlin(2026, 11, 24, 10, 0), 90) == berlin(2026, 11, 24, 11, 30)


def test_time_outside_working_hours_does_not_count() -> None:
    cal = office()
    # Friday 16:00 + 2 h: one hour on Friday, one on Monday morning.
    assert cal.add(berlin(2026, 11, 27, 16, 0), 120) == berlin(2026, 11, 30, 10, 0)
    # Opened on Saturday night: the clock starts on Monday at 09:00.
    assert cal.add(berlin(2026, 11, 28, 23, 0), 30) == berlin(2026, 11, 30, 9, 30)
    # Exactly at closing time: all of it tomorrow.
    assert cal.add(berlin(2026, 11, 24, 17, 0), 60) == berlin(2026, 11, 25, 10, 0)


def test_a_target_ending_at_closing_time_is_due_at_closing_time() -> None:
    assert office().add(berlin(2026, 11, 24, 9, 0), 8 * 60) == berlin(2026, 11, 24, 17, 0)


def test_zero_minutes_is_the_next_working_instant() -> None:
    cal = office()
    assert cal.add(berlin(2026, 11, 24, 10, 0), 0) == berlin(2026, 11, 24, 10, 0)
    assert cal.add(berlin(2026, 11, 24, 20, 0), 0) == berlin(2026, 11, 25, 9, 0)


def test_holidays_are_skipped() -> None:
    cal = office(frozenset({date(2026, 12, 24), date(2026, 12, 25)}))
    # Wednesday 23 Dec 16:00 + 2 h: one hour on the 23rd, the next on Monday the 28th.
    assert cal.add(berlin(2026, 12, 23, 16, 0), 120) == berlin(2026, 12, 28, 10, 0)


def test_split_days_skip_the_lunch_break() -> None:
    hours = (
        WorkingHours(weekday=0, start=time(8), end=time(12)),
        WorkingHours(weekday=0, start=time(13), end=time(17)),
    )
    cal = BusinessCalendar("split", "Europe/Berlin", hours)
    assert cal.add(berlin(2026, 11, 23, 11, 30), 60) == berlin(2026, 11, 23, 13, 30)
    # Only Mondays work: the rest rolls over a week.
    assert cal.add(berlin(2026, 11, 23, 16, 0), 120) == berlin(2026, 11, 30, 9, 0)


def test_working_hours_are_local_across_the_spring_forward() -> None:
    """Berlin moves from UTC+1 to UTC+2 on 29 March 2026. Friday 27th 16:00 (15:00 UTC) plus
    two business hours is Monday 30th 10:00 local, i.e. 08:00 UTC, not 09:00 UTC."""
    due = office().add(berlin(2026, 3, 27, 16, 0), 120)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert due.astimezone(BERLIN).hour == 10


def test_working_hours_are_local_across_the_fall_back() -> None:
    """Berlin moves back to UTC+1 on 25 October 2026."""
    due = office().add(berlin(2026, 10, 23, 16, 0), 120)
    assert due == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    assert due.astimezone(BERLIN).hour == 10


def test_a_night_shift_on_a_dst_night_counts_the_real_minutes() -> None:
    night = tuple(WorkingHours(weekday=d, start=time(0), end=time(4)) for d in range(7))
    cal = BusinessCalendar("night", "Europe/Berlin", night)
    spring, autumn = berlin(2026, 3, 29, 0, 0), berlin(2026, 10, 25, 0, 0)
    # 00:00-04:00 local lasts 3 real hours on 29 March and 5 on 25 October.
    assert cal.business_minutes_between(spring, berlin(2026, 3, 29, 5, 0)) == 180
    assert cal.business_minutes_between(autumn, berlin(2026, 10, 25, 5, 0)) == 300
    assert cal.add(spring, 180) == berlin(2026, 3, 29, 4, 0)
    assert cal.add(spring, 181) == berlin(2026, 3, 30, 0, 1)
    assert cal.add(autumn, 300) == berlin(2026, 10, 25, 4, 0)


def test_a_round_the_clock_calendar_counts_23_and_25_hour_days() -> None:
    cal = BusinessCalendar("24/7", "Europe/Berlin", ALWAYS)
    assert cal.add(berlin(2026, 3, 28, 12, 0), 24 * 60) == berlin(2026, 3, 29, 13, 0)
    assert cal.add(berlin(2026, 10, 24, 12, 0), 24 * 60) == berlin(2026, 10, 25, 11, 0)


def test_the_result_does_not_depend_on_the_zone_the_start_is_given_in() -> None:
    start = berlin(2026, 11, 27, 16, 0)
    in_tokyo = start.astimezone(ZoneInfo("Asia/Tokyo"))
    assert office().add(start, 300) == office().add(in_tokyo, 300)


# -- business time between two instants ----------------------------------------------------------


def test_business_minutes_between() -> None:
    cal = office(frozenset({date(2026, 11, 30)}))
    # Friday 16:00 to Tuesday 10:00 over a weekend and a Monday holiday: 60 + 60.
    assert cal.business_minutes_between(berlin(2026, 11, 27, 16), berlin(2026, 12, 1, 10)) == 120
    assert cal.business_minutes_between(berlin(2026, 12, 1, 10), berlin(2026, 11, 27, 16)) == -120
    assert cal.business_minutes_between(berlin(2026, 11, 28, 1), berlin(2026, 11, 29, 23)) == 0


def test_adding_then_measuring_gives_the_minutes_back() -> None:
    """A property over many starts and sizes, across both DST changes and holidays."""
    rng = random.Random(20261125)
    cal = office(frozenset({date(2026, 3, 30), date(2026, 10, 26), date(2026, 12, 25)}))
    night = BusinessCalendar(
        "night",
        "America/New_York",
        tuple(WorkingHours(weekday=d, start=time(0), end=time(3)) for d in range(7)),
    )
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(400):
        c = rng.choice((cal, night))
        start = base + timedelta(minutes=rng.randrange(365 * 24 * 60))
        minutes = rng.randrange(1, 6000)
        due = c.add(start, minutes)
        assert due > start
        assert c.business_minutes_between(start, due) == minutes
        assert c.business_minutes_between(start, due - timedelta(minutes=1)) == minutes - 1


def test_is_working() -> None:
    cal = office()
    assert cal.is_working(berlin(2026, 11, 24, 9, 0))
    assert not cal.is_working(berlin(2026, 11, 24, 17, 0))
    assert not cal.is_working(berlin(2026, 11, 28, 12, 0))


def test_default_calendar_is_nine_to_five_utc_on_weekdays() -> None:
    friday = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
    assert DEFAULT_CALENDAR.add(friday, 60) == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"hours": ()}, "hours"),
        ({"hours": (WorkingHours(weekday=0, start=time(17), end=time(9)),)}, "hours"),
        (
            {
                "hours": (
                    WorkingHours(weekday=0, start=time(9), end=time(13)),
                    WorkingHours(weekday=0, start=time(12), end=time(17)),
                )
            },
            "hours",
        ),
    ],
)
def test_a_calendar_refuses_bad_definitions(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"id": "c", "time_zone": "Europe/Berlin", "hours": NINE_TO_FIVE}
    args.update(kwargs)
    with pytest.raises(InvalidCommand) as error:
        BusinessCalendar(**args)  # type: ignore[arg-type]
    assert error.value.field == field


def test_naive_or_negative_input_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="start"):
        office().add(datetime(2026, 11, 24, 10), 10)
    with pytest.raises(InvalidCommand, match="minutes"):
        office().add(berlin(2026, 11, 24, 10), -1)


# -- the calendar aggregate ----------------------------------------------------------------------

DEFINED = CalendarDefined(
    name="Berlin office",
    time_zone="Europe/Berlin",
    hours=NINE_TO_FIVE,
    holidays=(date(2026, 12, 24), date(2026, 12, 25)),
)


BERLIN_ID = calendar_aggregate_id("t1", "berlin")


def define(c: Calendar) -> None:
    c.define(
        name=" Berlin office ",
        time_zone="Europe/Berlin",
        hours=reversed(NINE_TO_FIVE),
        holidays=[date(2026, 12, 25), date(2026, 12, 24), date(2026, 12, 25)],
    )


def test_define_a_calendar_once() -> None:
    c = Scenario(Calendar, id=BERLIN_ID).when(define).then(DEFINED)
    assert c.business_calendar() == BusinessCalendar(
        "berlin", "Europe/Berlin", NINE_TO_FIVE, frozenset({date(2026, 12, 24), date(2026, 12, 25)})
    )
    Scenario(Calendar, id=BERLIN_ID).given(DEFINED).when(define).then_nothing()
    error = (
        Scenario(Calendar, id=BERLIN_ID)
        .given(DEFINED)
        .when(lambda c: c.define(name="Other", time_zone="UTC", hours=NINE_TO_FIVE))
        .then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "calendar_already_defined"


def test_a_calendar_is_validated_before_it_is_recorded() -> None:
    Scenario(Calendar, id=calendar_aggregate_id("t1", "x")).when(
        lambda c: c.define(name="x", time_zone="Nowhere/Land", hours=NINE_TO_FIVE)
    ).then_raises(InvalidCommand, match="time_zone")
    with pytest.raises(NotFound):
        Calendar.create(calendar_aggregate_id("t1", "missing")).business_calendar()


def test_retire_a_calendar_no_policy_names() -> None:
    retired = (
        Scenario(Calendar, id=BERLIN_ID)
        .given(DEFINED)
        .when(lambda c: c.retire(named_by=[]))
        .then(CalendarRetired())
    )
    assert retired.retired
    assert retired.business_calendar().id == "berlin"  # tickets still count in it
    error = (
        Scenario(Calendar, id=BERLIN_ID)
        .given(DEFINED)
        .when(lambda c: c.retire(named_by=["premium", "default"]))
        .then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "calendar_in_use"
    assert error.details == {"policies": ["default", "premium"]}
    gone = Scenario(Calendar, id=BERLIN_ID).given(DEFINED, CalendarRetired())
    gone.when(lambda c: c.retire(named_by=["premium"])).then_nothing()
    error = (
        Scenario(Calendar, id=BERLIN_ID)
        .given(DEFINED, CalendarRetired())
        .when(define)
        .then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "calendar_retired"  # its id is not defined again
    Scenario(Calendar, id=BERLIN_ID).when(lambda c: c.retire(named_by=[])).then_raises(NotFound)
