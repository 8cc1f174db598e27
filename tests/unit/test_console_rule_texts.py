"""Every refusal of the domain reads in both languages: each ``code=`` a rule raises anywhere
in the platform has a text of its own or a family's, in English and Chinese; a family's code
names its status in the reader's words; a code without a text falls back to the domain's
message."""

from __future__ import annotations

import re
from pathlib import Path

from crm.console.i18n import MESSAGES, Translator
from crm.console.rule_texts import FAMILIES, RULES
from crm.kernel.errors import RuleViolated

ROOT = Path(__file__).parents[2]


def raised_codes() -> set[str]:
    codes: set[str] = set()
    for folder in ("services", "shared", "src"):
        for path in (ROOT / folder).rglob("*.py"):
            codes |= set(re.findall(r'code="([a-z_]+)"', path.read_text(encoding="utf-8")))
    return codes - {"rule_violated"}


def test_every_code_a_rule_raises_has_a_text_in_both_languages() -> None:
    codes = raised_codes()
    assert len(codes) > 50  # the scan found the rules
    assert codes - set(RULES) == set()
    for locale in ("en", "zh-CN"):
        assert all(f"rule.{code}" in MESSAGES[locale] for code in RULES)
        assert all(f"rule.family.{prefix}" in MESSAGES[locale] for prefix in FAMILIES)


def test_a_refusal_in_the_readers_words() -> None:
    zh, en = Translator("zh-CN"), Translator("en")
    overpaid = RuleViolated(
        "a payment of 5 exceeds the balance of 3: overpayment", code="overpayment"
    )
    assert zh.refusal(overpaid) == "付款金额超过了未付余额。"
    assert en.refusal(overpaid) == "The payment is more than what is left to pay."
    converted = RuleViolated("lead x is converted; cannot qualify it", code="lead_converted")
    assert (
        en.refusal(converted)
        == f"The lead is {en('lead_status.converted')}: this cannot be done now."
    )
    assert zh("lead_status.converted") in zh.refusal(converted)
    unknown = RuleViolated("a rule of a newer service", code="something_new")
    assert zh.refusal(unknown) == "a rule of a newer service"
