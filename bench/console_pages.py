"""Group ``console``: the server time of the console's main pages at demo size, each next to
the JSON route it is built on (the issue's goal: under 2x).

A demo company is generated through the real command path (:mod:`crm.platform.demo`: 100
customers over 12 months, seed 7; ``--quick``: 20 over 3), its people console users. Then the
whole app (``create_app``, every projection caught up) is asked in process, over httpx's ASGI
transport (server time, no sockets), as the demo's manager ``mgr-nora`` (and the agent
``agent-ivy`` for the queue), each page signed in with its session cookie and its peer with a
bearer token of the same user, alternately, ``N`` times each (200; 20):

- the customer list (``/console/customers``) and ``GET /customers?limit=20``;
- a customer's page (``/console/customers/{id}``) and ``GET /analytics/customers/{id}/360``
  (the page also reads the customer, their interactions and the directory);
- the pipeline board (``/console/pipeline``) and ``GET /opportunities?status=open&limit=200``;
- the ticket queue (``/console/tickets``) and ``GET /tickets?sort=sla_breach_check_at``.

Figures per page: p50 and p99 over the N requests of a repetition, page and route; and the
process's CPU time per request (``time.process_time`` around each, the mean of a repetition),
which the load of other processes on the machine moves much less than wall times.

And the check every console request makes of its session when its few seconds' cache has
no answer (:class:`crm.console.session_check.SessionCheck`: the user's ``console_users``
document and their stream after its version), next to the read of that document alone (what
a request read before sessions were ended in every process), 1000 times each (100),
alternately: microseconds per check, median of a repetition.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.measure import Plan, Results, Step, percentile, scratch_dir
from crm.console.directory import UserDirectory
from crm.console.session_check import SessionCheck
from crm.console.users import load_user
from crm.kernel.auth import Role
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import Platform, open_platform
from crm.platform.demo import generate
from crm.platform.demo.client import DEMO_TENANT
from crm.platform.demo.console_users import DEMO_PASSWORD

GROUP = "console"
SEED = 7
SECRET = "bench-console-secret-" + "p" * 40
PAGES = ("customers", "customer", "pipeline", "tickets")
LABELS = {
    "customers": ("customer list page", "GET /customers"),
    "customer": ("a customer's page", "GET /analytics/customers/{id}/360"),
    "pipeline": ("pipeline board", "GET /opportunities?status=open"),
    "tickets": ("ticket queue (agent)", "GET /tickets"),
}


def declare(results: Results) -> None:
    results.figure(
        f"{GROUP}.session_check_us",
        "session check, cache missed (document + stream tail)",
        "us",
        peers=(f"{GROUP}.directory_read_us",),
    )
    results.figure(f"{GROUP}.directory_read_us", "the user's directory document alone", "us")
    for page in PAGES:
        label, route = LABELS[page]
        for p in ("p50", "p99", "cpu"):
            peer = f"{GROUP}.{page}_json_{p}_ms"
            said = "CPU per request" if p == "cpu" else p
            results.figure(f"{GROUP}.{page}_page_{p}_ms", f"{label}: {said}", "ms", peers=(peer,))
            results.figure(peer, f"{route}: {said}", "ms")


async def sign_in(client: httpx.AsyncClient, user: str) -> None:
    page = await client.get("/console/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = await client.post(
        "/console/sign-in",
        data={"csrf": csrf[1], "tenant": DEMO_TENANT, "user_id": user, "password": DEMO_PASSWORD},
    )
    if answer.status_code != 303:
        raise RuntimeError(f"{user} could not sign in: {answer.status_code}")


async def timed_get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> tuple[float, float]:
    """The request's wall time and this process's CPU time over it (seconds)."""
    started, cpu = time.perf_counter(), time.process_time()
    answer = await client.get(url, headers=headers)
    took, used = time.perf_counter() - started, time.process_time() - cpu
    if answer.status_code != 200:
        raise RuntimeError(f"GET {url}: {answer.status_code} {answer.text[:200]}")
    return took, used


def record(results: Results, page: str, kind: str, samples: Sequence[tuple[float, float]]) -> None:
    walls = [wall for wall, _ in samples]
    for p, q in (("p50", 50), ("p99", 99)):
        key = f"{GROUP}.{page}_{kind}_{p}_ms"
        results.figures[key].samples.append(percentile(walls, q) * 1000)
    cpu = sum(used for _, used in samples) / len(samples)
    results.figures[f"{GROUP}.{page}_{kind}_cpu_ms"].samples.append(cpu * 1000)


async def session_checks(platform: Platform, n: int, results: Results) -> None:
    check = SessionCheck(platform.runtime, seconds=0.0)  # every check a miss
    directory = UserDirectory(platform.runtime.read_store)
    checks, reads = [], []
    for _ in range(n):
        started = time.perf_counter()
        assert await check.user(DEMO_TENANT, "mgr-nora") is not None
        checks.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert await directory.get(DEMO_TENANT, "mgr-nora") is not None
        reads.append(time.perf_counter() - started)
    results.figures[f"{GROUP}.session_check_us"].samples.append(percentile(checks, 50) * 1e6)
    results.figures[f"{GROUP}.directory_read_us"].samples.append(percentile(reads, 50) * 1e6)


async def measure(d: Path, plan: Plan, step: Step, results: Results) -> None:
    customers, months = plan.size(100, 20), plan.size(12, 3)
    settings = Settings(
        data_dir=d, secret=SECRET, sqlite_synchronous="NORMAL", rate_limit_enabled=False
    )

    def progress(day: int, days: int, commands: int) -> None:
        if day % 30 == 0 or day == days:
            step(f"generating {customers} customers: day {day}/{days}, {commands} commands")

    await generate(settings, customers=customers, months=months, seed=SEED, progress=progress)
    platform = open_platform(settings)
    try:
        app = create_app(platform)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            manager = httpx.AsyncClient(transport=transport, base_url="http://bench")
            agent = httpx.AsyncClient(transport=transport, base_url="http://bench")
            async with manager, agent:
                await sign_in(manager, "mgr-nora")
                await sign_in(agent, "agent-ivy")
                bus, tokens = platform.runtime.commands, platform.runtime.tokens
                nora = await load_user(bus, DEMO_TENANT, "mgr-nora")
                ivy = await load_user(bus, DEMO_TENANT, "agent-ivy")
                assert nora is not None
                assert ivy is not None
                bearer = {
                    "mgr-nora": {
                        "Authorization": "Bearer "
                        + tokens.issue("mgr-nora", Role.MANAGER, DEMO_TENANT, team=nora.team)
                    },
                    "agent-ivy": {
                        "Authorization": "Bearer "
                        + tokens.issue("agent-ivy", Role.AGENT, DEMO_TENANT, team=ivy.team)
                    },
                }
                listed = await manager.get(
                    "/customers", params={"limit": 20}, headers=bearer["mgr-nora"]
                )
                some = listed.json()["items"][len(listed.json()["items"]) // 2]["id"]
                pairs = {
                    "customers": (manager, "mgr-nora", "/console/customers", "/customers?limit=20"),
                    "customer": (
                        manager,
                        "mgr-nora",
                        f"/console/customers/{some}",
                        f"/analytics/customers/{some}/360",
                    ),
                    "pipeline": (
                        manager,
                        "mgr-nora",
                        "/console/pipeline",
                        "/opportunities?status=open&limit=200&sort=expected_close_date",
                    ),
                    "tickets": (
                        agent,
                        "agent-ivy",
                        "/console/tickets",
                        "/tickets?sort=sla_breach_check_at",
                    ),
                }
                n = plan.size(200, 20)
                for rep in range(plan.repetitions):
                    for page, (client, user, page_url, json_url) in pairs.items():
                        step(f"repetition {rep + 1}/{plan.repetitions}, {page}: {n} + {n}")
                        for _ in range(3):  # warm-up: templates compiled, caches filled
                            await timed_get(client, page_url, {})
                            await timed_get(client, json_url, bearer[user])
                        pages, routes = [], []
                        for _ in range(n):
                            pages.append(await timed_get(client, page_url, {}))
                            routes.append(await timed_get(client, json_url, bearer[user]))
                        record(results, page, "page", pages)
                        record(results, page, "json", routes)
                    step(f"repetition {rep + 1}/{plan.repetitions}, the session check")
                    await session_checks(platform, plan.size(1000, 100), results)
    finally:
        await platform.close()


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    # one company, generated once: the repetitions are rounds of pages and routes over it
    with scratch_dir("console") as d:
        await measure(d, plan, step, results)
