"""Events of webhook subscriptions: what an admin asked a tenant's webhooks to deliver, and
what delivery gave up on.

Streams: ``webhook-<id>`` (one per subscription, its id a UUID the platform chose) and
``webhooklease-<id>`` (which deliverer holds the subscription for now). The activities
context writes them; its relay publishes them on ``crm.activities.events``. The signing
secret is sealed like personal data, with the subscription's own key: only a process with
the key store reads it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from crm.events.base import DomainEvent, Personal
from crm.events.registry import event

EventTypes = list[str]


@event("activities.webhook.created")
class WebhookCreated(DomainEvent):
    url: str = Field(max_length=2000)
    event_types: EventTypes = Field(min_length=1, max_length=200)
    secret: Personal
    """The ``whsec_…`` signing secret (sealed in the store)."""
    description: str | None = Field(default=None, max_length=500)


@event("activities.webhook.changed")
class WebhookChanged(DomainEvent):
    url: str = Field(max_length=2000)
    event_types: EventTypes = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=500)


@event("activities.webhook.disabled")
class WebhookDisabled(DomainEvent):
    """Nothing more is delivered until it is enabled again (from where it stopped)."""


@event("activities.webhook.enabled")
class WebhookEnabled(DomainEvent):
    pass


@event("activities.webhook.secret_rotated")
class WebhookSecretRotated(DomainEvent):
    secret: Personal


@event("activities.webhook.replay_requested")
class WebhookReplayRequested(DomainEvent):
    """Deliver again every subscribed event from ``from_position`` of the log on."""

    from_position: int = Field(ge=1)


@event("activities.webhook.dead_lettered")
class WebhookDeadLettered(DomainEvent):
    """Delivery of one event gave up after ``attempts``; the later events went on."""

    position: int = Field(ge=1)
    event_id: str
    failed_event_type: str
    stream_id: str
    attempts: int = Field(ge=1)
    error: str = Field(max_length=1000)


@event("activities.webhook.redelivery_requested")
class WebhookRedeliveryRequested(DomainEvent):
    """Try a dead letter (the event at ``position``) once more."""

    position: int = Field(ge=1)


@event("activities.webhook.redelivered")
class WebhookRedelivered(DomainEvent):
    """A dead letter's event was delivered on request."""

    position: int = Field(ge=1)


@event("activities.webhook.lease_taken")
class WebhookLeaseTaken(DomainEvent):
    """``holder`` delivers the subscription's events until ``until``; another deliverer
    leaves it alone till then (several replicas never deliver it in parallel)."""

    holder: str = Field(max_length=200)
    until: datetime
