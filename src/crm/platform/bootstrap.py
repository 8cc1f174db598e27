"""Builds the platform from settings: adapters chosen by URL, one runtime, every context.

This is the one place that knows which adapters exist; contexts see only the ports.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from crm.activities.context import CONTEXT as ACTIVITIES
from crm.analytics.context import CONTEXT as ANALYTICS
from crm.customer.context import CONTEXT as CUSTOMER
from crm.events import REGISTRY
from crm.kernel.adapters.urls import open_event_store, open_key_store, open_read_store
from crm.kernel.auth import SECRET_FILE, TokenIssuer, load_or_create_secret, load_secret
from crm.kernel.clock import Clock, SystemClock
from crm.kernel.codec import EventCodec
from crm.kernel.context import BoundedContext
from crm.kernel.errors import RuleViolated
from crm.kernel.event_store import EventStore
from crm.kernel.keys import KeyStore
from crm.kernel.observability.keys import ObservedKeyStore
from crm.kernel.projection import (
    Projection,
    ProjectionRunner,
    ensure_version,
    outdated,
    record_version,
)
from crm.kernel.reactor import ReactionRunner
from crm.kernel.read_store import ReadStore
from crm.kernel.runtime import Runtime
from crm.kernel.settings import Settings
from crm.kernel.tenants import CreateTenant, has_tenants, operator_context, tenant_commands
from crm.sales.context import CONTEXT as SALES
from crm.service_desk.context import CONTEXT as SERVICE_DESK

if TYPE_CHECKING:  # aiokafka is imported only when a bus is configured
    from crm.kernel.adapters.kafka.consumer import KafkaReactionConsumer

log = logging.getLogger(__name__)

CONTEXTS: tuple[BoundedContext, ...] = (CUSTOMER, SALES, SERVICE_DESK, ANALYTICS, ACTIVITIES)


def context_named(name: str) -> BoundedContext:
    for context in CONTEXTS:
        if context.name == name:
            return context
    known = ", ".join(c.name for c in CONTEXTS)
    raise KeyError(f"no context {name!r} (known: {known})")


def fed_by_bus(context: BoundedContext) -> list[Projection]:
    """The context's projections that read other contexts' streams: with a bus, the worker
    feeds them from Kafka; without one, they read the shared store like the others."""
    return [
        p
        for p in context.projections
        if p.categories is None or not p.categories <= context.categories
    ]


def topics_for(projections: Sequence[Projection]) -> list[str]:
    """The context topics carrying the stream categories these projections read."""
    return topics_carrying(set().union(*(p.categories or set() for p in projections)))


def topics_carrying(categories: Collection[str]) -> list[str]:
    return [c.topic for c in CONTEXTS if c.categories & set(categories)]


class NoSecret(Exception):
    """No ``CRM_SECRET`` and no secret file where the settings point."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no token secret in {path}")
        self.path = path


def token_issuer(settings: Settings, *, create: bool = True) -> TokenIssuer:
    """The issuer of the deployment's tokens: ``CRM_SECRET``, else the secret file of the
    data directory, created if ``create`` (what ``crm up`` does; ``crm token`` never does:
    a secret it created would sign tokens no running platform accepts)."""
    secret = settings.secret
    if secret is None:
        if create:
            secret = load_or_create_secret(settings.data_dir)
        else:
            secret = load_secret(settings.data_dir)
            if secret is None:
                raise NoSecret((settings.data_dir / SECRET_FILE).absolute())
    return TokenIssuer(secret, ttl=timedelta(hours=settings.token_ttl_hours))


async def ensure_tenant(platform: Platform, tenant: str, *, operator: str = "platform") -> bool:
    """Create ``tenant`` unless it exists (active or not: a deactivated tenant stays so);
    True if it was created here."""
    runtime = platform.runtime
    if await runtime.tenants.record(tenant) is not None:
        return False
    try:
        await runtime.commands.execute(
            CreateTenant(tenant), operator_context(tenant, operator, runtime.clock.now())
        )
    except RuleViolated:  # another process created it meanwhile
        return False
    return True


async def ensure_first_tenant(platform: Platform) -> str | None:
    """In a store where no tenant was ever created, create the default one
    (``CRM_DEFAULT_TENANT``), so that ``crm up`` and ``crm token`` work out of the box; the
    tenant created, or None."""
    if await has_tenants(platform.store):
        return None
    tenant = platform.settings.default_tenant
    return tenant if await ensure_tenant(platform, tenant) else None


