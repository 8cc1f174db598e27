"""A churn reason reads in the reader's language wherever the console shows it (My day too):
its code's text from the catalogue, the assessment's own English words for a code the
catalogue does not know."""

from __future__ import annotations

from crm.console.i18n import MESSAGES, Translator


def test_a_known_reason_is_translated_and_an_unknown_one_keeps_its_words() -> None:
    complained = {"code": "complaints", "text": "4 complaints in 30 days"}
    assert Translator("zh-CN").reason(complained) == MESSAGES["zh-CN"]["reason.complaints"]
    assert Translator("en").reason(complained) == "Complained recently"
    novel = {"code": "something_new", "text": "a reason of a newer assessment"}
    assert Translator("zh-CN").reason(novel) == "a reason of a newer assessment"
