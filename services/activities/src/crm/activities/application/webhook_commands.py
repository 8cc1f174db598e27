"""Webhook subscriptions on the command bus: admins manage their tenant's, the deliverer
records what it gave up on and takes its lease.

Only ``http(s)`` URLs to hosts the deployment allows (``CRM_WEBHOOK_ALLOWED_HOSTS``: host
names, ``*.example.com`` for its subdomains, or IP addresses) are accepted, and a host that
resolves to a private, loopback, link-local or otherwise internal address is refused unless
the setting names that host exactly (not through a wildcard): a tenant cannot make the
platform call into the network it runs in. The deliverer checks again before each attempt
(DNS may have changed). A refused URL is a 422 naming ``url``.

The signing secret follows Standard Webhooks: ``whsec_`` and the base64 of 24 random bytes,
chosen by the platform, answered once (on create and on rotation), sealed in the store.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from crm.activities.domain.webhooks import Webhook, WebhookLease
from crm.events import REGISTRY
from crm.kernel.access import AccessPolicy, Scope
from crm.kernel.auth import Role
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import InvalidCommand
from crm.kernel.repository import CommandContext

SECRET_PREFIX = "whsec_"
NOT_SUBSCRIBABLE = ("tenant.", "user.", "activities.webhook.")
"""The kernel's and the console's own events (password hashes, tenants) and the webhooks'
own are never delivered."""
MAX_EVENT_TYPES = 200


class WebhookAction(Enum):
    VIEW = "view"
    MANAGE = "manage"


POLICY = AccessPolicy(
    "webhook",
    {role: frozenset(WebhookAction) if role is Role.ADMIN else frozenset() for role in Role},
    sees=lambda who, scope: True,
    visible=lambda who: {},
    view=WebhookAction.VIEW,
)
"""Admins manage their tenant's webhooks; no other role sees them (403)."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` and the base64 HMAC-SHA256, keyed with the
    secret's decoded bytes, of ``{id}.{timestamp}.{body}`` (Standard Webhooks)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def subscribable(event_type: str) -> bool:
    return event_type in REGISTRY and not event_type.startswith(NOT_SUBSCRIBABLE)


def _known_types() -> list[str]:
    return sorted({t for t, _, _ in REGISTRY if subscribable(t)})


def checked_event_types(wanted: Sequence[str]) -> tuple[str, ...]:
    """The event types, each a registered one or ``<prefix>.*`` matching some (sorted, no
    repeats); a 422 naming ``event_types`` otherwise."""
    if not wanted:
        raise InvalidCommand("event_types", "name at least one event type")
    known = _known_types()
    out: set[str] = set()
    for t in wanted:
        t = t.strip()
        prefix = t.endswith(".*") and any(k.startswith(t[:-1]) for k in known)
        if prefix or subscribable(t):
            out.add(t)
        else:
            raise InvalidCommand(
                "event_types", f"{t[:100]!r} is no event type one may subscribe to"
            )
    if len(out) > MAX_EVENT_TYPES:
        raise InvalidCommand("event_types", f"at most {MAX_EVENT_TYPES}")
    return tuple(sorted(out))


def wants(event_types: Collection[str], event_type: str) -> bool:
    return event_type in event_types or any(
        t.endswith(".*") and event_type.startswith(t[:-1]) for t in event_types
    )


@dataclass(frozen=True, slots=True)
class AllowedHosts:
    """``CRM_WEBHOOK_ALLOWED_HOSTS`` parsed: exact hosts, and ``*.domain`` wildcards."""

    exact: frozenset[str]
    suffixes: tuple[str, ...]

    @classmethod
    def parse(cls, setting: str | None) -> AllowedHosts:
        names = [n.strip().lower().rstrip(".") for n in (setting or "").split(",") if n.strip()]
        return cls(
            frozenset(n for n in names if not n.startswith("*.")),
            tuple(n[1:] for n in names if n.startswith("*.")),
        )

    def allows(self, host: str) -> bool:
        return host in self.exact or any(host.endswith(s) for s in self.suffixes)


def internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def check_url(url: str, allowed: AllowedHosts) -> str:
    """``url`` if webhooks may call it (see the module's docstring), else a 422 on ``url``."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidCommand("url", "must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidCommand("url", "must not carry a user name or password")
    if len(url) > 2000:
        raise InvalidCommand("url", "at most 2000 characters")
    host = parts.hostname.lower().rstrip(".")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidCommand("url", "has an invalid port") from None
    if not allowed.allows(host):
        raise InvalidCommand("url", f"host {host[:100]!r} is not among the allowed webhook hosts")
    if host in allowed.exact:
        return url  # named by the deployment's admin: may be internal on purpose
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError):
        raise InvalidCommand("url", f"host {host[:100]!r} does not resolve") from None
    if not addresses or any(internal(a) for a in addresses):
        raise InvalidCommand("url", f"host {host[:100]!r} resolves to an internal address")
    return url


@dataclass(frozen=True, slots=True)
class CreateWebhook:
    webhook_id: str
    url: str
    event_types: tuple[str, ...]
    secret: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeWebhook:
    webhook_id: str
    url: str
    event_types: tuple[str, ...]
    description: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class DisableWebhook:
    webhook_id: str


@dataclass(frozen=True, slots=True)
class EnableWebhook:
    webhook_id: str


@dataclass(frozen=True, slots=True)
class RotateWebhookSecret:
    webhook_id: str
    secret: str


@dataclass(frozen=True, slots=True)
class ReplayWebhook:
    webhook_id: str
    from_position: int
    head: int
    """The log's head when asked: a replay starts at a position the log has."""


@dataclass(frozen=True, slots=True)
class RedeliverDeadLetter:
    webhook_id: str
    position: int


@dataclass(frozen=True, slots=True)
class RecordDeadLetter:
    webhook_id: str
    position: int
    event_id: str
    event_type: str
    stream_id: str
    attempts: int
    error: str


@dataclass(frozen=True, slots=True)
class RecordRedelivered:
    webhook_id: str
    position: int


@dataclass(frozen=True, slots=True)
class TakeWebhookLease:
    webhook_id: str
    holder: str


def webhook_commands(allowed: AllowedHosts) -> list[CommandTable[Any]]:
    async def create(w: Webhook, cmd: CreateWebhook, ctx: CommandContext) -> None:
        url = await check_url(cmd.url, allowed)
        w.register(url, checked_event_types(cmd.event_types), cmd.secret, _description(cmd))

    async def change(w: Webhook, cmd: ChangeWebhook, ctx: CommandContext) -> None:
        url = await check_url(cmd.url, allowed)
        w.change(url, checked_event_types(cmd.event_types), _description(cmd))

    m = WebhookAction.MANAGE
    t = CommandTable(Webhook, POLICY, scope=lambda _: Scope(), id_field="webhook_id")
    t.on(CreateWebhook, Expect.NEW, m, create)
    t.on(ChangeWebhook, Expect.EXISTING, m, change)
    t.on(DisableWebhook, Expect.EXISTING, m, lambda w, c, ctx: w.disable())
    t.on(EnableWebhook, Expect.EXISTING, m, lambda w, c, ctx: w.enable())
    t.on(RotateWebhookSecret, Expect.EXISTING, m, lambda w, c, ctx: w.rotate_secret(c.secret))
    t.on(ReplayWebhook, Expect.EXISTING, m, lambda w, c, ctx: w.replay(c.from_position, c.head))
    t.on(RedeliverDeadLetter, Expect.EXISTING, m, lambda w, c, ctx: w.ask_redelivery(c.position))
    t.on(
        RecordDeadLetter,
        Expect.EXISTING,
        m,
        lambda w, c, ctx: w.dead_letter(
            c.position, c.event_id, c.event_type, c.stream_id, c.attempts, c.error
        ),
    )
    t.on(RecordRedelivered, Expect.EXISTING, m, lambda w, c, ctx: w.redelivered(c.position))
    lease = CommandTable(WebhookLease, POLICY, id_field="webhook_id")

    def take(lease: WebhookLease, cmd: TakeWebhookLease, ctx: CommandContext) -> None:
        lease.take(cmd.holder, ctx.now)

    lease.on(TakeWebhookLease, Expect.ANY, m, take, attempts=1)
    return [t, lease]


def _description(cmd: CreateWebhook | ChangeWebhook) -> str | None:
    text = (cmd.description or "").strip()
    if len(text) > 500:
        raise InvalidCommand("description", "at most 500 characters")
    return text or None


__all__ = [
    "POLICY",
    "AllowedHosts",
    "ChangeWebhook",
    "CreateWebhook",
    "DisableWebhook",
    "EnableWebhook",
    "RecordDeadLetter",
    "RecordRedelivered",
    "RedeliverDeadLetter",
    "ReplayWebhook",
    "RotateWebhookSecret",
    "TakeWebhookLease",
    "WebhookAction",
    "check_url",
    "checked_event_types",
    "new_secret",
    "sign",
    "wants",
    "webhook_commands",
]
