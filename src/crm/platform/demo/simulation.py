"""Running the demo: the platform on a manual clock, driven one simulated day at a time.

The app's own scheduler jobs are silenced; the simulation ticks them itself at the end of each
day, after every projection has caught up, so what they record (overdue invoices, SLA
breaches, complaint follow-ups) depends on the simulated days only, never on how fast this
machine runs.
"""

from __future__ import annotations

import asyncio
import random
import time as clock_time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import httpx

from crm.kernel.clock import ManualClock
from crm.kernel.projection import wait_until
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import Platform, open_platform
from crm.platform.demo.agenda import Action, Agenda
from crm.platform.demo.client import WAIT_SECONDS, Crm, DemoError
from crm.platform.demo.company import Company
from crm.platform.demo.plan import plan
from crm.platform.demo.story import Customer, Story
from crm.platform.demo.truth import TRUTH_FILE, write_truth
from crm.sales.application.scheduler import SalesScheduler
from crm.service_desk.application.scheduler import ServiceDeskScheduler

DEFAULT_CUSTOMERS = 100
DEFAULT_MONTHS = 12
DEFAULT_SEED = 42
DAYS_PER_MONTH = 30.44
WORK_HOUR = time(10, 0)
TICK_HOUR = time(18, 0)
NEVER = 365 * 24 * 3600.0
"""The app's own scheduler jobs tick once at start-up and then never: the generator ticks
them itself at the end of each simulated day, so what they record depends on the simulated
days only, never on how fast this machine runs."""


@dataclass(frozen=True)
class DemoReport:
    customers: int
    start: date
    end: date
    days: int
    commands: int
    seconds: float
    events: dict[str, int]
    truth: Path

    @property
    def commands_per_second(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0


Progress = Callable[[int, int, int], None]
"""``(day, days, commands)`` after each simulated day."""


async def caught_up(platform: Platform) -> None:
    """Wait until every projection has applied the head of the log, so a scheduler tick
    sees everything done that day (what it records then depends on the plan only)."""
    head = await platform.store.head_position()
    for runner in platform.runners:
        p = runner.projection
        _, done = await wait_until(
            platform.read_store,
            p.name,
            head,
            WAIT_SECONDS,
            store=platform.store,
            categories=p.categories,
        )
        if not done:
            raise DemoError(f"projection {p.name} did not catch up in {WAIT_SECONDS}s")


async def generate(
    settings: Settings,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    months: int = DEFAULT_MONTHS,
    seed: int = DEFAULT_SEED,
    end: date | None = None,
    concurrency: int = 16,
    progress: Progress | None = None,
) -> DemoReport:
    """Generate ``months`` of history for ``customers`` customers, ending the day before
    ``end`` (default: today), into the platform ``settings`` describe."""
    end = end or datetime.now(UTC).date()
    start = end - timedelta(days=round(months * DAYS_PER_MONTH))
    plans = plan(customers, seed, start, end)
    clock = ManualClock(datetime.combine(start, WORK_HOUR, UTC))
    quiet = settings.model_copy(update={"scheduler_interval_seconds": NEVER})
    platform = open_platform(quiet, clock=clock)
    started = clock_time.perf_counter()
    try:
        app = create_app(platform)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
                crm = Crm(client, platform)
                agenda = Agenda()
                company = Company()
                story = Story(crm, company, agenda, end)
                story.setup(start, end, max(2, customers // 4), random.Random(f"{seed}:company"))
                people = [Customer(p) for p in plans]
                for person in people:
                    story.customer(person)
                await simulate(platform, crm, clock, agenda, start, end, concurrency, progress)
                commands = crm.commands
        seconds = clock_time.perf_counter() - started
        events: Counter[str] = Counter()
        async for page in platform.store.read_all(0):
            events.update(envelope.event_type for envelope in page)
    finally:
        await platform.close()
    truth = write_truth(settings.data_dir / TRUTH_FILE, people, seed, start, end, events)
    return DemoReport(
        customers=customers,
        start=start,
        end=end,
        days=(end - start).days,
        commands=commands,
        seconds=seconds,
        events=dict(sorted(events.items())),
        truth=truth,
    )


async def simulate(
    platform: Platform,
    crm: Crm,
    clock: ManualClock,
    agenda: Agenda,
    start: date,
    end: date,
    concurrency: int,
    progress: Progress | None,
) -> None:
    sales = SalesScheduler(platform.runtime)
    desk = ServiceDeskScheduler(platform.runtime)
    bound = asyncio.Semaphore(concurrency)

    async def run(actions: list[Action]) -> None:
        async with bound:
            for action in actions:
                await action()

    days = (end - start).days
    for n in range(days):
        day = start + timedelta(days=n)
        clock.set(datetime.combine(day, WORK_HOUR, UTC))
        # actions may add actions for the same day (a campaign's end): run until none are left
        while todo := agenda.days.pop(day, None):
            company = todo.pop("company", [])
            await run(company)
            await asyncio.gather(*(run(actions) for actions in todo.values()))
        clock.set(datetime.combine(day, TICK_HOUR, UTC))
        await caught_up(platform)
        await sales.tick(clock.now())
        await desk.tick(clock.now())
        if progress is not None:
            progress(n + 1, days, crm.commands)
    await caught_up(platform)
