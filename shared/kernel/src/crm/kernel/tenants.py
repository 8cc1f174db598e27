"""The registry of tenants: records an operator creates, deactivates and activates, and the
check every process makes of a token's tenant.

A token names its tenant; the tenant must be one an operator created and has not
deactivated, else the token is refused (401) wherever tokens are verified
(:class:`~crm.kernel.http.security.Authenticator`, and the rate limiter counts it as an
auth failure). Tenants are no bounded context: no context owns them and none depends on
another for them. Each is one small stream, ``tenant-<id>``, in the event store every
service is configured with (``CRM_EVENT_STORE``: in one process the embedded store, in the
distributed deployment the one the services share), appended by the operator's
``crm tenants`` commands through the command bus like any other command. Every process
checks a tenant by reading its stream -- the source of truth, so a tenant added a moment ago
is found, with no read model to feed or rebuild -- and keeps the answer for ``ttl`` seconds
(``CRM_TENANT_CACHE_SECONDS``), so a request costs no read: a deactivation takes effect in
every process within that bound, at once in the process that recorded it.

Only the system (an operator's command, a platform step) may run these commands; no role of
a tenant's token may (there is no tenant above the tenants to hold such a role).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum, StrEnum
from typing import Self

from crm.events import REGISTRY, DomainEvent, EventEnvelope
from crm.events.tenants import TenantActivated, TenantCreated, TenantDeactivated
from crm.kernel.access import SYSTEM_ROLE, AccessPolicy, Principal, Scope
from crm.kernel.aggregate import Aggregate
from crm.kernel.auth import Role
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import InvalidCommand, RuleViolated, Unauthenticated
from crm.kernel.event_store import AppendResult, EventStore
from crm.kernel.repository import CommandContext

CATEGORY = "tenant"

TENANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62})$")
"""A tenant id: 1 to 63 lower-case letters, digits, ``.``, ``_`` and ``-``, starting with a
letter or digit (it appears in stream ids, keys and logs)."""


def valid_tenant_id(tenant: str) -> bool:
    return TENANT_ID.fullmatch(tenant) is not None


class TenantStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TenantState:
    created: bool = False
    name: str = ""
    active: bool = False
    reason: str | None = None

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, TenantCreated):
            return replace(self, created=True, name=event.name, active=True)
        if isinstance(event, TenantDeactivated):
            return replace(self, active=False, reason=event.reason)
        if isinstance(event, TenantActivated):
            return replace(self, active=True, reason=None)
        return self

    @property
    def status(self) -> TenantStatus:
        if not self.created:
            return TenantStatus.UNKNOWN
        return TenantStatus.ACTIVE if self.active else TenantStatus.DEACTIVATED


class Tenant(Aggregate[TenantState]):
    category = CATEGORY

    @classmethod
    def initial_state(cls) -> TenantState:
        return TenantState()

    def register(self, name: str) -> None:
        if self.state.created:
            raise RuleViolated(f"tenant {self.id} exists already", code="tenant_exists")
        self.trigger(TenantCreated(name=name))

    def deactivate(self, reason: str | None) -> None:
        if self.state.active:
            self.trigger(TenantDeactivated(reason=reason))

    def activate(self) -> None:
        if not self.state.active:
            self.trigger(TenantActivated())


@dataclass(frozen=True, slots=True)
class CreateTenant:
    tenant_id: str
    name: str | None = None
    """None: the id."""


@dataclass(frozen=True, slots=True)
class DeactivateTenant:
    tenant_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ActivateTenant:
    tenant_id: str


class TenantAction(Enum):
    VIEW = "view"
    MANAGE = "manage"


POLICY = AccessPolicy(
    "tenant",
    {role: frozenset() for role in Role},
    sees=lambda who, scope: False,
    visible=lambda who: {},
    view=TenantAction.VIEW,
)
"""No role of a tenant's token may manage tenants; the system (an operator) may."""


def operator_context(tenant: str, operator: str, now: datetime) -> CommandContext:
    """The context an operator's command on ``tenant`` runs in: the system, and the tenant
    the record is about (its events are tagged with it)."""
    return CommandContext(actor=f"operator:{operator}", role=SYSTEM_ROLE, tenant=tenant, now=now)


