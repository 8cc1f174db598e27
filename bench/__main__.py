"""``python -m bench [--quick] [--json FILE] [--only GROUP[,GROUP]]``: run the benchmark
groups, show progress on stderr and the figures, each next to its peers, on stdout."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.measure import Figure, Plan, Results, machine

GROUPS = {
    "event_store": "bench.event_store",
    "http": "bench.http_api",
    "log_size": "bench.log_size",
    "projection": "bench.projection",
    "rebuild_size": "bench.rebuild_size",
    "kafka": "bench.kafka_bus",
    "workflows": "bench.workflows",
    "churn": "bench.churn",
    "lead_scoring": "bench.lead_scoring",
    "imports": "bench.imports",
    "reminders": "bench.reminders",
    "console": "bench.console_pages",
    "as_of": "bench.as_of",
    "webhooks": "bench.webhooks",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure here")
    parser.add_argument(
        "--only",
        default=",".join(GROUPS),
        metavar="GROUP[,GROUP]",
        help=f"groups to run (default: all of {', '.join(GROUPS)})",
    )
    parser.add_argument(
        "--repetitions", type=int, default=None, help="timed repetitions (default 5, quick 2)"
    )
    args = parser.parse_args(argv)
    args.groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group(s) {unknown}; known: {', '.join(GROUPS)}")
    return args


def fmt(value: float) -> str:
    if math.isnan(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def spread(fig: Figure) -> str:
    if len(fig.samples) < 2:
        return ""
    return f"{fmt(fig.low)} .. {fmt(fig.high)}"


def table(results: Results, group: str) -> Table:
    t = Table(title=f"[bold]{group}[/bold]", title_justify="left", expand=False)
    t.add_column("key")
    t.add_column("figure")
    t.add_column("median", justify="right")
    t.add_column("min .. max", justify="right")
    t.add_column("unit")
    t.add_column("n", justify="right")
    t.add_column("ratio to peer (measured side by side)")
    for fig in results.figures.values():
        if not fig.key.startswith(group + "."):
            continue
        ratios = results.ratios(fig)
        vs = ", ".join(f"{r:.2f}x {k.split('.', 1)[1]}" for k, r in ratios.items())
        name = fig.key.split(".", 1)[1]
        count = str(len(fig.samples))
        t.add_row(name, fig.label, fmt(fig.median), spread(fig), fig.unit, count, vs)
    return t


async def run(args: argparse.Namespace, results: Results, err: Console) -> list[str]:
    plan = Plan(quick=args.quick, repetitions=args.repetitions or (2 if args.quick else 5))
    failed: list[str] = []
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[group]}[/bold] {task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        for group in args.groups:
            task = progress.add_task("starting", group=group)

            def step(message: str, task: Any = task) -> None:
                progress.update(task, description=message)

            module = importlib.import_module(GROUPS[group])
            started = time.perf_counter()
            try:
                await module.run(results, plan, step)
            except Exception as e:  # one broken group must not hide the others' figures
                failed.append(group)
                err.print_exception()
                step(f"[red]failed: {e!r}[/red]")
            else:
                step(f"done in {time.perf_counter() - started:.1f}s")
    return failed


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    err = Console(stderr=True)
    out = Console(file=sys.stdout, width=160)
    info = machine()
    err.print(
        f"[dim]{info['cpu_count']} cpu ({info['cpu_model']}), python {info['python']},"
        f" sqlite {info['sqlite']}, scratch on {info['scratch_filesystem']},"
        f" load {info['load_average_at_start']}[/dim]"
    )
    results = Results()
    started = time.perf_counter()
    failed = asyncio.run(run(args, results, err))
    for group in args.groups:
        out.print(table(results, group))
    info["seconds"] = round(time.perf_counter() - started, 1)
    info["quick"] = args.quick
    info["groups"] = args.groups
    info["failed_groups"] = failed
    out.print(
        f"{info['cpu_count']} cpu, python {info['python']}, sqlite {info['sqlite']},"
        f" {info['seconds']}s{', QUICK (smoke sizes)' if args.quick else ''}"
    )
    if args.json is not None:
        args.json.write_text(
            json.dumps({"machine": info, "figures": results.as_json()}, indent=2) + "\n"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
