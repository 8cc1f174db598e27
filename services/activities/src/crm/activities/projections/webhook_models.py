"""The webhooks' read models, one projection of the ``webhook`` streams:

- ``activities_webhooks``: each subscription as admins list it (URL, event types, enabled),
  never its secret (the secret stays sealed in the store, read only by the deliverer);
- ``activities_webhook_dead_letters``: the events delivery gave up on, per subscription and
  position, with the last error, and whether a redelivery was asked for or succeeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

from crm.events import DomainEvent, EventEnvelope
from crm.events.webhooks import (
    WebhookChanged,
    WebhookCreated,
    WebhookDeadLettered,
    WebhookDisabled,
    WebhookEnabled,
    WebhookRedelivered,
    WebhookRedeliveryRequested,
    WebhookReplayRequested,
    WebhookSecretRotated,
)
from crm.kernel.handlers import DocKey, Handlers
from crm.kernel.read_store import CollectionSpec, Document, Index

WEBHOOKS = "activities_webhooks"
DEAD_LETTERS = "activities_webhook_dead_letters"


class WebhookDoc(TypedDict):
    id: str
    tenant: Annotated[str, Field(exclude=True)]
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    version: int
    created_at: str
    changed_at: str
    secret_rotated_at: str | None
    last_replay_from: int | None


class DeadLetterDoc(TypedDict):
    id: str
    """``<webhook id>:<position>``."""
    tenant: Annotated[str, Field(exclude=True)]
    webhook_id: str
    position: int
    event_id: str
    event_type: str
    stream_id: str
    attempts: int
    error: str
    failed_at: str
    status: Literal["dead", "redelivering", "redelivered"]


subscriptions: Handlers[WebhookDoc] = Handlers()
dead: Handlers[DeadLetterDoc] = Handlers()


def _touched(doc: WebhookDoc | None, env: EventEnvelope) -> WebhookDoc:
    if doc is None:
        raise LookupError(f"{env.event_type} for webhook {env.stream_id} that was never created")
    new = doc.copy()
    new["version"] = env.stream_version
    new["changed_at"] = env.occurred_at.isoformat()
    return new


@subscriptions(WebhookCreated)
def created(
    key: DocKey, doc: WebhookDoc | None, e: WebhookCreated, env: EventEnvelope
) -> WebhookDoc:
    at = env.occurred_at.isoformat()
    return WebhookDoc(
        id=key[1],
        tenant=env.tenant,
        url=e.url,
        event_types=list(e.event_types),
        description=e.description,
        enabled=True,
        version=env.stream_version,
        created_at=at,
        changed_at=at,
        secret_rotated_at=None,
        last_replay_from=None,
    )


@subscriptions(WebhookChanged)
def changed(
    key: DocKey, doc: WebhookDoc | None, e: WebhookChanged, env: EventEnvelope
) -> WebhookDoc:
    new = _touched(doc, env)
    new["url"] = e.url
    new["event_types"] = list(e.event_types)
    new["description"] = e.description
    return new


@subscriptions(WebhookDisabled, WebhookEnabled)
def switched(
    key: DocKey, doc: WebhookDoc | None, e: WebhookDisabled | WebhookEnabled, env: EventEnvelope
) -> WebhookDoc:
    new = _touched(doc, env)
    new["enabled"] = isinstance(e, WebhookEnabled)
    return new


@subscriptions(WebhookSecretRotated)
def rotated(
    key: DocKey, doc: WebhookDoc | None, e: WebhookSecretRotated, env: EventEnvelope
) -> WebhookDoc:
    new = _touched(doc, env)
    new["secret_rotated_at"] = env.occurred_at.isoformat()
    return new


@subscriptions(WebhookReplayRequested)
def replayed(
    key: DocKey, doc: WebhookDoc | None, e: WebhookReplayRequested, env: EventEnvelope
) -> WebhookDoc:
    new = _touched(doc, env)
    new["last_replay_from"] = e.from_position
    return new


@dead(WebhookDeadLettered)
def dead_lettered(
    key: DocKey, doc: DeadLetterDoc | None, e: WebhookDeadLettered, env: EventEnvelope
) -> DeadLetterDoc:
    return DeadLetterDoc(
        id=key[1],
        tenant=env.tenant,
        webhook_id=env.stream_id.partition("-")[2],
        position=e.position,
        event_id=e.event_id,
        event_type=e.failed_event_type,
        stream_id=e.stream_id,
        attempts=e.attempts,
        error=e.error,
        failed_at=env.occurred_at.isoformat(),
        status="dead",
    )


@dead(WebhookRedeliveryRequested, WebhookRedelivered)
def redelivery(
    key: DocKey,
    doc: DeadLetterDoc | None,
    e: WebhookRedeliveryRequested | WebhookRedelivered,
    env: EventEnvelope,
) -> DeadLetterDoc | None:
    if doc is None:
        return None
    new = doc.copy()
    new["status"] = "redelivered" if isinstance(e, WebhookRedelivered) else "redelivering"
    return new


_DEAD_TYPES = dead.event_types


class WebhooksProjection:
    name = "activities_webhooks"
    version = 1
    collections: Sequence[CollectionSpec] = (
        CollectionSpec(WEBHOOKS, (Index(("tenant", "created_at")),)),
        CollectionSpec(DEAD_LETTERS, (Index(("tenant", "webhook_id", "position")),)),
    )
    event_types = subscriptions.event_types | dead.event_types
    categories = frozenset({"webhook"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> tuple[DocKey]:
        webhook_id = envelope.stream_id.partition("-")[2]
        if envelope.event_type in _DEAD_TYPES:
            position = getattr(event, "position")  # noqa: B009 (every dead-letter event has one)
            return ((DEAD_LETTERS, f"{webhook_id}:{position}"),)
        return ((WEBHOOKS, webhook_id),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        handlers = dead if key[0] == DEAD_LETTERS else subscriptions
        return handlers.evolve(key, doc, event, envelope)


WEBHOOKS_PROJECTION = WebhooksProjection()
