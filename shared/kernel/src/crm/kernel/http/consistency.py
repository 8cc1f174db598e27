"""Read-your-writes: a GET with ``min_position`` waits (briefly) for its read model."""

from __future__ import annotations

from fastapi import Query, Response

from crm.kernel.projection import Projection, wait_until
from crm.kernel.runtime import Runtime


class ReadConsistency:
    """A dependency for a read model fed by ``projection``. It waits up to the runtime's
    ``read_wait_seconds`` for ``min_position``, then answers anyway: the response says in
    ``X-CRM-Read-Position`` how far the model is and in ``X-CRM-Stale`` if it fell short.

    Given the projection itself (not only its name), a position written by another kind of
    stream does not make the reader wait: the model is consistent with it as soon as it has
    applied the last event of its own categories at or before that position."""

    def __init__(self, runtime: Runtime, projection: str | Projection) -> None:
        self.runtime = runtime
        self.projection = projection if isinstance(projection, str) else projection.name
        self.categories = None if isinstance(projection, str) else projection.categories

    async def __call__(
        self,
        response: Response,
        min_position: int | None = Query(
            None, ge=0, description="Wait until the read model has applied this position"
        ),
    ) -> int:
        reached, caught_up = await wait_until(
            self.runtime.read_store,
            self.projection,
            min_position or 0,
            self.runtime.read_wait_seconds,
            store=self.runtime.store,
            categories=self.categories,
        )
        response.headers["X-CRM-Read-Position"] = str(reached)
        if not caught_up:
            response.headers["X-CRM-Stale"] = "true"
        return reached
