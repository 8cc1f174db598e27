"""Group ``workflows``: the sales and service-desk contexts' multi-step work, in process through
the real HTTP app (httpx over ASGI, a manager's token, every projection of the platform
running, SQLite stores in a scratch directory on a real disk, a :class:`ManualClock` so that
dates, slots and due times are fixed).

- **Order to cash**: quote (2 lines) -> send -> accept -> order from the quote -> invoice ->
  payment of the whole total, one command at a time; peer: ``POST /customers``, the simplest
  command, the same number of times, alternately in the same platform. The ratio is what a
  sales command costs relative to it (several streams loaded per command: products, quote,
  order, invoice).
- **Technician booking under contention**: 16 concurrent ``POST /visits`` for the same
  technician and day in non-overlapping slots (all serialise on the technician-day stream's
  version, losers reload and retry); peer: 16 concurrent bookings of 16 different technicians
  (no shared stream), rounds of each alternately. Every booking must succeed and the visits
  read model must then hold exactly those 16 visits, scheduled, none overlapping.
- **SLA scheduler tick**: :meth:`ServiceDeskScheduler.tick` over N open tickets of which 10 %
  are past both their SLA targets at ``now`` (each gets two ``sla_breached`` events, asserted);
  peer: the same tick at the same ``now`` once that is recorded and the read model has caught
  up (nothing due: the cost of asking the read model for due work).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.measure import Plan, Results, Step, percentile, scratch_dir
from crm.kernel.auth import Role, TokenIssuer
from crm.kernel.clock import ManualClock
from crm.kernel.projection import wait_until
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import Platform, ensure_first_tenant, open_platform
from crm.service_desk.application.scheduler import ServiceDeskScheduler
from crm.service_desk.projections.ticket_models import PROJECTION as TICKETS_PROJECTION

GROUP = "workflows"
SECRET = "bench-secret-" + "w" * 40
CONCURRENCY = 16
WARM_UP_CYCLES = 3
IDLE_TICKS = 10
DUE_SHARE = 0.10

MON = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""A Monday 09:00 UTC: the built-in SLA policy counts Monday to Friday, 09:00-17:00 UTC, so a
high-priority ticket opened now is due a first response at 10:00 and a resolution at 17:00."""
TUE = MON + timedelta(days=1)

QUOTE_LINES = [
    {"sku": "BENCH-A", "quantity": "2"},  # 2 x 10.00
    {"sku": "BENCH-B", "quantity": "1"},  # 1 x 2.50
]
QUOTE_TOTAL = {"amount": "22.50", "currency": "EUR"}


def auth() -> dict[str, str]:
    token = TokenIssuer(SECRET).issue("bench", Role.MANAGER, "default")
    return {"Authorization": f"Bearer {token}"}


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return dict(response.json())


@asynccontextmanager
async def serving(d: Path, clock: ManualClock) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    """The platform's app on ``d``, its projections running; its background jobs tick once
    at start (nothing is due then) and not again during a benchmark."""
    settings = Settings(data_dir=d / "data", secret=SECRET, scheduler_interval_seconds=3600)
    platform = open_platform(settings, clock=clock)
    try:
        await ensure_first_tenant(platform)  # the tenant of its tokens, as crm up
        app = create_app(platform)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://crm.bench",
                headers=auth(),
                timeout=60,
            ) as client,
        ):
            yield platform, client
    finally:
        await platform.close()


# -- order to cash -------------------------------------------------------------------------------


async def catalogue(client: httpx.AsyncClient) -> None:
    for sku, price in (("bench-a", "10.00"), ("bench-b", "2.50")):
        body = {"sku": sku, "name": sku, "list_price": {"amount": price, "currency": "EUR"}}
        expect(await client.post("/products", json=body), 201)


async def register(client: httpx.AsyncClient, n: int = 1) -> list[str]:
    """``n`` customers to record work for (a command must name a customer that exists)."""
    ids = []
    for i in range(n):
        body = {"name": f"Bench customer {i}", "region": "EMEA"}
        ids.append(expect(await client.post("/customers", json=body), 201)["id"])
    return ids


