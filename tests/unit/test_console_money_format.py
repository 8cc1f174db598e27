"""The console's amounts of money are written as Babel writes them, in both locales."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from babel.numbers import format_currency

from crm.console.i18n import Translator
from crm.console.money_format import _shaped, money

LOCALES = ("en_GB", "zh_Hans_CN")
CURRENCIES = ("EUR", "USD", "CNY", "GBP", "JPY", "CHF", "KWD", "XYZ")


def amounts() -> list[Decimal]:
    rng = random.Random(5)
    found = [Decimal(v) for v in ("0", "-0", "0.5", "0.125", "2.675", "-0.004", "1e12", "100")]
    for _ in range(300):
        digits = rng.randrange(0, 5)
        found.append(Decimal(rng.randrange(-(10**9), 10**9)).scaleb(-digits))
    return found


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("currency", CURRENCIES)
def test_an_amount_is_written_as_babel_writes_it(locale: str, currency: str) -> None:
    write = money(locale, currency)
    for amount in amounts():
        assert write(amount) == format_currency(amount, currency, locale=locale), amount


def test_the_translator_writes_its_locale_s_amounts() -> None:
    assert Translator("en").money({"amount": "1200.5", "currency": "EUR"}) == "€1,200.50"
    assert Translator("zh-CN").money("-3000", "CNY") == "-¥3,000.00"
    assert Translator("en").money("12", "JPY") == "JP¥12"
    assert Translator("en").money("twelve", "EUR") == "twelve EUR"
    assert Translator("en").money(None, "EUR") == Translator("en")("none")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_common_currencies_are_shaped_not_left_to_babel(locale: str) -> None:
    for currency in ("EUR", "USD", "CNY", "GBP", "JPY"):
        assert _shaped(locale, currency) is not None, currency
