"""The knowledge-base article: drafted, published, updated in versions, retired.

Each draft or update is a version carrying the whole content, so every version is kept in the
stream. Publishing makes the latest version the one searches find; updating a published
article creates a new version that stays unpublished (searches keep finding the published
one) until it is published in turn. A retired article accepts nothing more.

How often an article resolved a ticket is not counted here: the ticket's resolution names its
article (``kb_article_id``) and a read model counts them, so resolving a ticket never contends
with editing the article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Self

from crm.events import DomainEvent
from crm.events.knowledge import (
    KbArticleDrafted,
    KbArticlePublished,
    KbArticleRetired,
    KbArticleUpdated,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated

MAX_TAGS = 20
MAX_TAG = 50
_SPACES = re.compile(r"[\s_]+")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidCommand("now", "must carry a time zone")
    return value


def _text(value: str | None, field: str, *, max_length: int) -> str | None:
    if value is None or not value.strip():
        return None
    cleaned = value.strip()
    if len(cleaned) > max_length:
        raise InvalidCommand(field, f"at most {max_length} characters")
    return cleaned


def _required(value: str, field: str, *, max_length: int) -> str:
    cleaned = _text(value, field, max_length=max_length)
    if cleaned is None:
        raise InvalidCommand(field, "must not be blank")
    return cleaned


def normalise_tags(tags: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Lower case, blanks dropped, inner spaces and underscores as ``-``, duplicates dropped
    (first one kept): ``" Printer  Jam"`` and ``"printer_jam"`` are the same tag."""
    seen: list[str] = []
    for tag in tags:
        clean = _SPACES.sub("-", tag.strip().lower()).strip("-")
        if not clean or clean in seen:
            continue
        if len(clean) > MAX_TAG:
            raise InvalidCommand("tags", f"a tag has at most {MAX_TAG} characters")
        seen.append(clean)
    if len(seen) > MAX_TAGS:
        raise InvalidCommand("tags", f"at most {MAX_TAGS} tags")
    return tuple(seen)


@dataclass(frozen=True, slots=True)
class ArticleContent:
    title: str
    problem: str
    solution: str
    tags: tuple[str, ...] = ()
    product: str | None = None

    FIELDS = ("title", "problem", "solution", "tags", "product")

    @classmethod
    def checked(
        cls,
        *,
        title: str,
        problem: str,
        solution: str,
        tags: tuple[str, ...] | list[str] = (),
        product: str | None = None,
    ) -> ArticleContent:
        return cls(
            title=_required(title, "title", max_length=200),
            problem=_required(problem, "problem", max_length=20_000),
            solution=_required(solution, "solution", max_length=50_000),
            tags=normalise_tags(tags),
            product=_text(product, "product", max_length=200),
        )

    def changed_from(self, other: ArticleContent) -> tuple[str, ...]:
        return tuple(f for f in self.FIELDS if getattr(self, f) != getattr(other, f))


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    """Never published."""
    PUBLISHED = "published"
    """A version is published (the latest may be a newer, unpublished one)."""
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class ArticleState:
    drafted: bool = False
    status: ArticleStatus = ArticleStatus.DRAFT
    author_id: str = ""
    version: int = 0
    """The latest version."""
    versions: tuple[ArticleContent, ...] = ()
    """Every version's content; version ``n`` is ``versions[n - 1]``."""
    published_version: int | None = None

    @property
    def content(self) -> ArticleContent:
        return self.versions[-1]

    @property
    def published(self) -> ArticleContent | None:
        """What searches find: the published version's content, if any and not retired."""
        if self.published_version is None or self.status is ArticleStatus.RETIRED:
            return None
        return self.versions[self.published_version - 1]

    @property
    def has_unpublished_changes(self) -> bool:
        return self.published_version is not None and self.published_version < self.version

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case KbArticleDrafted():
                content = ArticleContent(
                    event.title, event.problem, event.solution, event.tags, event.product
                )
                return replace(
                    self, drafted=True, author_id=event.author_id, version=1, versions=(content,)
                )
            case KbArticleUpdated():
                content = ArticleContent(
                    event.title, event.problem, event.solution, event.tags, event.product
                )
                return replace(self, version=event.version, versions=(*self.versions, content))
            case KbArticlePublished():
                return replace(
                    self, status=ArticleStatus.PUBLISHED, published_version=event.version
                )
            case KbArticleRetired():
                return replace(self, status=ArticleStatus.RETIRED)
        return self


