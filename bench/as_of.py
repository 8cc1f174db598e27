"""Group ``as_of``: the analytics customer answers as of a moment, next to the live ones.

A platform of the customer and analytics contexts (SQLite stores in a scratch directory on a
real disk, every projection running) holds N customers (10 000; 300 with ``--quick``), each
registered and with one interaction logged, through the command bus. Once the 360° read model
caught up, each timed repetition asks, for a customer in the middle:

- **the 360° view as of now** (``as_of`` = now, so every event is known: the worst case): the
  360 projection replayed over the log into an in-memory read store, only that customer's
  document written, only the events of their streams decoded (:func:`crm.kernel.as_of.replay`
  with :func:`~crm.kernel.as_of.about`), then the same query; peer: the live 360°
  view from the read model;
- **the customer list as of now** (its first page of 50, sorted by spend): the whole 360 read
  model replayed into memory, then the same query; peer: the live list page.

Both as-of answers are asserted equal to the live ones (nothing changed after the moment).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import Plan, Results, Step, scratch_dir
from crm.analytics.application.customer_queries import CustomerFilter, CustomerQueries
from crm.analytics.projections.customer_360_models import CUSTOMERS, Customer360Projection
from crm.customer.application.customer_commands import LogInteraction, RegisterCustomer
from crm.customer.domain.customer import Profile
from crm.events.customer import Channel, CustomerKind
from crm.kernel.as_of import about, replay
from crm.kernel.auth import Actor, Role
from crm.kernel.clock import ManualClock
from crm.kernel.projection import wait_until
from crm.kernel.repository import CommandContext
from crm.kernel.settings import Settings
from crm.platform.bootstrap import context_named, ensure_first_tenant, open_platform

GROUP = "as_of"
SECRET = "bench-secret-" + "a" * 40
WRITERS = 32
NOBODY = CustomerFilter(None, None, None, None, None, None, None, None)


def declare(results: Results) -> None:
    g = GROUP
    live_360, live_list = f"{g}.live_360_ms", f"{g}.live_list_ms"
    results.figure(
        f"{g}.as_of_360_ms", "360 view as of now (replay, one document)", "ms", peers=(live_360,)
    )
    results.figure(live_360, "360 view, live read model", "ms")
    results.figure(
        f"{g}.as_of_list_ms", "customer list as of now (full replay)", "ms", peers=(live_list,)
    )
    results.figure(live_list, "customer list page, live read model", "ms")


async def repetition(d: Path, n: int, repetitions: int, step: Step, results: Results) -> None:
    clock = ManualClock(datetime.now(UTC))
    settings = Settings(data_dir=d / "data", secret=SECRET, scheduler_interval_seconds=3600)
    contexts = (context_named("customer"), context_named("analytics"))
    platform = open_platform(settings, clock=clock, contexts=contexts)
    try:
        await ensure_first_tenant(platform)
        await platform.start_projections(None)
        boss = CommandContext(actor="boss", role=Role.MANAGER, tenant="default", now=clock.now())
        bus = platform.runtime.commands
        step(f"as_of: registering {n} customers with an interaction each")
        queue = iter(range(n))
        ids: list[str] = [""] * n

        async def writer() -> None:
            for i in queue:
                profile = Profile(kind=CustomerKind.PERSON, name=f"C {i}", email=f"c{i}@x.example")
                command = RegisterCustomer(profile, owner_id="ana", confirm_distinct=True)
                await bus.execute(command, boss)
                ids[i] = command.customer_id
                call = LogInteraction(command.customer_id, channel=Channel.CALL, summary="hi")
                await bus.execute(call, boss)

        await asyncio.gather(*(writer() for _ in range(WRITERS)))
        projection = Customer360Projection()
        head = await platform.store.head_position()
        _, done = await wait_until(
            platform.read_store,
            projection.name,
            head,
            300.0,
            store=platform.store,
            categories=projection.categories,
        )
        assert done, "the 360 read model did not catch up"
        moment = datetime.now(UTC)
        actor = Actor("boss", Role.MANAGER, "default")
        live = CustomerQueries(platform.read_store)
        cid = ids[n // 2]
        store, codec, f = platform.store, platform.runtime.codec, results.figures
        for r in range(repetitions):
            step(f"as_of: queries, {r + 1}/{repetitions}")
            start = time.perf_counter()
            now_view = await live.customer_360(actor, cid, moment)
            f[f"{GROUP}.live_360_ms"].samples.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            past = await replay(
                projection,
                store,
                codec,
                moment,
                only=lambda k: k[0] != CUSTOMERS or k[1] == cid,
                keep=about(cid),
            )
            then_view = await CustomerQueries(past).customer_360(actor, cid, moment)
            f[f"{GROUP}.as_of_360_ms"].samples.append((time.perf_counter() - start) * 1000)
            assert then_view == now_view
            start = time.perf_counter()
            now_list = await live.customers(actor, NOBODY, sort="-spend", limit=50, offset=0)
            f[f"{GROUP}.live_list_ms"].samples.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            everyone = await replay(projection, store, codec, moment)
            then_list = await CustomerQueries(everyone).customers(
                actor, NOBODY, sort="-spend", limit=50, offset=0
            )
            f[f"{GROUP}.as_of_list_ms"].samples.append((time.perf_counter() - start) * 1000)
            assert then_list.total == now_list.total == n
    finally:
        await platform.stop_projections()
        await platform.close()


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    n = plan.size(10_000, 300)
    with scratch_dir("as_of") as d:
        await repetition(d / "a", n, plan.repetitions, step, results)
