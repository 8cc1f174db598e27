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
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from crm.events import DomainEvent, EventEnvelope
from crm.events.knowledge import (
    KbArticleDrafted,
    KbArticlePublished,
    KbArticleRetired,
    KbArticleUpdated,
)
from crm.events.service_desk import TicketResolved
from crm.kernel.projection import DocKey, Projection
from crm.kernel.read_store import CollectionSpec, Document, Index
from crm.service_desk.domain.search import index_article

ARTICLES = "service_desk_kb_articles"
INDEX = "service_desk_kb_index"
CONTENT = ("title", "problem", "solution", "tags", "product")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _content(event: KbArticleDrafted | KbArticleUpdated) -> dict[str, Any]:
    return {
        "title": event.title,
        "problem": event.problem,
        "solution": event.solution,
        "tags": list(event.tags),
        "product": event.product,
    }


def _indexed(event: KbArticleDrafted | KbArticleUpdated, version: int) -> dict[str, Any]:
    return {
        "version": version,
        "title": event.title,
        "tags": list(event.tags),
        "product": event.product,
        "terms": index_article(
            title=event.title, problem=event.problem, solution=event.solution, tags=event.tags
        ),
    }


class ArticlesModel:
    collection = ARTICLES
    spec = CollectionSpec(
        ARTICLES,
        (
            Index(("tenant", "status", "updated_at")),
            Index(("tenant", "product")),
            Index(("tenant", "resolved_tickets")),
        ),
    )

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        at = _iso(envelope.occurred_at)
        if isinstance(event, KbArticleDrafted):
            version = {"version": 1, **_content(event), "changed": list(CONTENT)}
            return {
                "id": key[1],
                "tenant": envelope.tenant,
                "status": "draft",
                "author_id": event.author_id,
                **_content(event),
                "version": 1,
                "versions": [{**version, "at": _iso(event.drafted_at), "by": envelope.actor}],
                "published_version": None,
                "published": None,
                "published_at": None,
                "retired_at": None,
                "retire_reason": None,
                "resolved_tickets": 0,
                "last_resolved_at": None,
                "created_at": at,
                "updated_at": at,
            }
        if doc is None or doc["tenant"] != envelope.tenant:
            return doc  # a resolution naming an article this tenant does not have
        new = dict(doc)
        match event:
            case KbArticleUpdated():
                new.update(_content(event), version=event.version, updated_at=at)
                new["versions"] = [
                    *new["versions"],
                    {
                        "version": event.version,
                        **_content(event),
                        "changed": list(event.changed),
                        "at": _iso(event.updated_at),
                        "by": envelope.actor,
                    },
                ]
            case KbArticlePublished():
                published = new["versions"][event.version - 1]
                new.update(
                    status="published",
                    published_version=event.version,
                    published={f: published[f] for f in CONTENT},
                    published_at=_iso(event.published_at),
                    updated_at=at,
                )
            case KbArticleRetired():
                new.update(
                    status="retired",
                    published=None,
                    retired_at=_iso(event.retired_at),
                    retire_reason=event.reason,
                    updated_at=at,
                )
            case TicketResolved():
                new.update(
                    resolved_tickets=new["resolved_tickets"] + 1,
                    last_resolved_at=_iso(event.resolved_at),
                )
        return new


class SearchIndexModel:
    collection = INDEX
    spec = CollectionSpec(INDEX, (Index(("tenant", "status")),))

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if isinstance(event, KbArticleDrafted):
            return {
                "id": key[1],
                "tenant": envelope.tenant,
                "status": "draft",
                "latest": _indexed(event, 1),
                "published": None,
                "resolved_tickets": 0,
            }
        if doc is None or doc["tenant"] != envelope.tenant:
            return doc
        new = dict(doc)
        match event:
            case KbArticleUpdated():
                new["latest"] = _indexed(event, event.version)
            case KbArticlePublished():
                new.update(status="published", published=new["latest"])
            case KbArticleRetired():
                new.update(status="retired", published=None)
            case TicketResolved():
                new["resolved_tickets"] = new["resolved_tickets"] + 1
        return new


class KnowledgeBaseProjection:
    name = "service_desk_kb"
    version = 1
    articles = ArticlesModel()
    index = SearchIndexModel()
    collections = (articles.spec, index.spec)
    event_types = frozenset(
        e.event_type
        for e in (
            KbArticleDrafted,
            KbArticleUpdated,
            KbArticlePublished,
            KbArticleRetired,
            TicketResolved,
        )
    )
    categories = frozenset({"kb_article", "ticket"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
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
        model = self.articles if key[0] == ARTICLES else self.index
        return model.evolve(key, doc, event, envelope)


KB_PROJECTION = KnowledgeBaseProjection()

PROJECTIONS: tuple[Projection, ...] = (KB_PROJECTION,)
