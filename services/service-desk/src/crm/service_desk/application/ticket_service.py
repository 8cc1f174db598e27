"""Commands of the ticket half: tickets, SLA policies, business calendars, service contracts.
Each loads what it needs from the event store (never from a read model, which may lag),
checks access against the loaded state, runs the domain and appends to one stream.

Opening a ticket reads three other streams first -- the customer's contract
(``servicecontract-<tenant>:<customer>``), the SLA policy of its level (else the default
policy, else the built-in one) and that policy's calendar -- and freezes the targets into the
ticket. A contract or policy changed a moment later applies to the next ticket; that is the
rule (targets are fixed at opening), so no lock across the streams is needed.

Policies, calendars and contracts are named by the tenant (a level, a calendar id, a customer
id), so their streams are qualified by the tenant (``slapolicy-<tenant>:<level>``,
``businesscalendar-<tenant>:<calendar id>``, ``servicecontract-<tenant>:<customer id>``, see
:mod:`crm.service_desk.domain.tenancy`): every tenant defines its own ``premium`` policy and
signs its own contract with its customer ``c-1``. Commands take and answer the tenant's own
ids; only the streams carry the qualification.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID, uuid4, uuid5

from crm.events.service_desk import (
    ContractLevel,
    TicketChannel,
    TicketKind,
    TicketPriority,
    WorkingHours,
)
from crm.kernel.codec import EventCodec
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated, WrongExpectedVersion
from crm.kernel.event_store import AppendResult, EventStore
from crm.kernel.repository import CommandContext, Repository, execute
from crm.service_desk.application.policy import DeskAction, authorize
from crm.service_desk.domain.calendar import (
    DEFAULT_CALENDAR,
    DEFAULT_CALENDAR_ID,
    BusinessCalendar,
    Calendar,
    calendar_aggregate_id,
)
from crm.service_desk.domain.contracts import ServiceContract, contract_aggregate_id
from crm.service_desk.domain.knowledge import Article, ArticleStatus
from crm.service_desk.domain.sla import (
    SlaPolicy,
    SlaPolicyTerms,
    policy_aggregate_id,
    policy_id_for,
    select_policy,
)
from crm.service_desk.domain.tickets import (
    DEFAULT_LOW_SCORE,
    DEFAULT_REOPEN_WINDOW,
    Ticket,
    TicketStatus,
)

NAMESPACE = UUID("0d7c4f7e-7b8e-4f0b-9a55-3f1f8f2b6c11")


def comment_id_for(ctx: CommandContext) -> str:
    """Derived from the request's Idempotency-Key when there is one (a retried comment is the
    same comment, which the domain records once), else new."""
    if ctx.idempotency is not None:
        return str(uuid5(NAMESPACE, f"comment\x00{ctx.idempotency.key}"))
    return str(uuid4())


@dataclass(frozen=True, slots=True)
class SatisfactionRules:
    """How a low satisfaction score is treated (the issue makes it configurable)."""

    low_score: int = DEFAULT_LOW_SCORE
    reopen_complaint_on_low_score: bool = True


class TicketService:
    def __init__(
        self,
        store: EventStore,
        codec: EventCodec,
        *,
        satisfaction: SatisfactionRules = SatisfactionRules(),
        reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
    ) -> None:
        self.store = store
        self.tickets = Repository(store, codec, Ticket)
        self.policies = Repository(store, codec, SlaPolicy)
        self.calendars = Repository(store, codec, Calendar)
        self.contracts = Repository(store, codec, ServiceContract)
        self.articles = Repository(store, codec, Article)
        self.satisfaction = satisfaction
        self.reopen_window = reopen_window

    # -- lookups -------------------------------------------------------------------------------

    async def contract_level(self, ctx: CommandContext, customer_id: str) -> ContractLevel | None:
        """The level of the customer's contract in force today (UTC), None without one."""
        try:
            contract = await self.contracts.load(
                contract_aggregate_id(ctx.tenant, customer_id), tenant=ctx.tenant
            )
        except NotFound:
            return None
        return contract.state.level_on(ctx.now.date())

    async def policy_for(self, ctx: CommandContext, level: ContractLevel | None) -> SlaPolicyTerms:
        """The policy of ``level``, else the tenant's default policy, else the built-in one."""
        found: dict[str, SlaPolicyTerms] = {}
        for wanted in dict.fromkeys([level, None]):
            aggregate_id = policy_aggregate_id(ctx.tenant, wanted)
            try:
                policy = await self.policies.load(aggregate_id, tenant=ctx.tenant)
                found[policy_id_for(wanted)] = policy.terms()
            except NotFound:
                continue
            break
        return select_policy(found, level)

    async def calendar(self, ctx: CommandContext, calendar_id: str) -> BusinessCalendar:
        try:
            calendar = await self.calendars.load(
                calendar_aggregate_id(ctx.tenant, calendar_id), tenant=ctx.tenant
            )
            return calendar.business_calendar()
        except NotFound:
            if calendar_id == DEFAULT_CALENDAR_ID:
                return DEFAULT_CALENDAR
            raise RuleViolated(
                f"calendar {calendar_id} does not exist; define it first",
                code="calendar_missing",
            ) from None

    async def _article(self, ctx: CommandContext, article_id: str, field: str) -> str:
        """An article a ticket may name: one of the tenant's knowledge base, not retired (a
        draft is fine: the agent may write it up while solving the ticket)."""
        try:
            article = await self.articles.load(article_id, tenant=ctx.tenant)
        except NotFound:
            raise InvalidCommand(field, f"no knowledge-base article {article_id}") from None
        if article.state.status is ArticleStatus.RETIRED:
            raise RuleViolated(f"article {article_id} is retired", code="article_retired")
        return article_id

    # -- tickets -------------------------------------------------------------------------------

    @staticmethod
    def _work(ctx: CommandContext, ticket: Ticket) -> None:
        """Raise unless ``ctx`` may work on ``ticket`` as it stands (404 if hidden)."""
        if ticket.state.opened is None:
            raise NotFound(f"ticket {ticket.id} does not exist")
        authorize(
            ctx,
            DeskAction.WORK,
            what=f"ticket {ticket.id}",
            group_id=ticket.state.group_id,
            agent_id=ticket.state.agent_id,
        )

    async def open(
        self,
        ctx: CommandContext,
        *,
        customer_id: str,
        kind: TicketKind,
        channel: TicketChannel,
        priority: TicketPriority,
        subject: str,
        description: str,
    ) -> AppendResult:
        authorize(ctx, DeskAction.WORK, what="ticket", scoped=False)
        policy = await self.policy_for(ctx, await self.contract_level(ctx, customer_id))
        calendar = await self.calendar(ctx, policy.calendar_id)
        return await execute(
            self.tickets,
            str(uuid4()),
            lambda t: t.open(
                customer_id=customer_id,
                kind=kind,
                channel=channel,
                priority=priority,
                subject=subject,
                description=description,
                now=ctx.now,
                policy=policy,
                calendar=calendar,
            ),
            ctx,
            create=True,
        )

    async def _on_ticket(
        self, ctx: CommandContext, ticket_id: str, act: Callable[[Ticket], None]
    ) -> AppendResult:
        def action(ticket: Ticket) -> None:
            self._work(ctx, ticket)
            act(ticket)

        return await execute(self.tickets, ticket_id, action, ctx)

    async def assign(
        self,
        ctx: CommandContext,
        ticket_id: str,
        *,
        agent_id: str | None,
        group_id: str | None,
        reason: str | None = None,
    ) -> AppendResult:
        """The first assignment of a new ticket, a reassignment of one being worked on."""

        def act(t: Ticket) -> None:
            if t.state.status is TicketStatus.NEW:
                t.assign(agent_id=agent_id, group_id=group_id)
            else:
                t.reassign(agent_id=agent_id, group_id=group_id, reason=reason)

        return await self._on_ticket(ctx, ticket_id, act)

    async def escalate(
        self,
        ctx: CommandContext,
        ticket_id: str,
        *,
        reason: str,
        to_manager: bool,
        manager_id: str | None,
    ) -> AppendResult:
        return await self._on_ticket(
            ctx,
            ticket_id,
            lambda t: t.escalate(reason=reason, to_manager=to_manager, manager_id=manager_id),
        )

    async def comment(
        self, ctx: CommandContext, ticket_id: str, *, body: str, public: bool
    ) -> AppendResult:
        comment_id = comment_id_for(ctx)
        return await self._on_ticket(
            ctx,
            ticket_id,
            lambda t: t.comment(
                comment_id=comment_id, author_id=ctx.actor, body=body, public=public, now=ctx.now
            ),
        )

    async def link_article(
        self, ctx: CommandContext, ticket_id: str, article_id: str
    ) -> AppendResult:
        await self._article(ctx, article_id, "article_id")
        return await self._on_ticket(ctx, ticket_id, lambda t: t.link_kb_article(article_id))

    async def resolve(
        self, ctx: CommandContext, ticket_id: str, *, resolution: str, kb_article_id: str | None
    ) -> AppendResult:
        if kb_article_id is not None:
            await self._article(ctx, kb_article_id, "kb_article_id")
        return await self._on_ticket(
            ctx,
            ticket_id,
            lambda t: t.resolve(resolution=resolution, now=ctx.now, kb_article_id=kb_article_id),
        )

    async def _ticket_calendar(self, ctx: CommandContext, ticket_id: str) -> BusinessCalendar:
        ticket = await self.tickets.load(ticket_id, tenant=ctx.tenant)
        self._work(ctx, ticket)
        return await self.calendar(ctx, ticket.state.sla.calendar_id)

    async def reopen(self, ctx: CommandContext, ticket_id: str, *, reason: str) -> AppendResult:
        calendar = await self._ticket_calendar(ctx, ticket_id)
        return await self._on_ticket(
            ctx,
            ticket_id,
            lambda t: t.reopen(
                reason=reason, now=ctx.now, calendar=calendar, reopen_window=self.reopen_window
            ),
        )

    async def close(self, ctx: CommandContext, ticket_id: str) -> AppendResult:
        return await self._on_ticket(ctx, ticket_id, lambda t: t.close(now=ctx.now))

    async def record_satisfaction(
        self, ctx: CommandContext, ticket_id: str, *, score: int, comment: str | None
    ) -> AppendResult:
        calendar = await self._ticket_calendar(ctx, ticket_id)
        rules = self.satisfaction
        return await self._on_ticket(
            ctx,
            ticket_id,
            lambda t: t.record_satisfaction(
                score=score,
                now=ctx.now,
                calendar=calendar,
                comment=comment,
                low_score=rules.low_score,
                reopen_complaint_on_low_score=rules.reopen_complaint_on_low_score,
            ),
        )

    async def record_follow_up(
        self, ctx: CommandContext, ticket_id: str, *, note: str
    ) -> AppendResult:
        return await self._on_ticket(
            ctx,
            ticket_id,
            lambda t: t.record_follow_up(note=note, agent_id=ctx.actor, now=ctx.now),
        )

    # -- configuration -------------------------------------------------------------------------

    @staticmethod
    def _configure(ctx: CommandContext, what: str) -> None:
        authorize(ctx, DeskAction.CONFIGURE, what=what, scoped=False)

    async def define_calendar(
        self,
        ctx: CommandContext,
        *,
        calendar_id: str | None,
        name: str,
        time_zone: str,
        hours: Sequence[WorkingHours],
        holidays: Sequence[date],
    ) -> AppendResult:
        """Define a calendar once; the same definition again answers where it stands. The
        answer's stream is the tenant-qualified one (:func:`calendar_aggregate_id`)."""
        self._configure(ctx, "calendar")
        cid = calendar_id or str(uuid4())
        aggregate_id = calendar_aggregate_id(ctx.tenant, cid)
        try:
            current = await self.calendars.load(aggregate_id, tenant=ctx.tenant)
        except NotFound:
            current = None
        if current is not None:
            current.define(name=name, time_zone=time_zone, hours=hours, holidays=holidays)
            return await self._where(current.stream_id)
        try:
            return await execute(
                self.calendars,
                aggregate_id,
                lambda c: c.define(name=name, time_zone=time_zone, hours=hours, holidays=holidays),
                ctx,
                create=True,
            )
        except WrongExpectedVersion:
            raise RuleViolated(
                f"calendar {cid} is already defined", code="calendar_already_defined"
            ) from None

    async def _where(self, stream_id: str) -> AppendResult:
        """Where an existing stream stands, answered like an append of nothing."""
        last = (await self.store.read_stream(stream_id))[-1]
        return AppendResult(stream_id, last.stream_version, last.position)

    async def define_policy(
        self,
        ctx: CommandContext,
        *,
        level: ContractLevel | None,
        name: str,
        targets: Mapping[TicketPriority, tuple[int, int]],
        calendar_id: str,
        follow_up_days: int,
        follow_up_escalation_days: int,
    ) -> tuple[AppendResult, bool]:
        """Define the policy of ``level`` (None: the default policy), or revise it if it
        exists; True when this call defined it. Unchanged terms record nothing. The answer's
        stream is the tenant-qualified one (:func:`policy_aggregate_id`)."""
        self._configure(ctx, "SLA policy")
        await self.calendar(ctx, calendar_id)  # a policy never names a missing calendar
        policy_id = policy_aggregate_id(ctx.tenant, level)

        def state_terms(policy: SlaPolicy, *, define: bool) -> None:
            command = policy.define if define else policy.revise
            command(
                name=name,
                targets=targets,
                calendar_id=calendar_id,
                follow_up_days=follow_up_days,
                follow_up_escalation_days=follow_up_escalation_days,
            )

        for _ in range(3):
            try:
                policy = await self.policies.load(policy_id, tenant=ctx.tenant)
            except NotFound:
                try:
                    result = await execute(
                        self.policies,
                        policy_id,
                        lambda p: state_terms(p, define=True),
                        ctx,
                        create=True,
                    )
                except WrongExpectedVersion:
                    continue  # defined meanwhile: revise it
                return result, True
            state_terms(policy, define=False)
            if not policy.changes:
                return await self._where(policy.stream_id), False
            try:
                return await self.policies.save(policy, ctx), False
            except WrongExpectedVersion:
                continue
        raise WrongExpectedVersion(SlaPolicy.stream_id_for(policy_id), -1, -1)

    async def sign_contract(
        self,
        ctx: CommandContext,
        *,
        customer_id: str,
        level: ContractLevel,
        starts_on: date,
        ends_on: date | None,
    ) -> AppendResult:
        """Sign the customer's contract; the same signature again answers where it stands, a
        new contract after the previous one ended continues the customer's stream. The
        answer's stream is the tenant-qualified one (:func:`contract_aggregate_id`)."""
        self._configure(ctx, "contract")
        aggregate_id = contract_aggregate_id(ctx.tenant, customer_id)
        for _ in range(3):
            try:
                contract = await self.contracts.load(aggregate_id, tenant=ctx.tenant)
            except NotFound:
                contract = ServiceContract.create(aggregate_id)
            contract.sign(level=level, starts_on=starts_on, ends_on=ends_on)
            if not contract.changes:
                return await self._where(contract.stream_id)
            try:
                return await self.contracts.save(contract, ctx)
            except WrongExpectedVersion:
                continue
        raise WrongExpectedVersion(ServiceContract.stream_id_for(aggregate_id), -1, -1)

    async def change_contract(
        self, ctx: CommandContext, customer_id: str, *, level: ContractLevel
    ) -> AppendResult:
        self._configure(ctx, "contract")
        return await self._contract(ctx, customer_id, lambda c: c.change(level=level))

    async def end_contract(
        self, ctx: CommandContext, customer_id: str, *, ended_on: date, reason: str | None
    ) -> AppendResult:
        self._configure(ctx, "contract")
        return await self._contract(
            ctx, customer_id, lambda c: c.end(ended_on=ended_on, reason=reason)
        )

    async def _contract(
        self, ctx: CommandContext, customer_id: str, act: Callable[[ServiceContract], None]
    ) -> AppendResult:
        aggregate_id = contract_aggregate_id(ctx.tenant, customer_id)
        for _ in range(3):
            try:
                contract = await self.contracts.load(aggregate_id, tenant=ctx.tenant)
            except NotFound:
                raise NotFound(f"customer {customer_id} has no service contract") from None
            act(contract)
            if not contract.changes:
                return await self._where(contract.stream_id)
            try:
                return await self.contracts.save(contract, ctx)
            except WrongExpectedVersion:
                continue
        raise WrongExpectedVersion(ServiceContract.stream_id_for(aggregate_id), -1, -1)
