"""The mailer: sends the notifications whose e-mail is due, over SMTP.

Each due notification (``mail_at`` of the notifications read model, indexed, at or before
now: after the recipient's quiet hours, after the backoff of a failed attempt, after a lapsed
claim) is first claimed (``activities.notification.email_claimed``, under a lease: of two
mailers one wins, the other meets its append or finds it claimed), then sent to the address
of the recipient's preferences, then recorded sent, or failed with the next attempt's time
(1, 2, 4, 8 minutes; given up after 5). A mailer that dies between sending and recording
sends once more after the lease: at least once, never lost.

The SMTP server is ``CRM_SMTP_URL``: ``smtp://[user:password@]host[:port][?starttls=true]
[&from=address]`` (``smtps://`` for TLS from the start). Unset, nothing is mailed and e-mail
waits, pending, until a server is configured.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from crm.activities.application.notification_commands import (
    ClaimNotificationEmail,
    PreferencesOf,
    RecordNotificationEmailed,
    RecordNotificationEmailFailed,
)
from crm.activities.projections.notification_models import NOTIFICATIONS
from crm.activities.projections.task_models import instant
from crm.kernel.clock import Clock
from crm.kernel.context import Job
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.read_store import Document, find_all
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.kernel.scheduling import tick_forever

log = logging.getLogger(__name__)

ACTOR = "process:activities-mailer"
DEFAULT_FROM = "crm@localhost"


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    use_tls: bool = False
    start_tls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = DEFAULT_FROM

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"CRM_SMTP_URL: smtp://host[:port] or smtps://…, not {url!r}")
        query = parse_qs(parts.query)
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            use_tls=tls,
            start_tls=query.get("starttls", ["false"])[0].lower() == "true",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=query.get("from", [DEFAULT_FROM])[0],
        )


@dataclass(frozen=True)
class MailReport:
    now: datetime
    sent: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


def compose(doc: Document, to: str, sender: str) -> EmailMessage:
    """The e-mail of a notification, in both languages (its texts carry no personal data)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"{doc['title_en']} / {doc['title_zh']}"
    link = f"/console/{doc['subject_kind']}s/{doc['subject_id']}"
    message.set_content(
        f"{doc['title_en']}\nOpen it in the console: {link}\n\n"
        f"{doc['title_zh']}\n在控制台中查看：{link}\n"  # noqa: RUF001
    )
    return message


class Mailer:
    def __init__(self, runtime: Runtime, server: SmtpServer | None, *, name: str = ACTOR) -> None:
        self.runtime = runtime
        self.server = server
        self.name = name
        self.preferences = PreferencesOf(runtime)

    async def _send(self, message: EmailMessage) -> None:
        server = self.server
        assert server is not None
        await aiosmtplib.send(
            message,
            hostname=server.host,
            port=server.port,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            username=server.username,
            password=server.password,
            timeout=30,
        )

    async def _mail(self, doc: Document, now: datetime) -> bool | None:
        """Claim, send, record: True sent, False failed, None not ours to send (another
        mailer holds it, or it is no longer due)."""
        ctx = CommandContext(actor=self.name, role=SYSTEM_ROLE, tenant=doc["tenant"], now=now)
        bus = self.runtime.commands
        claimed = await bus.run(ClaimNotificationEmail(doc["id"], self.name), ctx)
        if not claimed.recorded:
            return None
        prefs = await self.preferences(doc["tenant"], doc["recipient_id"])
        if not prefs.mails() or prefs.email is None:
            error = "the recipient no longer wants e-mail"
            await bus.execute(RecordNotificationEmailFailed(doc["id"], error), ctx)
            return False
        assert self.server is not None
        try:
            await self._send(compose(doc, prefs.email, self.server.sender))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            await bus.execute(
                RecordNotificationEmailFailed(doc["id"], str(e) or type(e).__name__), ctx
            )
            return False
        await bus.execute(RecordNotificationEmailed(doc["id"], prefs.email), ctx)
        return True

    async def tick(self, now: datetime) -> MailReport:
        if self.server is None:
            return MailReport(now)
        due = await find_all(
            self.runtime.read_store,
            NOTIFICATIONS,
            {"mail_at": {"$lte": instant(now)}},
            sort=(("mail_at", 1), ("id", 1)),
        )
        sent: list[str] = []
        failed: list[str] = []
        for doc in due:  # one at a time: a mail server is not to be flooded
            try:
                outcome = await self._mail(doc, now)
            except Exception:
                log.exception("mailing notification %s failed; the next tick retries", doc["id"])
                continue
            if outcome is True:
                sent.append(doc["id"])
            elif outcome is False:
                failed.append(doc["id"])
        return MailReport(now, tuple(sent), tuple(failed))

    async def run(self, clock: Clock, interval: float) -> None:
        await tick_forever("activities-mailer", self.tick, clock, interval, _summary)


def _summary(report: MailReport) -> tuple[dict[str, int], str | None]:
    due = {"recorded": len(report.sent), "failed": len(report.failed)}
    line = f"{len(report.sent)} sent, {len(report.failed)} failed"
    return due, line if report.sent or report.failed else None


def mailer_job(runtime: Runtime) -> Job:
    server = SmtpServer.parse(runtime.smtp_url) if runtime.smtp_url else None
    mailer = Mailer(runtime, server)
    interval = min(runtime.scheduler_interval_seconds, 30.0)
    return lambda: mailer.run(runtime.clock, interval)