def _require_latest(article_id: str, state: ArticleState, seen: int | None) -> None:
    """Refused (``article_version_mismatch``, with the latest ``version`` in the details)
    if ``seen`` is given and is not the latest version."""
    if seen is not None and seen != state.version:
        raise RuleViolated(
            f"article {article_id} is at version {state.version}, not {seen}",
            code="article_version_mismatch",
            details={"version": state.version, "seen": seen},
        )


class Article(Aggregate[ArticleState]):
    category = "kb_article"

    @classmethod
    def initial_state(cls) -> ArticleState:
        return ArticleState()

    def _require_drafted(self) -> ArticleState:
        if not self.state.drafted:
            raise NotFound(f"article {self.id} does not exist")
        return self.state

    def _require_not_retired(self, doing: str) -> ArticleState:
        state = self._require_drafted()
        if state.status is ArticleStatus.RETIRED:
            raise RuleViolated(
                f"article {self.id} is retired; cannot {doing} it", code="article_retired"
            )
        return state

    # -- commands ----------------------------------------------------------------------------

    def draft(
        self,
        *,
        title: str,
        problem: str,
        solution: str,
        author_id: str,
        now: datetime,
        tags: tuple[str, ...] | list[str] = (),
        product: str | None = None,
    ) -> None:
        if self.state.drafted:
            raise RuleViolated(f"article {self.id} already exists", code="already_exists")
        content = ArticleContent.checked(
            title=title, problem=problem, solution=solution, tags=tags, product=product
        )
        self.trigger(
            KbArticleDrafted(
                title=content.title,
                problem=content.problem,
                solution=content.solution,
                tags=content.tags,
                product=content.product,
                author_id=_required(author_id, "author_id", max_length=200),
                drafted_at=_aware(now),
            )
        )

    def update(
        self,
        *,
        title: str,
        problem: str,
        solution: str,
        editor_id: str,
        now: datetime,
        tags: tuple[str, ...] | list[str] = (),
        product: str | None = None,
        based_on: int | None = None,
    ) -> None:
        """The whole new content: a new version, unless nothing changed (then nothing).
        ``based_on``, if given, is the version the editor started from: an edit of a version
        someone has since replaced is refused (the editor would undo their change unseen)."""
        state = self._require_not_retired("update")
        _require_latest(self.id, state, based_on)
        content = ArticleContent.checked(
            title=title, problem=problem, solution=solution, tags=tags, product=product
        )
        changed = content.changed_from(state.content)
        if not changed:
            return
        self.trigger(
            KbArticleUpdated(
                version=state.version + 1,
                title=content.title,
                problem=content.problem,
                solution=content.solution,
                tags=content.tags,
                product=content.product,
                changed=changed,
                editor_id=_required(editor_id, "editor_id", max_length=200),
                updated_at=_aware(now),
            )
        )

    def publish(self, *, now: datetime, version: int | None = None) -> None:
        """Publish the latest version. ``version``, if given, must be the latest (the one the
        publisher reviewed): publishing a version someone has since edited is refused. The
        published version again: nothing."""
        state = self._require_not_retired("publish")
        _require_latest(self.id, state, version)
        if state.published_version == state.version:
            return
        self.trigger(KbArticlePublished(version=state.version, published_at=_aware(now)))

    def retire(self, *, now: datetime, reason: str | None = None) -> None:
        """Draft or published; a retired article again: nothing."""
        state = self._require_drafted()
        if state.status is ArticleStatus.RETIRED:
            return
        self.trigger(
            KbArticleRetired(reason=_text(reason, "reason", max_length=500), retired_at=_aware(now))
        )
