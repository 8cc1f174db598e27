"""Actors, roles and access tokens (HS256 JWTs signed with the deployment's secret)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import jwt

from crm.kernel.errors import Unauthenticated

ISSUER = "crm"
AUDIENCE = "crm-api"
VERIFIED_CACHE_SIZE = 4096
"""Tokens whose signature and claims were checked, kept until they expire (at most this many)."""


def _now() -> float:
    return time.time()


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SALES_REP = "sales_rep"
    AGENT = "agent"
    ANALYST = "analyst"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is asking: a user id, their role and tenant."""

    id: str
    role: Role
    tenant: str
    team: str | None = None
    """The sales team the user belongs to (a manager with a team manages that team's records;
    without one, the whole tenant's)."""

    @property
    def sees_everything(self) -> bool:
        return self.role in (Role.ADMIN, Role.MANAGER)


SECRET_FILE = "secret.key"


def load_secret(data_dir: Path) -> str | None:
    """The signing secret in ``data_dir/secret.key``, None if there is none."""
    path = data_dir / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


def load_or_create_secret(data_dir: Path) -> str:
    """The signing secret in ``data_dir/secret.key``, created (mode 0600) on first use. Two
    processes creating it at once end with the same secret: the file is linked into place
    only if it does not exist yet, never replaced."""
    secret = load_secret(data_dir)
    if secret is not None:
        return secret
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    tmp = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process's came first: it wins
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


class TokenIssuer:
    def __init__(self, secret: str, *, ttl: timedelta = timedelta(hours=12)) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret must be at least 32 characters")
        self._secret = secret
        self._ttl = ttl
        self._verified: dict[str, tuple[Actor, float]] = {}
        """token -> (its actor, its expiry as a Unix time): a token is one string signed once,
        so what its signature and claims said holds until it expires; checking them again
        on every request (twice: the rate limiter and the authenticator) cost about a tenth
        of a command's time."""

    def feed_key(self, tenant: str, user: str) -> str:
        """The key of ``user``'s calendar feed URL (calendar apps send no bearer token): an
        HMAC of the tenant and user under the platform's secret, so it never expires and is
        revoked only by rotating the secret."""
        message = f"calendar-feed:{tenant}:{user}".encode()
        return hmac.new(self._secret.encode(), message, hashlib.sha256).hexdigest()

    def check_feed_key(self, tenant: str, user: str, key: str) -> bool:
        return hmac.compare_digest(self.feed_key(tenant, user).encode(), key.encode())

    def issue(
        self,
        user: str,
        role: Role,
        tenant: str,
        *,
        team: str | None = None,
        now: datetime | None = None,
    ) -> str:
        issued = now or datetime.now(UTC)
        claims: dict[str, object] = {
            "sub": user,
            "role": role.value,
            "tenant": tenant,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": issued + self._ttl,
        }
        if team is not None:
            claims["team"] = team
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Actor:
        known = self._verified.get(token)
        if known is not None:
            actor, expires = known
            if _now() < expires:
                return actor
            self._verified.pop(token, None)
            raise Unauthenticated("invalid token: Signature has expired")
        actor, expires = self._decode(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (actor, expires)
        return actor

    def _decode(self, token: str) -> tuple[Actor, float]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["sub", "role", "tenant", "exp"]},
            )
            team = claims.get("team")
            actor = Actor(
                id=str(claims["sub"]),
                role=Role(claims["role"]),
                tenant=str(claims["tenant"]),
                team=None if team is None else str(team),
            )
            return actor, float(claims["exp"])
        except (jwt.PyJWTError, ValueError) as e:
            raise Unauthenticated(f"invalid token: {e}") from e
