"""Work reports' periods (ISO weeks across a year's end, months, days that do not exist) and
the report's own rules (its author's text, comments only once it was submitted)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from crm.activities.application.work_reports import in_zone
from crm.activities.domain.work_reports import (
    WorkReport,
    parse_period,
    period_bounds,
    period_key,
    periods_between,
)
from crm.activities.projections.work_models import slot_of
from crm.events.activities import WorkPeriod, WorkReportCommented, WorkReportSubmitted
from crm.kernel.errors import InvalidCommand, RuleViolated

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def test_iso_weeks_belong_to_their_iso_year() -> None:
    assert period_key(WorkPeriod.WEEK, date(2026, 12, 31)) == "2026-W53"
    assert period_key(WorkPeriod.WEEK, date(2027, 1, 3)) == "2026-W53"
    assert period_key(WorkPeriod.WEEK, date(2027, 1, 4)) == "2027-W01"
    assert period_key(WorkPeriod.WEEK, date(2025, 12, 29)) == "2026-W01"
    assert period_bounds(WorkPeriod.WEEK, "2026-W53") == (date(2026, 12, 28), date(2027, 1, 3))
    assert period_bounds(WorkPeriod.MONTH, "2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert period_bounds(WorkPeriod.MONTH, "2026-12") == (date(2026, 12, 1), date(2026, 12, 31))


def test_periods_between_are_whole_periods_in_order() -> None:
    assert periods_between(WorkPeriod.WEEK, date(2026, 12, 30), date(2027, 1, 5)) == [
        "2026-W53",
        "2027-W01",
    ]
    assert periods_between(WorkPeriod.MONTH, date(2026, 11, 30), date(2027, 1, 1)) == [
        "2026-11",
        "2026-12",
        "2027-01",
    ]
    assert periods_between(WorkPeriod.DAY, date(2028, 2, 28), date(2028, 3, 1)) == [
        "2028-02-28",
        "2028-02-29",
        "2028-03-01",
    ]


@pytest.mark.parametrize(
    ("key", "period"),
    [("2026-03-02", WorkPeriod.DAY), ("2026-W53", WorkPeriod.WEEK), ("2026-03", WorkPeriod.MONTH)],
)
def test_a_period_key_names_its_kind(key: str, period: WorkPeriod) -> None:
    assert parse_period(key) is period


@pytest.mark.parametrize("key", ["2027-W53", "2026-W00", "2026-02-29", "2026-13", "W10", ""])
def test_a_period_that_is_not_in_the_calendar_is_refused(key: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        parse_period(key)
    assert refused.value.field == "period"


def test_a_report_is_submitted_changed_and_commented_on() -> None:
    report = WorkReport.create("default:ana:2026-W10")
    with pytest.raises(RuleViolated):
        report.comment("Well done", "boss", NOW)
    report.submit("ana", "2026-W10", " Won Widgets ", "Call Bea", NOW)
    report.submit("ana", "2026-W10", "Won Widgets", "Call Bea", NOW)  # the same: nothing new
    report.comment("Well done", "boss", NOW)
    report.submit("ana", "2026-W10", "Won Widgets and Gadgets", "Call Bea", NOW)
    kinds = [type(e) for e in report.changes]
    assert kinds == [WorkReportSubmitted, WorkReportCommented, WorkReportSubmitted]
    assert report.state.revision == 2
    assert [(c.by, c.on_revision) for c in report.state.comments] == [("boss", 1)]
    with pytest.raises(InvalidCommand) as blank:
        report.submit("ana", "2026-W10", "  ", "", NOW)
    assert blank.value.field == "summary"
    with pytest.raises(InvalidCommand) as empty:
        report.comment("   ", "boss", NOW)
    assert empty.value.field == "comment"


def test_work_is_kept_by_the_utc_quarter_of_an_hour_and_summed_in_a_zone() -> None:
    assert slot_of(datetime(2026, 3, 1, 18, 29, 59, tzinfo=UTC)) == "18:15"
    assert slot_of(datetime(2026, 3, 2, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))) == "18:00"
    day = {
        "user_id": "ana",
        "day": "2026-03-01",
        "slots": {
            "15:45": {"interactions": {"call": 1}},
            "18:30": {"orders_placed": 1, "payments_amount": {"EUR": "2.50"}},
        },
    }
    kolkata = in_zone([day], ZoneInfo("Asia/Kolkata"), date(2026, 3, 1), date(2026, 3, 2))
    assert [(d["day"], d["interactions"], d["orders_placed"]) for d in kolkata] == [
        ("2026-03-01", {"call": 1}, 0),
        ("2026-03-02", {}, 1),
    ]
    assert kolkata[1]["payments_amount"] == {"EUR": "2.50"}
    only_first = in_zone([day], ZoneInfo("Asia/Kolkata"), date(2026, 3, 1), date(2026, 3, 1))
    assert [d["day"] for d in only_first] == ["2026-03-01"]
