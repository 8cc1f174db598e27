"""Read-your-writes: a GET with ``min_position`` waits (briefly) for its read model."""

from __future__ import annotations

from fastapi import Query, Response

from crm.kernel.projection import wait_until
from crm.kernel.runtime import Runtime


class ReadConsistency:
    """A dependency for a read model fed by ``projection``. It waits up to the runtime's
    ``read_wait_seconds`` for ``min_position``, then answers anyway: the response says in
    ``X-CRM-Read-Position`` how far the model is and in ``X-CRM-Stale`` if it fell short."""

    def __init__(self, runtime: Runtime, projection: str) -> None:
        self.runtime = runtime
        self.projection = projection

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
        )
        response.headers["X-CRM-Read-Position"] = str(reached)
        if not caught_up:
            response.headers["X-CRM-Stale"] = "true"
        return reached
