"""Routes of the knowledge base: /kb/articles, /kb/articles/{id}/publish|retire, /kb/search.
A route maps the request to a command (:mod:`crm.service_desk.application.article_commands`)
and the result to its position; reads answer the read model's documents."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from crm.kernel.auth import Actor
from crm.kernel.http import (
    Authenticator,
    CommandAccepted,
    Commands,
    PageOf,
    ReadConsistency,
    accepted,
)
from crm.kernel.http.export import EXPORT_RESPONSES, ListFormat, PageLimit, listed
from crm.kernel.http.params import Offset, checked_sort
from crm.kernel.http.routers import api_router
from crm.kernel.read_store import Page
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.service_desk.api.kb_schemas import (
    ArticlePatch,
    ArticleStatusName,
    NewArticle,
    Publication,
    Retirement,
    SearchResult,
)
from crm.service_desk.application.article_commands import (
    DraftArticle,
    PublishArticle,
    RetireArticle,
    UpdateArticle,
)
from crm.service_desk.application.kb_queries import (
    MAX_HITS,
    SORTS,
    ArticleFilter,
    KnowledgeBaseQueries,
)
from crm.service_desk.projections.kb_models import KB_PROJECTION, ArticleDoc


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(tags=["service desk: knowledge base"])
    bus = runtime.commands
    queries = KnowledgeBaseQueries(runtime.read_store)
    Ctx = Annotated[CommandContext, Depends(Commands(runtime, authenticate).context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, KB_PROJECTION))

    @api.post("/kb/articles", status_code=201, response_model=CommandAccepted)
    async def draft(body: NewArticle, ctx: Ctx, response: Response) -> CommandAccepted:
        command = DraftArticle(
            title=body.title,
            problem=body.problem,
            solution=body.solution,
            tags=tuple(body.tags),
            product=body.product,
        )
        return accepted(await bus.execute(command, ctx), response, created_under="/kb/articles")

    @api.patch("/kb/articles/{article_id}", response_model=CommandAccepted)
    async def update(
        article_id: UUID, body: ArticlePatch, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = UpdateArticle(
            str(article_id),
            title=body.title,
            problem=body.problem,
            solution=body.solution,
            tags=None if body.tags is None else tuple(body.tags),
            product=body.product,
            version=body.version,
        )
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/kb/articles/{article_id}/publish", response_model=CommandAccepted)
    async def publish(
        article_id: UUID, ctx: Ctx, response: Response, body: Publication | None = None
    ) -> CommandAccepted:
        command = PublishArticle(str(article_id), body.version if body else None)
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/kb/articles/{article_id}/retire", response_model=CommandAccepted)
    async def retire(
        article_id: UUID, ctx: Ctx, response: Response, body: Retirement | None = None
    ) -> CommandAccepted:
        command = RetireArticle(str(article_id), body.reason if body else None)
        return accepted(await bus.execute(command, ctx), response)

    @api.get("/kb/articles", response_model=PageOf[ArticleDoc], responses=EXPORT_RESPONSES)
    async def list_articles(
        actor: Who,
        _: int = consistent,
        status: ArticleStatusName | None = None,
        tag: Annotated[str | None, Query(max_length=50)] = None,
        product: Annotated[str | None, Query(max_length=200)] = None,
        sort: str = "-updated_at",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        checked_sort(sort, SORTS)
        flt = ArticleFilter(status=status.value if status else None, tag=tag, product=product)

        async def search(at: int, size: int) -> Page:
            return await queries.articles(actor, flt, sort=sort, limit=size, offset=at)

        return await listed(format, search, ArticleDoc, "kb-articles", offset=offset, limit=limit)

    @api.get("/kb/articles/{article_id}", response_model=ArticleDoc)
    async def get_article(article_id: UUID, actor: Who, _: int = consistent) -> dict[str, Any]:
        return await queries.article(actor, str(article_id))

    @api.get("/kb/search", response_model=SearchResult)
    async def search(
        actor: Who,
        q: Annotated[str, Query(min_length=1, max_length=500)],
        _: int = consistent,
        limit: Annotated[int, Query(ge=1, le=MAX_HITS)] = 10,
        product: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        return {"q": q, "items": await queries.search(actor, q, limit=limit, product=product)}

    return api
