"""The relay: publishes a context's events from its event store to the bus, in order.

The event store is the outbox: a command only appends events, and the relay follows the
store's log and hands each page to a :class:`Publisher`, moving its checkpoint only after the
bus acknowledged the whole page. A crash between the two republishes that page on restart
(at-least-once; consumers are idempotent). The checkpoint moves by compare-and-set in the read
store, which also fences a second relay of the same context started by mistake: its first
checkpoint move fails and it stops instead of publishing out of turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from typing import Protocol

from crm.events import EventEnvelope
from crm.kernel.event_store import EventStore
from crm.kernel.lifecycle import stop_after_batch
from crm.kernel.read_store import Checkpoint, ReadStore

log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def start(self) -> None: ...

    async def publish(self, topic: str, events: Sequence[EventEnvelope]) -> None:
        """Return once the bus has durably acknowledged every event (raise otherwise).
        Events of one stream must keep their order."""
        ...

    async def stop(self) -> None: ...


class Relay:
    def __init__(
        self,
        context: str,
        topic: str,
        store: EventStore,
        publisher: Publisher,
        checkpoints: ReadStore,
        *,
        categories: Collection[str] | None,
        batch_size: int = 500,
        retry_max_seconds: float = 5.0,
    ) -> None:
        self.name = f"relay:{context}"
        self.topic = topic
        self.store = store
        self.publisher = publisher
        self.checkpoints = checkpoints
        self.categories = categories
        self.batch_size = batch_size
        self.retry_max_seconds = retry_max_seconds
        self.checkpoint = Checkpoint()
        self.published = 0
        self.caught_up = asyncio.Event()
        self._stopping = False
        self._busy = False

    @property
    def position(self) -> int:
        return self.checkpoint.position

    async def run(self) -> None:
        """Publish forever; a broker that is down is retried with backoff, nothing is skipped.
        Cancel to stop: the page in hand is either acknowledged and checkpointed, or
        republished by the next run."""
        self.checkpoint = await self.checkpoints.checkpoint(self.name)
        log.info("%s: publishing to %s from position %d", self.name, self.topic, self.position)
        if not await self._anything_after(self.position):
            self.caught_up.set()
        try:
            await self._follow()
        finally:
            await self.publisher.stop()

    async def _follow(self) -> None:
        async for page in self.store.subscribe(
            self.position, batch_size=self.batch_size, categories=self.categories
        ):
            self._busy = True
            await self._publish_with_retry(page)
            self.checkpoint = await self.checkpoints.commit(
                self.name, [], checkpoint=page[-1].position, expected=self.checkpoint
            )
            self._busy = False
            self.published += len(page)
            if len(page) < self.batch_size:  # the store had nothing more: caught up
                self.caught_up.set()
            if self._stopping:
                return

    async def stop(self, task: asyncio.Task[None], timeout: float = 10.0) -> None:
        """Stop gracefully: finish the page in hand and store its checkpoint, then return
        (a page still unacknowledged after ``timeout`` is republished by the next run)."""
        await stop_after_batch(self, task, timeout)

    async def _anything_after(self, position: int) -> bool:
        async for _ in self.store.read_all(position, batch_size=1, categories=self.categories):
            return True
        return False

    async def _publish_with_retry(self, page: Sequence[EventEnvelope]) -> None:
        delay = 0.1
        while True:
            try:
                await self.publisher.publish(self.topic, page)
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning(
                    "%s: publishing %d events from position %d failed (%s); retrying in %.1fs",
                    self.name,
                    len(page),
                    page[0].position,
                    e,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)
