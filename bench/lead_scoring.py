"""Group ``lead_scoring``: how good the lead score is on the demo company's generated history,
next to the naive baseline (a logistic regression on the lead's source alone).

A fresh company history is generated through the real command path
(:mod:`crm.platform.demo`: 300 customers over 18 months, seed 2026; ``--quick``: 80 over 6,
whose older 70 % holds 44 decided leads, the 30 a fit needs and some to spare, in a quarter
of the time 12 months took),
the projections caught up, and the tenant's leads and opportunities read from the read models
as the scorer reads them (:func:`crm.analytics.leads.history.tenant_history`). On a
time-based split of the decided history (the older 70 % of decisions to fit, the newer 30 %
to measure; :func:`crm.analytics.leads.evaluation.evaluate`), per kind (leads: converted or
disqualified; opportunities: won or lost): ROC AUC and Brier score of the fitted model and of
the baseline, and both reliability tables on stdout. One dataset per run: one sample each.

What the demo's history is (see the README): a lead that becomes a customer gave a company,
was qualified and came from any of four sources; a lead that goes nowhere came from the
website, gave no company and was never qualified. So the lead model separates them almost
perfectly on "company" and "qualified" and this figure says little beyond "the pipeline
works"; the synthetic test (``tests/unit/test_lead_scoring.py``) is where recovering a known
effect is proven.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time

from rich.console import Console
from rich.table import Table

from bench.measure import Plan, Results, Step, scratch_dir
from crm.kernel.clock import ManualClock
from crm.kernel.settings import Settings
from crm.platform.bootstrap import open_platform
from crm.platform.demo import generate, load_truth

GROUP = "lead_scoring"
SEED = 2026
SECRET = "bench-leads-secret-" + "l" * 40
KINDS = ("lead", "opportunity")
PLURAL = {"lead": "leads", "opportunity": "opportunities"}


def declare(results: Results) -> None:
    g = GROUP
    for kind in KINDS:
        many = PLURAL[kind]
        results.figure(f"{g}.{kind}_train", f"{many} decided, fitted on (older 70 %)", many)
        results.figure(f"{g}.{kind}_test", f"{many} decided, measured on (newer 30 %)", many)
        for name, label in (("auc", "ROC AUC"), ("brier", "Brier score (lower is better)")):
            results.figure(
                f"{g}.{kind}_model_{name}",
                f"{kind} score: {label}",
                "",
                peers=(f"{g}.{kind}_baseline_{name}",),
            )
            results.figure(f"{g}.{kind}_baseline_{name}", f"baseline (source only): {label}", "")


def record(results: Results, key: str, value: float) -> None:
    results.figures[f"{GROUP}.{key}"].samples.append(value)


def reliability_table(title: str, rows: list[dict[str, float | int | None]]) -> Table:
    t = Table(title=title, title_justify="left")
    for column in ("predicted", "rows", "mean predicted", "observed won or converted"):
        t.add_column(column, justify="right")
    for b in rows:
        mean, seen = b["predicted"], b["observed"]
        t.add_row(
            f"{b['low']:.1f}-{b['high']:.1f}",
            str(b["n"]),
            "-" if mean is None else f"{mean:.3f}",
            "-" if seen is None else f"{seen:.3f}",
        )
    return t


async def run(results: Results, plan: Plan, step: Step) -> None:
    from crm.analytics.leads.evaluation import evaluate
    from crm.analytics.leads.history import tenant_history
    from crm.platform.demo.client import DEMO_TENANT

    declare(results)
    customers = plan.size(300, 80)  # quick: enough decided leads to fit on
    months = plan.size(18, 6)
    console = Console(file=sys.stdout, width=160)
    with scratch_dir("lead_scoring") as d:
        settings = Settings(data_dir=d, secret=SECRET, sqlite_synchronous="NORMAL")

        def progress(day: int, days: int, commands: int) -> None:
            if day % 10 == 0 or day == days:
                step(f"generating {customers} customers: day {day}/{days}, {commands} commands")

        report = await generate(
            settings, customers=customers, months=months, seed=SEED, progress=progress
        )
        end = date.fromisoformat(load_truth(report.truth)["end"])
        now = datetime.combine(end, time(0), UTC)
        step("reading the leads and opportunities from the read models")
        platform = open_platform(settings, clock=ManualClock(now))
        try:
            await platform.start_projections()
            await platform.stop_projections()
            history = await tenant_history(platform.runtime.read_store, DEMO_TENANT)
        finally:
            await platform.close()
        for kind in KINDS:
            step(f"{PLURAL[kind]}: fit on the older 70 %, measure on the newer 30 %")
            found = evaluate(kind, history.facts, history.pipeline, now.date()).to_dict()
            record(results, f"{kind}_train", found["n_train"])
            record(results, f"{kind}_test", found["n_test"])
            console.print(f"demo company, {PLURAL[kind]}: {found['reason']}")
            if found["model"] is None:
                continue
            for side in ("model", "baseline"):
                record(results, f"{kind}_{side}_auc", found[side]["auc"])
                record(results, f"{kind}_{side}_brier", found[side]["brier"])
                console.print(
                    reliability_table(
                        f"demo reliability, {kind} {side}", found[side]["reliability"]
                    )
                )
