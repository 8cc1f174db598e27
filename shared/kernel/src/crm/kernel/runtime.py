"""The ports a bounded context is wired with, in one value (built by the platform's bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from crm.kernel.auth import TokenIssuer
from crm.kernel.clock import Clock
from crm.kernel.codec import EventCodec
from crm.kernel.commands import CommandBus
from crm.kernel.event_store import EventStore
from crm.kernel.read_store import ReadStore
from crm.kernel.tenants import TenantDirectory


@dataclass(frozen=True)
class Runtime:
    store: EventStore
    read_store: ReadStore
    codec: EventCodec
    clock: Clock
    tokens: TokenIssuer
    read_wait_seconds: float = 2.0
    scheduler_interval_seconds: float = 60.0
    satisfaction_low_score: int = 2
    """Service desk: a satisfaction score at or below this is low (see ``Settings``)."""
    satisfaction_reopens_complaints: bool = True
    """Service desk: whether a low score reopens a complaint for review."""
    ticket_reopen_window_days: int = 7
    """Service desk: how long after closing a ticket may still be reopened."""
    tenant_cache_seconds: float = 5.0
    """How long a tenant's status is kept before its record is read again."""
    smtp_url: str | None = None
    """Where notifications are e-mailed (``smtp://host:port``…, see ``Settings``); None: not."""
    webhook_allowed_hosts: str | None = None
    """The hosts webhooks may call (``CRM_WEBHOOK_ALLOWED_HOSTS``, see ``Settings``)."""
    webhook_interval_seconds: float = 1.0
    """How often the webhook deliverer looks for events to deliver."""

    @cached_property
    def commands(self) -> CommandBus:
        """The one path every command takes; the platform registers each context's tables."""
        return CommandBus(self.store, self.codec)

    @cached_property
    def tenants(self) -> TenantDirectory:
        """This process's check of a token's tenant (:mod:`crm.kernel.tenants`)."""
        return TenantDirectory(self.store, ttl=self.tenant_cache_seconds)
