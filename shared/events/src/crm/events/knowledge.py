"""Events of the knowledge base. Stream ``kb_article-<id>``; topic ``crm.service-desk.events``.

Every version of an article is an event carrying its whole content (drafted is version 1,
each update the next one), so any version, and what was published when, is read from the
stream alone. How often an article resolved a ticket is not an event of the article: a
ticket's resolution (``service_desk.ticket.resolved``) names the article that solved it in
``kb_article_id``, and a read model counts those, so resolving never contends with editing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from crm.events.base import DomainEvent
from crm.events.registry import event

Version = Annotated[int, Field(ge=1)]


@event("service_desk.kb_article.drafted")
class KbArticleDrafted(DomainEvent):
    """Version 1, not yet visible to searches."""

    title: str
    problem: str
    solution: str
    tags: tuple[str, ...] = ()
    """Normalised: lower case, words joined by ``-``, no duplicates."""
    product: str | None = None
    author_id: str
    drafted_at: datetime


@event("service_desk.kb_article.updated")
class KbArticleUpdated(DomainEvent):
    """A new version with the whole content after the change, and which fields changed. A
    published article stays published at its earlier version until this one is published."""

    version: Version
    title: str
    problem: str
    solution: str
    tags: tuple[str, ...] = ()
    product: str | None = None
    changed: tuple[str, ...]
    editor_id: str
    updated_at: datetime


@event("service_desk.kb_article.published")
class KbArticlePublished(DomainEvent):
    """``version`` is what searches find from now on."""

    version: Version
    published_at: datetime


@event("service_desk.kb_article.retired")
class KbArticleRetired(DomainEvent):
    """No longer found by searches, no longer edited; its history stays."""

    reason: str | None = None
    retired_at: datetime
