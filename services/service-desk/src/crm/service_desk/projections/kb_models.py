"""Read models of the knowledge base: the articles with their versions, and the search index.

One projection, ``service_desk_kb``, reads the article streams and the ticket streams, and
feeds two collections:

- ``service_desk_kb_articles``: one document per article, its latest content, every version
  (whole content, what changed, when and by whom), the published version's content
  (``published``, None until published and after retirement) and ``resolved_tickets``;
- ``service_desk_kb_index``: per article, the term counts of its published version
  (:func:`crm.service_desk.domain.search.index_article`) and what a search hit shows, small
  enough for a search to read every published article of a tenant (see
  :mod:`crm.service_desk.application.kb_queries`). It also keeps the latest version's terms,
  as publishing makes the latest version the published one and a projection computes each
  document from its own previous state and the event alone.

How often an article resolved a ticket: every ``service_desk.ticket.resolved`` naming the
article (``kb_article_id``) counts one on both documents; a ticket reopened and resolved
again with the same article counts again (each resolution it gave). A resolution naming an
article this tenant does not have changes nothing. Counting here, not in the article's
stream, means resolving a ticket never contends with editing the article.

:class:`ArticleDoc` is the article document's shape, which the routes answer (without the
tenant); :class:`IndexDoc` the search index entry's, which only the search reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from pydantic import Field
from typing_extensions import TypedDict

from crm.events import DomainEvent, EventEnvelope
from crm.events.knowledge import (
    KbArticleDrafted,
    KbArticlePublished,
    KbArticleRetired,
    KbArticleUpdated,
)
from crm.events.service_desk import TicketResolved
from crm.kernel.handlers import DocKey, Handlers
from crm.kernel.projection import Projection
from crm.kernel.read_store import CollectionSpec, Document, Index
from crm.service_desk.domain.search import index_article

ARTICLES = "service_desk_kb_articles"
INDEX = "service_desk_kb_index"
CONTENT = ("title", "problem", "solution", "tags", "product")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


class Content(TypedDict):
    title: str
    problem: str
    solution: str
    tags: list[str]
    product: str | None


class Version(TypedDict):
    version: int
    title: str
    problem: str
    solution: str
    tags: list[str]
    product: str | None
    changed: list[str]
    at: str
    by: str


class ArticleDoc(TypedDict):
    """The latest version's content for the roles that write articles; the published one's
    (and only that version) for the others (see ``kb_queries.as_published``)."""

    id: str
    tenant: Annotated[str, Field(exclude=True)]
    status: str
    author_id: str
    title: str
    problem: str
    solution: str
    tags: list[str]
    product: str | None
    version: int
    versions: list[Version]
    published_version: int | None
    published: Content | None
    published_at: str | None
    retired_at: str | None
    retire_reason: str | None
    resolved_tickets: int
    """How many ticket resolutions named this article."""
    last_resolved_at: str | None
    created_at: str
    updated_at: str


def _content(event: KbArticleDrafted | KbArticleUpdated) -> Content:
    return Content(
        title=event.title,
        problem=event.problem,
        solution=event.solution,
        tags=list(event.tags),
        product=event.product,
    )


def _version(
    event: KbArticleDrafted | KbArticleUpdated,
    number: int,
    changed: Iterable[str],
    at: str,
    by: str,
) -> Version:
    return Version(version=number, **_content(event), changed=list(changed), at=at, by=by)


articles: Handlers[ArticleDoc] = Handlers()
Own = TypeVar("Own", "ArticleDoc", "IndexDoc")


@articles(KbArticleDrafted)
def drafted(
    key: DocKey, doc: ArticleDoc | None, event: KbArticleDrafted, envelope: EventEnvelope
) -> ArticleDoc:
    at = _iso(envelope.occurred_at)
    first = _version(event, 1, CONTENT, _iso(event.drafted_at), envelope.actor)
    return ArticleDoc(
        id=key[1],
        tenant=envelope.tenant,
        status="draft",
        author_id=event.author_id,
        **_content(event),
        version=1,
        versions=[first],
        published_version=None,
        published=None,
        published_at=None,
        retired_at=None,
        retire_reason=None,
        resolved_tickets=0,
        last_resolved_at=None,
        created_at=at,
        updated_at=at,
    )


def _own(doc: Own | None, envelope: EventEnvelope) -> Own | None:
    """The document to change, None if it is not the tenant's (a resolution naming an article
    this tenant does not have changes nothing)."""
    if doc is None or doc["tenant"] != envelope.tenant:
        return None
    return doc.copy()


@articles(KbArticleUpdated)
def updated(
    key: DocKey, doc: ArticleDoc | None, event: KbArticleUpdated, envelope: EventEnvelope
) -> ArticleDoc | None:
    new = _own(doc, envelope)
    if new is None:
        return doc
    content = _content(event)
    new["title"], new["problem"], new["solution"] = (
        content["title"],
        content["problem"],
        content["solution"],
    )
    new["tags"], new["product"] = content["tags"], content["product"]
    new["version"] = event.version
    new["updated_at"] = _iso(envelope.occurred_at)
    version = _version(event, event.version, event.changed, _iso(event.updated_at), envelope.actor)
    new["versions"] = [*new["versions"], version]
    return new


@articles(KbArticlePublished)
def published(
    key: DocKey, doc: ArticleDoc | None, event: KbArticlePublished, envelope: EventEnvelope
) -> ArticleDoc | None:
    new = _own(doc, envelope)
    if new is None:
        return doc
    version = new["versions"][event.version - 1]
    new["status"] = "published"
    new["published_version"] = event.version
    new["published"] = Content(
        title=version["title"],
        problem=version["problem"],
        solution=version["solution"],
        tags=version["tags"],
        product=version["product"],
    )
    new["published_at"] = _iso(event.published_at)
    new["updated_at"] = _iso(envelope.occurred_at)
    return new


@articles(KbArticleRetired)
def retired(
    key: DocKey, doc: ArticleDoc | None, event: KbArticleRetired, envelope: EventEnvelope
) -> ArticleDoc | None:
    new = _own(doc, envelope)
    if new is None:
        return doc
    new["status"] = "retired"
    new["published"] = None
    new["retired_at"] = _iso(event.retired_at)
    new["retire_reason"] = event.reason
    new["updated_at"] = _iso(envelope.occurred_at)
    return new


@articles(TicketResolved)
def resolved_a_ticket(
    key: DocKey, doc: ArticleDoc | None, event: TicketResolved, envelope: EventEnvelope
) -> ArticleDoc | None:
    new = _own(doc, envelope)
    if new is None:
        return doc
    new["resolved_tickets"] += 1
    new["last_resolved_at"] = _iso(event.resolved_at)
    return new


# -- the search index ----------------------------------------------------------------------------


class Indexed(TypedDict):
    version: int
    title: str
    tags: list[str]
    product: str | None
    terms: dict[str, dict[str, int]]
    """Per field, the term counts (:func:`~crm.service_desk.domain.search.index_article`)."""


class IndexDoc(TypedDict):
    id: str
    tenant: str
    status: str
    latest: Indexed
    published: Indexed | None
    resolved_tickets: int


def _indexed(event: KbArticleDrafted | KbArticleUpdated, version: int) -> Indexed:
    return Indexed(
        version=version,
        title=event.title,
        tags=list(event.tags),
        product=event.product,
        terms=index_article(
            title=event.title, problem=event.problem, solution=event.solution, tags=event.tags
        ),
    )


index: Handlers[IndexDoc] = Handlers()


@index(KbArticleDrafted)
def entry_drafted(
    key: DocKey, doc: IndexDoc | None, event: KbArticleDrafted, envelope: EventEnvelope
) -> IndexDoc:
    return IndexDoc(
        id=key[1],
        tenant=envelope.tenant,
        status="draft",
        latest=_indexed(event, 1),
        published=None,
        resolved_tickets=0,
    )


@index(KbArticleUpdated)
def entry_updated(
    key: DocKey, doc: IndexDoc | None, event: KbArticleUpdated, envelope: EventEnvelope
) -> IndexDoc | None:
    new = _own(doc, envelope)
    if new is None:
        return doc
    new["latest"] = _indexed(event, event.version)
    return new


@index(KbArticlePublished)
def entry_published(
    key: DocKey, doc: IndexDoc | None, event: KbArticlePublished, envelope: EventEnvelope
) -> IndexDoc | None:
    new = _own(doc, envelope)
    if new is None:
        return doc
    new["status"] = "published"
    new["published"] = new["latest"]
    return new


@index(KbArticleRetired)
def entry_retired(
    key: DocKey, doc: IndexDoc | None, event: KbArticleRetired, envelope: EventEnvelope
) -> IndexDoc | None:
    new = _own(doc, envelope)
    if new is None:
        return doc
    new["status"] = "retired"
    new["published"] = None
    return new


@index(TicketResolved)
def entry_resolved_a_ticket(
    key: DocKey, doc: IndexDoc | None, event: TicketResolved, envelope: EventEnvelope
) -> IndexDoc | None:
    new = _own(doc, envelope)
    if new is None:
        return doc
    new["resolved_tickets"] += 1
    return new


class KnowledgeBaseProjection:
    name = "service_desk_kb"
    version = 2
    collections = (
        CollectionSpec(
            ARTICLES,
            (
                Index(("tenant", "status", "updated_at")),
                Index(("tenant", "product")),
                Index(("tenant", "resolved_tickets")),
            ),
        ),
        CollectionSpec(INDEX, (Index(("tenant", "status")),)),
    )
    event_types = articles.event_types | index.event_types
    categories = frozenset({"kb_article", "ticket"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        """Each event lands on both documents of its article (a resolution: of the article
        it names, if any)."""
        if isinstance(event, TicketResolved):
            if event.kb_article_id is None:
                return ()
            id_ = event.kb_article_id
        else:
            id_ = envelope.stream_id.partition("-")[2]
        return ((ARTICLES, id_), (INDEX, id_))

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        handlers = articles if key[0] == ARTICLES else index
        return handlers.evolve(key, doc, event, envelope)


KB_PROJECTION = KnowledgeBaseProjection()

PROJECTIONS: tuple[Projection, ...] = (KB_PROJECTION,)
