"""Values of a file as the domain wants them, or the reason they cannot be: each normaliser
takes the cell's text and raises :class:`BadValue` (its message is shown beside the row and
column) or returns the value. A date's order is never guessed: ``03/04/2019`` is 3 April with
``day_first`` and 4 March without, and the choice is the user's."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import phonenumbers

from crm.events.money import Money


class BadValue(ValueError):
    """A cell the field cannot take; ``str(e)`` says why in English and Chinese, with the
    value; ``reason`` says why without it (what an import's record keeps: a value may be
    personal data)."""

    def __init__(self, reason: str, value: str) -> None:
        super().__init__(f"{reason}: {value!r}")
        self.reason = reason
        self.value = value


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
SYMBOLS = {"¥": "CNY", "￥": "CNY", "€": "EUR", "$": "USD", "£": "GBP", "元": "CNY"}


def phone(text: str, region: str) -> str:
    """E.164 (``+8613800138000``); a number without a country code is of ``region``."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise BadValue("not a phone number / 不是电话号码", text) from None
    if not phonenumbers.is_valid_number(number):
        raise BadValue("not a valid phone number / 电话号码无效", text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email(text: str) -> str:
    value = text.strip().lower()
    if not EMAIL.match(value):
        raise BadValue("not an e-mail address / 不是邮箱地址", text)
    return value


def money(text: str, currency: str | None) -> Money:
    """``1,234.50``, ``¥1234.5``, ``1234.50 EUR``: a Decimal in ``currency`` (or the one the
    cell names)."""
    value = text.strip().replace(",", "").replace(" ", "")
    named: str | None = None
    for symbol, code in SYMBOLS.items():
        if symbol in value:
            named, value = code, value.replace(symbol, "")
    match = re.search(r"[A-Za-z]{3}$", value)
    if match:
        named, value = match.group().upper(), value[: match.start()]
    found = named or currency
    if found is None or not CURRENCY.match(found):
        raise BadValue("no currency (choose one) / 缺少币种", text)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise BadValue("not an amount / 不是金额", text) from None
    if not amount.is_finite():
        raise BadValue("not an amount / 不是金额", text)
    return Money(amount=amount, currency=found)


_ISO = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_OTHER = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


def day(text: str, *, day_first: bool) -> date:
    """``2019-06-03``, ``2019/6/3``, ``2019年6月3日`` (year first: no ambiguity), or
    ``03/06/2019`` read by ``day_first``."""
    value = text.strip()
    if "T" in value or " " in value:
        value = value.replace("T", " ").split(" ")[0]
    try:
        if m := _ISO.match(value):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _OTHER.match(value):
            a, b = int(m[1]), int(m[2])
            d, mo = (a, b) if day_first else (b, a)
            return date(int(m[3]), mo, d)
    except ValueError:
        pass
    raise BadValue("not a date / 不是日期", text)


def midnight(value: date) -> datetime:
    """The day's first moment, in UTC (a fact known by its day alone)."""
    return datetime.combine(value, datetime.min.time(), tzinfo=UTC)


def instant(text: str, *, day_first: bool) -> datetime:
    """A date and time (UTC unless the cell says otherwise); a date alone is its midnight."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.combine(day(value, day_first=day_first), datetime.min.time())
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
