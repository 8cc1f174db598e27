"""Rate limits per user and per client address, per group of routes, answered 429 with
``Retry-After`` and the error body.

Groups: ``reads`` (GET, HEAD, OPTIONS), ``commands`` (POST, PUT, PATCH, DELETE), ``exports``
(``format=csv`` or ``format=xlsx``, or a path ending in ``.csv`` or ``.xlsx``) and
``auth_failures`` (a request with a missing or bad token, counted per address only: a guessed
or stolen-and-expired token cannot be tried fast; so is a token that verifies but names a
tenant that does not exist or is deactivated).
A request is counted against its user (the token's tenant and subject, once the token
verifies and its tenant is active) and against its address; either limit refuses it.

Each limit is a rate and a burst, kept by the generic cell rate algorithm (GCRA), an exact
token bucket in one number per key: the "theoretical arrival time" ``tat``. A request at
``now`` moves it to ``max(tat, now) + 1/rate`` and is allowed while that stays within
``burst/rate`` of ``now``. One number per key is what makes the shared store one row per key
updated by one atomic statement (:mod:`crm.kernel.http.ratelimit_postgres`).

The health probes are never limited; the interactive docs count as reads of their address."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from crm.kernel.auth import TokenIssuer
from crm.kernel.errors import Unauthenticated
from crm.kernel.http.errors import error_response
from crm.kernel.tenants import TenantDirectory

log = logging.getLogger(__name__)


class Group(StrEnum):
    READS = "reads"
    COMMANDS = "commands"
    EXPORTS = "exports"
    AUTH_FAILURES = "auth_failures"


@dataclass(frozen=True, slots=True)
class Limit:
    """``rate`` requests a second sustained, ``burst`` at once."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.rate > 0 and self.burst >= 1):
            raise ValueError("a limit needs a rate > 0 and a burst >= 1")

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    @property
    def window(self) -> float:
        return self.burst * self.interval

    _SYNTAX = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/s)?\s*:\s*(\d+)\s*$")

    @classmethod
    def parse(cls, text: str) -> Limit | None:
        """``"50:200"`` (50 a second, bursts of 200; also ``"50/s:200"``), or ``"off"``."""
        if text.strip().lower() in ("off", "none", "0", ""):
            return None
        match = cls._SYNTAX.match(text)
        if match is None:
            raise ValueError(f"{text!r}: a limit is RATE:BURST (e.g. 50:200) or off")
        return cls(float(match.group(1)), int(match.group(2)))


class RateLimitStore(Protocol):
    async def take(self, requests: Sequence[tuple[str, Limit]]) -> float:
        """Count one request against each key; 0.0 if every limit allows it, else the seconds
        until the most constrained one would. A key that refuses is not moved; the others
        count the request all the same (the address made it, whoever's limit refused it)."""
        ...

    async def close(self) -> None: ...


def gcra(tat: float | None, now: float, limit: Limit) -> tuple[float | None, float]:
    """(the key's new ``tat``, or None if refused; seconds to wait, 0.0 if allowed)."""
    new = max(tat if tat is not None else now, now) + limit.interval
    excess = new - now - limit.window
    if excess > 1e-6:
        return None, excess
    return new, 0.0


class InMemoryRateLimits:
    """The default store: this process's memory, on the monotonic clock. Keys whose bucket is
    full again are forgotten once there are more than ``max_keys``."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._tat: dict[str, float] = {}

    async def take(self, requests: Sequence[tuple[str, Limit]]) -> float:
        now = self._clock()
        wait = 0.0
        for key, limit in requests:
            new, retry = gcra(self._tat.get(key), now, limit)
            if new is None:
                wait = max(wait, retry)
            else:
                self._tat[key] = new
        if len(self._tat) > self._max_keys:
            self._tat = {k: t for k, t in self._tat.items() if t > now}
        return wait

    async def close(self) -> None:
        self._tat.clear()


def open_rate_limit_store(url: str | None) -> RateLimitStore:
    """``None``/``memory://``: in process; ``postgresql://…[?schema=s]``: shared by replicas."""
    if url is None or url.split(":", 1)[0].lower() == "memory":
        return InMemoryRateLimits()
    if url.split(":", 1)[0].lower() in ("postgresql", "postgres"):
        from crm.kernel.http.ratelimit_postgres import PostgresRateLimits

        return PostgresRateLimits(url)
    raise ValueError(f"no rate limit store for {url!r} (supported: memory, postgresql)")


