"""Running the demo: the platform on a manual clock, driven one simulated day at a time.

The contexts' own jobs are off; the simulation ticks them itself at the end of each day,
after every projection has caught up, so what they record (overdue invoices, SLA breaches,
complaint follow-ups, churn assessments, weekly) depends on the simulated days only, never on
how fast this machine runs.
"""

from __future__ import annotations

import asyncio
import random
import time as clock_time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import httpx

from crm.analytics.churn.monitor import ChurnMonitor
from crm.kernel.clock import ManualClock
from crm.kernel.projection import wait_until
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import CONTEXTS, Platform, ensure_tenant, open_platform
from crm.platform.demo.agenda import WORK_HOUR, Action, Agenda
from crm.platform.demo.client import DEMO_TENANT, WAIT_SECONDS, Crm, DemoError
from crm.platform.demo.company import Company, users
from crm.platform.demo.console_users import add_console_users
from crm.platform.demo.plan import plan
from crm.platform.demo.story import Customer, Story
from crm.platform.demo.truth import TRUTH_FILE, write_truth
from crm.sales.application.scheduler import SalesScheduler
from crm.service_desk.application.scheduler import ServiceDeskScheduler

DEFAULT_CUSTOMERS = 100
DEFAULT_MONTHS = 12
DEFAULT_SEED = 42
DAYS_PER_MONTH = 30.44
TICK_HOUR = time(18, 0)
CHURN_EVERY_DAYS = 7
"""The churn monitor's round (a refit and every customer assessed) runs weekly in the demo, on
the last day too: a loss is dated within a week of when it showed, at a seventh of the cost."""


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
    users: list[tuple[str, str, str | None]]
    """Who works at the company: (user, role, team), as ``crm token`` takes them."""
    prospects: int = 0
    """Customers besides the personas: in the shared pool, or converted from recent leads."""

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
    # the contexts' own jobs do not run: the simulation ticks them itself at the end of each
    # simulated day, so what they record depends on the simulated days only
    quiet = tuple(replace(c, jobs=None) for c in CONTEXTS)
    platform = open_platform(settings, clock=clock, contexts=quiet)
    started = clock_time.perf_counter()
    try:
        await ensure_tenant(platform, DEMO_TENANT, operator="demo")
        await add_console_users(platform, DEMO_TENANT)
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
    truth = write_truth(
        settings.data_dir / TRUTH_FILE, people, seed, start, end, events, company.prospects
    )
    return DemoReport(
        customers=customers,
        start=start,
        end=end,
        days=(end - start).days,
        commands=commands,
        seconds=seconds,
        events=dict(sorted(events.items())),
        truth=truth,
        users=users(),
        prospects=len(company.prospects),
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
    churn = ChurnMonitor(platform.runtime)
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
        while (slot := agenda.next_on(day)) is not None:
            when, todo = slot
            clock.set(datetime.combine(day, when, UTC))
            company = todo.pop("company", [])
            await run(company)
            await asyncio.gather(*(run(actions) for actions in todo.values()))
        clock.set(datetime.combine(day, TICK_HOUR, UTC))
        await caught_up(platform)
        await sales.tick(clock.now())
        await desk.tick(clock.now())
        if n % CHURN_EVERY_DAYS == CHURN_EVERY_DAYS - 1 or n == days - 1:
            # the churn monitor's daily round, weekly here: losses dated as they happened.
            # It reads what the ticks just recorded (an SLA breach is a service signal):
            # applied first, or the assessment depends on how fast the projections ran
            await caught_up(platform)
            await churn.tick(clock.now())
        if progress is not None:
            progress(n + 1, days, crm.commands)
    await caught_up(platform)
