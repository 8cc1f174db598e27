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

**A sales history** (``crm.platform.imports.sales``), in the customer and sales contexts' app:
M orders of 2019 (default 300, quick 10), two lines each, delivered, invoiced and paid in
full, imported from one CSV (dry run and run: five commands an order, each under its key and
dated by its fact) next to the same M histories sent by hand, one request at a time
(``POST /orders``, ``/ship``, ``/deliver``, ``POST /invoices``, ``POST /payments``), for the
same customers and product. Every order asserted imported, and paid.

**Peak memory** (issue 13): a process of its own (``python -m bench.imports``: the platform's
app served with its projections, the embedded default) writes a file of customers and imports
it, and reports its own RSS high-water (``VmHWM``, reset once it is served): the dry run of
N = 100 000 rows (quick 1 000), the dry run then the run of the same N, each next to the same
process started and served with no import, and next to the same run of N / 10 rows (flat when
the run holds nothing per row). The big run's rows/s are a figure too. Once per bench run, not
per repetition (a 100 000-row run takes minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import httpx

from bench.measure import Plan, Results, Step, process_peak_rss_mib, scratch_dir
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
from crm.platform.imports.sales import OrderImport
from crm.platform.imports.sources import RowSource
from crm.sales.context import CONTEXT as SALES

GROUP = "imports"
SECRET = "bench-secret-" + "i" * 40


def write_file(path: Path, rows: int, tag: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["姓名", "邮箱", "手机", "地区"])
        for i in range(rows):
            out.writerow([f"Imported {tag} {i}", f"{tag}-{i}@example.com", f"139{i:08d}", "华东"])


ORDER_HEADERS = ["订单号", "邮箱", "下单日期", "货号", "数量", "订单状态", "开票日期", "已付金额"]


def write_orders(path: Path, orders: int, customers: int, tag: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(ORDER_HEADERS)
        for i in range(orders):
            email = f"buyer-{i % customers}@example.com"
            day = f"2019-{1 + i % 12:02d}-{1 + i % 28:02d}"
            out.writerow([f"{tag}-{i}", email, day, "BENCH-1", "2", "已完成", day, "是"])
            out.writerow([f"{tag}-{i}", "", "", "BENCH-2", "1", "", "", ""])


def declare(results: Results) -> None:
    g = GROUP
    posts = f"{g}.post_customers"
    by_hand = f"{g}.orders_by_hand"
    results.figure(
        f"{g}.order_rows",
        "import of orders (2 lines, delivered, invoiced, paid): dry run + run",
        "orders/s",
        peers=(by_hand,),
    )
    results.figure(by_hand, "the same orders by hand: 5 requests each, 1 at a time", "orders/s")
    results.figure(f"{g}.import_rows", "import: dry run + run, per row", "rows/s", peers=(posts,))
    results.figure(f"{g}.run_rows", "import: the run alone", "rows/s", peers=(posts,))
    results.figure(
        f"{g}.dry_run_rows", "import: the dry run alone", "rows/s", peers=(f"{g}.run_rows",)
    )
    results.figure(posts, "POST /customers, 1 at a time", "commands/s")
    start = f"{g}.rss_started_mib"
    results.figure(
        f"{g}.rss_dry_run_mib", "peak RSS: dry run of N rows (own process)", "MiB", peers=(start,)
    )
    results.figure(
        f"{g}.rss_run_mib",
        "peak RSS: dry run + run of N rows (own process)",
        "MiB",
        peers=(start, f"{g}.rss_run_tenth_mib"),
    )
    results.figure(f"{g}.rss_run_tenth_mib", "peak RSS: dry run + run of N / 10 rows", "MiB")
    results.figure(start, "peak RSS: the same process served, no import", "MiB")
    results.figure(
        f"{g}.big_run_rows",
        "import of N rows in its own process: the run alone",
        "rows/s",
        peers=(f"{g}.run_rows",),
    )


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


@contextlib.asynccontextmanager
async def served(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """The platform's app running (its projections too), and a client of it in process with
    a manager's token."""
    app = create_app(platform)
    token = TokenIssuer(SECRET).issue("bench", Role.MANAGER, "default")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://crm.bench",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ) as client,
    ):
        yield client


async def repetition(d: Path, rows: int, rep: int, results: Results, *, timed: bool) -> None:
    settings = Settings(data_dir=d / "data", secret=SECRET)
    platform = open_platform(settings, contexts=(CUSTOMER,))
    try:
        await ensure_first_tenant(platform)
        path = d / "customers.csv"
        tag = f"r{rep}"
        write_file(path, rows, tag)
        async with served(platform) as client:
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


async def orders_by_hand(client: httpx.AsyncClient, customers: list[str], orders: int) -> float:
    """Seconds for ``orders`` histories through the API, one request at a time."""
    start = time.perf_counter()
    for i in range(orders):
        lines = [{"sku": "BENCH-1", "quantity": "2"}, {"sku": "BENCH-2", "quantity": "1"}]
        body = {"customer_id": customers[i % len(customers)], "currency": "CNY", "lines": lines}
        order = await client.post("/orders", json=body)
        assert order.status_code == 201, order.text
        order_id = order.json()["id"]
        for step in ("ship", "deliver"):
            r = await client.post(f"/orders/{order_id}/{step}", json={})
            assert r.status_code == 200, r.text
        invoice = await client.post("/invoices", json={"order_id": order_id})
        assert invoice.status_code == 201, invoice.text
        paid = {"invoice_id": invoice.json()["id"], "amount": {"amount": "250", "currency": "CNY"}}
        r = await client.post("/payments", json=paid)
        assert r.status_code == 201, r.text
    return time.perf_counter() - start


async def import_orders(platform: Platform, path: Path, orders: int) -> float:
    """Seconds of the dry run and the run of the orders file; every order paid."""
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
    options = ImportOptions(currency="CNY")
    mapping = suggest(source.headers, OrderImport.fields)
    planner = OrderImport(runtime, source, mapping, options, "default", import_id)
    start = time.perf_counter()
    report = await planner.dry_run()
    await runtime.commands.execute(PlanImport(import_id, planner.planned(report)), ctx)
    done = await run_import(planner, ctx)
    seconds = time.perf_counter() - start
    assert report.create == orders, report.counts()
    assert done.create == orders, done.counts()
    return seconds


async def sales_repetition(
    d: Path, orders: int, rep: int, results: Results, *, timed: bool
) -> None:
    settings = Settings(data_dir=d / "data", secret=SECRET)
    platform = open_platform(settings, contexts=(CUSTOMER, SALES))
    try:
        await ensure_first_tenant(platform)
        async with served(platform) as client:
            for sku, price in (("BENCH-1", "100"), ("BENCH-2", "50")):
                body = {"sku": sku, "name": sku, "list_price": {"amount": price, "currency": "CNY"}}
                assert (await client.post("/products", json=body)).status_code == 201
            buyers = []
            for i in range(20):
                body = {"name": f"Buyer {i}", "email": f"buyer-{i}@example.com"}
                answer = await client.post("/customers", json=body)
                assert answer.status_code == 201, answer.text
                buyers.append(answer.json()["id"])
            path = d / "orders.csv"
            write_orders(path, orders, len(buyers), f"r{rep}")
            order = ("import", "hand") if rep % 2 == 0 else ("hand", "import")
            for which in order:
                if which == "import":
                    seconds = await import_orders(platform, path, orders)
                    key = f"{GROUP}.order_rows"
                else:
                    seconds = await orders_by_hand(client, buyers, orders)
                    key = f"{GROUP}.orders_by_hand"
                if timed:
                    results.figures[key].samples.append(orders / seconds)
    finally:
        await platform.close()


def reset_peak() -> None:
    """Reset this process's RSS high-water to its RSS now (Linux; elsewhere nothing)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


async def alone(d: Path, rows: int, mode: str) -> dict[str, float]:
    """In this process (``python -m bench.imports``): the platform served in ``d``, and with
    ``mode`` ``dry`` the dry run of a file of ``rows`` customers, with ``run`` its dry run then
    its run, with ``none`` no import. Seconds of each. Once served, the process's RSS
    high-water is reset to its RSS (Linux's ``clear_refs``): start-up's own peak (imports,
    the first tenant, the projections' first catch-up) would hide what the import adds."""
    settings = Settings(data_dir=d / "data", secret=SECRET)
    platform = open_platform(settings, contexts=(CUSTOMER,))
    answer: dict[str, float] = {"rows": rows}
    try:
        await ensure_first_tenant(platform)
        path = d / "customers.csv"
        write_file(path, rows, "m")
        async with served(platform):
            reset_peak()  # the high-water from here: the import's, not the start-up's
            if mode == "dry":
                source = RowSource(path)
                planner = CustomerImport(
                    platform.runtime,
                    source,
                    suggest(source.headers, FIELDS),
                    ImportOptions(),
                    "default",
                )
                start = time.perf_counter()
                report = await planner.dry_run()
                answer["dry"] = time.perf_counter() - start
                assert report.create == rows, report.counts()
            elif mode == "run":
                answer["dry"], answer["run"] = await import_file(platform, path, rows)
            answer["peak_mib"] = process_peak_rss_mib(os.getpid())
    finally:
        await platform.close()
    return answer


def peak_rss(rows: int, mode: str) -> tuple[float, dict[str, float]]:
    """The peak RSS (MiB) of a process of its own doing :func:`alone`, as it read its own
    high-water (``VmHWM``; where there is none, its rusage from ``os.wait4``: which counts
    what the child shared with this process between fork and exec), and what it said."""
    with scratch_dir("imports-rss") as d:
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.imports", str(d), str(rows), mode],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        said = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        assert child.returncode == 0, f"{mode} of {rows} rows exited {child.returncode}"
        answer = json.loads(said)
        peak = answer.get("peak_mib")
        return (usage.ru_maxrss / 1024 if peak is None or math.isnan(peak) else peak), answer


def memory(results: Results, plan: Plan, step: Step) -> None:
    rows = plan.size(100_000, 1_000)
    f = results.figures
    step("peak RSS: the process served, no import")
    f[f"{GROUP}.rss_started_mib"].samples.append(peak_rss(rows, "none")[0])
    step(f"peak RSS: dry run of {rows} rows")
    f[f"{GROUP}.rss_dry_run_mib"].samples.append(peak_rss(rows, "dry")[0])
    step(f"peak RSS: dry run + run of {rows // 10} rows")
    f[f"{GROUP}.rss_run_tenth_mib"].samples.append(peak_rss(rows // 10, "run")[0])
    step(f"peak RSS: dry run + run of {rows} rows")
    mib, said = peak_rss(rows, "run")
    f[f"{GROUP}.rss_run_mib"].samples.append(mib)
    f[f"{GROUP}.big_run_rows"].samples.append(rows / said["run"])


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    await asyncio.to_thread(memory, results, plan, step)
    orders = plan.size(300, 10)
    with scratch_dir("imports") as d:
        step(f"warm-up: {max(orders // 10, 5)} orders each way")
        await sales_repetition(d / "warm", max(orders // 10, 5), 0, results, timed=False)
    for rep in range(plan.repetitions):
        with scratch_dir("imports") as d:
            step(f"{orders} orders imported, {orders} by hand, {rep + 1}/{plan.repetitions}")
            await sales_repetition(d, orders, rep, results, timed=True)
    rows = plan.size(1000, 20)
    with scratch_dir("imports") as d:
        step(f"warm-up: {rows // 10} rows each way")
        await repetition(d / "warm", max(rows // 10, 10), 0, results, timed=False)
    for rep in range(plan.repetitions):
        with scratch_dir("imports") as d:
            step(f"{rows} rows imported, {rows} POST /customers, {rep + 1}/{plan.repetitions}")
            await repetition(d, rows, rep, results, timed=True)


if __name__ == "__main__":  # the process :func:`peak_rss` measures
    print(json.dumps(asyncio.run(alone(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))))
