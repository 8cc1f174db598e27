"""Stopping the batch loops (projection runners, relays) without losing or redoing work."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol


class Stoppable(Protocol):
    _stopping: bool
    _busy: bool


async def stop_after_batch(loop: Stoppable, task: asyncio.Task[None], timeout: float) -> None:
    """Ask a batch loop to stop after its batch in hand; cancel it if it is idle, or if the
    batch takes longer than ``timeout``. Either way no checkpoint moves past unfinished work."""
    loop._stopping = True
    if not loop._busy:
        task.cancel()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout)
    except (TimeoutError, asyncio.CancelledError):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