@dataclass(frozen=True)
class RateLimits:
    """The limits in force; a group left out (None) is not limited."""

    per_user: dict[Group, Limit | None]
    per_address: dict[Group, Limit | None]


def group_of(scope: Scope) -> Group:
    path: str = scope.get("path", "")
    if path.endswith((".csv", ".xlsx")) or any(
        name == "format" and value.lower() in ("csv", "xlsx")
        for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
    ):
        return Group.EXPORTS
    if scope.get("method", "GET") in ("GET", "HEAD", "OPTIONS"):
        return Group.READS
    return Group.COMMANDS


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class RateLimiter:
    """Pure ASGI middleware. ``public`` paths, and every path under one of ``public_prefixes``
    (the console's, whose visitors sign in with a form, throttled by the user's lock-out), need
    no token: their requests never count as auth failures. ``identities`` name (tenant, user)
    of a request that carries no bearer token (the console's session cookie), counted as that
    user as a token of theirs would be. ``exempt`` paths (the health probes) are never limited."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: RateLimitStore,
        limits: RateLimits,
        tokens: TokenIssuer,
        tenants: TenantDirectory | None = None,
        public: Iterable[str] = (),
        public_prefixes: Iterable[str] = (),
        identities: Iterable[Callable[[Scope], tuple[str, str] | None]] = (),
        exempt: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.store = store
        self.limits = limits
        self.tokens = tokens
        self.tenants = tenants
        self.public = frozenset(public)
        self.public_prefixes = tuple(public_prefixes)
        self.identities = tuple(identities)
        self.exempt = frozenset(exempt)

    def _identity(self, scope: Scope) -> tuple[str, str] | None:
        """(tenant, user) of the request's bearer token, or else of the first identity that
        names one; None for a missing or bad token and nobody else's identity."""
        token = _bearer(scope)
        if token is not None:
            try:
                actor = self.tokens.verify(token)
            except Unauthenticated:
                return None
            return actor.tenant, actor.id
        for identify in self.identities:
            identity = identify(scope)
            if identity is not None:
                return identity
        return None

    async def _user(self, scope: Scope) -> str | None:
        """The user a request counts against; None for a missing or bad token, or one of a
        tenant that does not exist or is deactivated (the tenant's check is cached, so this
        costs no read per request; the authenticator answers it the same way)."""
        identity = self._identity(scope)
        if identity is None:
            return None
        tenant, subject = identity
        if self.tenants is not None:
            try:
                await self.tenants.require_active(tenant)
            except Unauthenticated:
                return None
            except Exception:  # the store is down: the authenticator will answer for it
                log.warning("tenant check unavailable: counted as its user", exc_info=True)
        return f"{tenant}\x1f{subject}"

    async def _requests(self, scope: Scope) -> tuple[Group, list[tuple[str, Limit]]]:
        group = group_of(scope)
        client = scope.get("client")
        address = client[0] if client else "unknown"
        user = await self._user(scope)
        counted: list[tuple[str, Limit]] = []
        per_address = self.limits.per_address.get(group)
        if per_address is not None:
            counted.append((f"a:{group.value}:{address}", per_address))
        if user is not None:
            per_user = self.limits.per_user.get(group)
            if per_user is not None:
                counted.append((f"u:{group.value}:{user}", per_user))
        elif not self._public(scope.get("path", "")):
            failures = self.limits.per_address.get(Group.AUTH_FAILURES)
            if failures is not None:
                counted.append((f"a:{Group.AUTH_FAILURES.value}:{address}", failures))
                group = Group.AUTH_FAILURES
        return group, counted

    def _public(self, path: str) -> bool:
        return path in self.public or path.startswith(self.public_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        group, counted = await self._requests(scope)
        if counted:
            try:
                wait = await self.store.take(counted)
            except Exception:  # a shared store that is down must not take the API with it
                log.warning("rate limit store unavailable: request let through", exc_info=True)
                wait = 0.0
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                what = (
                    "requests with a missing or bad token"
                    if (group is Group.AUTH_FAILURES)
                    else f"{group.value}"
                )
                response = error_response(
                    429,
                    "rate_limited",
                    f"too many {what}; retry in {seconds} s",
                    ("request",),
                    headers={"Retry-After": str(seconds)},
                    group=group.value,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
