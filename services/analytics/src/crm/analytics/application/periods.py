"""Dates, months and periods as the reports count them: ISO strings of the read models to
days, ``YYYY-MM`` months and a target's ``2026-04`` or ``2026-Q2`` period to their bounds."""

from __future__ import annotations

from datetime import date, timedelta

MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
"""A month as a request names it: ``YYYY-MM``."""


def day_of(iso: str) -> date:
    return date.fromisoformat(iso[:10])


def within(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def month_of(day: date) -> str:
    return day.strftime("%Y-%m")


def month_bounds(month: str) -> tuple[date, date]:
    first = date.fromisoformat(month + "-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def months_between(first: str, last: str) -> list[str]:
    months: list[str] = []
    current = first
    while current <= last:
        months.append(current)
        current = month_of(month_bounds(current)[1] + timedelta(days=1))
    return months


def period_bounds(period: str) -> tuple[date, date]:
    """A target's period, ``2026-04`` or ``2026-Q2``, as its first and last day."""
    year, _, part = period.partition("-")
    if part.startswith("Q"):
        quarter = int(part[1])
        first, _ = month_bounds(f"{year}-{3 * quarter - 2:02d}")
        _, last = month_bounds(f"{year}-{3 * quarter:02d}")
        return first, last
    return month_bounds(period)


def in_months(month: str, first: str | None, last: str | None) -> bool:
    """``month`` (``YYYY-MM``) is within [first, last]; a missing bound does not limit."""
    return (first is None or month >= first) and (last is None or month <= last)
