"""What the command bus, the repository and the runners report: metrics, spans, log lines.

Each is called from one line of the kernel code it observes, so that code stays about its
own work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from opentelemetry import trace

from crm.events import EventEnvelope
from crm.kernel.errors import CrmError, WrongExpectedVersion
from crm.kernel.event_store import AppendResult
from crm.kernel.observability import tracing
from crm.kernel.observability.logs import log_fields
from crm.kernel.observability.metrics import (
    APPEND_DURATION,
    APPENDED_EVENTS,
    APPENDS,
    COMMAND_DURATION,
    COMMANDS,
    PROJECTION_APPLIED,
    PROJECTION_BATCH,
    PROJECTION_DEAD_LETTERS,
    REACTION_DEAD_LETTERS,
    REACTIONS,
)

log = logging.getLogger("crm.commands")


class _Context(Protocol):
    @property
    def actor(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def correlation_id(self) -> Any: ...
    @property
    def causation_id(self) -> Any: ...


class _Outcome(Protocol):
    @property
    def result(self) -> AppendResult: ...
    @property
    def recorded(self) -> bool: ...


def outcome_of(error: BaseException) -> str:
    if isinstance(error, asyncio.CancelledError):  # its caller went away (a shutdown, a
        return "cancelled"  # client gone): the append may still have been recorded
    if isinstance(error, WrongExpectedVersion):
        return "conflict"
    if isinstance(error, CrmError):
        return "rejected"
    return "failed"


@contextlib.contextmanager
def observe_command(command: object, ctx: _Context) -> Iterator[Callable[[_Outcome], None]]:
    """Around one command on the bus: its span (a child of the request's, else in the trace
    of its correlation id), its log fields, and on leaving ``crm_commands_total`` with the
    outcome and one log line (the error's type only: a message may quote what was typed)."""
    name = type(command).__name__
    started = time.perf_counter()
    fields = {
        "correlation_id": ctx.correlation_id,
        "causation_id": ctx.causation_id,
        "tenant": ctx.tenant,
        "actor": ctx.actor,
        "command": name,
    }

    def done(outcome: _Outcome) -> None:
        result = outcome.result
        label = "replayed" if result.replayed else "accepted"
        COMMANDS.labels(name, label).inc()
        trace.get_current_span().set_attributes(
            {"crm.stream": result.stream_id, "crm.position": result.position}
        )
        with log_fields(stream=result.stream_id, position=result.position):
            log.info(
                "command %s %s%s",
                name,
                label,
                "" if outcome.recorded or result.replayed else " (nothing to record)",
            )

    with log_fields(**fields), tracing.span_in(f"command {name}", ctx.correlation_id) as span:
        try:
            yield done
        except BaseException as e:
            outcome = outcome_of(e)
            COMMANDS.labels(name, outcome).inc()
            span.set_attribute("crm.outcome", outcome)
            if outcome == "failed":
                log.exception("command %s failed", name)
            else:
                log.info("command %s %s (%s)", name, outcome, type(e).__name__)
            raise
        finally:
            COMMAND_DURATION.labels(name).observe(time.perf_counter() - started)


async def appended(stream_id: str, count: int, append: Awaitable[AppendResult]) -> AppendResult:
    """Await ``append`` in an ``append`` span, counted in ``crm_event_store_appends_total``."""
    started = time.perf_counter()
    with tracing.tracer.start_as_current_span(
        "append", attributes={"crm.stream": stream_id, "crm.events": count}
    ) as span:
        try:
            result = await append
        except BaseException as e:
            APPENDS.labels("conflict" if isinstance(e, WrongExpectedVersion) else "failed").inc()
            raise
        finally:
            APPEND_DURATION.observe(time.perf_counter() - started)
        APPENDS.labels("replayed" if result.replayed else "ok").inc()
        if not result.replayed:
            APPENDED_EVENTS.inc(count)
        span.set_attribute("crm.position", result.position)
        return result


class _Batch(Protocol):
    @property
    def applied(self) -> int: ...
    @property
    def dead_lettered(self) -> int: ...


B = TypeVar("B", bound=_Batch)


def observed_batch(
    projection: str, batch: Sequence[EventEnvelope], started_ns: int, outcome: B
) -> B:
    """Count a projection's applied batch and record it in its events' traces."""
    PROJECTION_APPLIED.labels(projection).inc(outcome.applied)
    if outcome.dead_lettered:
        PROJECTION_DEAD_LETTERS.labels(projection).inc(outcome.dead_lettered)
    PROJECTION_BATCH.labels(projection).observe((tracing.now_ns() - started_ns) / 1e9)
    tracing.record_batch(
        f"apply {projection}",
        batch,
        started_ns,
        {"crm.projection": projection, "crm.applied": outcome.applied},
    )
    return outcome


def observed_reactions(reaction: str, reacted: int, dead_lettered: int) -> None:
    if reacted:
        REACTIONS.labels(reaction).inc(reacted)
    if dead_lettered:
        REACTION_DEAD_LETTERS.labels(reaction).inc(dead_lettered)
