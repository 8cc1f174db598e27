"""A URL longer than the platform serves is a 414 in the error shape, before any routing,
authentication or parsing of its query.

This middleware catches what reaches the app; a request line too long for the server to even
parse it (over uvicorn's ``h11_max_incomplete_event_size``) is answered the same way by the
server's protocol (:mod:`crm.platform.server`)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from crm.kernel.http.errors import error_response

DEFAULT_MAX_URL_BYTES = 8 * 1024


def url_too_long_message(limit: int) -> str:
    return f"the URL is longer than {limit} bytes"


def url_length(scope: Scope) -> int:
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    query = scope.get("query_string") or b""
    return len(raw_path) + (len(query) + 1 if query else 0)


class UrlLengthLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_URL_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and url_length(scope) > self.max_bytes:
            response = error_response(
                414,
                "uri_too_long",
                url_too_long_message(self.max_bytes),
                ("request", "url"),
                headers={"connection": "close"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
