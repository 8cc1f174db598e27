"""Reads of the knowledge base: articles, and full-text search over the published ones.

Everyone who may view the desk reads published articles; drafts, unpublished versions and
retired articles are for the roles that write articles (agents, managers, admins). A reader
sees a published article *as published*: its published version's content and only that
version, not the edits waiting to be published. An article the actor may not see is 404.

Search. The index collection holds, per article, the term counts of its published version;
a search reads the published entries of the tenant (page by page) and ranks them with
:func:`crm.service_desk.domain.search.rank` (inverse document frequency needs the whole
published set anyway). That is a scan of the tenant's published articles' term vectors on
every search: a few milliseconds for hundreds of articles, fine for thousands (a vector is a
few hundred small counts). Beyond that, the same tokens would go into an inverted index
(term -> article ids and counts, kept by the projection, with per-term document
frequencies) so a search reads only the postings of its terms; or, with MongoDB as the read
store, into a text index or Atlas Search, or a dedicated engine (OpenSearch) fed by the same
events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.kernel.access import Principal
from crm.kernel.auth import Actor
from crm.kernel.errors import NotFound
from crm.kernel.read_store import Document, Page, Query, ReadStore, sort_order
from crm.service_desk.application.policy import POLICY, DeskAction
from crm.service_desk.domain.search import rank
from crm.service_desk.projections.kb_models import ARTICLES, CONTENT, INDEX

SORTS = frozenset({"title", "created_at", "updated_at", "resolved_tickets"})
SCAN_PAGE = 500
MAX_HITS = 100


@dataclass(frozen=True)
class ArticleFilter:
    status: str | None = None
    tag: str | None = None
    product: str | None = None


def _writer(actor: Actor) -> bool:
    """Whether ``actor`` sees drafts and unpublished versions: the roles that write articles."""
    POLICY.visibility_filter(actor)  # Forbidden for a role that may not view the desk at all
    return POLICY.may(Principal.of(actor), DeskAction.WORK)


def as_published(doc: Document) -> Document:
    """The article as a reader sees it: the published version's content and only it."""
    published = doc["published"]
    number = doc["published_version"]
    return {
        **doc,
        **published,
        "version": number,
        "versions": [v for v in doc["versions"] if v["version"] == number],
    }


class KnowledgeBaseQueries:
    def __init__(self, read_store: ReadStore) -> None:
        self.read_store = read_store

    async def article(self, actor: Actor, article_id: str) -> Document:
        writer = _writer(actor)
        doc = await self.read_store.get(ARTICLES, article_id)
        if doc is None or doc["tenant"] != actor.tenant:
            raise NotFound(f"article {article_id} does not exist")
        if writer:
            return doc
        if doc["published"] is None:
            raise NotFound(f"article {article_id} does not exist")
        return as_published(doc)

    async def articles(
        self, actor: Actor, flt: ArticleFilter, *, sort: str, limit: int, offset: int
    ) -> Page:
        writer = _writer(actor)
        conditions: list[dict[str, Any]] = [{"tenant": actor.tenant}]
        prefix = ""
        if not writer:
            # Readers: published articles, filtered on what was published.
            if flt.status not in (None, "published"):
                return Page([], 0, limit, offset)
            conditions.append({"status": "published"})  # a published version, not retired
            prefix = "published."
        elif flt.status is not None:
            conditions.append({"status": flt.status})
        if flt.tag is not None:
            conditions.append({f"{prefix}tags": {"$contains": flt.tag.strip().lower()}})
        if flt.product is not None:
            conditions.append({f"{prefix}product": flt.product})
        field, direction = sort_order(sort)
        if not writer and field in CONTENT:
            field = prefix + field
        page = await self.read_store.find(
            ARTICLES,
            Query(
                filter={"$and": conditions},
                sort=((field, direction),),
                limit=limit,
                offset=offset,
            ),
        )
        items = page.items if writer else [as_published(d) for d in page.items]
        return Page(items, page.total, page.limit, page.offset)

    async def search(
        self, actor: Actor, q: str, *, limit: int, product: str | None = None
    ) -> list[dict[str, Any]]:
        """Published articles matching ``q``, best first (see the module's docstring)."""
        POLICY.visibility_filter(actor)
        entries: dict[str, Document] = {}
        offset = 0
        while True:
            page = await self.read_store.find(
                INDEX,
                Query(
                    filter={"tenant": actor.tenant, "status": "published"},
                    sort=(("id", 1),),
                    limit=SCAN_PAGE,
                    offset=offset,
                ),
            )
            for doc in page.items:
                if doc["published"] is not None:
                    entries[doc["id"]] = doc
            offset += len(page.items)
            if not page.items or offset >= page.total:
                break
        # Rank against every published article (the weights of rare terms depend on all of
        # them), then keep the product's.
        hits = rank(q, {i: e["published"]["terms"] for i, e in entries.items()})
        if product is not None:
            hits = [h for h in hits if entries[h.article_id]["published"]["product"] == product]
        return [
            {
                "id": h.article_id,
                "score": h.score,
                "title": entries[h.article_id]["published"]["title"],
                "tags": entries[h.article_id]["published"]["tags"],
                "product": entries[h.article_id]["published"]["product"],
                "version": entries[h.article_id]["published"]["version"],
                "resolved_tickets": entries[h.article_id]["resolved_tickets"],
            }
            for h in hits[:limit]
        ]
