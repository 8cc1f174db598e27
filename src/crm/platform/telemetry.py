"""Wiring observability into the platform's processes (:mod:`crm.kernel.observability`).

Every process (``crm up``, ``crm serve``, ``crm relay``, ``crm worker``) configures its logs
and traces the same way at start, and offers ``/metrics`` two ways:

- on its own HTTP port, to a request bearing ``Authorization: Bearer $CRM_METRICS_TOKEN``
  (without a token configured, that route answers 404: the API port is what an Ingress
  exposes, and counts of commands and routes are not for the public);
- on ``CRM_METRICS_PORT``, a separate listener without a token, for Prometheus inside the
  cluster (the port is on the pod only, not on the Service an Ingress routes to; a
  NetworkPolicy lets the monitoring namespace reach it).

Gauges that read the store (lags) are refreshed in the background every
``CRM_METRICS_REFRESH_SECONDS``, and once more before the token route answers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from crm.kernel.http.errors import error_body
from crm.kernel.observability import ObservabilitySettings
from crm.kernel.observability.lag import Follower, LagGauges
from crm.kernel.observability.logs import configure_logging
from crm.kernel.observability.metrics import Refresh, refresh_all, render, token_allows
from crm.kernel.observability.tracing import configure_tracing
from crm.kernel.reactor import ReactionRunner
from crm.kernel.relay import Relay
from crm.platform.bootstrap import Platform

log = logging.getLogger(__name__)


def setup_process(level: str, service: str, settings: ObservabilitySettings | None = None) -> None:
    """Logs (``CRM_LOG_FORMAT``), traces (OTLP if configured) and the metrics listener
    (``CRM_METRICS_PORT``) of a process, before it serves."""
    obs = settings or ObservabilitySettings()
    configure_logging(level, obs.log_format)
    if configure_tracing(f"{obs.service_name}-{service}") is not None:
        log.info("tracing: exporting spans over OTLP")
    if obs.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(obs.metrics_port, addr=obs.metrics_host)
        log.info("metrics on http://%s:%d/metrics", obs.metrics_host, obs.metrics_port)


def platform_followers(platform: Platform) -> list[Follower]:
    """The followers of the log this platform runs: its projection runners and the reactions
    that read the store (those fed by Kafka are measured by their consumer group's lag)."""
    followers = [
        Follower(
            "projection",
            runner.projection.name,
            (lambda r=runner: r.position),  # type: ignore[misc]
            runner.projection.categories,
        )
        for runner in platform.runners
    ]
    followers += [
        Follower(
            "reaction",
            reactor.reaction.name,
            (lambda r=reactor: r.position),  # type: ignore[misc]
            reactor.reaction.categories,
        )
        for reactor in platform.reactors
        if isinstance(reactor, ReactionRunner)
    ]
    return followers


def platform_refreshers(platform: Platform) -> list[Refresh]:
    return [LagGauges(platform.store, lambda: platform_followers(platform)).refresh]


def relay_refreshers(platform: Platform, relay: Relay, context: str) -> list[Refresh]:
    def followers() -> list[Follower]:
        return [Follower("relay", context, lambda: relay.position, relay.categories)]

    return [LagGauges(platform.store, followers).refresh]


def install_metrics(
    app: FastAPI, refreshers: Sequence[Refresh], settings: ObservabilitySettings
) -> None:
    """``GET /metrics`` on the app's own port, for the bearer of the metrics token."""

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        if not settings.metrics_token:
            return JSONResponse(
                error_body(
                    "not_found",
                    "/metrics is off on this port: set CRM_METRICS_TOKEN, or scrape"
                    " CRM_METRICS_PORT",
                    ["request", "path"],
                ),
                status_code=404,
            )
        if not token_allows(settings.metrics_token, request.headers.get("authorization")):
            return JSONResponse(
                error_body(
                    "unauthorized",
                    "/metrics needs Authorization: Bearer <CRM_METRICS_TOKEN>",
                    ["header", "Authorization"],
                ),
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        await refresh_all(refreshers)
        body, content_type = render()
        return Response(body, media_type=content_type)
