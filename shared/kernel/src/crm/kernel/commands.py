"""Commands: a table per aggregate, and the one path that runs them all.

A command is a plain typed value (a frozen dataclass). Each aggregate declares its commands
in a :class:`CommandTable`, one row each, in the style of Eventuous's command services::

    t = CommandTable(Customer, POLICY, scope=lambda c: Scope(c.state.owner_id),
                     id_field="customer_id")
    t.on(AssignOwner, Expect.EXISTING, Action.ASSIGN,
         lambda customer, cmd, ctx: customer.assign_owner(cmd.owner_id))

A row says how the stream id is found (``id``), the state the stream must be in (``expect``),
the access rule (an action of the context's :class:`~crm.kernel.access.AccessPolicy`, checked
against the loaded record's scope), and the domain action. :class:`CommandBus` runs every row
the same way, for routes, reactions, schedulers and imports alike:

1. a request retried under its idempotency key is answered from the key's record;
2. the aggregate is loaded (``EXISTING``), created (``NEW``) or either (``ANY``);
3. the actor is authorised against what was loaded;
4. the domain acts (``act`` may be async: it may look up what the rule needs);
5. what it recorded is appended with the version it was loaded at; a conflict runs the
   command again on a fresh load (the rules are checked again against what the other writer
   did), unless the caller pinned the version (``expected_version``, an ``If-Match``) or the
   row allows no retry; then the conflict is the answer (409);
6. ``then`` runs after the append (an effect outside the store, e.g. deleting keys, or a
   step on another stream that must follow this one, e.g. releasing a technician's previous
   slot once the visit has moved), with the command's context: who, when, for which tenant.

An aggregate whose id the tenant *names* (an SLA policy of a contract level, a calendar id, a
customer's contract, a technician's day) has its stream qualified by the tenant
(:mod:`crm.kernel.tenancy`): its table says ``tenant_qualified=True``, its commands carry the
tenant's own id, and the bus qualifies it with the actor's tenant, so no command can name
another tenant's stream. The answer's stream is the qualified one (``tenant_own`` shows it).

An action that records nothing (a redelivered step, a scheduler that finds nothing due)
appends nothing; the answer is where the stream stands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import Enum
from inspect import isawaitable
from operator import attrgetter
from typing import Any, Generic, TypeVar

from crm.kernel.access import AccessPolicy, Principal, Scope
from crm.kernel.aggregate import Aggregate
from crm.kernel.codec import EventCodec
from crm.kernel.errors import NotFound, WrongExpectedVersion
from crm.kernel.event_store import ANY_VERSION, NO_STREAM, AppendResult, EventStore, Idempotency
from crm.kernel.observability.commands import observe_command
from crm.kernel.repository import CommandContext, Repository
from crm.kernel.tenancy import local_id, qualified

A = TypeVar("A", bound=Aggregate)  # type: ignore[type-arg]
C = TypeVar("C")
Act = TypeVar("Act", bound=Enum)

DEFAULT_ATTEMPTS = 10
"""Fresh loads a command gets when concurrent writers keep winning the append on its
stream: enough for a burst of edits of one record, each a single short append."""

Action = Callable[[A, C, CommandContext], Awaitable[None] | None]
After = Callable[[A, C, CommandContext, AppendResult], Awaitable[None]]


class Expect(Enum):
    NEW = "new"
    """The stream must not exist: a second creation is a 409."""
    EXISTING = "existing"
    """The stream must exist (else 404)."""
    ANY = "any"
    """Created if missing, else acted on (a redelivered step of a process, an upsert)."""


@dataclass(frozen=True, slots=True)
class Handler(Generic[A, C]):
    """One row of a command table."""

    command: type[C]
    expect: Expect
    id: Callable[[C], str]
    access: Enum | None
    """The action of the context's policy the actor must be allowed; None: ``act`` checks."""
    act: Action[A, C]
    sees_record: bool
    """Whether the actor must be able to see the loaded record (a claim from the pool is
    answered by the domain's rule instead)."""
    attempts: int
    then: After[A, C] | None


@dataclass(frozen=True, slots=True)
class Outcome(Generic[A]):
    """What a command did: the append's result, the aggregate after the action, and whether
    it recorded anything (a scheduler's domain may find nothing due)."""

    result: AppendResult
    aggregate: A
    recorded: bool


class CommandTable(Generic[A]):
    """The commands of one aggregate type, each a row (see the module's docstring)."""

    def __init__(
        self,
        aggregate: type[A],
        policy: AccessPolicy[Any] | None = None,
        *,
        scope: Callable[[A], Scope] | None = None,
        id_field: str | None = None,
        noun: str | None = None,
        tenant_qualified: bool = False,
    ) -> None:
        """``scope`` tells the policy whom a loaded record belongs to; ``id_field`` names the
        attribute of the commands that holds the aggregate's id (a row may say otherwise);
        ``tenant_qualified``: that id is the tenant's own, qualified by the actor's tenant."""
        self.aggregate = aggregate
        self.policy = policy
        self.scope = scope
        self.id_field = id_field
        self.noun = noun or aggregate.category
        self.tenant_qualified = tenant_qualified
        self.handlers: dict[type[Any], Handler[A, Any]] = {}

    def on(
        self,
        command: type[C],
        expect: Expect,
        access: Enum | None,
        act: Action[A, C],
        *,
        id: Callable[[C], str] | None = None,
        sees_record: bool = True,
        attempts: int = DEFAULT_ATTEMPTS,
        then: After[A, C] | None = None,
    ) -> None:
        """Add the row of ``command``: the state it ``expect``s, the policy's action it needs
        (None: ``act`` decides), the domain action, and how its id is found (default: the
        table's ``id_field``)."""
        if command in self.handlers:
            raise ValueError(f"{command.__name__} already has a row in {self.noun}'s table")
        if access is not None and self.policy is None:
            raise ValueError(f"{self.noun}'s table has no policy to check {access}")
        if id is None:
            if self.id_field is None:
                raise ValueError(f"{command.__name__} needs an id: the table has no id_field")
            id = attrgetter(self.id_field)
        self.handlers[command] = Handler(
            command, expect, id, access, act, sees_record, attempts, then
        )

    def aggregate_id(self, handler: Handler[A, Any], command: object, ctx: CommandContext) -> str:
        id_ = handler.id(command)
        return qualified(ctx.tenant, id_) if self.tenant_qualified else id_

    def authorize(self, handler: Handler[A, Any], ctx: CommandContext, aggregate: A) -> None:
        if handler.access is None or self.policy is None:
            return
        scope = None
        if handler.sees_record and not aggregate.is_new and self.scope is not None:
            scope = self.scope(aggregate)
        id_ = local_id(aggregate.id) if self.tenant_qualified else aggregate.id
        self.policy.authorize(ctx, handler.access, what=f"{self.noun} {id_}", scope=scope)


