"""The platform's Prometheus metrics, in the process's default registry.

Names follow the Prometheus conventions (``crm_`` prefix, ``_total`` counters, ``_seconds``
durations). Labels carry bounded values only: a route *template*, a method, a status, a
command's type, an outcome, a projection's, reaction's or context's name, a Kafka partition.
Never a tenant, a user, an aggregate id or anything a person typed.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

HTTP_REQUESTS = Counter(
    "crm_http_requests_total",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "crm_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=LATENCY,
)
COMMANDS = Counter(
    "crm_commands_total",
    "Commands run on the command bus, by command type and outcome "
    "(accepted, unchanged, replayed, conflict, rejected, failed, cancelled).",
    ["command", "outcome"],
)
COMMAND_DURATION = Histogram(
    "crm_command_duration_seconds",
    "Time a command took on the bus (loads, rules, append), by command type.",
    ["command"],
    buckets=LATENCY,
)
APPENDS = Counter(
    "crm_event_store_appends_total",
    "Appends to the event store by outcome (ok, conflict, replayed, failed).",
    ["outcome"],
)
APPENDED_EVENTS = Counter("crm_event_store_appended_events_total", "Events appended.")
APPEND_DURATION = Histogram(
    "crm_event_store_append_duration_seconds",
    "Time an append took, its commit included.",
    buckets=LATENCY,
)
GROUP_COMMIT_SIZE = Histogram(
    "crm_event_store_group_commit_appends",
    "Appends committed together in one transaction by the SQLite store's writer.",
    buckets=SIZES,
)
HEAD_POSITION = Gauge(
    "crm_event_store_head_position", "Position of the last event of the log (refreshed)."
)
PROJECTION_APPLIED = Counter(
    "crm_projection_events_applied_total",
    "Events a projection applied to its read model.",
    ["projection"],
)
PROJECTION_DEAD_LETTERS = Counter(
    "crm_projection_dead_letters_total",
    "Events a projection could not apply (sent to its dead letters).",
    ["projection"],
)
PROJECTION_BATCH = Histogram(
    "crm_projection_batch_duration_seconds",
    "Time to apply and commit one batch, by projection.",
    ["projection"],
    buckets=LATENCY,
)
REACTIONS = Counter("crm_reaction_events_total", "Events a reaction reacted to.", ["reaction"])
REACTION_DEAD_LETTERS = Counter(
    "crm_reaction_dead_letters_total",
    "Events a reaction refused for good (sent to its dead letters).",
    ["reaction"],
)
LAG_EVENTS = Gauge(
    "crm_follower_lag_events",
    "Events of its categories a follower of the log (projection, reaction, relay) has yet "
    "to handle (refreshed; counting stops at 10000).",
    ["kind", "name"],
)
LAG_SECONDS = Gauge(
    "crm_follower_lag_seconds",
    "Age of the oldest event a follower has yet to handle; 0 when caught up (refreshed).",
    ["kind", "name"],
)
FOLLOWER_POSITION = Gauge(
    "crm_follower_position", "The checkpoint of a follower of the log.", ["kind", "name"]
)
RELAY_PUBLISHED = Counter(
    "crm_relay_published_events_total", "Events the relay published to Kafka.", ["context"]
)
RELAY_PUBLISH_DURATION = Histogram(
    "crm_relay_publish_duration_seconds",
    "Time for the bus to acknowledge one page of events.",
    ["context"],
    buckets=LATENCY,
)
RELAY_PUBLISH_FAILURES = Counter(
    "crm_relay_publish_failures_total",
    "Pages the bus did not acknowledge (retried with backoff).",
    ["context"],
)
CONSUMER_LAG = Gauge(
    "crm_kafka_consumer_lag_messages",
    "Records of a partition the consumer group has not consumed yet (refreshed).",
    ["group", "topic", "partition"],
)
SCHEDULER_TICKS = Counter(
    "crm_scheduler_ticks_total",
    "Scheduler ticks by outcome (ok, failed).",
    ["scheduler", "outcome"],
)
SCHEDULER_LAST_TICK = Gauge(
    "crm_scheduler_last_tick_timestamp_seconds",
    "Unix time of the scheduler's last completed tick.",
    ["scheduler"],
)
SCHEDULER_DUE = Counter(
    "crm_scheduler_due_total",
    "Due work a scheduler found, by what it did (recorded, unchanged, failed).",
    ["scheduler", "result"],
)


def tick(scheduler: str, *, ok: bool, when: float, due: dict[str, int] | None = None) -> None:
    """Count one scheduler tick (and the due work it found)."""
    SCHEDULER_TICKS.labels(scheduler, "ok" if ok else "failed").inc()
    if ok:
        SCHEDULER_LAST_TICK.labels(scheduler).set(when)
    for result, count in (due or {}).items():
        SCHEDULER_DUE.labels(scheduler, result).inc(count)


Refresh = Callable[[], Awaitable[None]]


def render(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The exposition text of ``registry`` and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


def token_allows(expected: str | None, authorization: str | None) -> bool:
    """Whether an ``Authorization`` header bears the metrics token (constant-time)."""
    if not expected or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)


async def refresh_all(refreshers: Sequence[Refresh]) -> None:
    for refresh in refreshers:
        await refresh()
