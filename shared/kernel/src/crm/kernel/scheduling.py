"""The loop every scheduler runs: tick, count the tick, say what it did, sleep, again.

A scheduler's tick finds the work that is due at ``now`` and does it, each step idempotent
(see the schedulers' modules); the loop runs it every ``interval`` seconds until it is
cancelled (a step cut short is repeated by the next tick and recorded once). A failed tick is
logged and counted (``crm_scheduler_ticks_total{result="failed"}``) and the next one tries
again; a good one sets ``crm_scheduler_last_tick_timestamp_seconds``, which the alert on a
scheduler that stopped ticking watches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from crm.kernel.clock import Clock
from crm.kernel.observability.metrics import tick as tick_metrics

log = logging.getLogger(__name__)

R = TypeVar("R")

Summary = Callable[[R], tuple[dict[str, int], str | None]]
"""What a tick's report says: its due work by result (``recorded``, ``unchanged``,
``failed``…), and a line for the log when it did something (None: nothing to say)."""


async def tick_forever(
    name: str,
    tick: Callable[[datetime], Awaitable[R]],
    clock: Clock,
    interval: float,
    summary: Summary[R],
) -> None:
    """Run ``tick`` every ``interval`` seconds, forever (cancel the task to stop it)."""
    while True:
        try:
            report = await tick(clock.now())
        except Exception:
            log.exception("%s scheduler tick failed; retrying in %s s", name, interval)
            tick_metrics(name, ok=False, when=time.time())
        else:
            due, line = summary(report)
            tick_metrics(name, ok=True, when=time.time(), due=due)
            if line:
                log.info("%s scheduler: %s", name, line)
        await asyncio.sleep(interval)
