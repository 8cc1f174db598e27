"""Knowledge-base commands: draft, update (a new version), publish, retire.

Agents, managers and admins write articles (:data:`DeskAction.WORK`); the other roles only
read published ones (:mod:`crm.service_desk.application.kb_queries`). An update is a PATCH:
the fields given replace the latest version's, the others are carried over, and the domain
records a new version with the whole content (or nothing, if nothing changed). Each command
runs on a fresh load and is retried when a concurrent editor wins the append, so two edits of
different fields both land, each on top of the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from crm.kernel.codec import EventCodec
from crm.kernel.event_store import AppendResult, EventStore
from crm.kernel.repository import CommandContext, Repository, execute
from crm.service_desk.application.policy import DeskAction, authorize
from crm.service_desk.domain.knowledge import Article

ATTEMPTS = 10


@dataclass(frozen=True, slots=True)
class ArticleChanges:
    """A PATCH of an article: None leaves a field as it is (``product`` "" clears it)."""

    title: str | None = None
    problem: str | None = None
    solution: str | None = None
    tags: tuple[str, ...] | None = None
    product: str | None = None


def _may_write(ctx: CommandContext) -> None:
    authorize(ctx, DeskAction.WORK, what="article", scoped=False)


class KnowledgeBaseService:
    def __init__(self, store: EventStore, codec: EventCodec) -> None:
        self.articles = Repository(store, codec, Article)

    async def draft(
        self,
        ctx: CommandContext,
        *,
        title: str,
        problem: str,
        solution: str,
        tags: tuple[str, ...] = (),
        product: str | None = None,
    ) -> AppendResult:
        _may_write(ctx)
        return await execute(
            self.articles,
            str(uuid4()),
            lambda a: a.draft(
                title=title,
                problem=problem,
                solution=solution,
                author_id=ctx.actor,
                now=ctx.now,
                tags=tags,
                product=product,
            ),
            ctx,
            create=True,
        )

    async def update(
        self, ctx: CommandContext, article_id: str, changes: ArticleChanges
    ) -> AppendResult:
        _may_write(ctx)

        def update(article: Article) -> None:
            current = article.state.content
            article.update(
                title=current.title if changes.title is None else changes.title,
                problem=current.problem if changes.problem is None else changes.problem,
                solution=current.solution if changes.solution is None else changes.solution,
                tags=current.tags if changes.tags is None else changes.tags,
                product=current.product if changes.product is None else changes.product,
                editor_id=ctx.actor,
                now=ctx.now,
            )

        return await execute(self.articles, article_id, update, ctx, attempts=ATTEMPTS)

    async def publish(
        self, ctx: CommandContext, article_id: str, version: int | None = None
    ) -> AppendResult:
        _may_write(ctx)
        return await execute(
            self.articles,
            article_id,
            lambda a: a.publish(now=ctx.now, version=version),
            ctx,
            attempts=ATTEMPTS,
        )

    async def retire(
        self, ctx: CommandContext, article_id: str, reason: str | None = None
    ) -> AppendResult:
        _may_write(ctx)
        return await execute(
            self.articles,
            article_id,
            lambda a: a.retire(now=ctx.now, reason=reason),
            ctx,
            attempts=ATTEMPTS,
        )
