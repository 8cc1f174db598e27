"""The notifications' commands, and each user's preferences.

A notification is its recipient's alone: they read their list and mark it read; another user
(whatever their role) is told it does not exist. Notifications are raised by the platform's
processes (the system), under an id derived from the fact they tell of, and their e-mail is
claimed, sent and recorded by the mailer (:mod:`crm.activities.application.mailer`).
Preferences are each user's own (stream ``notifyprefs-<tenant>:<user>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import Enum
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from crm.activities.domain.notifications import (
    DEFAULT_PREFERENCES,
    Message,
    Notification,
    NotificationPreferences,
    Preferences,
)
from crm.events.activities import NotificationKind
from crm.kernel.access import AccessPolicy, Principal, Scope
from crm.kernel.auth import Role
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import Forbidden, NotFound
from crm.kernel.repository import CommandContext, Repository
from crm.kernel.runtime import Runtime
from crm.kernel.tenancy import qualified


class NotificationAction(Enum):
    VIEW = "view"
    READ = "read"


POLICY = AccessPolicy(
    "notification",
    {role: frozenset(NotificationAction) for role in Role},
    sees=lambda who, scope: scope.owner_id == who.id,
    visible=lambda who: {"recipient_id": who.id},
    view=NotificationAction.VIEW,
)
"""Every role reads its own notifications, and only those."""


def notification_id(tenant: str, fact: str) -> str:
    """The id of the notification telling of ``fact`` (the same fact: the same id)."""
    return str(uuid5(NAMESPACE_URL, f"crm:notification:{tenant}:{fact}"))


@dataclass(frozen=True, slots=True)
class RaiseNotification:
    notification_id: str
    recipient_id: str
    message: Message


@dataclass(frozen=True, slots=True)
class MarkNotificationRead:
    notification_id: str


@dataclass(frozen=True, slots=True)
class ClaimNotificationEmail:
    notification_id: str
    mailer: str


@dataclass(frozen=True, slots=True)
class RecordNotificationEmailed:
    notification_id: str
    to: str


@dataclass(frozen=True, slots=True)
class RecordNotificationEmailFailed:
    notification_id: str
    error: str


@dataclass(frozen=True, slots=True)
class SetNotificationPreferences:
    user_id: str
    email: str | None = None
    email_enabled: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None
    time_zone: str = "UTC"
    muted: frozenset[NotificationKind] = frozenset()

    def preferences(self) -> Preferences:
        return Preferences(
            email=self.email.strip() if self.email else None,
            email_enabled=self.email_enabled,
            quiet_start=self.quiet_start,
            quiet_end=self.quiet_end,
            time_zone=self.time_zone,
            muted=self.muted,
        )


def _system(ctx: CommandContext) -> None:
    if not Principal.of(ctx).is_system:
        raise Forbidden("only the platform's processes do this")


class PreferencesOf:
    """A user's preferences as their stream has them (the defaults if they set none)."""

    def __init__(self, runtime: Runtime) -> None:
        self.repository = Repository(runtime.store, runtime.codec, NotificationPreferences)

    async def __call__(self, tenant: str, user_id: str) -> Preferences:
        try:
            prefs = await self.repository.load(qualified(tenant, user_id), tenant=tenant)
        except NotFound:
            return DEFAULT_PREFERENCES
        return prefs.state.preferences


def notification_commands(preferences: PreferencesOf) -> CommandTable[Notification]:
    async def raise_(n: Notification, cmd: RaiseNotification, ctx: CommandContext) -> None:
        _system(ctx)
        prefs = await preferences(ctx.tenant, cmd.recipient_id)
        n.raise_for(cmd.recipient_id, cmd.message, prefs, ctx.now)

    def claim(n: Notification, cmd: ClaimNotificationEmail, ctx: CommandContext) -> None:
        _system(ctx)
        n.claim_email(cmd.mailer, ctx.now)

    def emailed(n: Notification, cmd: RecordNotificationEmailed, ctx: CommandContext) -> None:
        _system(ctx)
        n.emailed(cmd.to, ctx.now)

    def failed(n: Notification, cmd: RecordNotificationEmailFailed, ctx: CommandContext) -> None:
        _system(ctx)
        n.email_failed(cmd.error, ctx.now)

    table = CommandTable(
        Notification,
        POLICY,
        scope=lambda n: Scope(owner_id=n.state.recipient_id),
        id_field="notification_id",
    )
    table.on(RaiseNotification, Expect.ANY, None, raise_)
    table.on(
        MarkNotificationRead,
        Expect.EXISTING,
        NotificationAction.READ,
        lambda n, _, ctx: n.mark_read(ctx.now),
    )
    table.on(ClaimNotificationEmail, Expect.EXISTING, None, claim)
    table.on(RecordNotificationEmailed, Expect.EXISTING, None, emailed)
    table.on(RecordNotificationEmailFailed, Expect.EXISTING, None, failed)
    return table


def preferences_commands() -> CommandTable[NotificationPreferences]:
    def set_(p: NotificationPreferences, cmd: SetNotificationPreferences, ctx: Any) -> None:
        who = Principal.of(ctx)
        if not who.is_system and who.id != cmd.user_id:
            raise Forbidden("each user sets their own notification preferences")
        p.set(cmd.user_id, cmd.preferences())

    table = CommandTable(NotificationPreferences, id_field="user_id", tenant_qualified=True)
    table.on(SetNotificationPreferences, Expect.ANY, None, set_)
    return table
