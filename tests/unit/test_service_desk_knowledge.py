"""Knowledge-base articles given/when/then (versions, publishing, retirement) and the pure
full-text search over published articles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.events import REGISTRY
from crm.events.knowledge import (
    KbArticleDrafted,
    KbArticlePublished,
    KbArticleRetired,
    KbArticleUpdated,
)
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.service_desk.domain.knowledge import Article, ArticleStatus, normalise_tags
from crm.service_desk.domain.search import fold, index_article, rank, stem, tokenize
from tests.unit.given_when_then import Scenario

NOW = datetime(2026, 11, 3, 9, tzinfo=UTC)
DRAFTED = KbArticleDrafted(
    title="Printer jams on duplex",
    problem="The printer jams when printing on both sides.",
    solution="Clean the duplex rollers.",
    tags=("printer", "paper-jam"),
    product="LaserJet 400",
    author_id="agent-1",
    drafted_at=NOW,
)
PUBLISHED_1 = KbArticlePublished(version=1, published_at=NOW)
UPDATED_2 = KbArticleUpdated(
    version=2,
    title="Printer jams on duplex",
    problem="The printer jams when printing on both sides.",
    solution="Clean the duplex rollers, then update the firmware.",
    tags=("printer", "paper-jam"),
    product="LaserJet 400",
    changed=("solution",),
    editor_id="agent-2",
    updated_at=NOW,
)
RETIRED = KbArticleRetired(reason="product discontinued", retired_at=NOW)


def article() -> Scenario[Article]:
    return Scenario(Article, id="kb-1")


def draft(a: Article, **overrides: object) -> None:
    args: dict[str, object] = {
        "title": " Printer jams on duplex ",
        "problem": "The printer jams when printing on both sides.",
        "solution": "Clean the duplex rollers.",
        "tags": ["Printer", " paper  jam", "printer", ""],
        "product": "LaserJet 400",
        "author_id": "agent-1",
        "now": NOW,
    }
    args.update(overrides)
    a.draft(**args)  # type: ignore[arg-type]


def update(a: Article, **overrides: object) -> None:
    args: dict[str, object] = {
        "title": DRAFTED.title,
        "problem": DRAFTED.problem,
        "solution": "Clean the duplex rollers, then update the firmware.",
        "tags": list(DRAFTED.tags),
        "product": DRAFTED.product,
        "editor_id": "agent-2",
        "now": NOW,
    }
    args.update(overrides)
    a.update(**args)  # type: ignore[arg-type]


def code_of(error: Exception) -> str:
    assert isinstance(error, RuleViolated)
    return error.code


def test_the_kb_events_are_registered() -> None:
    for name in ("drafted", "updated", "published", "retired"):
        assert f"service_desk.kb_article.{name}" in REGISTRY


# -- drafting ------------------------------------------------------------------------------------


def test_draft_an_article_with_normalised_tags() -> None:
    a = article().when(draft).then(DRAFTED)
    assert a.state.status is ArticleStatus.DRAFT
    assert a.state.version == 1
    assert a.state.published is None
    assert a.stream_id == "kb_article-kb-1"


@pytest.mark.parametrize("field", ["title", "problem", "solution", "author_id"])
def test_draft_requires_its_texts(field: str) -> None:
    error = article().when(lambda a: draft(a, **{field: "  "})).then_raises(InvalidCommand)
    assert isinstance(error, InvalidCommand)
    assert error.field == field


def test_tags_are_normalised_and_bounded() -> None:
    assert normalise_tags([" Paper  Jam", "paper_jam", "PAPER-JAM", "  ", "Wi Fi"]) == (
        "paper-jam",
        "wi-fi",
    )
    with pytest.raises(InvalidCommand, match="tags"):
        normalise_tags([f"t{i}" for i in range(21)])
    with pytest.raises(InvalidCommand, match="tags"):
        normalise_tags(["x" * 51])


def test_an_article_is_drafted_once_and_must_exist_to_be_changed() -> None:
    error = article().given(DRAFTED).when(draft).then_raises(RuleViolated)
    assert code_of(error) == "already_exists"
    article().when(lambda a: a.publish(now=NOW)).then_raises(NotFound)
    article().when(update).then_raises(NotFound)
    article().when(lambda a: a.retire(now=NOW)).then_raises(NotFound)


# -- versions and publishing ---------------------------------------------------------------------


def test_publish_the_draft() -> None:
    a = article().given(DRAFTED).when(lambda a: a.publish(now=NOW)).then(PUBLISHED_1)
    assert a.state.status is ArticleStatus.PUBLISHED
    assert a.state.published is not None
    assert a.state.published.solution == "Clean the duplex rollers."


def test_publishing_the_published_version_again_records_nothing() -> None:
    article().given(DRAFTED, PUBLISHED_1).when(lambda a: a.publish(now=NOW)).then()


def test_an_update_is_a_new_version_and_the_published_one_stays_until_published() -> None:
    a = article().given(DRAFTED, PUBLISHED_1).when(update).then(UPDATED_2)
    assert a.state.version == 2
    assert a.state.has_unpublished_changes
    assert a.state.published is not None
    assert a.state.published.solution == "Clean the duplex rollers."
    assert [v.solution for v in a.state.versions] == [DRAFTED.solution, UPDATED_2.solution]
    republished = KbArticlePublished(version=2, published_at=NOW)
    a = (
        article()
        .given(DRAFTED, PUBLISHED_1, UPDATED_2)
        .when(lambda a: a.publish(now=NOW, version=2))
        .then(republished)
    )
    assert a.state.published is not None
    assert a.state.published.solution == UPDATED_2.solution
    assert not a.state.has_unpublished_changes


def test_an_update_changing_nothing_records_nothing() -> None:
    article().given(DRAFTED).when(
        lambda a: update(a, solution=DRAFTED.solution, tags=["PRINTER", "paper jam"])
    ).then()


def test_updates_name_what_changed_and_count_versions() -> None:
    third = KbArticleUpdated(
        version=3,
        title="Duplex printing jams",
        problem=UPDATED_2.problem,
        solution=UPDATED_2.solution,
        tags=("printer",),
        product=None,
        changed=("title", "tags", "product"),
        editor_id="agent-2",
        updated_at=NOW,
    )
    article().given(DRAFTED, UPDATED_2).when(
        lambda a: update(a, title="Duplex printing jams", tags=["printer"], product=" ")
    ).then(third)


def test_publishing_a_version_someone_has_since_edited_is_refused() -> None:
    error = (
        article()
        .given(DRAFTED, UPDATED_2)
        .when(lambda a: a.publish(now=NOW, version=1))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "article_version_mismatch"


def test_an_edit_of_the_latest_version_is_recorded_one_of_an_older_version_refused() -> None:
    article().given(DRAFTED, PUBLISHED_1).when(lambda a: update(a, based_on=1)).then(UPDATED_2)
    error = (
        article()
        .given(DRAFTED, UPDATED_2)
        .when(lambda a: update(a, based_on=1, title="Someone's older view"))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "article_version_mismatch"
    assert isinstance(error, RuleViolated)
    assert error.details == {"version": 2, "seen": 1}


# -- retirement ----------------------------------------------------------------------------------


def test_retire_a_published_article_hides_it_from_searches() -> None:
    a = (
        article()
        .given(DRAFTED, PUBLISHED_1)
        .when(lambda a: a.retire(now=NOW, reason=" product discontinued "))
        .then(RETIRED)
    )
    assert a.state.status is ArticleStatus.RETIRED
    assert a.state.published is None


def test_retiring_again_records_nothing_and_a_retired_article_is_frozen() -> None:
    article().given(DRAFTED, RETIRED).when(lambda a: a.retire(now=NOW)).then()
    for command in (update, lambda a: a.publish(now=NOW)):
        error = (
            article().given(DRAFTED, PUBLISHED_1, RETIRED).when(command).then_raises(RuleViolated)
        )
        assert code_of(error) == "article_retired"


# -- search --------------------------------------------------------------------------------------


def test_tokens_ignore_case_accents_punctuation_and_stop_words() -> None:
    assert fold("Écran Noir") == "ecran noir"
    assert tokenize("The ÉCRAN is black; printers, printing & batteries!") == [
        "ecran",
        "black",
        "printer",
        "print",
        "batter",
    ]
    assert tokenize("Wi-Fi e-mails") == ["wi", "fi", "e", "mail", "wifi", "email"]
    assert [stem(w) for w in ("access", "used", "rebooted", "2024", "status")] == [
        "access",
        "used",
        "reboot",
        "2024",
        "statu",
    ]


def test_the_stemmer_gives_a_word_family_one_stem() -> None:
    family = ("deliver", "delivers", "delivered", "delivering", "delivery", "deliveries")
    assert {stem(w) for w in family} == {"deliver"}
    assert {stem(w) for w in ("ship", "ships", "shipped", "shipping")} == {"ship"}
    assert {stem(w) for w in ("recover", "recovered", "recovery", "recoveries")} == {"recover"}
    assert [stem(w) for w in ("called", "needed", "every", "query", "queries", "copied")] == [
        "call",
        "need",
        "every",
        "query",
        "query",
        "copy",
    ]
    # accents are folded before stemming: the French word meets its plain spelling
    assert tokenize("Livraisons retardées") == tokenize("livraison retardee")


def test_a_search_for_delivered_finds_the_delivery_article() -> None:
    docs = {
        "delivery": index_article(
            title="Delivery times", problem="When will my order arrive?", solution="2 days"
        ),
        "toner": index_article(title="Toner empty", problem="Faded prints", solution="Swap"),
    }
    assert [h.article_id for h in rank("delivered late", docs)] == ["delivery"]
    assert [h.article_id for h in rank("deliveries", docs)] == ["delivery"]


def test_an_article_is_indexed_per_field() -> None:
    terms = index_article(
        title="Printer jams", problem="Printer jams often", solution="Clean", tags=["paper-jam"]
    )
    assert terms == {
        "title": {"printer": 1, "jam": 1},
        "tags": {"paper": 1, "jam": 1, "paperjam": 1},
        "problem": {"printer": 1, "jam": 1, "often": 1},
        "solution": {"clean": 1},
    }


DOCS = {
    "in-title": index_article(
        title="Wi-Fi drops", problem="Connection lost", solution="Restart the router"
    ),
    "in-solution": index_article(
        title="Slow laptop", problem="Laptop is slow", solution="Check the Wi-Fi driver"
    ),
    "unrelated": index_article(
        title="Printer jams", problem="Paper stuck", solution="Open tray", tags=["printer"]
    ),
}


def test_a_match_in_the_title_ranks_above_one_in_the_solution() -> None:
    hits = rank("Wi-Fi", DOCS)
    assert [h.article_id for h in hits] == ["in-title", "in-solution"]
    assert hits[0].score > hits[1].score > 0
    # a compound is also found written as one word
    assert [h.article_id for h in rank("wifi", DOCS)] == ["in-title", "in-solution"]


def test_matching_every_query_term_beats_repeating_one() -> None:
    docs = {
        "repeats": index_article(title="Router", problem="router router router", solution="router"),
        "both": index_article(title="Router firmware", problem="x", solution="y"),
    }
    assert [h.article_id for h in rank("router firmware", docs)] == ["both", "repeats"]


def test_rarer_terms_weigh_more_and_ties_are_ordered_by_id() -> None:
    docs = {
        "b": index_article(title="Printer", problem="p", solution="s"),
        "a": index_article(title="Printer", problem="p", solution="s"),
        "c": index_article(title="Toner", problem="p", solution="s"),
    }
    hits = rank("printer toner", docs)
    assert [h.article_id for h in hits] == ["c", "a", "b"]
    assert hits[1].score == hits[2].score
    assert rank("printer", docs, limit=1)[0].article_id == "a"


def test_nothing_to_search_finds_nothing() -> None:
    assert rank("the and of", DOCS) == []
    assert rank("printer", {}) == []
    assert rank("kangaroo", DOCS) == []
