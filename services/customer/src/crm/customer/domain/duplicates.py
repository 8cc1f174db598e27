"""Likely duplicates of a customer: the same person or company registered twice.

Pure: the keys a customer is matched by (an e-mail address folded to lower case, a phone
number in E.164 where ``phonenumbers`` can read it, a company name folded) and the score of a
match. The application layer looks the keys up in the ``customers`` read model
(:mod:`crm.customer.application.duplicates`).

Scores (0-100): the same e-mail address 95, the same phone number 90, a similar name within
the same company up to 80 (its similarity times 80, from 0.85 similar on); each further
reason adds 5. A candidate scores at least :data:`THRESHOLD`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

import phonenumbers

THRESHOLD = 60
NAME_SIMILARITY = 0.85
SAME_EMAIL = 95
SAME_PHONE = 90
SIMILAR_NAME = 80


def email_key(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    return email.strip().casefold()


@lru_cache(maxsize=16_384)
def phone_key(phone: str | None) -> str | None:
    """E.164 when the number names its country (``+49 30 1234567`` → ``+49301234567``), else
    its digits: a number written twice the same way still matches."""
    if phone is None or not phone.strip():
        return None
    try:
        parsed = phonenumbers.parse(phone, None)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = "".join(c for c in phone if c.isdigit())
    return digits or None


@lru_cache(maxsize=16_384)
def text_key(text: str | None) -> str | None:
    """Folded for comparison: Unicode-normalised, lower case, no punctuation, single spaces."""
    if text is None:
        return None
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(c if c.isalnum() else " " for c in folded)
    cleaned = " ".join(kept.split())
    return cleaned or None


def name_similarity(a: str, b: str) -> float:
    """0..1; word order does not matter ("Lovelace Ada" is "Ada Lovelace")."""
    ka, kb = text_key(a) or "", text_key(b) or ""
    if not ka or not kb:
        return 0.0
    direct = SequenceMatcher(None, ka, kb).ratio()
    ordered = SequenceMatcher(None, " ".join(sorted(ka.split())), " ".join(sorted(kb.split())))
    return max(direct, ordered.ratio())


@dataclass(frozen=True, slots=True)
class MatchKeys:
    name: str
    email: str | None
    phone: str | None
    company: str | None

    @classmethod
    def of(cls, name: str, email: str | None, phone: str | None, company: str | None) -> MatchKeys:
        return cls(name, email_key(email), phone_key(phone), text_key(company))


@dataclass(frozen=True, slots=True)
class Match:
    customer_id: str
    score: int
    reasons: tuple[str, ...]
    """``same_email``, ``same_phone``, ``similar_name_same_company``."""


def score(keys: MatchKeys, customer_id: str, doc: Mapping[str, Any]) -> Match | None:
    """The match of ``keys`` against a ``customers`` document, if it scores a candidate."""
    found: list[tuple[int, str]] = []
    if keys.email and doc.get("email_key") == keys.email:
        found.append((SAME_EMAIL, "same_email"))
    if keys.phone and doc.get("phone_key") == keys.phone:
        found.append((SAME_PHONE, "same_phone"))
    if keys.company and doc.get("company_key") == keys.company:
        similarity = name_similarity(keys.name, str(doc.get("name") or ""))
        if similarity >= NAME_SIMILARITY:
            found.append((round(similarity * SIMILAR_NAME), "similar_name_same_company"))
    if not found:
        return None
    found.sort(reverse=True)
    total = min(100, found[0][0] + 5 * (len(found) - 1))
    if total < THRESHOLD:
        return None
    return Match(customer_id, total, tuple(reason for _, reason in found))
