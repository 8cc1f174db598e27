"""Settings from ``CRM_*`` environment variables; every adapter is chosen by a URL."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_LIMIT = r"^\s*(?i:off|none|0|\d+(\.\d+)?\s*(/s)?\s*:\s*\d+)\s*$"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    data_dir: Path = Path(".crm-data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    event_store: str | None = None
    """``sqlite:///path/events.db``; unset: ``events.db`` in the data directory."""
    read_store: str | None = None
    """``sqlite:///path/read.db``; unset: ``read.db`` in the data directory."""
    key_store: str | None = None
    """``sqlite:///path/keys.db``; unset: ``keys.db`` in the data directory."""
    bus: str | None = None
    """``kafka://host:port``; unset: the embedded platform (projections read the store)."""
    kafka_partitions: int = Field(default=6, ge=1)
    kafka_replication: int = Field(default=1, ge=1)
    kafka_rebalance_timeout_seconds: float = Field(default=60.0, gt=0)
    """How long a consumer group rebalance may take (a broker may wait this long to let
    every member rejoin; Tansu always does, so tests set it low)."""
    kafka_session_timeout_seconds: float = Field(default=30.0, gt=0)
    kafka_fetch_wait_ms: int = Field(default=100, ge=1, le=30_000)
    """How long a consumer's fetch waits for records before the broker answers empty (the
    worker's Faust consumer and the reactions' consumers). Brokers that hold a waiting fetch
    to its end (Tansu) add up to this much per hop; Apache Kafka answers at the first record."""
    sqlite_synchronous: str = Field(default="FULL", pattern="^(FULL|NORMAL|EXTRA)$")
    secret: str | None = None
    """Signing secret of access tokens; unset: a random one kept in the data directory."""
    token_ttl_hours: int = Field(default=12, ge=1)
    default_tenant: str = "default"
    """The tenant of tokens issued without ``--tenant``; ``crm up`` creates it in a store
    that has no tenant yet."""
    tenant_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    """How long each process keeps a tenant's status (active, deactivated, unknown) before
    reading its record again: a tenant deactivated (or added) elsewhere is refused (or
    accepted) within this bound."""
    read_wait_seconds: float = Field(default=2.0, ge=0, le=30)
    """How long a GET with ``min_position`` waits for the read model to catch up."""
    scheduler_interval_seconds: float = Field(default=60.0, gt=0)
    """How often the schedulers (overdue invoices, expired quotes, SLA checks) look for due
    work. Each check is idempotent, so several replicas may run them."""
    satisfaction_low_score: int = Field(default=2, ge=1, le=4)
    """A satisfaction score (1 to 5) at or below this is low: a complaint so scored is
    reopened for review (see ``satisfaction_reopens_complaints``). At most 4, so the best
    score is never low."""
    satisfaction_reopens_complaints: bool = True
    """Whether a low satisfaction score reopens a complaint for review (even after the reopen
    window); off, the score is only recorded."""
    ticket_reopen_window_days: int = Field(default=7, ge=0, le=365)
    """How long after closing a ticket may still be reopened (0: a closed ticket never is;
    a resolved one always may be)."""
    smtp_url: str | None = Field(default=None, pattern=r"^smtps?://")
    """The SMTP server notifications are e-mailed through:
    ``smtp://[user:password@]host[:port][?starttls=true][&from=address]``, or ``smtps://`` for
    TLS from the start. Unset, nothing is mailed (e-mail waits, pending)."""
    webhook_allowed_hosts: str | None = None
    """The hosts webhook subscriptions may name, comma-separated: host names, ``*.example.com``
    for its subdomains, IP addresses. A host that resolves to an internal (private, loopback,
    link-local) address is refused unless named here exactly. Unset: no webhook URL is
    accepted."""
    webhook_interval_seconds: float = Field(default=1.0, gt=0, le=300)
    """How often the webhook deliverer looks for events to deliver and retries due."""
    oidc_issuer: str | None = Field(default=None, pattern=r"^https?://")
    """The OpenID Connect provider the console signs users in with (its issuer URL, whose
    ``/.well-known/openid-configuration`` is read). Unset: passwords only."""
    oidc_client_id: str | None = None
    """The console's client id at the provider (required with ``oidc_issuer``)."""
    oidc_client_secret: str | None = None
    """The client's secret (``client_secret_basic``); unset: a public client (PKCE only)."""
    oidc_redirect_url: str | None = Field(default=None, pattern=r"^https?://")
    """Where the provider sends the user back (registered at the provider): default the
    console's own ``/console/oidc/callback`` at the address the request came to."""
    oidc_username_claim: str = "preferred_username"
    """The ID token's claim holding the console user's name (their user id in the tenant)."""
    oidc_scopes: str = "openid profile email"
    log_level: str = "INFO"
    max_url_bytes: int = Field(default=8192, ge=256, le=1_048_576)
    """A longer URL (path and query) is answered 414."""
    rate_limit_enabled: bool = True
    """Per-user and per-address limits per group of routes (``rate_limit_*``); off, none."""
    rate_limit_store: str | None = None
    """Where the limits are counted: unset (or ``memory://``), in each process;
    ``postgresql://…[?schema=s]``, in one table every replica shares."""
    rate_limit_user_reads: str = Field(default="500:1000", pattern=_LIMIT)
    """Each limit is ``RATE:BURST`` (requests a second sustained : at once) or ``off``. The
    defaults stop floods, not work: a benchmark or the demo, one user at machine speed, stays
    under them. Per user (tenant and token subject): GET, HEAD, OPTIONS."""
    rate_limit_user_commands: str = Field(default="500:1000", pattern=_LIMIT)
    """Per user: POST, PUT, PATCH, DELETE."""
    rate_limit_user_exports: str = Field(default="20:100", pattern=_LIMIT)
    """Per user: ``format=csv`` (and ``*.csv``) requests."""
    rate_limit_address_reads: str = Field(default="1000:2000", pattern=_LIMIT)
    """Per client address, whatever the user."""
    rate_limit_address_commands: str = Field(default="1000:2000", pattern=_LIMIT)
    rate_limit_address_exports: str = Field(default="50:200", pattern=_LIMIT)
    rate_limit_address_auth_failures: str = Field(default="5:50", pattern=_LIMIT)
    """Per client address: requests with a missing or bad token."""

    def url(self, configured: str | None, file: str) -> str:
        return configured or f"sqlite:///{(self.data_dir / file).as_posix()}"

    @property
    def event_store_url(self) -> str:
        return self.url(self.event_store, "events.db")

    @property
    def read_store_url(self) -> str:
        return self.url(self.read_store, "read.db")

    @property
    def key_store_url(self) -> str:
        return self.url(self.key_store, "keys.db")
