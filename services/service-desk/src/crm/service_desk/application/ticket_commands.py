"""The ticket's commands: one plain value each, and the table that runs them.

Routes, the SLA scheduler and tests send these to the runtime's
:class:`~crm.kernel.commands.CommandBus`; the table says how each finds its ticket, what it
expects and who may send it: an actor works on a ticket they can see (a support group's
agent sees the group's tickets, their own and the unassigned queue; a hidden ticket is 404),
with a role that works tickets (else 403).

Opening a ticket reads three other streams first -- the customer's contract, the SLA policy
of its level (else the default policy, else the built-in one) and that policy's calendar --
and freezes the targets into the ticket. A contract or policy changed a moment later applies
to the next ticket; that is the rule (targets are fixed at opening), so no lock across the
streams is needed. What a command reads of another stream is read from the event store,
never from a read model, which may lag.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

from crm.events.custom_fields import FieldEntity
from crm.events.service_desk import TicketChannel, TicketKind, TicketPriority
from crm.kernel.commands import CommandBus, CommandTable, Expect
from crm.kernel.custom_fields import CustomFieldsState, check_values
from crm.kernel.directory import Customers
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.kernel.repository import CommandContext
from crm.service_desk.application.calendar_commands import business_calendar
from crm.service_desk.application.contract_commands import contract_level
from crm.service_desk.application.policy import POLICY, DeskAction, scope_of
from crm.service_desk.application.sla_policy_commands import policy_for
from crm.service_desk.domain.knowledge import Article, ArticleStatus
from crm.service_desk.domain.tickets import (
    DEFAULT_LOW_SCORE,
    DEFAULT_REOPEN_WINDOW,
    Ticket,
    TicketStatus,
)

_COMMENT_IDS = UUID("0d7c4f7e-7b8e-4f0b-9a55-3f1f8f2b6c11")


def _new_id() -> str:
    return str(uuid4())


def comment_id_for(ctx: CommandContext) -> str:
    """Derived from the request's Idempotency-Key when there is one (a retried comment is the
    same comment, which the domain records once), else new."""
    if ctx.idempotency is not None:
        return str(uuid5(_COMMENT_IDS, f"comment\x00{ctx.idempotency.key}"))
    return _new_id()


@dataclass(frozen=True, slots=True)
class SatisfactionRules:
    """How a low satisfaction score is treated (configurable: see ``Settings``)."""

    low_score: int = DEFAULT_LOW_SCORE
    reopen_complaint_on_low_score: bool = True


@dataclass(frozen=True, slots=True)
class OpenTicket:
    customer_id: str
    kind: TicketKind
    channel: TicketChannel
    priority: TicketPriority
    subject: str
    description: str
    ticket_id: str = field(default_factory=_new_id)
    custom: Mapping[str, Any] = field(default_factory=dict)
    """Values of the tenant's custom fields of tickets, by key."""


@dataclass(frozen=True, slots=True)
class ChangeTicketFields:
    """The ticket's custom values edited: only the keys given change (a blank value clears
    its field); a closed ticket is reopened first."""

    ticket_id: str
    custom: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AssignTicket:
    """The first assignment of a new ticket, a reassignment of one being worked on."""

    ticket_id: str
    agent_id: str | None = None
    group_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class EscalateTicket:
    ticket_id: str
    reason: str
    to_manager: bool = False
    manager_id: str | None = None


@dataclass(frozen=True, slots=True)
class CommentOnTicket:
    ticket_id: str
    body: str
    public: bool
    comment_id: str = field(default_factory=_new_id)
    """See :func:`comment_id_for`."""


@dataclass(frozen=True, slots=True)
class LinkArticle:
    ticket_id: str
    article_id: str


@dataclass(frozen=True, slots=True)
class ResolveTicket:
    ticket_id: str
    resolution: str
    kb_article_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReopenTicket:
    ticket_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class CloseTicket:
    ticket_id: str


@dataclass(frozen=True, slots=True)
class RecordSatisfaction:
    ticket_id: str
    score: int
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class RecordFollowUp:
    ticket_id: str
    note: str


@dataclass(frozen=True, slots=True)
class CheckSla:
    """The scheduler's: record the warnings and breaches due at the context's ``now``."""

    ticket_id: str
    warn_before: timedelta


@dataclass(frozen=True, slots=True)
class CheckFollowUp:
    """The scheduler's: record the follow-up reminder or escalation due at ``now``."""

    ticket_id: str


async def _article(bus: CommandBus, ctx: CommandContext, article_id: str, field: str) -> None:
    """An article a ticket may name: one of the tenant's knowledge base, not retired (a draft
    is fine: the agent may write it up while solving the ticket)."""
    try:
        article = await bus.repository(Article).load(article_id, tenant=ctx.tenant)
    except NotFound:
        raise InvalidCommand(field, f"no knowledge-base article {article_id}") from None
    if article.state.status is ArticleStatus.RETIRED:
        raise RuleViolated(f"article {article_id} is retired", code="article_retired")


def _assign(t: Ticket, cmd: AssignTicket, ctx: CommandContext) -> None:
    if t.state.status is TicketStatus.NEW:
        t.assign(agent_id=cmd.agent_id, group_id=cmd.group_id)
    else:
        t.reassign(agent_id=cmd.agent_id, group_id=cmd.group_id, reason=cmd.reason)


