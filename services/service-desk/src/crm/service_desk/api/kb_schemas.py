"""Request bodies of the knowledge-base routes (unknown fields are refused), and the answer of
a search (a ranking, not a document; articles are answered as the read model's documents)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from crm.kernel.http.body import Body

Title = Annotated[str, StringConstraints(max_length=200)]
Problem = Annotated[str, StringConstraints(max_length=20_000)]
Solution = Annotated[str, StringConstraints(max_length=50_000)]
Tag = Annotated[str, StringConstraints(max_length=50)]
Tags = Annotated[list[Tag], Field(max_length=20)]
Product = Annotated[str, StringConstraints(max_length=200)]


class NewArticle(Body):
    title: Title
    problem: Problem
    solution: Solution
    tags: Tags = Field(default_factory=list)
    product: Product | None = None


class ArticlePatch(Body):
    """The fields to change; the others stay as in the latest version (``product: ""``
    removes the product)."""

    title: Title | None = None
    problem: Problem | None = None
    solution: Solution | None = None
    tags: Tags | None = None
    product: Product | None = None
    version: int | None = Field(
        default=None,
        ge=1,
        description="The version you edited; refused (409 article_version_mismatch) if it is "
        "not the latest",
    )


class Publication(Body):
    version: int | None = Field(
        default=None, ge=1, description="The version you reviewed; refused if not the latest"
    )


class Retirement(Body):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class ArticleStatusName(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class SearchHit(BaseModel):
    id: str
    score: float
    title: str
    tags: list[str]
    product: str | None
    version: int
    resolved_tickets: int


class SearchResult(BaseModel):
    q: str
    items: list[SearchHit]