@dataclass
class Platform:
    settings: Settings
    store: EventStore
    read_store: ReadStore
    keys: KeyStore
    runtime: Runtime
    contexts: Sequence[BoundedContext]
    runners: list[ProjectionRunner] = field(default_factory=list)
    reactors: list[ReactionRunner | KafkaReactionConsumer] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _reactor_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _job_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _rebuilding: set[str] = field(default_factory=set)

    @property
    def projections(self) -> list[Projection]:
        return [p for c in self.contexts for p in c.projections]

    def only(self, context: BoundedContext) -> Platform:
        """This platform serving one context (``crm serve``)."""
        return Platform(
            self.settings, self.store, self.read_store, self.keys, self.runtime, (context,)
        )

    def projection(self, name: str) -> Projection:
        for p in self.projections:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.projections)
        raise KeyError(f"no projection {name!r} (known: {known})")

    async def start_projections(self, projections: Sequence[Projection] | None = None) -> None:
        """Catch projections (default: all of the contexts') up to the head, then follow
        the log in the background. A read model built by another version of its projection
        is rebuilt online first (its old documents keep serving meanwhile) and followed from
        the swap."""
        self.runners = [
            ProjectionRunner(p, self.store, self.read_store, self.runtime.codec)
            for p in (self.projections if projections is None else projections)
        ]
        self._tasks = []
        for runner in self.runners:
            name = f"projection:{runner.projection.name}"
            if await outdated(self.read_store, runner.projection):
                self._rebuilding.add(runner.projection.name)
                self._tasks.append(
                    asyncio.create_task(self._rebuild_then_follow(runner), name=name)
                )
                continue
            await record_version(self.read_store, runner.projection)
            await runner.catch_up()
            self._tasks.append(asyncio.create_task(runner.run(), name=name))

    async def _rebuild_then_follow(self, runner: ProjectionRunner) -> None:
        await ensure_version(runner.projection, self.store, self.read_store, self.runtime.codec)
        self._rebuilding.discard(runner.projection.name)
        await runner.run()

    async def stop_projections(self) -> None:
        """Each runner finishes and commits the batch in hand, then stops."""
        tasks, self._tasks = self._tasks, []
        await asyncio.gather(
            *(runner.stop(task) for runner, task in zip(self.runners, tasks, strict=False))
        )

    async def start_processes(self) -> None:
        """Start the contexts' reactions (caught up with the store first, when they follow
        it) and background jobs."""
        settings = self.settings
        for context in self.contexts:
            for reaction in context.reactions(self.runtime) if context.reactions else ():
                reactor: ReactionRunner | KafkaReactionConsumer
                if settings.bus and not reaction.categories <= context.categories:
                    from crm.kernel.adapters.kafka.consumer import KafkaReactionConsumer

                    reactor = KafkaReactionConsumer(
                        settings.bus,
                        reaction,
                        topics_carrying(reaction.categories),
                        self.runtime.codec,
                        self.read_store,
                        group_id=f"crm-{context.name}.{reaction.name}",
                        session_timeout_seconds=settings.kafka_session_timeout_seconds,
                        rebalance_timeout_seconds=settings.kafka_rebalance_timeout_seconds,
                        fetch_max_wait_ms=settings.kafka_fetch_wait_ms,
                    )
                else:
                    reactor = ReactionRunner(
                        reaction, self.store, self.read_store, self.runtime.codec
                    )
                    await reactor.catch_up()
                self.reactors.append(reactor)
                self._reactor_tasks.append(asyncio.create_task(reactor.run(), name=reactor.name))
            for job in context.jobs(self.runtime) if context.jobs else ():
                self._job_tasks.append(asyncio.create_task(job(), name=f"job:{context.name}"))

    async def stop_processes(self) -> None:
        jobs, self._job_tasks = self._job_tasks, []
        for task in jobs:
            task.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        tasks, self._reactor_tasks = self._reactor_tasks, []
        reactors, self.reactors = self.reactors, []
        await asyncio.gather(*(r.stop(t) for r, t in zip(reactors, tasks, strict=True)))

    def projections_healthy(self) -> bool:
        tasks = [*self._tasks, *self._reactor_tasks, *self._job_tasks]
        return (
            len(self._tasks) == len(self.runners)
            and not self._rebuilding
            and not any(t.done() for t in tasks)
        )

    async def close(self) -> None:
        await self.stop_processes()
        await self.stop_projections()
        await self.store.close()
        await self.read_store.close()
        await self.keys.close()


def open_platform(
    settings: Settings,
    *,
    contexts: Sequence[BoundedContext] = CONTEXTS,
    clock: Clock | None = None,
) -> Platform:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_event_store(settings.event_store_url, synchronous=settings.sqlite_synchronous)
    read_store = open_read_store(settings.read_store_url, synchronous=settings.sqlite_synchronous)
    keys = ObservedKeyStore(open_key_store(settings.key_store_url))
    runtime = Runtime(
        store=store,
        read_store=read_store,
        codec=EventCodec(REGISTRY, keys),
        clock=clock or SystemClock(),
        tokens=token_issuer(settings),
        read_wait_seconds=settings.read_wait_seconds,
        scheduler_interval_seconds=settings.scheduler_interval_seconds,
        satisfaction_low_score=settings.satisfaction_low_score,
        satisfaction_reopens_complaints=settings.satisfaction_reopens_complaints,
        ticket_reopen_window_days=settings.ticket_reopen_window_days,
        tenant_cache_seconds=settings.tenant_cache_seconds,
        smtp_url=settings.smtp_url,
        webhook_allowed_hosts=settings.webhook_allowed_hosts,
        webhook_interval_seconds=settings.webhook_interval_seconds,
    )
    runtime.commands.register(tenant_commands(runtime.tenants))
    for context in contexts:
        if context.commands is not None:
            runtime.commands.register(*context.commands(runtime))
    return Platform(settings, store, read_store, keys, runtime, contexts)
