"""Security headers on every response, and an error body even for a bug.

Every answer says ``X-Content-Type-Options: nosniff`` (a JSON answer is never run as a script),
``X-Frame-Options: DENY`` and a Content-Security-Policy with ``frame-ancestors 'none'`` (never
framed, so no click-jacking), ``Referrer-Policy: no-referrer`` and, unless the route set its
own, ``Cache-Control: no-store``: answers hold personal data, and no proxy or browser cache may
keep them. The API's policy allows nothing but its own origin; the interactive docs
(``/docs``, ``/redoc``, whose bundles the platform serves itself) alone get a policy that also
allows their inline styles, ReDoc's search worker and the docs page's inline script by its
hash. Nothing is ever loaded from another host.

An exception that escapes the app is answered here as a 500 in the error shape of
:mod:`crm.kernel.http.errors` (with these headers), then re-raised so the server logs it."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm.kernel.http.errors import error_response

API_POLICY = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

DOCS_POLICY = (
    "default-src 'self'; "
    "script-src 'self'{hashes}; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""For the docs pages only: their widgets set inline styles and ReDoc runs a search worker;
scripts only from the platform or by hash."""

HEADERS: tuple[tuple[str, str], ...] = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-resource-policy", "same-origin"),
)

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def _script_hashes(html: bytes) -> str:
    hashes = (
        base64.b64encode(hashlib.sha256(body).digest()).decode()
        for body in _INLINE_SCRIPT.findall(html)
    )
    return "".join(f" 'sha256-{h}'" for h in hashes)


class SecurityHeaders:
    """Pure ASGI middleware (it never buffers an answer, but the docs pages' small HTML)."""

    def __init__(self, app: ASGIApp, *, docs_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.docs_paths = frozenset(p for p in docs_paths if p)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path", "") in self.docs_paths
        started = False
        held: Message | None = None
        body = b""

        async def send_with_headers(message: Message) -> None:
            nonlocal started, held, body
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    headers.setdefault(name, value)
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
                if not docs:
                    headers.setdefault("content-security-policy", API_POLICY)
                    await send(message)
                    return
                held = message
                return
            if held is not None and message["type"] == "http.response.body":
                body += message.get("body", b"")
                if message.get("more_body", False):
                    return
                headers = MutableHeaders(scope=held)
                headers["content-security-policy"] = DOCS_POLICY.format(hashes=_script_hashes(body))
                await send(held)
                held = None
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                response = error_response(500, "internal", "internal error", ("request",))
                await response(scope, receive, send_with_headers)
            raise
