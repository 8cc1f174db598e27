"""Money in the published language: a decimal amount with its ISO 4217 currency, never a float.

On the wire an amount is a decimal string (``"1234.50"``), so no consumer in any language
reads it through a binary float. Arithmetic is :class:`~decimal.Decimal`; amounts of
different currencies never mix.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3, "JOD": 3}
"""Decimal places of currencies that do not use two (ISO 4217)."""


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


Amount = Annotated[
    Decimal,
    BeforeValidator(_no_floats),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="always"),
]
"""A decimal amount, read from a string or an int, written as a plain decimal string."""

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
