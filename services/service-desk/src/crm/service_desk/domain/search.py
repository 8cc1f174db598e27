"""Full-text search over published knowledge-base articles, as pure functions.

The read model stores, per published article, the term counts of each field
(:func:`index_article`); a search tokenises the query the same way (:func:`tokenize`) and
ranks the stored documents (:func:`rank`). Tokens are case- and accent-insensitive
("Écran" and "ecran" match), stop words are dropped and a light English stemmer
(:func:`stem`) makes "printers" and "printer" one term, "printing", "printed" and "prints"
another, and "deliver", "delivered", "delivering", "delivery" and "deliveries" a third. A match
in the title weighs most, then the tags, then the problem and the solution; rarer terms weigh
more (inverse document frequency).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

FIELD_WEIGHTS: Mapping[str, float] = {"title": 3.0, "tags": 2.0, "problem": 1.0, "solution": 1.0}
"""How much one occurrence of a term counts in each field."""

# fmt: off
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from",
    "has", "have", "how", "i", "if", "in", "is", "it", "its", "my", "no", "not", "of", "on",
    "or", "our", "so", "that", "the", "their", "then", "there", "this", "to", "was", "what",
    "when", "where", "which", "who", "why", "will", "with", "you", "your",
})
# fmt: on
_WORD = re.compile(r"[a-z0-9]+")
_COMPOUND = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
_SUFFIXES = (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("s", ""))
"""Inflections, the first that fits is stripped: plurals, third person, past, gerund."""
_UNDOUBLED = frozenset("bdfgkmnprt")
"""A consonant doubled before -ing/-ed is one in the stem: ``shipped`` -> ``ship``."""
MIN_STEM = 3
NOUN_STEM = 4
"""The least stem left by the noun ending -ery: ``delivery`` -> ``deliver``, ``every`` stays."""

FieldTerms = Mapping[str, Mapping[str, int]]
"""Per field, how often each term occurs: what the read model stores for one article."""


def fold(text: str) -> str:
    """Lower case without accents: ``"Écran"`` -> ``"ecran"``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stem(word: str) -> str:
    """A light English stemmer: strip one inflection when a stem of at least three
    characters remains (``printers`` -> ``printer``, ``printing`` and ``printed`` ->
    ``print``, ``deliveries`` -> ``delivery``), undouble the consonant an -ing or -ed doubled
    (``shipped`` -> ``ship``), then turn the noun ending -ery into the verb's -er
    (``delivery`` -> ``deliver``, ``recovery`` -> ``recover``). Crude, but applied to
    documents and queries alike, so the two meet."""
    if word.isdigit() or word.endswith("ss"):
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            word = word[: -len(suffix)] + replacement
            if (
                suffix in ("ing", "ed")
                and len(word) > MIN_STEM
                and word[-1] == word[-2]
                and word[-1] in _UNDOUBLED
            ):
                word = word[:-1]
            break
    if word.endswith("ery") and len(word) - 3 >= NOUN_STEM:
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """The terms of ``text``: folded, split on anything not a letter or digit, stop words
    dropped, stemmed; a hyphenated compound also gives its parts joined, so ``Wi-Fi`` is
    found by ``wifi`` too."""
    folded = fold(text)
    words = [w for w in _WORD.findall(folded) if w not in STOP_WORDS]
    words += [c.replace("-", "") for c in _COMPOUND.findall(folded)]
    return [stem(w) for w in words]


def index_article(
    *, title: str, problem: str, solution: str, tags: Iterable[str] = ()
) -> dict[str, dict[str, int]]:
    """The term counts of each field (a tag ``printer-jam`` gives ``printer`` and ``jam``)."""
    return {
        "title": dict(Counter(tokenize(title))),
        "tags": dict(Counter(t for tag in tags for t in tokenize(tag))),
        "problem": dict(Counter(tokenize(problem))),
        "solution": dict(Counter(tokenize(solution))),
    }


@dataclass(frozen=True, slots=True)
class Hit:
    article_id: str
    score: float


def rank(query: str, documents: Mapping[str, FieldTerms], *, limit: int | None = None) -> list[Hit]:
    """The documents matching at least one query term, best first (ties by id).

    A document's score sums, over the distinct query terms, the term's inverse document
    frequency times its weighted count in the document's fields (damped: 1 + log(count)),
    times the share of the query terms it contains, so one that matches every term ranks
    above one that repeats a single term."""
    terms = list(dict.fromkeys(tokenize(query)))
    if not terms or not documents:
        return []
    n = len(documents)
    frequency = {
        t: sum(1 for fields in documents.values() if any(t in c for c in fields.values()))
        for t in terms
    }
    hits = []
    for article_id, fields in documents.items():
        score = 0.0
        matched = 0
        for t in terms:
            weighted = sum(
                weight * (1 + math.log(fields[f][t]))
                for f, weight in FIELD_WEIGHTS.items()
                if fields.get(f, {}).get(t, 0) > 0
            )
            if weighted:
                matched += 1
                score += weighted * math.log(1 + n / frequency[t])
        if matched:
            hits.append(Hit(article_id, round(score * matched / len(terms), 6)))
    hits.sort(key=lambda h: (-h.score, h.article_id))
    return hits if limit is None else hits[:limit]
