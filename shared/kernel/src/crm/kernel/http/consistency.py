"""Read-your-writes: a GET with ``min_position`` waits (briefly) for its read models."""

from __future__ import annotations

import asyncio

from fastapi import Query, Response

from crm.kernel.projection import Projection, wait_until
from crm.kernel.runtime import Runtime


class ReadConsistency:
    """A dependency for a route answered from the read models fed by ``projections`` (one,
    or several a route combines). It waits up to the runtime's ``read_wait_seconds`` for
    ``min_position`` in each, then answers anyway: the response says in
    ``X-CRM-Read-Position`` how far the models are (the least of them) and in
    ``X-CRM-Stale`` if any fell short.

    Given a projection itself (not only its name), a position written by another kind of
    stream does not make the reader wait: the model is consistent with it as soon as it has
    applied the last event of its own categories at or before that position."""

    def __init__(self, runtime: Runtime, *projections: str | Projection) -> None:
        if not projections:
            raise ValueError("ReadConsistency needs the projection(s) the route reads")
        self.runtime = runtime
        self.projections: list[tuple[str, frozenset[str] | None]] = [
            (p, None) if isinstance(p, str) else (p.name, p.categories) for p in projections
        ]

    async def __call__(
        self,
        response: Response,
        min_position: int | None = Query(
            None, ge=0, description="Wait until the read models have applied this position"
        ),
    ) -> int:
        waits = (
            wait_until(
                self.runtime.read_store,
                name,
                min_position or 0,
                self.runtime.read_wait_seconds,
                store=self.runtime.store,
                categories=categories,
            )
            for name, categories in self.projections
        )
        answers = await asyncio.gather(*waits)
        reached = min(position for position, _ in answers)
        response.headers["X-CRM-Read-Position"] = str(reached)
        if not all(caught_up for _, caught_up in answers):
            response.headers["X-CRM-Stale"] = "true"
        return reached
