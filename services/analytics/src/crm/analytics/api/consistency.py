"""Read-your-writes for what the churn monitor concludes from a write.

A command's position says when the 360° view has the event; the churn verdict on it is
another event, appended by the monitor once it has assessed the customer. With
``min_position``, :class:`AssessedConsistency` waits (within the same read timeout) for the
360° view to apply the position, then for the running monitor to have assessed through it
(:data:`~crm.analytics.churn.monitor.MONITOR_CHECKPOINT`; where no monitor ever ran there is
nothing to wait for), then for the view to apply the verdicts appended by then; short of any
of these the answer is marked ``X-CRM-Stale``.
"""

from __future__ import annotations

import asyncio

from fastapi import Query, Response

from crm.analytics.churn.monitor import wait_assessed
from crm.analytics.projections.customer_360_models import Customer360Projection
from crm.kernel.http import ReadConsistency
from crm.kernel.projection import wait_until
from crm.kernel.runtime import Runtime


class AssessedConsistency:
    """A route's dependency: the 360° view consistent with ``min_position``, churn verdicts
    on it included."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.view = Customer360Projection()
        self.read = ReadConsistency(runtime, self.view)

    async def __call__(
        self,
        response: Response,
        min_position: int | None = Query(
            None,
            ge=0,
            description="Wait until the read models, and the churn verdicts, have applied"
            " this position",
        ),
    ) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.runtime.read_wait_seconds
        reached = await self.read(response, min_position)
        if not min_position or "X-CRM-Stale" in response.headers:
            return reached
        runtime = self.runtime
        target = min(min_position, reached)
        assessed = await wait_assessed(runtime.read_store, target, max(0.0, deadline - loop.time()))
        if not assessed:
            response.headers["X-CRM-Stale"] = "true"
            return reached
        head = await runtime.store.head_position()
        reached, done = await wait_until(
            runtime.read_store,
            self.view.name,
            head,
            max(0.0, deadline - loop.time()),
            store=runtime.store,
            categories=self.view.categories,
        )
        response.headers["X-CRM-Read-Position"] = str(reached)
        if not done:
            response.headers["X-CRM-Stale"] = "true"
        return reached
