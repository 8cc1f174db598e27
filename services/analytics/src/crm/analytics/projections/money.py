"""Money as the analytics documents store it: ``{"amount": "<decimal string>", "currency"}``,
and sums per currency as ``{"EUR": "<decimal string>", ...}``. One definition for every read
model of the context, so an amount reads the same in each of them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from typing_extensions import TypedDict

from crm.events.money import Money


class MoneyDoc(TypedDict):
    amount: str
    """A plain decimal string, as on the wire (``"1234.50"``)."""
    currency: str


def money_doc(money: Money) -> MoneyDoc:
    return MoneyDoc(amount=format(money.amount, "f"), currency=money.currency)


def add_money(totals: Mapping[str, str], money: Money, sign: int = 1) -> dict[str, str]:
    """``totals`` (a decimal string per currency) with ``money`` added (``sign`` -1: taken
    away)."""
    new = dict(totals)
    new[money.currency] = str(Decimal(new.get(money.currency, "0")) + sign * money.amount)
    return new
