"""Webhook subscriptions, and the lease one deliverer holds on a subscription.

A subscription belongs to its tenant: which event types it wants, the URL they are POSTed
to, and the secret they are signed with (Standard Webhooks, ``whsec_`` + base64). Whether a
URL may be called at all (the allowed hosts, no internal address) is the application's
check: it needs the deployment's settings and DNS. The domain keeps the rules of the record:
a disabled subscription is enabled before it is changed, a replay names a position of the
log, a dead letter is redelivered only if it is one.

The lease is its own stream (``webhooklease-<id>``), so taking it never conflicts with an
admin's change to the subscription.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Self

from crm.events import DomainEvent
from crm.events.webhooks import (
    WebhookChanged,
    WebhookCreated,
    WebhookDeadLettered,
    WebhookDisabled,
    WebhookEnabled,
    WebhookLeaseTaken,
    WebhookRedelivered,
    WebhookRedeliveryRequested,
    WebhookReplayRequested,
    WebhookSecretRotated,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, RuleViolated

LEASE = timedelta(seconds=60)
"""How long a deliverer holds a subscription without renewing (it renews at half)."""


@dataclass(frozen=True, slots=True)
class WebhookState:
    created: bool = False
    url: str = ""
    event_types: tuple[str, ...] = ()
    description: str | None = None
    secret: str = ""
    enabled: bool = False
    replays: int = 0
    """How many replays were requested: the deliverer compares it with the ones it did."""
    replay_from: int = 0
    """The position of the latest replay's first event."""
    dead: frozenset[int] = frozenset()
    """Positions of the events given up on and not redelivered since."""
    redeliveries: tuple[int, ...] = ()
    """Dead letters asked for again, oldest first, not yet delivered."""

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case WebhookCreated():
                return replace(
                    self,
                    created=True,
                    url=event.url,
                    event_types=tuple(event.event_types),
                    description=event.description,
                    secret=event.secret,
                    enabled=True,
                )
            case WebhookChanged():
                return replace(
                    self,
                    url=event.url,
                    event_types=tuple(event.event_types),
                    description=event.description,
                )
            case WebhookDisabled():
                return replace(self, enabled=False)
            case WebhookEnabled():
                return replace(self, enabled=True)
            case WebhookSecretRotated():
                return replace(self, secret=event.secret)
            case WebhookReplayRequested():
                return replace(self, replays=self.replays + 1, replay_from=event.from_position)
            case WebhookDeadLettered():
                return replace(
                    self,
                    dead=self.dead | {event.position},
                    redeliveries=tuple(p for p in self.redeliveries if p != event.position),
                )
            case WebhookRedeliveryRequested():
                return replace(self, redeliveries=(*self.redeliveries, event.position))
            case WebhookRedelivered():
                return replace(
                    self,
                    dead=self.dead - {event.position},
                    redeliveries=tuple(p for p in self.redeliveries if p != event.position),
                )
        return self


class Webhook(Aggregate[WebhookState]):
    category = "webhook"

    @classmethod
    def initial_state(cls) -> WebhookState:
        return WebhookState()

    def register(
        self, url: str, event_types: tuple[str, ...], secret: str, description: str | None
    ) -> None:
        if self.state.created:
            raise RuleViolated(f"webhook {self.id} exists already", code="webhook_exists")
        self.trigger(
            WebhookCreated(
                url=url, event_types=list(event_types), secret=secret, description=description
            )
        )

    def change(self, url: str, event_types: tuple[str, ...], description: str | None) -> None:
        s = self.state
        if (url, event_types, description) != (s.url, s.event_types, s.description):
            self.trigger(
                WebhookChanged(url=url, event_types=list(event_types), description=description)
            )

    def disable(self) -> None:
        if self.state.enabled:
            self.trigger(WebhookDisabled())

    def enable(self) -> None:
        if not self.state.enabled:
            self.trigger(WebhookEnabled())

    def rotate_secret(self, secret: str) -> None:
        self.trigger(WebhookSecretRotated(secret=secret))

    def replay(self, from_position: int, head: int) -> None:
        if not 1 <= from_position <= max(head, 1):
            raise InvalidCommand("from_position", f"must be a position from 1 to {max(head, 1)}")
        self.trigger(WebhookReplayRequested(from_position=from_position))

    def dead_letter(
        self,
        position: int,
        event_id: str,
        event_type: str,
        stream_id: str,
        attempts: int,
        error: str,
    ) -> None:
        if position in self.state.dead and position not in self.state.redeliveries:
            return  # a deliverer that lost its lease recorded it already
        self.trigger(
            WebhookDeadLettered(
                position=position,
                event_id=event_id,
                failed_event_type=event_type,
                stream_id=stream_id,
                attempts=attempts,
                error=error[:1000],
            )
        )

    def ask_redelivery(self, position: int) -> None:
        if position not in self.state.dead:
            raise InvalidCommand("position", f"there is no dead letter at position {position}")
        if position not in self.state.redeliveries:
            self.trigger(WebhookRedeliveryRequested(position=position))

    def redelivered(self, position: int) -> None:
        if position in self.state.redeliveries:
            self.trigger(WebhookRedelivered(position=position))


@dataclass(frozen=True, slots=True)
class LeaseState:
    holder: str | None = None
    until: datetime | None = None

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, WebhookLeaseTaken):
            return replace(self, holder=event.holder, until=event.until)
        return self

    def held_by_other(self, holder: str, now: datetime) -> bool:
        return self.holder not in (None, holder) and self.until is not None and self.until > now


class WebhookLease(Aggregate[LeaseState]):
    category = "webhooklease"

    @classmethod
    def initial_state(cls) -> LeaseState:
        return LeaseState()

    def take(self, holder: str, now: datetime) -> bool:
        """Take or renew the lease for ``holder`` (renewed once half of it has run out);
        False if another holder has it."""
        s = self.state
        if s.held_by_other(holder, now):
            return False
        if s.holder == holder and s.until is not None and s.until - now > LEASE / 2:
            return True
        self.trigger(WebhookLeaseTaken(holder=holder, until=now + LEASE))
        return True


__all__ = ["LEASE", "LeaseState", "Webhook", "WebhookLease", "WebhookState"]
