"""Group ``churn``: how well the churn warnings find the customers who left, on generated data
whose churners are known, next to a naive baseline.

A fresh company history is generated through the real command path
(:mod:`crm.platform.demo`: 300 customers over 18 months, seed 2026; ``--quick``: 40 over
12), whose churners drift away in known ways (slowing, complaining, going silent, paying
late) and leave between a third of the span and two weeks before its end. At the end date
every customer is scored twice:

- **platform**: the churn monitor's assessment (BG/NBD fitted by maximum likelihood on the
  order history, combined with the service signals), after a monitor tick at the end date;
- **baseline**: days since the customer's last order (from the ``sales.order.placed``
  events in the store), higher is riskier.

Against the ground truth (churned or not): precision and recall of the platform's "high"
level (and of "medium or high"), and of the baseline flagging the same number of customers
(its threshold chosen so that the two flag equally many), and of the baseline flagging those
without an order for 90 days; ROC AUC of both scores (the Mann-Whitney U statistic, ties
counted half). Per persona, how many each flags (a table on stdout, and the note of
``platform_flagged`` in the JSON). One dataset per run: the figures have one sample each.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.measure import Plan, Results, Step, scratch_dir
from crm.kernel.clock import ManualClock
from crm.kernel.read_store import Query
from crm.kernel.settings import Settings
from crm.platform.bootstrap import open_platform
from crm.platform.demo import CHURNERS, Persona, generate, load_truth

GROUP = "churn"
SEED = 2026
SECRET = "bench-churn-secret-" + "c" * 40
BASELINE_DAYS = 90
NOT_AVAILABLE = "churn assessment: not available"


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """ROC AUC as the Mann-Whitney U statistic over the positives' ranks (average ranks for
    ties): the chance that a random churner scores above a random stayer, ties counting half."""
    n = len(scores)
    positives = sum(labels)
    negatives = n - positives
    if positives == 0 or negatives == 0:
        return math.nan
    order = sorted(range(n), key=lambda i: scores[i])
    ranks = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    u = rank_sum - positives * (positives + 1) / 2
    return u / (positives * negatives)


def precision_recall(flagged: set[str], truth: Mapping[str, bool]) -> tuple[float, float]:
    churners = {c for c, churned in truth.items() if churned}
    hits = len(flagged & churners)
    precision = hits / len(flagged) if flagged else math.nan
    recall = hits / len(churners) if churners else math.nan
    return precision, recall


def top(scores: Mapping[str, float], k: int) -> set[str]:
    """The ``k`` riskiest by score (ties broken by id, so the choice is reproducible)."""
    return {c for c, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]}


async def days_since_last_order(
    settings: Settings, customers: Sequence[str], now: datetime
) -> dict[str, float]:
    """The baseline, from the store's order events alone (no read model, no analytics): a
    customer without an order counts from their first event."""
    platform = open_platform(settings, clock=ManualClock(now))
    last: dict[str, datetime] = {}
    first: dict[str, datetime] = {}
    try:
        async for page in platform.store.read_all(0):
            for e in page:
                if e.event_type == "sales.order.placed":
                    last[e.payload["customer_id"]] = e.occurred_at
                elif e.event_type == "customer.registered":
                    first[e.stream_id.split("-", 1)[1]] = e.occurred_at
    finally:
        await platform.close()
    return {
        c: (now - (last.get(c) or first.get(c) or now)).total_seconds() / 86400 for c in customers
    }


async def platform_assessments(settings: Settings, now: datetime) -> dict[str, tuple[int, str]]:
    """Every customer's (score, level) from the churn monitor at ``now``, after a tick (which
    fits the tenant's model and records the assessments, as the running platform does)."""
    from crm.analytics.churn.monitor import ChurnMonitor
    from crm.analytics.projections.customer_360_models import CUSTOMERS

    platform = open_platform(settings, clock=ManualClock(now))
    try:
        await platform.start_projections()
        await platform.stop_projections()  # caught up with the whole log: nothing else to come
        monitor = ChurnMonitor(platform.runtime)
        report = await monitor.tick(now)
        if report.failed:
            raise RuntimeError(f"churn monitor failed on {len(report.failed)} customers")
        docs: list[Any] = []
        while True:
            page = await platform.read_store.find(
                CUSTOMERS, Query(sort=(("id", 1),), limit=500, offset=len(docs))
            )
            docs.extend(page.items)
            if not page.items or len(docs) >= page.total:
                break
        out: dict[str, tuple[int, str]] = {}
        for tenant in sorted({d["tenant"] for d in docs}):
            mine = [d for d in docs if d["tenant"] == tenant]
            params, _ = await monitor.model(tenant, mine, now)
            for doc in mine:
                verdict = await monitor.assess(doc, params, now)
                out[doc["id"]] = (verdict.score, verdict.level)
        return out
    finally:
        await platform.close()


