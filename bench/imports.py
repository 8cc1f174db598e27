"""Group ``imports``: customers brought in from a CSV file, next to the same number of customers
registered one ``POST /customers`` at a time, in the same platform and the same run.

The platform is the customer context's app (httpx over ASGI, its projections running,
SQLite stores in a scratch directory on a real disk). Each repetition writes a fresh file of
N customers (distinct names, e-mails and phones: every row creates), then, in an order that
alternates with the repetition, runs

- **the import**: its dry run (every row read, normalised, checked by the request model and
  the domain, matched against the file's earlier rows and the read model), then the run (one
  ``RegisterCustomer`` per row through the command bus, under the row's idempotency key, a
  batch at a time) -- what ``POST /imports/{id}/confirm`` and ``crm import`` do;
- **the peer**: N other customers, each a ``POST /customers`` awaited before the next (the
  request, the token, validation, the duplicate check and the append).

Figures: import rows/s (dry run and run), run rows/s alone, dry-run rows/s, and the peer's
commands/s. Every row must have created its customer (asserted).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from uuid import UUID, uuid4

import httpx

from bench.measure import Plan, Results, Step, scratch_dir
from crm.customer.context import CONTEXT as CUSTOMER
from crm.events.imports import ImportOptions
from crm.kernel.auth import Role, TokenIssuer
from crm.kernel.repository import CommandContext
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import Platform, ensure_first_tenant, open_platform
from crm.platform.imports.customers import FIELDS
from crm.platform.imports.mapping import suggest
from crm.platform.imports.record import PlanImport
from crm.platform.imports.run import CustomerImport
from crm.platform.imports.run import run as run_import
from crm.platform.imports.sources import RowSource

GROUP = "imports"
SECRET = "bench-secret-" + "i" * 40


def write_file(path: Path, rows: int, tag: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["姓名", "邮箱", "手机", "地区"])
        for i in range(rows):
            out.writerow([f"Imported {tag} {i}", f"{tag}-{i}@example.com", f"139{i:08d}", "华东"])


def declare(results: Results) -> None:
    g = GROUP
    posts = f"{g}.post_customers"
    results.figure(f"{g}.import_rows", "import: dry run + run, per row", "rows/s", peers=(posts,))
    results.figure(f"{g}.run_rows", "import: the run alone", "rows/s", peers=(posts,))
    results.figure(
        f"{g}.dry_run_rows", "import: the dry run alone", "rows/s", peers=(f"{g}.run_rows",)
    )
    results.figure(posts, "POST /customers, 1 at a time", "commands/s")


async def import_file(platform: Platform, path: Path, rows: int) -> tuple[float, float]:
    """Seconds of the dry run and of the run."""
    runtime = platform.runtime
    import_id = str(uuid4())
    ctx = CommandContext(
        actor="bench",
        role=Role.MANAGER.value,
        tenant="default",
        now=runtime.clock.now(),
        correlation_id=UUID(import_id),
    )
    source = RowSource(path)
    planner = CustomerImport(
        runtime, source, suggest(source.headers, FIELDS), ImportOptions(), "default", import_id
    )
    start = time.perf_counter()
    report = await planner.dry_run()
    await runtime.commands.execute(PlanImport(import_id, planner.planned(report)), ctx)
    planned = time.perf_counter()
    done = await run_import(planner, ctx)
    finished = time.perf_counter()
    assert report.create == rows, report.counts()
    assert done.create == rows, done.counts()
    return planned - start, finished - planned


async def posts(client: httpx.AsyncClient, rows: int, tag: str) -> float:
    start = time.perf_counter()
    for i in range(rows):
        body = {"name": f"Posted {tag} {i}", "email": f"{tag}-{i}@example.org", "region": "华东"}
        r = await client.post("/customers", json=body)
        assert r.status_code == 201, r.text
    return time.perf_counter() - start


async def repetition(d: Path, rows: int, rep: int, results: Results, *, timed: bool) -> None:
    settings = Settings(data_dir=d / "data", secret=SECRET)
    platform = open_platform(settings, contexts=(CUSTOMER,))
    try:
        await ensure_first_tenant(platform)
        app = create_app(platform)
        token = TokenIssuer(SECRET).issue("bench", Role.MANAGER, "default")
        path = d / "customers.csv"
        tag = f"r{rep}"
        write_file(path, rows, tag)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://crm.bench",
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            ) as client,
        ):
            order = ("import", "posts") if rep % 2 == 0 else ("posts", "import")
            for which in order:
                if which == "import":
                    dry, wet = await import_file(platform, path, rows)
                    if timed:
                        results.figures[f"{GROUP}.import_rows"].samples.append(rows / (dry + wet))
                        results.figures[f"{GROUP}.run_rows"].samples.append(rows / wet)
                        results.figures[f"{GROUP}.dry_run_rows"].samples.append(rows / dry)
                else:
                    seconds = await posts(client, rows, tag)
                    if timed:
                        results.figures[f"{GROUP}.post_customers"].samples.append(rows / seconds)
    finally:
        await platform.close()


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    rows = plan.size(1000, 20)
    with scratch_dir("imports") as d:
        step(f"warm-up: {rows // 10} rows each way")
        await repetition(d / "warm", max(rows // 10, 10), 0, results, timed=False)
    for rep in range(plan.repetitions):
        with scratch_dir("imports") as d:
            step(f"{rows} rows imported, {rows} POST /customers, {rep + 1}/{plan.repetitions}")
            await repetition(d, rows, rep, results, timed=True)
