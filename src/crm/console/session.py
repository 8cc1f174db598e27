"""The console's session: a cookie signed with a key derived from the deployment's secret,
and the CSRF token bound to it.

The cookie holds no secret and no role: the session's id, tenant, user id, language and when
it was issued. Every request rebuilds the user's actor from the directory (a role changed or a
user deactivated takes effect at the next request). ``HttpOnly``, ``SameSite=Lax``, ``Secure``
when served over TLS. Every visitor gets one (a signed-out one has no user) so that the
sign-in form carries a CSRF token as well; every POST must send the token of its session.
Signing out forgets the cookie, marks its id as ended in this process at once, and records
the end (a hash of the id) in the user directory, which every process checks
(:mod:`crm.console.session_check`): a copied cookie is refused by every replica. A session
also carries the user's session generation at sign-in: a password changed or reset, or the
user deactivated, ends every older one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import Scope

COOKIE = "crm_console"
MAX_AGE_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    locale: str
    tenant: str | None = None
    user: str | None = None
    issued: int = 0
    generation: int = 0
    """The user's session generation when they signed in."""

    @property
    def signed_in(self) -> bool:
        return self.user is not None and self.tenant is not None

    @property
    def hash(self) -> str:
        """What the user directory records of an ended session: never the id itself (whoever
        reads the log cannot make a cookie of it)."""
        return session_hash(self.sid)


def session_hash(sid: str) -> str:
    return hashlib.sha256(f"crm.console.session\x00{sid}".encode()).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    def __init__(self, secret: str, *, max_age: int = MAX_AGE_SECONDS) -> None:
        self._key = hmac.new(secret.encode(), b"crm.console.session", hashlib.sha256).digest()
        self.max_age = max_age
        self._ended: dict[str, float] = {}

    def _sign(self, body: bytes) -> str:
        return _b64(hmac.new(self._key, body, hashlib.sha256).digest())

    def new(self, locale: str) -> Session:
        return Session(secrets.token_urlsafe(18), locale, issued=int(time.time()))

    def signed_in(
        self, session: Session, tenant: str, user: str, locale: str, generation: int
    ) -> Session:
        """A new session id on sign-in (no session fixation)."""
        sid = secrets.token_urlsafe(18)
        return Session(sid, locale, tenant, user, int(time.time()), generation)

    def expires_at(self, session: Session) -> int:
        return session.issued + self.max_age

    def with_locale(self, session: Session, locale: str) -> Session:
        return replace(session, locale=locale)

    def read(self, request: Request) -> Session | None:
        return self.parse(request.cookies.get(COOKIE))

    def identity(self, scope: Scope) -> tuple[str, str] | None:
        """(tenant, user) of a signed-in visitor's request, for the rate limiter (counted as
        that user's token would be), None for anybody else. The signature and the age are
        checked, not the directory: a user deactivated since is refused by the page."""
        session = self.parse(HTTPConnection(scope).cookies.get(COOKIE))
        if session is None or session.tenant is None or session.user is None:
            return None
        return session.tenant, session.user

    def parse(self, raw: str | None) -> Session | None:
        if not raw or "." not in raw or len(raw) > 2000:
            return None
        body, _, signature = raw.rpartition(".")
        try:
            data = _unb64(body)
        except ValueError:
            return None
        if not hmac.compare_digest(self._sign(data), signature):
            return None
        try:
            fields = json.loads(data)
            session = Session(
                str(fields["sid"]),
                str(fields["l"]),
                fields.get("t"),
                fields.get("u"),
                int(fields["iat"]),
                int(fields.get("g", 0)),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if session.issued + self.max_age < time.time() or session.sid in self._ended:
            return None
        return session

    def write(self, request: Request, response: Response, session: Session) -> None:
        data = json.dumps(
            {
                "sid": session.sid,
                "l": session.locale,
                "t": session.tenant,
                "u": session.user,
                "iat": session.issued,
                "g": session.generation,
            },
            separators=(",", ":"),
        ).encode()
        response.set_cookie(
            COOKIE,
            f"{_b64(data)}.{self._sign(data)}",
            max_age=self.max_age,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )

    def end(self, request: Request, response: Response, session: Session) -> None:
        now = time.time()
        self._ended = {s: t for s, t in self._ended.items() if t > now}
        self._ended[session.sid] = now + self.max_age
        response.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
        )

    def seal(self, purpose: str, data: dict[str, str]) -> str:
        """``data`` signed for ``purpose`` with the time it was sealed (e.g. the state of an
        OpenID Connect sign-in in flight, kept in a cookie of its own)."""
        body = json.dumps({"p": purpose, "iat": int(time.time()), "d": data}).encode()
        return f"{_b64(body)}.{self._sign(body)}"

    def unseal(self, purpose: str, raw: str | None, max_age: int) -> dict[str, str] | None:
        """What :meth:`seal` sealed for ``purpose`` at most ``max_age`` seconds ago, else
        None (forged, for another purpose, too old, or garbled)."""
        if not raw or "." not in raw or len(raw) > 4000:
            return None
        body, _, signature = raw.rpartition(".")
        try:
            data = _unb64(body)
        except ValueError:
            return None
        if not hmac.compare_digest(self._sign(data), signature):
            return None
        try:
            fields = json.loads(data)
            sealed = {str(k): str(v) for k, v in fields["d"].items()}
            fresh = int(fields["iat"]) + max_age >= time.time()
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return sealed if fields.get("p") == purpose and fresh else None

    def csrf_token(self, session: Session) -> str:
        return _b64(hmac.new(self._key, f"csrf\x00{session.sid}".encode(), "sha256").digest())

    def csrf_ok(self, session: Session | None, token: str | None) -> bool:
        if session is None or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)