def declare(results: Results) -> None:
    g = GROUP
    results.figure(f"{g}.customers", "customers scored", "customers")
    results.figure(f"{g}.churners", "of which churned (ground truth)", "customers")
    results.figure(
        f"{g}.generate_rate",
        "demo generation through HTTP (commands/s)",
        "commands/s",
        note="the whole history, a simulated day at a time, with the schedulers' daily ticks",
    )
    pairs = (
        ("precision", "precision of 'high'", "baseline_precision_same_n"),
        ("recall", "recall of 'high'", "baseline_recall_same_n"),
        ("auc", "ROC AUC of the score", "baseline_auc"),
    )
    for name, label, peer in pairs:
        results.figure(f"{g}.platform_{name}", f"platform: {label}", "", peers=(f"{g}.{peer}",))
        results.figure(f"{g}.{peer}", f"baseline (days since last order): {label}", "")
    results.figure(f"{g}.platform_flagged", "platform: flagged 'high'", "customers")
    for name, label, peer in (
        ("precision_medium", "precision of 'medium' or 'high'", "baseline_precision_same_n_medium"),
        ("recall_medium", "recall of 'medium' or 'high'", "baseline_recall_same_n_medium"),
    ):
        results.figure(f"{g}.platform_{name}", f"platform: {label}", "", peers=(f"{g}.{peer}",))
        results.figure(f"{g}.{peer}", f"baseline (same number): {label}", "")
    results.figure(
        f"{g}.baseline_precision_90d",
        f"baseline: precision, no order for {BASELINE_DAYS}+ days",
        "",
    )
    results.figure(
        f"{g}.baseline_recall_90d", f"baseline: recall, no order for {BASELINE_DAYS}+ days", ""
    )


def record(results: Results, key: str, value: float) -> None:
    results.figures[f"{GROUP}.{key}"].samples.append(value)


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    customers = plan.size(300, 40)
    months = plan.size(18, 12)
    with scratch_dir("churn") as d:
        # durability buys nothing for a throw-away dataset: fsync at checkpoints only
        settings = Settings(data_dir=d, secret=SECRET, sqlite_synchronous="NORMAL")

        def progress(day: int, days: int, commands: int) -> None:
            if day % 10 == 0 or day == days:
                step(f"generating {customers} customers: day {day}/{days}, {commands} commands")

        report = await generate(
            settings, customers=customers, months=months, seed=SEED, progress=progress
        )
        record(results, "generate_rate", report.commands_per_second)
        truth_doc = load_truth(report.truth)
        truth = {c: bool(t["churned"]) for c, t in truth_doc["customers"].items()}
        persona = {c: str(t["persona"]) for c, t in truth_doc["customers"].items()}
        now = datetime.combine(date.fromisoformat(truth_doc["end"]), time(0), UTC)
        ids = sorted(truth)
        record(results, "customers", len(ids))
        record(results, "churners", sum(truth.values()))

        step("baseline: days since last order")
        baseline = await days_since_last_order(settings, ids, now)
        record(results, "baseline_auc", auc([baseline[c] for c in ids], [truth[c] for c in ids]))
        p90, r90 = precision_recall({c for c in ids if baseline[c] >= BASELINE_DAYS}, truth)
        record(results, "baseline_precision_90d", p90)
        record(results, "baseline_recall_90d", r90)

        step("platform: churn monitor tick and assessments at the end date")
        try:
            assessed = await platform_assessments(settings, now)
        except ImportError:
            assessed = {}
            step(NOT_AVAILABLE)
            print(NOT_AVAILABLE)
            k = sum(truth.values())
            flagged = set()
        else:
            missing = [c for c in ids if c not in assessed]
            if missing:
                raise RuntimeError(f"{len(missing)} customers have no churn assessment")
            scores = {c: float(assessed[c][0]) for c in ids}
            flagged = {c for c in ids if assessed[c][1] == "high"}
            k = len(flagged)
            precision, recall = precision_recall(flagged, truth)
            record(results, "platform_flagged", k)
            record(results, "platform_precision", precision)
            record(results, "platform_recall", recall)
            record(results, "platform_auc", auc([scores[c] for c in ids], [truth[c] for c in ids]))
        same = top(baseline, k)
        if assessed:
            watched = {c for c in ids if assessed[c][1] in ("medium", "high")}
            precision, recall = precision_recall(watched, truth)
            record(results, "platform_precision_medium", precision)
            record(results, "platform_recall_medium", recall)
            precision, recall = precision_recall(top(baseline, len(watched)), truth)
            record(results, "baseline_precision_same_n_medium", precision)
            record(results, "baseline_recall_same_n_medium", recall)
        precision, recall = precision_recall(same, truth)
        record(results, "baseline_precision_same_n", precision)
        record(results, "baseline_recall_same_n", recall)
        by_persona = breakdown(ids, persona, flagged, same)
        results.figures[f"{GROUP}.platform_flagged"].note = "; ".join(
            f"{p}: platform {a}, baseline {b} of {n}" for p, (a, b, n) in by_persona.items()
        )
        Console(file=sys.stdout, width=160).print(persona_table(by_persona, customers, months))


def breakdown(
    ids: Sequence[str], persona: Mapping[str, str], flagged: set[str], same: set[str]
) -> dict[str, tuple[int, int, int]]:
    """Per persona: (flagged by the platform, flagged by the baseline, customers)."""
    out: dict[str, tuple[int, int, int]] = {}
    for p in Persona:
        members = [c for c in ids if persona[c] == p.value]
        if members:
            out[p.value] = (
                sum(1 for c in members if c in flagged),
                sum(1 for c in members if c in same),
                len(members),
            )
    return out


def persona_table(
    by_persona: Mapping[str, tuple[int, int, int]], customers: int, months: int
) -> Table:
    t = Table(
        title=f"[bold]churn[/bold]: flagged per persona ({customers} customers, {months} months)",
        title_justify="left",
    )
    for column in ("persona", "churner", "customers", "platform 'high'", "baseline, same number"):
        t.add_column(column, justify="left" if column == "persona" else "right")
    for p, (platform, base, n) in by_persona.items():
        churner = "yes" if Persona(p) in CHURNERS else "no"
        t.add_row(
            p, churner, str(n), f"{platform} ({platform / n:.0%})", f"{base} ({base / n:.0%})"
        )
    return t
