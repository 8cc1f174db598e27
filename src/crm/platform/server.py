"""How ``crm`` runs uvicorn: no ``Server`` banner, and a request too large to parse answered
with a status and the error body instead of a reset connection.

uvicorn's h11 protocol refuses a request whose line and headers exceed
``h11_max_incomplete_event_size`` with a bare 400 and closes the socket while the client is
still sending; the unread bytes make the kernel reset the connection, so the client usually
sees no answer at all (a 1 MB URL did). Here such a request is a 414 (its request line is not
even complete) or a 431 (its headers are too large), in the platform's error shape, and the
connection is closed gracefully: our side is shut for writing once the answer is sent, and what
the client still sends is read and dropped (for a few seconds at most) so that the answer
arrives. URLs that fit the server's buffer but exceed ``CRM_MAX_URL_BYTES`` are the app's 414
(:mod:`crm.kernel.http.request_limits`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from crm.kernel.http.errors import error_body
from crm.kernel.http.request_limits import url_too_long_message

GRACEFUL_SHUTDOWN_SECONDS = 10
"""How long a stopping server waits for requests still running (a console page's live
stream never ends by itself) before it cancels them and stops: within Kubernetes' 30 s."""
MAX_REQUEST_HEAD_BYTES = 64 * 1024
"""The request line and headers uvicorn buffers before refusing the request."""
LINGER_SECONDS = 5.0
LINGER_MAX_BYTES = 64 * 1024 * 1024


class BoundedH11Protocol(H11Protocol):
    _draining = False
    _drained = 0
    _linger: asyncio.TimerHandle | None = None

    def send_400_response(self, msg: str) -> None:
        buffered, _ = self.conn.trailing_data
        if len(buffered) <= MAX_REQUEST_HEAD_BYTES:
            super().send_400_response(msg)
            return
        if b"\n" not in buffered:
            status, code, message, loc = (
                414,
                "uri_too_long",
                url_too_long_message(MAX_REQUEST_HEAD_BYTES),
                ["request", "url"],
            )
        else:
            status, code, message, loc = (
                431,
                "headers_too_large",
                f"the request headers are larger than {MAX_REQUEST_HEAD_BYTES} bytes",
                ["header"],
            )
        body = json.dumps(error_body(code, message, loc)).encode()
        reason = "URI Too Long" if status == 414 else "Request Header Fields Too Large"
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n"
            "x-content-type-options: nosniff\r\n"
            "cache-control: no-store\r\n\r\n"
        ).encode("latin-1")
        self.transport.write(head + body)
        self._drain()

    def _drain(self) -> None:
        """Stop writing, keep reading (and dropping) until the client is done or the linger
        time is up, then close: the answer is not lost to a reset."""
        self._draining = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._draining:
            self._drained += len(data)
            if self._drained > LINGER_MAX_BYTES:
                self.transport.close()
            return
        super().data_received(data)

    def eof_received(self) -> Any:
        if self._draining:
            self.transport.close()
            return None
        return super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)


def run(app: Any, *, host: str, port: int, log_level: str) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        http=BoundedH11Protocol,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        # the process configured logging (crm.kernel.observability.logs); uvicorn's access
        # line would log the query string, which may hold a search term: each request is
        # logged by crm.kernel.observability.http by its route template instead
        log_config=None,
        access_log=False,
    )
