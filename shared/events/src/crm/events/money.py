"""Money in the published language: a decimal amount with its ISO 4217 currency, never a float.

On the wire an amount is a decimal string (``"1234.50"``), so no consumer in any language
reads it through a binary float. Arithmetic is :class:`~decimal.Decimal`; amounts of
different currencies never mix.

What a request may give is narrower than what an event may hold (:class:`MoneyIn`,
:data:`Quantity`, :data:`Percent`): one format and one bound everywhere, a plain decimal
string (``"12.50"``, no exponent, no NaN or Infinity, never a JSON number) with at most
:data:`MAX_INTEGER_DIGITS` digits before the point and no more places after it than the
currency's minor unit.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

MINOR_UNITS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI"),
        0,
    ),
    **dict.fromkeys(("VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
"""Decimal places of the currencies that do not use two (ISO 4217); every other code has 2."""

MAX_INTEGER_DIGITS = 15
"""The one bound of an amount: at most 15 digits before the point (999 999 999 999 999),
which every consumer holds exactly (a decimal, or a binary double to the cent)."""

MAX_AMOUNT = Decimal(10) ** MAX_INTEGER_DIGITS

QUANTITY_INTEGER_DIGITS = 9
QUANTITY_PLACES = 6
"""A quantity: positive, at most 9 digits before the point and 6 after it."""

_DECIMAL_TEXT = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")


def minor_unit(currency: str) -> int:
    """The number of decimal places of ``currency`` (ISO 4217; 2 unless listed otherwise)."""
    return MINOR_UNITS.get(currency, 2)


def within_bound(amount: Decimal) -> bool:
    """Whether ``amount`` has at most :data:`MAX_INTEGER_DIGITS` digits before the point."""
    return amount.is_finite() and abs(amount) < MAX_AMOUNT


def _no_floats(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError('amounts are decimal strings such as "12.50", never floats')
    if isinstance(value, str):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal amount") from None
        if not parsed.is_finite():
            raise ValueError("an amount must be a finite number")
        return parsed
    return value


def decimal_text(
    value: Any, *, integer_digits: int, places: int | None, example: str = "12.50"
) -> Decimal:
    """A plain decimal string (``"-12.50"``) with at most ``integer_digits`` digits before the
    point and ``places`` after it (None: any), as a Decimal; anything else (a JSON number, an
    exponent, NaN, Infinity, spaces) a ValueError saying what is expected."""
    if not isinstance(value, str):
        raise ValueError(f'must be a decimal string such as "{example}", not a JSON number')
    found = _DECIMAL_TEXT.fullmatch(value)
    if found is None:
        raise ValueError(
            f'must be a plain decimal string such as "{example}" (no exponent, NaN or Infinity)'
        )
    whole, fraction = found.group(1).lstrip("0"), found.group(2) or ""
    if len(whole) > integer_digits:
        raise ValueError(f"must have at most {integer_digits} digits before the decimal point")
    if places is not None and len(fraction) > places:
        raise ValueError(f"must have at most {places} decimal places")
    return Decimal(value)


def _amount_text(value: Any) -> Decimal:
    return decimal_text(value, integer_digits=MAX_INTEGER_DIGITS, places=None)


def _quantity_text(value: Any) -> Decimal:
    quantity = decimal_text(
        value, integer_digits=QUANTITY_INTEGER_DIGITS, places=QUANTITY_PLACES, example="2.5"
    )
    if quantity <= 0:
        raise ValueError("must be greater than zero")
    return quantity


def _percent_text(value: Any) -> Decimal:
    percent = decimal_text(value, integer_digits=3, places=4, example="12.5")
    if not 0 <= percent <= 100:
        raise ValueError("must be between 0 and 100")
    return percent


def _plain(d: Decimal) -> str:
    return format(d, "f")


Amount = Annotated[
    Decimal,
    BeforeValidator(_no_floats),
    PlainSerializer(_plain, return_type=str, when_used="always"),
]
"""A decimal amount as events hold it, read from a string or an int, written as a plain
decimal string. Requests take :class:`MoneyIn`, :data:`Quantity` and :data:`Percent`."""

AmountText = Annotated[
    Decimal,
    BeforeValidator(_amount_text),
    PlainSerializer(_plain, return_type=str, when_used="always"),
    Field(json_schema_extra={"type": "string", "pattern": r"^-?[0-9]{1,15}(\.[0-9]+)?$"}),
]

Quantity = Annotated[
    Decimal,
    BeforeValidator(_quantity_text),
    PlainSerializer(_plain, return_type=str, when_used="always"),
    Field(
        description='a decimal string, e.g. "3" or "2.5": positive, at most 9 digits before'
        " the point and 6 after it",
        json_schema_extra={"type": "string", "pattern": r"^[0-9]{1,9}(\.[0-9]{1,6})?$"},
    ),
]
"""A quantity in a request: a decimal string, positive, at most 9 + 6 digits."""

Percent = Annotated[
    Decimal,
    BeforeValidator(_percent_text),
    PlainSerializer(_plain, return_type=str, when_used="always"),
    Field(
        description='a decimal string from "0" to "100", at most 4 decimal places',
        json_schema_extra={"type": "string", "pattern": r"^[0-9]{1,3}(\.[0-9]{1,4})?$"},
    ),
]
"""A percentage in a request (a discount): a decimal string from 0 to 100."""

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR")]


class CurrencyMismatch(ValueError):
    pass


class Money(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Amount
    currency: Currency

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Self:
        return cls(amount=Decimal(amount), currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(amount=Decimal(0), currency=currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def times(self, factor: Decimal | int) -> Money:
        return Money(amount=self.amount * factor, currency=self.currency)

    def rounded(self) -> Money:
        """Rounded to the currency's minor unit, half to even (banker's rounding)."""
        places = MINOR_UNITS.get(self.currency, 2)
        quantum = Decimal(1).scaleb(-places)
        return Money(amount=self.amount.quantize(quantum, ROUND_HALF_EVEN), currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return f"{format(self.amount, 'f')} {self.currency}"


class MoneyIn(Money):
    """Money as a request gives it: ``amount`` a plain decimal string (never a JSON number,
    an exponent, NaN or Infinity) with at most :data:`MAX_INTEGER_DIGITS` digits before the
    point and at most the currency's minor unit after it (``"12.50"`` EUR, ``"1250"`` JPY,
    ``"12.500"`` KWD). Request schemas declare :data:`RequestMoney`, which hands the
    application a plain :class:`Money`."""

    amount: AmountText

    @model_validator(mode="after")
    def _within_minor_unit(self) -> Self:
        places = minor_unit(self.currency)
        exponent = self.amount.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            raise ValueError(
                f"{self.currency} amounts have at most {places} decimal places"
                f" (its minor unit), not {-exponent}"
            )
        return self


def _as_money(value: MoneyIn) -> Money:
    return Money(amount=value.amount, currency=value.currency)


RequestMoney = Annotated[MoneyIn, AfterValidator(_as_money)]
"""The money field of a request body: validated as :class:`MoneyIn`, handed on as
:class:`Money` (what commands and events take)."""
