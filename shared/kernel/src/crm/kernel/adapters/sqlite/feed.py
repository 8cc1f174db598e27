"""One in-process feed of what this process's writer committed, shared by every subscriber.

Without it, each commit woke every catch-up subscriber of the process (a dozen projection and
reaction runners), and each re-queried the store on a reader thread for the page just
written, most of them to find nothing of their categories. Now the writer hands the rows it
has just committed, as envelopes built once, to this feed after the commit; a subscriber
woken by it takes its next page from memory, and only the subscribers whose categories the
commit touched are woken at all.

The feed holds a contiguous run of the log (every position from its start to its end), the
last :data:`TAIL_EVENTS` or so. It is only a shortcut: a subscriber whose position the feed
does not cover (it is behind the feed's start, or the feed was restarted because a writer in
another process appended in between) reads the store, as it does for its first page and
after each idle timeout (which is how appends of other processes are seen).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from crm.events import EventEnvelope

TAIL_EVENTS = 2_000
"""Events the feed keeps at least (it trims to this when it holds twice as many): enough for
a runner busy with a batch while commits go on; one further behind reads the file. Each holds
its parsed payload, so this bounds the feed's memory (a few MiB)."""


@dataclass(eq=False, slots=True)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    categories: frozenset[str] | None
    event: asyncio.Event = field(default_factory=asyncio.Event)


class CommitFeed:
    def __init__(self, capacity: int = TAIL_EVENTS) -> None:
        self.capacity = capacity
        self.generation = 0
        """Bumped by every publish (a subscriber notes it before looking, see :meth:`wait`)."""
        self._lock = threading.Lock()
        self._events: list[EventEnvelope] = []
        self._categories: list[str] = []
        self._start: int | None = None
        """Position of ``_events[0]``; None until this process's writer first committed."""
        self._end = 0
        self._waiters: set[_Waiter] = set()
        self.foreign = 0
        """Bumped by :meth:`wake_all` (another process committed: read the file)."""

    @property
    def end(self) -> int:
        """The last position published (0 before the first): the store holds at least it."""
        return self._end

    def publish(self, after: int, envelopes: Sequence[EventEnvelope]) -> None:
        """Called by the writer once the events at ``after + 1 .. after + len(envelopes)``
        are committed (all of them, in order); wakes the subscribers of their categories."""
        if not envelopes:
            return
        categories = [e.category for e in envelopes]
        touched = set(categories)
        with self._lock:
            if self._start is None or after != self._end:
                # the first commit of this process, or another process appended in between:
                # the feed restarts at this commit
                self._events, self._categories = [], []
                self._start = after + 1
            self._events.extend(envelopes)
            self._categories.extend(categories)
            self._end = after + len(envelopes)
            if len(self._events) > 2 * self.capacity:
                drop = len(self._events) - self.capacity
                del self._events[:drop]
                del self._categories[:drop]
                self._start += drop
            self.generation += 1
            woken = [
                w
                for w in self._waiters
                if w.categories is None or not w.categories.isdisjoint(touched)
            ]
            self._waiters.difference_update(woken)
        for waiter in woken:
            if not waiter.loop.is_closed():
                waiter.loop.call_soon_threadsafe(waiter.event.set)

    def take(
        self, scanned: int, categories: frozenset[str] | None, limit: int
    ) -> tuple[list[EventEnvelope], int] | None:
        """The next events after ``scanned`` of ``categories`` (None: all), at most
        ``limit``, and the position up to which every event has now been looked at; None if
        the feed does not hold every event after ``scanned`` (ask the store)."""
        with self._lock:
            start = self._start
            if start is None or scanned + 1 < start:
                return None
            i = scanned + 1 - start
            if categories is None:
                page = self._events[i : i + limit]
                return page, page[-1].position if page else max(scanned, self._end)
            page = []
            events, cats = self._events, self._categories
            for j in range(i, len(events)):
                if cats[j] in categories:
                    page.append(events[j])
                    if len(page) >= limit:
                        return page, events[j].position
            return page, max(scanned, self._end)

    def wake_all(self) -> None:
        """Another process committed (the feed cannot hold its events): wake every waiter,
        each then reads the file (it sees :attr:`foreign` changed)."""
        with self._lock:
            self.foreign += 1
            woken = list(self._waiters)
            self._waiters.clear()
        for waiter in woken:
            if not waiter.loop.is_closed():
                waiter.loop.call_soon_threadsafe(waiter.event.set)

    async def wait(
        self,
        seen_generation: int,
        categories: frozenset[str] | None,
        timeout: float,
        seen_foreign: int | None = None,
    ) -> bool:
        """Wait for a commit touching ``categories`` after ``seen_generation`` (or, with
        ``seen_foreign``, for :meth:`wake_all` after it): True when one came (or any commit
        came before this call, which the caller then looks at), False after ``timeout``
        without one."""
        waiter = _Waiter(asyncio.get_running_loop(), categories)
        with self._lock:
            if self.generation != seen_generation or (
                seen_foreign is not None and self.foreign != seen_foreign
            ):
                return True
            self._waiters.add(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter.event.wait()
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def waiting(self) -> int:
        """How many subscribers are waiting (for tests and diagnostics)."""
        with self._lock:
            return len(self._waiters)
