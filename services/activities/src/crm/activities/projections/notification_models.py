"""The ``activities_notifications`` read model: one document per notification, for a user's
list and unread count, and for the mailer (``mail_at``: when the e-mail may be taken, indexed;
absent when there is nothing to mail). Its rule is the domain's
:meth:`~crm.activities.domain.notifications.NotificationState.mail_due_at`, which this
document evolves by the same events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from crm.activities.projections.task_models import instant
from crm.events import EventEnvelope
from crm.events.activities import (
    NotificationEmailClaimed,
    NotificationEmailed,
    NotificationEmailFailed,
    NotificationRaised,
    NotificationRead,
)
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.read_store import CollectionSpec, Index

NOTIFICATIONS = "activities_notifications"


class NotificationDoc(TypedDict):
    id: str
    tenant: Annotated[str, Field(exclude=True)]
    recipient_id: str
    kind: str
    title_en: str
    title_zh: str
    subject_kind: str
    subject_id: str
    raised_at: str
    read: bool
    read_at: str | None
    mail: str
    """none | pending | sent | failed"""
    mail_at: Annotated[str | None, Field(exclude=True)]
    email_after: Annotated[str | None, Field(exclude=True)]
    retry_at: Annotated[str | None, Field(exclude=True)]
    lease_until: Annotated[str | None, Field(exclude=True)]
    attempts: int
    sent_at: str | None
    last_error: str | None


on: Handlers[NotificationDoc] = Handlers()


def _mail_at(doc: NotificationDoc) -> str | None:
    if doc["mail"] != "pending":
        return None
    times = [t for t in (doc["email_after"], doc["retry_at"], doc["lease_until"]) if t]
    return max(times) if times else None


def _existing(doc: NotificationDoc | None, key: DocKey, env: EventEnvelope) -> NotificationDoc:
    if doc is None:
        raise LookupError(f"{env.event_type} for notification {key[1]} never raised")
    return doc.copy()


@on(NotificationRaised)
def raised(
    key: DocKey, doc: NotificationDoc | None, e: NotificationRaised, env: EventEnvelope
) -> NotificationDoc:
    new = NotificationDoc(
        id=key[1],
        tenant=env.tenant,
        recipient_id=e.recipient_id,
        kind=e.kind.value,
        title_en=e.title_en,
        title_zh=e.title_zh,
        subject_kind=e.subject_kind,
        subject_id=e.subject_id,
        raised_at=instant(e.raised_at),
        read=False,
        read_at=None,
        mail="pending" if e.email else "none",
        mail_at=None,
        email_after=instant(e.email_after or e.raised_at),
        retry_at=None,
        lease_until=None,
        attempts=0,
        sent_at=None,
        last_error=None,
    )
    new["mail_at"] = _mail_at(new)
    return new


@on(NotificationRead)
def read(
    key: DocKey, doc: NotificationDoc | None, e: NotificationRead, env: EventEnvelope
) -> NotificationDoc:
    new = _existing(doc, key, env)
    new["read"] = True
    new["read_at"] = instant(e.read_at)
    return new


@on(NotificationEmailClaimed)
def claimed(
    key: DocKey, doc: NotificationDoc | None, e: NotificationEmailClaimed, env: EventEnvelope
) -> NotificationDoc:
    new = _existing(doc, key, env)
    new["attempts"] = e.attempt
    new["lease_until"] = instant(e.lease_until)
    new["mail_at"] = _mail_at(new)
    return new


@on(NotificationEmailed)
def emailed(
    key: DocKey, doc: NotificationDoc | None, e: NotificationEmailed, env: EventEnvelope
) -> NotificationDoc:
    new = _existing(doc, key, env)
    new["mail"] = "sent"
    new["sent_at"] = instant(e.sent_at)
    new["lease_until"] = None
    new["mail_at"] = None
    return new


@on(NotificationEmailFailed)
def failed(
    key: DocKey, doc: NotificationDoc | None, e: NotificationEmailFailed, env: EventEnvelope
) -> NotificationDoc:
    new = _existing(doc, key, env)
    new["mail"] = "pending" if e.retry_at is not None else "failed"
    new["retry_at"] = instant(e.retry_at) if e.retry_at else None
    new["lease_until"] = None
    new["last_error"] = e.error
    new["mail_at"] = _mail_at(new)
    return new


class NotificationsProjection:
    name = NOTIFICATIONS
    version = 1
    collections = (
        CollectionSpec(
            NOTIFICATIONS,
            (Index(("mail_at",)), Index(("tenant", "recipient_id", "read", "raised_at"))),
        ),
    )
    event_types = on.event_types
    categories = frozenset({"notification"})
    evolve = staticmethod(on.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(NOTIFICATIONS, envelope),)


def parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


NOTIFICATIONS_PROJECTION = NotificationsProjection()