def _escalate(t: Ticket, cmd: EscalateTicket, ctx: CommandContext) -> None:
    t.escalate(reason=cmd.reason, to_manager=cmd.to_manager, manager_id=cmd.manager_id)


def _comment(t: Ticket, cmd: CommentOnTicket, ctx: CommandContext) -> None:
    t.comment(
        comment_id=cmd.comment_id,
        author_id=ctx.actor,
        body=cmd.body,
        public=cmd.public,
        now=ctx.now,
    )


def _follow_up(t: Ticket, cmd: RecordFollowUp, ctx: CommandContext) -> None:
    t.record_follow_up(note=cmd.note, agent_id=ctx.actor, now=ctx.now)


def ticket_commands(
    bus: CommandBus,
    customers: Customers,
    *,
    satisfaction: SatisfactionRules = SatisfactionRules(),
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
    definitions: Callable[[str], Awaitable[CustomFieldsState]] | None = None,
) -> CommandTable[Ticket]:
    """The ticket's table; ``bus`` reads the other streams a command needs, ``customers`` is
    the directory a ticket's customer must be in (any customer of the agent's tenant),
    ``definitions`` the tenant's custom fields a ticket's values are checked against (None:
    the tenant has none)."""

    async def fields_of(tenant: str) -> CustomFieldsState:
        return CustomFieldsState() if definitions is None else await definitions(tenant)

    async def open_(t: Ticket, cmd: OpenTicket, ctx: CommandContext) -> None:
        await customers.require(ctx, cmd.customer_id)
        custom = check_values(await fields_of(ctx.tenant), FieldEntity.TICKET, cmd.custom)
        policy = await policy_for(bus, ctx, await contract_level(bus, ctx, cmd.customer_id))
        t.open(
            customer_id=cmd.customer_id,
            kind=cmd.kind,
            channel=cmd.channel,
            priority=cmd.priority,
            subject=cmd.subject,
            description=cmd.description,
            now=ctx.now,
            policy=policy,
            calendar=await business_calendar(bus, ctx, policy.calendar_id),
            custom=custom,
        )

    async def change_fields(t: Ticket, cmd: ChangeTicketFields, ctx: CommandContext) -> None:
        current = t.state.custom_values
        fields = await fields_of(ctx.tenant)
        t.change_custom(check_values(fields, FieldEntity.TICKET, cmd.custom, current=current))

    async def link(t: Ticket, cmd: LinkArticle, ctx: CommandContext) -> None:
        await _article(bus, ctx, cmd.article_id, "article_id")
        t.link_kb_article(cmd.article_id)

    async def resolve(t: Ticket, cmd: ResolveTicket, ctx: CommandContext) -> None:
        if cmd.kb_article_id is not None:
            await _article(bus, ctx, cmd.kb_article_id, "kb_article_id")
        t.resolve(resolution=cmd.resolution, now=ctx.now, kb_article_id=cmd.kb_article_id)

    async def reopen(t: Ticket, cmd: ReopenTicket, ctx: CommandContext) -> None:
        calendar = await business_calendar(bus, ctx, t.state.sla.calendar_id)
        t.reopen(reason=cmd.reason, now=ctx.now, calendar=calendar, reopen_window=reopen_window)

    async def rate(t: Ticket, cmd: RecordSatisfaction, ctx: CommandContext) -> None:
        t.record_satisfaction(
            score=cmd.score,
            now=ctx.now,
            calendar=await business_calendar(bus, ctx, t.state.sla.calendar_id),
            comment=cmd.comment,
            low_score=satisfaction.low_score,
            reopen_complaint_on_low_score=satisfaction.reopen_complaint_on_low_score,
        )

    work = DeskAction.WORK
    t = CommandTable(
        Ticket,
        POLICY,
        scope=lambda t: scope_of(t.state.group_id, t.state.agent_id),
        id_field="ticket_id",
        noun="ticket",
    )
    t.on(OpenTicket, Expect.NEW, work, open_)
    t.on(AssignTicket, Expect.EXISTING, work, _assign)
    t.on(EscalateTicket, Expect.EXISTING, work, _escalate)
    t.on(CommentOnTicket, Expect.EXISTING, work, _comment)
    t.on(LinkArticle, Expect.EXISTING, work, link)
    t.on(ResolveTicket, Expect.EXISTING, work, resolve)
    t.on(ReopenTicket, Expect.EXISTING, work, reopen)
    t.on(CloseTicket, Expect.EXISTING, work, lambda t, _, ctx: t.close(now=ctx.now))
    t.on(RecordSatisfaction, Expect.EXISTING, work, rate)
    t.on(RecordFollowUp, Expect.EXISTING, work, _follow_up)
    t.on(ChangeTicketFields, Expect.EXISTING, work, change_fields)
    # The scheduler's checks: the system's (who may do everything), three loads at most (a
    # check that keeps losing to agents is found again by the next tick).
    t.on(
        CheckSla,
        Expect.EXISTING,
        None,
        lambda t, cmd, ctx: t.check_sla(ctx.now, cmd.warn_before),
        attempts=3,
    )
    t.on(
        CheckFollowUp,
        Expect.EXISTING,
        None,
        lambda t, _, ctx: t.check_follow_up(ctx.now),
        attempts=3,
    )
    return t
