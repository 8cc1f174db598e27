"""Amounts of money as Babel writes them for a locale, at a fraction of the cost.

:func:`babel.numbers.format_currency` parses the locale's pattern and reads its CLDR data at
every call (about 15 µs; the pipeline board writes an amount per card, a customer's timeline
one per order, quote, invoice and payment). Here the shape of one currency's amounts in one
locale (what comes before and after the number, positive and negative, the group and decimal
signs, the currency's digits) is read once from Babel's own text of two amounts, and applied
with Python's decimal formatting, which rounds as Babel does (half to even). The shape is
checked against Babel on amounts of every kind before it is used; one that differs (a pattern
with other grouping, a currency spaced from its number) is left to Babel.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

PROBES = tuple(
    Decimal(v)
    for v in ("0", "-0", "1", "-1", "0.005", "0.015", "12.345", "-999.995", "1234567.891", "-1e9")
)
"""Amounts a shape must write as Babel does before it is used."""


def _babel(locale: str, currency: str) -> Callable[[Decimal], str]:
    return lambda value: format_currency(value, currency, locale=locale)


def _shaped(locale: str, currency: str) -> Callable[[Decimal], str] | None:
    digits = get_currency_precision(currency)
    one = format_currency(Decimal(1), currency, locale=locale)
    thousand = format_currency(Decimal(1000), currency, locale=locale)
    plain = f"{Decimal(1):.{digits}f}"  # "1.00"
    decimal_sign = one[one.index("1") + 1] if digits else "."
    number = plain.replace(".", decimal_sign)
    if number not in one:
        return None
    before, _, after = one.partition(number)
    core = thousand.removeprefix(before).removesuffix(after)  # "1,000.00", "1000.00"
    group_sign = core[1] if len(core) > 1 and core[1] != "0" else ""
    negative = format_currency(Decimal(-1), currency, locale=locale)
    if number not in negative:
        return None
    neg_before, _, neg_after = negative.partition(number)
    signs = str.maketrans({",": group_sign, ".": decimal_sign})

    def shaped(value: Decimal) -> str:
        text = f"{abs(value):,.{digits}f}".translate(signs)
        if value.is_signed():
            return f"{neg_before}{text}{neg_after}"
        return f"{before}{text}{after}"

    exact = _babel(locale, currency)
    if any(shaped(p) != exact(p) for p in PROBES):
        return None
    return shaped


@functools.lru_cache(maxsize=512)
def money(locale: str, currency: str) -> Callable[[Decimal], str]:
    """Amounts of ``currency`` in ``locale`` (a Babel identifier: ``en_GB``) as Babel's
    :func:`~babel.numbers.format_currency` writes them."""
    return _shaped(locale, currency) or _babel(locale, currency)


__all__ = ["money"]