async def cash_cycle(client: httpx.AsyncClient, customer: str, latencies: list[float]) -> None:
    """One quote to one payment: six commands, each timed."""

    async def command(url: str, body: dict[str, Any] | None, status: int) -> dict[str, Any]:
        start = time.perf_counter()
        answer = expect(await client.post(url, json=body), status)
        latencies.append(time.perf_counter() - start)
        return answer

    quote = await command(
        "/quotes",
        {
            "customer_id": customer,
            "currency": "EUR",
            "valid_until": "2026-12-31",
            "lines": QUOTE_LINES,
        },
        201,
    )
    await command(f"/quotes/{quote['id']}/send", None, 200)
    await command(f"/quotes/{quote['id']}/accept", None, 200)
    order = await command("/orders", {"quote_id": quote["id"]}, 201)
    invoice = await command("/invoices", {"order_id": order["id"]}, 201)
    await command("/payments", {"invoice_id": invoice["id"], "amount": QUOTE_TOTAL}, 201)


async def cash_cycles(
    client: httpx.AsyncClient, n: int, customers: list[str]
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    start = time.perf_counter()
    for i in range(n):
        await cash_cycle(client, customers[i % len(customers)], latencies)
    return n / (time.perf_counter() - start), latencies


async def customers(client: httpx.AsyncClient, n: int, first: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    start = time.perf_counter()
    for i in range(first, first + n):
        t = time.perf_counter()
        body = {"name": f"Customer {i}", "email": f"c{i}@example.com", "region": "EMEA"}
        expect(await client.post("/customers", json=body), 201)
        latencies.append(time.perf_counter() - t)
    return n / (time.perf_counter() - start), latencies


async def order_to_cash(d: Path, cycles: int, rep: int, results: Results) -> None:
    """Cash cycles and as many customer commands as they have commands, in one platform,
    which goes first alternating with the repetition."""
    async with serving(d, ManualClock(MON)) as (_, client):
        await catalogue(client)
        buyers = await register(client, 4)
        await cash_cycles(client, WARM_UP_CYCLES, buyers)
        await customers(client, 6 * WARM_UP_CYCLES, 0)
        order = ("o2c", "customers") if rep % 2 == 0 else ("customers", "o2c")
        for which in order:
            if which == "o2c":
                rate, latencies = await cash_cycles(client, cycles, buyers)
                record(results, "o2c_cycles", rate)
                record(results, "o2c_commands", rate * 6, latencies)
            else:
                rate, latencies = await customers(client, 6 * cycles, 6 * WARM_UP_CYCLES)
                record(results, "customer_commands", rate, latencies)


# -- technician booking --------------------------------------------------------------------------


def slot(day: datetime, i: int) -> dict[str, str]:
    """The ``i``-th half hour from 06:00 UTC on ``day``."""
    start = day.replace(hour=6, minute=0) + timedelta(minutes=30 * i)
    return {"start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()}


async def booking_round(
    client: httpx.AsyncClient, ticket: dict[str, str], technicians: list[str], day: datetime
) -> tuple[float, list[float]]:
    """``len(technicians)`` concurrent bookings, the ``i``-th in slot ``i`` of ``day``; every
    one must be accepted and the visits read model must then show exactly them, scheduled and
    never two overlapping for one technician. Returns seconds taken and each latency."""
    latencies: list[float] = []

    async def book(i: int, technician: str) -> dict[str, Any]:
        body = {
            "ticket_id": ticket["id"],
            "customer_id": ticket["customer_id"],
            "technician_id": technician,
            "address": "1 Bench Street",
            **slot(day, i),
        }
        start = time.perf_counter()
        answer = expect(await client.post("/visits", json=body), 201)
        latencies.append(time.perf_counter() - start)
        return answer

    start = time.perf_counter()
    answers = await asyncio.gather(*(book(i, t) for i, t in enumerate(technicians)))
    elapsed = time.perf_counter() - start

    booked = {a["id"] for a in answers}
    assert len(booked) == len(technicians), "two bookings answered with one visit"
    position = max(a["position"] for a in answers)
    shown: list[dict[str, Any]] = []
    for technician in sorted(set(technicians)):
        r = await client.get(
            "/visits",
            params={
                "technician_id": technician,
                "day": day.date().isoformat(),
                "limit": 500,
                "min_position": position,
            },
        )
        page = expect(r, 200)
        assert "X-CRM-Stale" not in r.headers, "the visits read model did not catch up"
        visits = sorted(page["items"], key=lambda v: v["start"])
        assert all(v["status"] == "scheduled" for v in visits)
        for a, b in itertools.pairwise(visits):
            assert a["end"] <= b["start"], f"{technician} double-booked: {a} and {b}"
        shown += visits
    assert {v["id"] for v in shown} == booked, "a booking is missing or extra in the read model"
    return elapsed, latencies


async def bookings(d: Path, rounds: int, rep: int, results: Results) -> None:
    """Rounds of 16 concurrent bookings, same technician and different technicians
    alternately (which goes first alternates with the repetition), each round on a day of
    its own so that every contended round starts from an empty technician-day."""
    clock = ManualClock(MON)
    async with serving(d, clock) as (_, client):
        (customer,) = await register(client)
        ticket_body = {
            "customer_id": customer,
            "kind": "service_request",
            "channel": "phone",
            "priority": "normal",
            "subject": "boiler",
            "description": "needs a visit",
        }
        ticket = expect(await client.post("/tickets", json=ticket_body), 201)
        ticket = {"id": ticket["id"], "customer_id": customer}
        kinds = ("same", "different") if rep % 2 == 0 else ("different", "same")
        timed: dict[str, tuple[float, list[float]]] = {k: (0.0, []) for k in kinds}
        for r in range(2 + rounds):  # the first round of each kind is the warm-up
            kind = kinds[r % 2]
            day = MON + timedelta(days=1 + r)
            technicians = (
                ["tech-shared"] * CONCURRENCY
                if kind == "same"
                else [f"tech-{r}-{i}" for i in range(CONCURRENCY)]
            )
            elapsed, latencies = await booking_round(client, ticket, technicians, day)
            if r >= 2:
                seconds, all_latencies = timed[kind]
                timed[kind] = (seconds + elapsed, all_latencies + latencies)
        for kind, (seconds, latencies) in timed.items():
            record(results, f"book_{kind}_technician", len(latencies) / seconds, latencies)


# -- SLA scheduler tick --------------------------------------------------------------------------


async def open_tickets(client: httpx.AsyncClient, n: int) -> None:
    """``n`` high-priority tickets opened now, 16 requests at a time."""
    body = {
        "kind": "service_request",
        "channel": "email",
        "priority": "high",
        "subject": "it broke",
        "description": "the details",
    }
    customers = await register(client, CONCURRENCY)
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            ticket = {**body, "customer_id": customers[i % len(customers)]}
            expect(await client.post("/tickets", json=ticket), 201)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def settle(platform: Platform) -> None:
    """Until the tickets read model has applied every ticket event in the store (the churn
    monitor's verdicts come after them, in a category it does not read)."""
    head = await platform.store.head_position()
    _, caught_up = await wait_until(
        platform.read_store,
        TICKETS_PROJECTION.name,
        head,
        60.0,
        store=platform.store,
        categories=TICKETS_PROJECTION.categories,
    )
    assert caught_up, "the tickets read model did not catch up"


async def sla_tick(d: Path, n: int, step: Step, results: Results) -> None:
    """``n`` open tickets, ``DUE_SHARE`` of them opened a day earlier (past both targets at
    ``now``): one timed tick records their breaches, then the same tick again finds nothing."""
    due = max(1, round(n * DUE_SHARE))
    clock = ManualClock(MON)
    async with serving(d, clock) as (platform, client):
        step(f"SLA tick: opening {n} tickets")
        await open_tickets(client, due)  # Monday: past both targets on Tuesday
        clock.set(TUE)
        await open_tickets(client, n - due)  # Tuesday 09:00: first response due at 10:00
        now = TUE + timedelta(minutes=5)
        clock.set(now)
        await settle(platform)
        scheduler = ServiceDeskScheduler(platform.runtime)
        warm = await scheduler.tick(MON + timedelta(minutes=5))  # nothing due yet: untimed
        assert warm.recorded == 0, warm
        assert not warm.failed, warm

        step(f"SLA tick: {due} of {n} tickets due")
        start = time.perf_counter()
        report = await scheduler.tick(now)
        seconds = time.perf_counter() - start
        assert not report.failed, report
        assert not report.warned, report
        assert len(report.breached) == 2 * due, (len(report.breached), due)
        assert len(set(report.breached)) == due
        results.figures[f"{GROUP}.sla_due_checked"].samples.append(due / seconds)
        results.figures[f"{GROUP}.sla_tick_due_ms"].samples.append(seconds * 1000)
        results.figures[f"{GROUP}.sla_events_recorded"].samples.append(report.recorded)

        await settle(platform)
        idle: list[float] = []
        for _ in range(IDLE_TICKS):
            start = time.perf_counter()
            again = await scheduler.tick(now)
            idle.append(time.perf_counter() - start)
            assert again.recorded == 0, again
            assert not again.failed, again
            assert not again.unchanged, again
        results.figures[f"{GROUP}.sla_tick_idle_ms"].samples.append(sum(idle) / len(idle) * 1000)


# -- figures -------------------------------------------------------------------------------------


def declare(results: Results) -> None:
    g = GROUP
    cust = f"{g}.customer_commands"
    results.figure(
        f"{g}.o2c_cycles", "order to cash (6 commands), 1 at a time", "cycles/s", peers=(cust,)
    )
    results.figure(
        f"{g}.o2c_commands", "order-to-cash commands, 1 at a time", "commands/s", peers=(cust,)
    )
    results.figure(
        f"{g}.o2c_commands_p50_ms", "order-to-cash commands: p50", "ms", peers=(f"{cust}_p50_ms",)
    )
    results.figure(
        f"{g}.o2c_commands_p99_ms", "order-to-cash commands: p99", "ms", peers=(f"{cust}_p99_ms",)
    )
    results.figure(cust, "POST /customers, 1 at a time", "commands/s")
    results.figure(f"{cust}_p50_ms", "POST /customers: p50", "ms")
    results.figure(f"{cust}_p99_ms", "POST /customers: p99", "ms")

    same, different = f"{g}.book_same_technician", f"{g}.book_different_technician"
    n = CONCURRENCY
    results.figure(
        same, f"{n} concurrent bookings, one technician-day", "bookings/s", peers=(different,)
    )
    results.figure(
        f"{same}_p50_ms", "bookings, one technician-day: p50", "ms", peers=(f"{different}_p50_ms",)
    )
    results.figure(
        f"{same}_p99_ms", "bookings, one technician-day: p99", "ms", peers=(f"{different}_p99_ms",)
    )
    results.figure(different, f"{n} concurrent bookings, {n} technicians", "bookings/s")
    results.figure(f"{different}_p50_ms", f"bookings, {n} technicians: p50", "ms")
    results.figure(f"{different}_p99_ms", f"bookings, {n} technicians: p99", "ms")

    idle = f"{g}.sla_tick_idle_ms"
    results.figure(f"{g}.sla_due_checked", "SLA tick: due tickets checked", "tickets/s")
    results.figure(
        f"{g}.sla_tick_due_ms", "SLA tick, 10 % of open tickets due", "ms", peers=(idle,)
    )
    results.figure(f"{g}.sla_events_recorded", "SLA tick: breaches recorded", "events")
    results.figure(idle, "SLA tick, same tickets, nothing due", "ms")


def record(results: Results, key: str, rate: float, latencies: list[float] | None = None) -> None:
    f = results.figures
    f[f"{GROUP}.{key}"].samples.append(rate)
    if latencies is not None:
        f[f"{GROUP}.{key}_p50_ms"].samples.append(percentile(latencies, 50) * 1000)
        f[f"{GROUP}.{key}_p99_ms"].samples.append(percentile(latencies, 99) * 1000)


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    cycles = plan.size(60, 3)
    rounds = plan.size(10, 2)
    tickets = plan.size(2000, 40)
    for rep in range(plan.repetitions):
        reps = f"repetition {rep + 1}/{plan.repetitions}"
        with scratch_dir("workflows") as d:
            step(f"order to cash, {reps}")
            await order_to_cash(d / "o2c", cycles, rep, results)
            step(f"technician bookings, {reps}")
            await bookings(d / "visits", rounds, rep, results)
            step(f"SLA tick, {reps}")
            await sla_tick(d / "sla", tickets, step, results)