class CommandBus:
    """Runs the commands of the tables it was given: the one path every command takes."""

    def __init__(self, store: EventStore, codec: EventCodec, *tables: CommandTable[Any]) -> None:
        self.store = store
        self.codec = codec
        self._rows: dict[type[Any], tuple[CommandTable[Any], Repository[Any]]] = {}
        self.register(*tables)

    def register(self, *tables: CommandTable[Any]) -> None:
        for table in tables:
            repository = Repository(self.store, self.codec, table.aggregate)
            for command in table.handlers:
                if command in self._rows:
                    raise ValueError(f"{command.__name__} is registered twice")
                self._rows[command] = (table, repository)

    def repository(self, aggregate: type[A]) -> Repository[A]:
        return Repository(self.store, self.codec, aggregate)

    def handles(self, command: type[Any]) -> bool:
        """Whether a table of this bus runs ``command`` (a process runs its contexts')."""
        return command in self._rows

    async def execute(self, command: object, ctx: CommandContext) -> AppendResult:
        """Run ``command`` as ``ctx``; the global position of its last event and the stream's
        version (see :class:`Outcome` for more)."""
        return (await self.run(command, ctx)).result

    async def run(
        self,
        command: object,
        ctx: CommandContext,
        *,
        idempotency_for: Callable[[Any], Idempotency] | None = None,
    ) -> Outcome[Any]:
        """Run ``command``. An action that records nothing appends nothing (the answer is
        where the stream stands). ``idempotency_for`` builds the key from the aggregate after
        the action: a scheduler names the facts it records in it, so two replicas that find
        the same thing due record it once."""
        with observe_command(command, ctx) as observed:
            outcome = await self._run(command, ctx, idempotency_for)
            observed(outcome)
            return outcome

    async def _run(
        self,
        command: object,
        ctx: CommandContext,
        idempotency_for: Callable[[Any], Idempotency] | None,
    ) -> Outcome[Any]:
        table, repository = self._row(command)
        handler = table.handlers[type(command)]
        id_ = table.aggregate_id(handler, command, ctx)
        if ctx.idempotency is not None:
            replayed = await self.store.idempotent_result(ctx.idempotency)
            if replayed is not None:
                return Outcome(replayed, await self._load_or_new(repository, id_, ctx), False)
        pinned: int | None = getattr(command, "expected_version", None)
        for attempt in range(handler.attempts):
            aggregate = await self._prepare(repository, handler.expect, id_, ctx)
            table.authorize(handler, ctx, aggregate)
            acted = handler.act(aggregate, command, ctx)
            if isawaitable(acted):
                await acted
            if not aggregate.changes:
                result = await self.store.append(aggregate.stream_id, [], ANY_VERSION)
                return Outcome(result, aggregate, False)
            run_ctx = ctx
            if idempotency_for is not None:
                run_ctx = replace(ctx, idempotency=idempotency_for(aggregate))
            expected = NO_STREAM if aggregate.version == NO_STREAM else pinned
            try:
                result = await repository.save(aggregate, run_ctx, expected_version=expected)
            except WrongExpectedVersion:
                retry = handler.expect is not Expect.NEW and pinned is None
                if not retry or attempt == handler.attempts - 1:
                    raise
                continue
            if handler.then is not None:
                await handler.then(aggregate, command, ctx, result)
            return Outcome(result, aggregate, not result.replayed)
        raise AssertionError("unreachable")

    def _row(self, command: object) -> tuple[CommandTable[Any], Repository[Any]]:
        try:
            return self._rows[type(command)]
        except KeyError:
            raise TypeError(f"no command table handles {type(command).__name__}") from None

    async def _prepare(
        self, repository: Repository[A], expect: Expect, id_: str, ctx: CommandContext
    ) -> A:
        if expect is Expect.NEW:
            return repository.aggregate.create(id_)
        if expect is Expect.EXISTING:
            return await repository.load(id_, tenant=ctx.tenant)
        return await self._load_or_new(repository, id_, ctx)

    @staticmethod
    async def _load_or_new(repository: Repository[A], id_: str, ctx: CommandContext) -> A:
        try:
            return await repository.load(id_, tenant=ctx.tenant)
        except NotFound:
            return repository.aggregate.create(id_)


__all__ = ["CommandBus", "CommandTable", "Expect", "Handler", "Outcome", "Principal", "Scope"]
