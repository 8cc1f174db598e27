"""The console's compiled medium formats write what Babel writes, in both locales."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_datetime

from crm.console.i18n import Translator
from crm.console.moments import medium

LOCALES = ("en_GB", "zh_Hans_CN")


def moments() -> list[dt.datetime]:
    rng = random.Random(12)
    zones = (None, dt.UTC, ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"))
    start = dt.datetime(1999, 1, 1)
    found = [
        dt.datetime(2026, m, d, h, mi, s)
        for m, d, h, mi, s in ((1, 1, 0, 0, 0), (9, 30, 23, 59, 59), (12, 3, 7, 5, 9))
    ]
    for _ in range(400):
        moment = start + dt.timedelta(seconds=rng.randrange(40 * 365 * 86400))
        zone = rng.choice(zones)
        found.append(moment if zone is None else moment.replace(tzinfo=zone))
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_a_moment_is_written_as_babel_writes_it(locale: str) -> None:
    moment, day = medium(locale)
    for value in moments():
        assert moment(value) == format_datetime(value, "medium", locale=locale), value
        assert day(value) == format_date(value, "medium", locale=locale), value
        assert day(value.date()) == format_date(value.date(), "medium", locale=locale), value


def test_the_translator_writes_its_locale_s_moments() -> None:
    assert Translator("en").date("2026-09-03T07:15:00+00:00") == "3 Sept 2026, 07:15:00"
    assert Translator("zh-CN").date("2026-12-03T07:15:00+00:00") == "2026年12月3日 07:15:00"
    assert Translator("en").day("2026-12-03") == "3 Dec 2026"
    assert Translator("en").date(dt.date(2026, 12, 3)) == "3 Dec 2026"
    assert Translator("en").date("not a date") == "not a date"
