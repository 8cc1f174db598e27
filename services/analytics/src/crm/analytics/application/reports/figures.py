"""How the reports write their figures: rates, means, durations and money."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from crm.events.money import MINOR_UNITS

RATE = Decimal("0.0001")
TWO = Decimal("0.01")

Row = dict[str, Any]
"""One row of a report's table."""


def rate(numerator: int | Decimal, denominator: int | Decimal) -> str | None:
    if not denominator:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(RATE, ROUND_HALF_EVEN))


def mean(values: Sequence[Decimal], places: Decimal = TWO) -> str | None:
    if not values:
        return None
    return str((sum(values, Decimal(0)) / len(values)).quantize(places, ROUND_HALF_EVEN))


def seconds_between(start: str, end: str) -> Decimal:
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 10**6


def money(amount: Decimal, currency: str) -> dict[str, str]:
    quantum = Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))
    return {"amount": format(amount.quantize(quantum, ROUND_HALF_EVEN), "f"), "currency": currency}
