"""The knowledge-base article's commands: draft, update (a new version), publish, retire.

Agents, managers and admins write articles (:data:`DeskAction.WORK`); the other roles only
read published ones (:mod:`crm.service_desk.application.kb_queries`). An update is a PATCH:
the fields given replace the latest version's, the others are carried over, and the domain
records a new version with the whole content (or nothing, if nothing changed). The bus runs
each on a fresh load and again when a concurrent editor wins the append, so two edits of
different fields both land, each on top of the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import uuid4

from crm.kernel.commands import CommandTable, Expect
from crm.kernel.repository import CommandContext
from crm.service_desk.application.policy import POLICY, DeskAction
from crm.service_desk.domain.knowledge import Article


@dataclass(frozen=True, slots=True)
class DraftArticle:
    title: str
    problem: str
    solution: str
    tags: tuple[str, ...] = ()
    product: str | None = None
    article_id: str = field(default_factory=lambda: str(uuid4()))


@dataclass(frozen=True, slots=True)
class UpdateArticle:
    """None leaves a field as it is (``product`` "" clears it)."""

    article_id: str
    title: str | None = None
    problem: str | None = None
    solution: str | None = None
    tags: tuple[str, ...] | None = None
    product: str | None = None
    version: int | None = None
    """The version the editor started from: refused if it is not the latest any more."""


@dataclass(frozen=True, slots=True)
class PublishArticle:
    article_id: str
    version: int | None = None
    """The version the publisher reviewed: refused if it is not the latest."""


@dataclass(frozen=True, slots=True)
class RetireArticle:
    article_id: str
    reason: str | None = None


def _draft(a: Article, cmd: DraftArticle, ctx: CommandContext) -> None:
    a.draft(
        title=cmd.title,
        problem=cmd.problem,
        solution=cmd.solution,
        author_id=ctx.actor,
        now=ctx.now,
        tags=cmd.tags,
        product=cmd.product,
    )


def _update(a: Article, cmd: UpdateArticle, ctx: CommandContext) -> None:
    current = a.state.content
    a.update(
        title=current.title if cmd.title is None else cmd.title,
        problem=current.problem if cmd.problem is None else cmd.problem,
        solution=current.solution if cmd.solution is None else cmd.solution,
        tags=current.tags if cmd.tags is None else cmd.tags,
        product=current.product if cmd.product is None else cmd.product,
        editor_id=ctx.actor,
        now=ctx.now,
        based_on=cmd.version,
    )


def article_commands() -> CommandTable[Article]:
    t = CommandTable(Article, POLICY, id_field="article_id", noun="article")
    t.on(DraftArticle, Expect.NEW, DeskAction.WORK, _draft)
    t.on(UpdateArticle, Expect.EXISTING, DeskAction.WORK, _update)
    t.on(
        PublishArticle,
        Expect.EXISTING,
        DeskAction.WORK,
        lambda a, cmd, ctx: a.publish(now=ctx.now, version=cmd.version),
    )
    t.on(
        RetireArticle,
        Expect.EXISTING,
        DeskAction.WORK,
        lambda a, cmd, ctx: a.retire(now=ctx.now, reason=cmd.reason),
    )
    return t
