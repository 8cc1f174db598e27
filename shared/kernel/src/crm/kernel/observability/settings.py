"""The observability settings, from ``CRM_*`` (and the standard ``OTEL_*``) environment
variables. Kept apart from :class:`crm.kernel.settings.Settings`: every process reads them the
same way, before it knows which part of the platform it runs."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ObservabilitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    log_format: str = Field(default="text", pattern="^(json|text)$")
    """``json``: one JSON object a line (python-json-logger) with the correlation id, causation
    id, tenant, actor and, for commands, stream and position; ``text``: for a terminal."""
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """A separate listener serving ``/metrics`` without a token (what Prometheus scrapes in
    Kubernetes: the port is not behind the Service that an Ingress exposes)."""
    metrics_host: str = "0.0.0.0"
    metrics_token: str | None = None
    """With it, ``/metrics`` on the process's own HTTP port answers a request bearing
    ``Authorization: Bearer <token>``; without it that route answers 404."""
    metrics_refresh_seconds: float = Field(default=5.0, gt=0, le=300)
    """How often the lag gauges (which read the store) are recomputed in the background."""
    service_name: str = "crm"
    """``service.name`` of the traces (OTEL_SERVICE_NAME wins when set)."""
