"""Every HTTP request measured, traced and logged by its route *template* (``/customers/{id}``,
never the path a client sent, which may hold an id or a search term), as a plain ASGI
middleware: it sees the answer's status even when an inner middleware answered (a 429, a
414) and the time to the last byte."""

from __future__ import annotations

import logging
import time
from uuid import UUID

from fastapi.telemetry import TelemetryConfig
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm.kernel.observability import tracing
from crm.kernel.observability.logs import log_fields
from crm.kernel.observability.metrics import HTTP_DURATION, HTTP_REQUESTS

log = logging.getLogger("crm.http")

UNMATCHED = "unmatched"
NO_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""FastAPI's own telemetry, off: :class:`Observed` is the one source of HTTP spans (its
spans join the trace of the correlation id), and FastAPI's logs would record exception
messages, which may quote what a person typed."""


def route_template(scope: Scope) -> str:
    """The template of the route the router chose (it records it in the scope), ``unmatched``
    when none did (a 404, or an answer given before routing: a 429, a 414)."""
    route = scope.get("route")
    path = getattr(route, "path", None) if route is not None else None
    return path if isinstance(path, str) and path else UNMATCHED


class Observed:
    """ASGI middleware: ``crm_http_*`` metrics, a SERVER span, one log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        parent = propagate.extract(headers)
        has_parent = trace.get_current_span(parent).get_span_context().is_valid
        given = _uuid(headers.get("x-correlation-id"))
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        name = f"{method} {UNMATCHED}"  # renamed once the router chose a route
        attributes = {"http.request.method": method}
        if tracing.enabled():
            if has_parent:
                span = tracing.tracer.start_span(
                    name, context=parent, kind=SpanKind.SERVER, attributes=attributes
                )
            else:
                span = tracing.start_root_span(
                    name, given, kind=SpanKind.SERVER, attributes=attributes
                )
            ctx = span.get_span_context()
            correlation: UUID | None = given or UUID(int=ctx.trace_id)
        else:
            span = trace.INVALID_SPAN
            ctx = trace.get_current_span(parent).get_span_context()
            correlation = given or (UUID(int=ctx.trace_id) if has_parent else None)
        try:
            with trace.use_span(span, end_on_exit=False), log_fields(correlation_id=correlation):
                await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(trace.Status(trace.StatusCode.ERROR))
            span.end()
            HTTP_REQUESTS.labels(route, method, str(status)).inc()
            HTTP_DURATION.labels(route, method).observe(elapsed)
            with log_fields(correlation_id=correlation):
                log.info(
                    "%s %s %d %.1f ms",
                    method,
                    route,
                    status,
                    elapsed * 1000,
                    extra={
                        "http_route": route,
                        "http_status": status,
                        "duration_ms": elapsed * 1000,
                    },
                )


def _uuid(value: str | None) -> UUID | None:
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        return None
