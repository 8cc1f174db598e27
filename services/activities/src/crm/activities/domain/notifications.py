"""Notifications to users, and each user's channels and quiet hours.

A notification's id is derived from the fact it tells of (the task, the reminder, the due
time), so however often the fact is seen (a redelivered event, two schedulers) it is one
notification. It is always in the console; it is also e-mailed when the recipient wants
e-mail, not during their quiet hours (it waits till they end). Mailing is claimed first, under
a lease: of two mailers one wins the claim (the other meets its append), and a mailer that
crashed holding the claim loses it when the lease runs out, so an e-mail is sent once unless a
mailer dies between sending and recording it (then once more: at least once, never lost).

Pure: no I/O, time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.events import DomainEvent
from crm.events.activities import (
    NotificationEmailClaimed,
    NotificationEmailed,
    NotificationEmailFailed,
    NotificationKind,
    NotificationPreferencesSet,
    NotificationRaised,
    NotificationRead,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=5)


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt ``attempt``: 1, 2, 4, 8 minutes."""
    return timedelta(minutes=2 ** (attempt - 1))


# -- preferences ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preferences:
    email: str | None = None
    email_enabled: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None
    time_zone: str = "UTC"
    muted: frozenset[NotificationKind] = frozenset()

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def wants(self, kind: NotificationKind) -> bool:
        return kind not in self.muted

    def mails(self) -> bool:
        return self.email_enabled and self.email is not None

    def email_after(self, now: datetime) -> datetime:
        """``now``, or the end of the quiet hours ``now`` falls in (in the user's zone;
        hours that span midnight, 22:00-07:00, included; a DST gap is stepped over)."""
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return now
        local = now.astimezone(self.zone())
        t = local.time().replace(tzinfo=None)
        start, end = self.quiet_start, self.quiet_end
        inside = start <= t < end if start < end else (t >= start or t < end)
        if not inside:
            return now
        end_day = local.date()
        if start > end and t >= start:
            end_day += timedelta(days=1)
        naive = datetime.combine(end_day, end)
        return naive.replace(tzinfo=self.zone()).astimezone(now.tzinfo)


DEFAULT_PREFERENCES = Preferences()


def check_preferences(p: Preferences) -> None:
    try:
        p.zone()
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCommand("time_zone", f"unknown time zone {p.time_zone!r}") from None
    if (p.quiet_start is None) != (p.quiet_end is None):
        raise InvalidCommand("quiet_end", "quiet hours need both a start and an end")
    if p.email_enabled and not p.email:
        raise InvalidCommand("email", "e-mail notifications need an address")
    if p.email is not None and ("@" not in p.email or len(p.email) > 254):
        raise InvalidCommand("email", "not an e-mail address")


@dataclass(frozen=True, slots=True)
class PreferencesState:
    preferences: Preferences = DEFAULT_PREFERENCES
    set_once: bool = False

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, NotificationPreferencesSet):
            return replace(
                self,
                set_once=True,
                preferences=Preferences(
                    email=event.email,
                    email_enabled=event.email_enabled,
                    quiet_start=event.quiet_start,
                    quiet_end=event.quiet_end,
                    time_zone=event.time_zone,
                    muted=frozenset(event.muted),
                ),
            )
        return self


class NotificationPreferences(Aggregate[PreferencesState]):
    """One user's preferences: stream ``notifyprefs-<tenant>:<user>``."""

    category = "notifyprefs"

    @classmethod
    def initial_state(cls) -> PreferencesState:
        return PreferencesState()

    def set(self, user_id: str, p: Preferences) -> None:
        check_preferences(p)
        if self.state.set_once and self.state.preferences == p:
            return
        self.trigger(
            NotificationPreferencesSet(
                user_id=user_id,
                email=p.email,
                email_enabled=p.email_enabled,
                quiet_start=p.quiet_start,
                quiet_end=p.quiet_end,
                time_zone=p.time_zone,
                muted=tuple(sorted(p.muted)),
            )
        )


# -- notifications ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """What a notification says, in both languages, and what it is about."""

    kind: NotificationKind
    title_en: str
    title_zh: str
    subject_kind: str
    subject_id: str


class Mail:
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class NotificationState:
    raised: bool = False
    recipient_id: str = ""
    read: bool = False
    mail: str = Mail.NONE
    email_after: datetime | None = None
    attempts: int = 0
    lease_until: datetime | None = None
    retry_at: datetime | None = None

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case NotificationRaised():
                return replace(
                    self,
                    raised=True,
                    recipient_id=event.recipient_id,
                    mail=Mail.PENDING if event.email else Mail.NONE,
                    email_after=event.email_after or event.raised_at,
                )
            case NotificationRead():
                return replace(self, read=True)
            case NotificationEmailClaimed():
                return replace(self, attempts=event.attempt, lease_until=event.lease_until)
            case NotificationEmailed():
                return replace(self, mail=Mail.SENT, lease_until=None)
            case NotificationEmailFailed():
                mail = Mail.PENDING if event.retry_at is not None else Mail.FAILED
                return replace(self, mail=mail, lease_until=None, retry_at=event.retry_at)
        return self

    def mail_due_at(self) -> datetime | None:
        """When a mailer may take the e-mail: after the quiet hours, after the backoff of a
        failed attempt, after a claim's lease; None if there is nothing to mail."""
        if self.mail != Mail.PENDING:
            return None
        times = [t for t in (self.email_after, self.retry_at, self.lease_until) if t is not None]
        return max(times) if times else None


class Notification(Aggregate[NotificationState]):
    category = "notification"

    @classmethod
    def initial_state(cls) -> NotificationState:
        return NotificationState()

    def raise_for(
        self, recipient_id: str, message: Message, prefs: Preferences, now: datetime
    ) -> None:
        """Raise it, unless it was raised already (the same fact again) or the recipient
        muted its kind."""
        if self.state.raised or not prefs.wants(message.kind):
            return
        mails = prefs.mails()
        self.trigger(
            NotificationRaised(
                recipient_id=recipient_id,
                kind=message.kind,
                title_en=message.title_en,
                title_zh=message.title_zh,
                subject_kind=message.subject_kind,
                subject_id=message.subject_id,
                raised_at=now,
                email=mails,
                email_after=prefs.email_after(now) if mails else None,
            )
        )

    def mark_read(self, now: datetime) -> None:
        if not self.state.raised:
            raise NotFound(f"notification {self.id} does not exist")
        if not self.state.read:
            self.trigger(NotificationRead(read_at=now))

    def claim_email(self, mailer: str, now: datetime) -> bool:
        """Take the e-mail for sending; False if it is not due (another mailer holds it, it
        was sent, or its time has not come)."""
        due = self.state.mail_due_at()
        if due is None or now < due:
            return False
        self.trigger(
            NotificationEmailClaimed(
                mailer=mailer, attempt=self.state.attempts + 1, lease_until=now + LEASE
            )
        )
        return True

    def emailed(self, to: str, now: datetime) -> None:
        if self.state.mail == Mail.PENDING:
            self.trigger(NotificationEmailed(to=to, sent_at=now))

    def email_failed(self, error: str, now: datetime) -> None:
        if self.state.mail != Mail.PENDING:
            return
        attempt = self.state.attempts
        retry = now + backoff(attempt) if attempt < MAX_ATTEMPTS else None
        self.trigger(NotificationEmailFailed(attempt=attempt, error=error[:500], retry_at=retry))
