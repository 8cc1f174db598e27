"""Wakes asyncio waiters in any event loop when a writer thread commits."""

from __future__ import annotations

import asyncio
import threading


class CommitNotifier:
    """A generation counter bumped by the writer after each commit.

    A reader notes the generation, reads, and if it found nothing waits for the generation to
    change: a commit between its read and its wait cannot be missed. Writers in *other*
    processes are not seen here, so waits are bounded by a timeout after which the reader
    looks again (one cheap query per timeout while idle: no busy polling).
    """

    def __init__(self) -> None:
        self.generation = 0
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        with self._lock:
            self.generation += 1
            waiters = list(self._waiters)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    async def wait(self, seen_generation: int, timeout: float) -> None:
        """Return when the generation differs from ``seen_generation`` or after ``timeout``."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            if self.generation != seen_generation:
                return
            self._waiters.add(waiter)
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(waiter)
