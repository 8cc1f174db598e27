"""Commands over HTTP: context from the request, idempotency keys, and a uniform answer.

Every command answers ``{"id", "position", "version"}``: the aggregate, the global position
of its last event (pass it as ``min_position`` to read your write) and its stream version.
Because the answer is derived from the append alone, a request retried with the same
``Idempotency-Key`` is answered from the key's record in the event store, which was written
in the same transaction as the events: the same answer, no new event, even after a crash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from urllib.parse import quote
from uuid import UUID, uuid4

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from crm.kernel.auth import Actor
from crm.kernel.errors import InvalidCommand
from crm.kernel.event_store import AppendResult, Idempotency
from crm.kernel.http.security import Authenticator
from crm.kernel.observability.logs import current_correlation
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime

MAX_KEY_LENGTH = 255


class CommandAccepted(BaseModel):
    id: str
    position: int
    version: int


def accepted(
    result: AppendResult, response: Response, *, created_under: str | None = None
) -> CommandAccepted:
    """The answer to a command; ``created_under`` (a collection path) makes it a 201."""
    _, _, id_ = result.stream_id.partition("-")
    response.headers["X-CRM-Position"] = str(result.position)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if created_under is not None:
        response.status_code = 201
        # percent-encoded: an id is any text its context allows, a header only Latin-1
        response.headers["Location"] = f"{created_under.rstrip('/')}/{quote(id_, safe='')}"
    return CommandAccepted(id=id_, position=result.position, version=result.stream_version)


class Commands:
    """Builds a :class:`CommandContext` per request: who asks, when, under which
    ``Idempotency-Key`` (the command bus answers a retried key from its record)."""

    def __init__(self, runtime: Runtime, authenticate: Authenticator) -> None:
        self.runtime = runtime
        self.authenticate = authenticate

    def context(self) -> Callable[..., Awaitable[CommandContext]]:
        runtime = self.runtime

        async def context(
            request: Request, actor: Actor = Depends(self.authenticate)
        ) -> CommandContext:
            key = request.headers.get("Idempotency-Key")
            idempotency = None
            if key is not None:
                if not key or len(key) > MAX_KEY_LENGTH:
                    raise InvalidCommand(
                        "Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} characters"
                    )
                digest = hashlib.sha256()
                digest.update(request.method.encode())
                digest.update(b"\0" + request.url.path.encode() + b"\0")
                digest.update(await request.body())
                idempotency = Idempotency(f"{actor.tenant}:{actor.id}:{key}", digest.hexdigest())
            return CommandContext(
                actor=actor.id,
                role=actor.role.value,
                tenant=actor.tenant,
                now=runtime.clock.now(),
                correlation_id=_correlation(request),
                idempotency=idempotency,
                team=actor.team,
            )

        return context


def _correlation(request: Request) -> UUID:
    header = request.headers.get("X-Correlation-ID")
    if header:
        try:
            return UUID(header)
        except ValueError:
            raise InvalidCommand("X-Correlation-ID", "must be a UUID") from None
    chosen = current_correlation()  # the request's trace id (crm.kernel.observability.http)
    return chosen if isinstance(chosen, UUID) else uuid4()