def _checked(tenant_id: str, ctx: CommandContext) -> None:
    if not valid_tenant_id(tenant_id):
        raise InvalidCommand(
            "tenant_id",
            "1 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    if ctx.tenant != tenant_id or not Principal.of(ctx).is_system:
        raise InvalidCommand("tenant_id", "a tenant's record is changed by an operator, for it")


def _create(t: Tenant, cmd: CreateTenant, ctx: CommandContext) -> None:
    _checked(cmd.tenant_id, ctx)
    name = (cmd.name or cmd.tenant_id).strip()
    if not name:
        raise InvalidCommand("name", "must not be blank")
    t.register(name)


def _existing(t: Tenant, tenant_id: str, ctx: CommandContext) -> None:
    _checked(tenant_id, ctx)
    if not t.state.created:
        raise InvalidCommand("tenant_id", f"there is no tenant {tenant_id!r}")


def _deactivate(t: Tenant, cmd: DeactivateTenant, ctx: CommandContext) -> None:
    _existing(t, cmd.tenant_id, ctx)
    t.deactivate(cmd.reason)


def _activate(t: Tenant, cmd: ActivateTenant, ctx: CommandContext) -> None:
    _existing(t, cmd.tenant_id, ctx)
    t.activate()


def tenant_commands(directory: TenantDirectory | None = None) -> CommandTable[Tenant]:
    """The tenant's table; ``directory`` (this process's check) forgets a tenant as soon as
    a command changed it."""

    async def forget(t: Tenant, cmd: object, ctx: CommandContext, _: AppendResult) -> None:
        if directory is not None:
            directory.forget(t.id)

    t = CommandTable(Tenant, POLICY, scope=lambda _: Scope(), id_field="tenant_id")
    t.on(CreateTenant, Expect.ANY, TenantAction.MANAGE, _create, then=forget)
    t.on(DeactivateTenant, Expect.ANY, TenantAction.MANAGE, _deactivate, then=forget)
    t.on(ActivateTenant, Expect.ANY, TenantAction.MANAGE, _activate, then=forget)
    return t


@dataclass(frozen=True, slots=True)
class TenantRecord:
    """A tenant as the operator lists it."""

    id: str
    name: str
    status: TenantStatus
    reason: str | None
    created_at: datetime
    changed_at: datetime
    """When it was last created, deactivated or activated."""


def _fold(tenant_id: str, envelopes: Sequence[EventEnvelope]) -> TenantRecord | None:
    state = TenantState()
    for envelope in envelopes:
        state = state.evolve(
            REGISTRY.decode(envelope.event_type, envelope.schema_version, envelope.payload)
        )
    if not state.created:
        return None
    return TenantRecord(
        tenant_id,
        state.name,
        state.status,
        state.reason,
        envelopes[0].occurred_at,
        envelopes[-1].occurred_at,
    )


async def tenant_records(store: EventStore) -> list[TenantRecord]:
    """Every tenant ever created, by id (one read of the ``tenant`` streams of the log)."""
    streams: dict[str, list[EventEnvelope]] = {}
    async for page in store.read_all(0, categories=(CATEGORY,)):
        for envelope in page:
            streams.setdefault(envelope.stream_id, []).append(envelope)
    records = (_fold(sid.partition("-")[2], envs) for sid, envs in streams.items())
    return sorted((r for r in records if r is not None), key=lambda r: r.id)


async def has_tenants(store: EventStore) -> bool:
    """Whether any tenant was ever created."""
    async for _ in store.read_all(0, batch_size=1, categories=(CATEGORY,)):
        return True
    return False


class TenantDirectory:
    """This process's check of a token's tenant: the tenant's stream, read once per ``ttl``
    seconds (on the monotonic ``clock``) whatever the number of requests; concurrent
    requests for a tenant not in hand wait for one read."""

    def __init__(
        self,
        store: EventStore,
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._known: dict[str, tuple[TenantStatus, float]] = {}
        self._reading: dict[str, asyncio.Future[TenantStatus]] = {}
        self._generation = 0
        """Moved by :meth:`forget`: a read begun before it is not kept."""

    async def record(self, tenant: str) -> TenantRecord | None:
        """The tenant's record as the store has it now (no cache)."""
        if not valid_tenant_id(tenant):
            return None
        return _fold(tenant, await self.store.read_stream(Tenant.stream_id_for(tenant)))

    async def status(self, tenant: str) -> TenantStatus:
        if not valid_tenant_id(tenant):
            return TenantStatus.UNKNOWN
        now = self._clock()
        known = self._known.get(tenant)
        if known is not None and known[1] > now:
            return known[0]
        reading = self._reading.get(tenant)
        if reading is None:
            reading = asyncio.ensure_future(self._read(tenant))
            self._reading[tenant] = reading
            reading.add_done_callback(lambda done: self._done(tenant, done))
        return await asyncio.shield(reading)

    def _done(self, tenant: str, reading: asyncio.Future[TenantStatus]) -> None:
        if self._reading.get(tenant) is reading:
            del self._reading[tenant]

    async def _read(self, tenant: str) -> TenantStatus:
        generation = self._generation
        record = await self.record(tenant)
        status = TenantStatus.UNKNOWN if record is None else record.status
        if generation != self._generation:
            return status
        if len(self._known) >= self._max_entries:
            now = self._clock()
            self._known = {t: k for t, k in self._known.items() if k[1] > now}
            if len(self._known) >= self._max_entries:
                self._known.clear()
        self._known[tenant] = (status, self._clock() + self.ttl)
        return status

    def forget(self, tenant: str) -> None:
        """Read the tenant again at its next check (a command here just changed it)."""
        self._generation += 1
        self._known.pop(tenant, None)
        self._reading.pop(tenant, None)

    async def require_active(self, tenant: str) -> None:
        """Unauthenticated (401) unless ``tenant`` was created and is not deactivated."""
        status = await self.status(tenant)
        if status is TenantStatus.UNKNOWN:
            raise Unauthenticated(f"invalid token: tenant {tenant[:100]!r} does not exist")
        if status is TenantStatus.DEACTIVATED:
            raise Unauthenticated(f"invalid token: tenant {tenant!r} is deactivated")


__all__ = [
    "ActivateTenant",
    "CreateTenant",
    "DeactivateTenant",
    "Tenant",
    "TenantDirectory",
    "TenantRecord",
    "TenantStatus",
    "has_tenants",
    "operator_context",
    "tenant_commands",
    "tenant_records",
    "valid_tenant_id",
]
