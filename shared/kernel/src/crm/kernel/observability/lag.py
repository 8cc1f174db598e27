"""How far each follower of the log is behind, for the lag gauges.

A follower (a projection runner, a reaction runner, a relay) reads the stream categories it
declares from a checkpoint. Its lag is counted the way ``crm projections status`` counts it:
the events *of its own categories* after its checkpoint (not the head minus the checkpoint,
which other contexts' events inflate), and the age of the oldest of them. The gauges are set
by :class:`LagGauges`, run in the background (and before a scrape of ``/metrics``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from crm.kernel.event_store import EventStore
from crm.kernel.observability.metrics import (
    FOLLOWER_POSITION,
    HEAD_POSITION,
    LAG_EVENTS,
    LAG_SECONDS,
    Refresh,
)

log = logging.getLogger(__name__)

COUNT_LIMIT = 10_000
"""Counting stops there: the gauge is refreshed every few seconds and must stay cheap when a
follower is far behind (a rebuild); its age in seconds still tells how far."""


@dataclass(frozen=True)
class Follower:
    kind: str
    """``projection``, ``reaction`` or ``relay``."""
    name: str
    position: Callable[[], int]
    categories: Collection[str] | None


async def lag_of(store: EventStore, follower: Follower) -> tuple[int, float]:
    """(events of its categories after its checkpoint, age in seconds of the oldest)."""
    after = follower.position()
    behind, oldest = 0, None
    async for page in store.read_all(after, batch_size=1000, categories=follower.categories):
        fresh = [e for e in page if e.position > after]
        if fresh and oldest is None:
            oldest = fresh[0].recorded_at
        behind += len(fresh)
        if behind >= COUNT_LIMIT:
            behind = COUNT_LIMIT
            break
    age = 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    return behind, age


class LagGauges:
    """Sets the lag gauges of ``followers()`` (asked afresh each time: runners come and go)."""

    def __init__(self, store: EventStore, followers: Callable[[], Sequence[Follower]]) -> None:
        self.store = store
        self.followers = followers

    async def refresh(self) -> None:
        HEAD_POSITION.set(await self.store.head_position())
        for follower in self.followers():
            behind, age = await lag_of(self.store, follower)
            labels = (follower.kind, follower.name)
            LAG_EVENTS.labels(*labels).set(behind)
            LAG_SECONDS.labels(*labels).set(age)
            FOLLOWER_POSITION.labels(*labels).set(follower.position())


async def refresh_forever(refreshers: Sequence[Refresh], interval: float) -> None:
    """Run every refresher each ``interval`` seconds until cancelled; a failing one is logged
    and tried again at the next round."""
    while True:
        for refresh in refreshers:
            try:
                await refresh()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("refreshing metrics failed (%s); next try in %.0f s", e, interval)
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def refreshing(refreshers: Sequence[Refresh], interval: float) -> AsyncIterator[None]:
    """Refresh in the background while the block runs."""
    task = asyncio.create_task(refresh_forever(refreshers, interval), name="metrics-refresh")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
