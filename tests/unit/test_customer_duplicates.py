"""Which customers are likely the same: the keys and the score (pure)."""

from __future__ import annotations

from crm.customer.domain.duplicates import (
    THRESHOLD,
    MatchKeys,
    email_key,
    name_similarity,
    phone_key,
    score,
)


def doc(**fields: object) -> dict[str, object]:
    keys = MatchKeys.of(
        str(fields.get("name", "")),
        fields.get("email"),  # type: ignore[arg-type]
        fields.get("phone"),  # type: ignore[arg-type]
        fields.get("company"),  # type: ignore[arg-type]
    )
    return {
        "name": fields.get("name", ""),
        "email_key": keys.email,
        "phone_key": keys.phone,
        "company_key": keys.company,
    }


def test_emails_and_phones_are_compared_normalised() -> None:
    assert email_key("  Ada@Example.COM ") == "ada@example.com"
    assert phone_key("+49 30 1234567") == phone_key("+49 (30) 123-4567") == "+49301234567"
    assert phone_key("+86 138 0013 8000") == "+8613800138000"
    assert phone_key("030 1234567") == "0301234567"  # no country: its digits
    assert phone_key("  ") is None


def test_the_same_email_is_a_strong_candidate() -> None:
    keys = MatchKeys.of("Ada King", "ADA@example.com", None, None)
    match = score(keys, "c1", doc(name="Ada Lovelace", email="ada@example.com"))
    assert match is not None
    assert match.score == 95
    assert match.reasons == ("same_email",)


def test_every_further_reason_adds_to_the_score() -> None:
    keys = MatchKeys.of("Ada Lovelace", "ada@example.com", "+44 20 7946 0000", "Analytical Ltd")
    other = doc(
        name="Lovelace, Ada",
        email="ada@example.com",
        phone="+44 (20) 7946-0000",
        company="analytical ltd.",
    )
    match = score(keys, "c1", other)
    assert match is not None
    assert match.reasons == ("same_email", "same_phone", "similar_name_same_company")
    assert match.score == 100


def test_a_similar_name_counts_only_within_the_same_company() -> None:
    keys = MatchKeys.of("Jon Smith", None, None, "Acme")
    assert score(keys, "c1", doc(name="John Smith", company="ACME")) is not None
    assert score(keys, "c1", doc(name="John Smith", company="Globex")) is None
    assert score(keys, "c1", doc(name="John Smith")) is None
    assert score(keys, "c1", doc(name="Mary Jones", company="Acme")) is None


def test_chinese_names_and_word_order() -> None:
    assert name_similarity("张伟", "张伟") == 1.0
    assert name_similarity("Lovelace Ada", "Ada Lovelace") == 1.0
    assert name_similarity("张伟", "李娜") < 0.5


def test_nothing_in_common_is_no_candidate() -> None:
    keys = MatchKeys.of("Ada", "ada@example.com", "+49 30 1234567", None)
    assert (
        score(keys, "c1", doc(name="Bob", email="bob@example.com", phone="+49 30 7654321")) is None
    )
    assert THRESHOLD > 0
