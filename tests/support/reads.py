"""Waiting for read models in tests: until each named one has applied every event of its own
categories in the log (a read model never applies another category's events, so waiting for
its checkpoint to reach the head itself would wait out the timeout)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from crm.kernel.projection import wait_until
from crm.platform.bootstrap import Platform


async def caught_up(platform: Platform, *names: str, timeout: float = 10.0) -> int:
    """The head of the log, once the read models ``names`` have applied all of it they read."""
    head = await platform.store.head_position()
    projections = {p.name: p for p in platform.projections}
    for name in names:
        _, done = await wait_until(
            platform.read_store,
            name,
            head,
            timeout,
            store=platform.store,
            categories=projections[name].categories,
        )
        assert done, f"{name} did not catch up with position {head} in {timeout} s"
    return head


async def moment() -> datetime:
    """A moment strictly between what was recorded before and what is recorded after (for
    ``as_of``: the store records with the wall clock)."""
    await asyncio.sleep(0.01)
    now = datetime.now(UTC)
    await asyncio.sleep(0.01)
    return now
