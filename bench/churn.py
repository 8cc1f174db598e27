"""Group ``churn``: how well the churn warnings find the customers who left, on generated data
whose churners are known, next to a naive baseline.

A fresh company history is generated through the real command path
(:mod:`crm.platform.demo`: 300 customers over 18 months, seed 2026; ``--quick``: 40 over
6), whose churners drift away in known ways (slowing, complaining, going silent, paying
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
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.measure import Plan, Results, Step, scratch_dir
from crm.kernel.clock import ManualClock
from crm.kernel.read_store import Query
from crm.kernel.settings import Settings
from crm.platform.bootstrap import open_platform
from crm.platform.demo import CHURNERS, Persona, generate, load_truth

CDNOW = Path(__file__).parents[1] / "tests" / "data" / "cdnow_sample_transactions.txt"
CDNOW_CUTOFF = datetime(1997, 10, 1, tzinfo=UTC)
"""The end of the 39-week calibration period (1997-01-01 to 1997-09-30)."""
CDNOW_END = datetime(1998, 7, 1, tzinfo=UTC)
"""The end of the 39-week holdout: "left" = no purchase from the cut-off to here."""
HIGH = 0.70
"""A probability from this on is "high" (the platform's level threshold, 70 of 100)."""
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


def brier(probabilities: Sequence[float], labels: Sequence[bool]) -> float:
    """Mean squared error of the probabilities against the outcomes (0 is perfect)."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    return float(np.mean((p - y) ** 2))


def reliability(
    probabilities: Sequence[float], labels: Sequence[bool], bins: int = 10
) -> list[tuple[float, float, int, float, float]]:
    """Per probability decile [lo, hi): (lo, hi, customers, mean predicted, observed share)."""
    out: list[tuple[float, float, int, float, float]] = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [
            (p, y)
            for p, y in zip(probabilities, labels, strict=True)
            if lo <= p < hi or (b == bins - 1 and p == 1.0)
        ]
        if members:
            mean = sum(p for p, _ in members) / len(members)
            seen = sum(1 for _, y in members if y) / len(members)
            out.append((lo, hi, len(members), mean, seen))
    return out


def flagged_precision_recall(
    probabilities: Sequence[float], labels: Sequence[bool], threshold: float = HIGH
) -> tuple[float, float, int]:
    """Precision and recall of "high" (probability >= ``threshold``) and how many it flags."""
    flagged = {i for i, p in enumerate(probabilities) if p >= threshold}
    truth = {str(i): bool(y) for i, y in enumerate(labels)}
    precision, recall = precision_recall({str(i) for i in flagged}, truth)
    return precision, recall, len(flagged)


@dataclass(frozen=True)
class Scored:
    """One method's verdict per customer: a ranking score and a probability of leaving."""

    name: str
    scores: list[float]
    probabilities: list[float]


def cdnow_transactions(path: Path = CDNOW) -> dict[str, list[tuple[datetime, Decimal]]]:
    """CDNOW's per-transaction sample: customer -> [(date, amount)], 2 357 customers."""
    out: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    with path.open() as lines:
        for line in lines:
            customer, _, day, _, amount = line.split()
            at = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
            out[customer].append((at, Decimal(amount)))
    return dict(out)


def history_signals(orders: Sequence[tuple[datetime, Decimal]], now: datetime) -> Any:
    """A customer's purchase signals at ``now`` from their orders before it, counted as the
    monitor counts them from the 360° view (purchase days; spend in the two last 90 days)."""
    from crm.analytics.churn.assessment import CustomerSignals

    past = sorted(o for o in orders if o[0] < now)
    if not past:
        return None
    days = sorted({at for at, _ in past})
    window = timedelta(days=90)
    recent = sum((a for at, a in past if now - window < at), Decimal(0))
    previous = sum((a for at, a in past if now - 2 * window < at <= now - window), Decimal(0))
    return CustomerSignals(
        first_order_at=days[0],
        last_order_at=days[-1],
        order_count=len(days),
        order_dates=tuple(days),
        spend_recent_90d=recent,
        spend_previous_90d=previous,
        currency="USD",
    )


def evaluate_cdnow(
    train_days: int = 91, path: Path = CDNOW, windows_count: int | None = None
) -> dict[str, Any]:
    """Every CDNOW customer scored at the cut-off by four methods, against the 39-week truth.

    - **calibrated** (ours): :mod:`crm.analytics.churn.calibrated` fitted on the history
      before the cut-off alone, as the monitor calibrates: signals as of ``train_days``
      before it, "left" = no purchase in those ``train_days``, and likewise as of cut-offs
      4, 8 and 12 weeks earlier with their next ``train_days`` (BG/NBD refitted as of each;
      ``windows=1``: the latest alone); its probability over the 39 weeks chained from the
      ``train_days`` model (:func:`crm.analytics.churn.calibrated.survival`);
    - **rules**: the documented rules (:func:`crm.analytics.churn.assessment.assess`);
    - **days since last order**: the silence ranks; its probability is a one-feature
      logistic regression on log(1 + days) fitted on the same training windows and chained
      over the 39 weeks the same way (silence growing); ``days since, one period`` is that
      fit's ``train_days`` probability taken as the 39-week one (the comparison before);
    - **BG/NBD alone**: ranked by expected purchases in the next 39 weeks (fewer: riskier);
      its probability P(no purchase in 39 weeks).

    The calibrated model learns a ``train_days`` horizon (the history before the cut-off is
    39 weeks, and everyone's first purchase is in its first 12: a 39-week label cannot be
    learned from it); so its calibration is also given on that horizon (``truth_own``: no
    purchase in the ``train_days`` after the cut-off), next to BG/NBD's P(no purchase in
    ``train_days``) and the silence logistic's."""
    from crm.analytics.churn import bgnbd
    from crm.analytics.churn.assessment import assess
    from crm.analytics.churn.calibrated import WINDOW_STEP_DAYS, WINDOWS, probabilities
    from crm.analytics.churn.logistic import fit_logistic
    from crm.analytics.churn.monitor import calibrate_windows, summary

    tx = cdnow_transactions(path)
    ids = sorted(tx)
    train_at = CDNOW_CUTOFF - timedelta(days=train_days)
    own_end = CDNOW_CUTOFF + timedelta(days=train_days)
    horizon = timedelta(days=train_days)
    windows: list[tuple[list[Any], list[bool], datetime]] = []
    for k in range(WINDOWS if windows_count is None else windows_count):
        at = train_at - timedelta(days=k * WINDOW_STEP_DAYS)
        rows = [(c, history_signals(tx[c], at)) for c in ids]
        known = [(c, s) for c, s in rows if s is not None]
        gone = [not any(at <= when < at + horizon for when, _ in tx[c]) for c, _ in known]
        windows.append(([s for _, s in known], gone, at))
    model = calibrate_windows(windows, horizon_days=train_days)
    signals = [history_signals(tx[c], CDNOW_CUTOFF) for c in ids]
    truth = [not any(CDNOW_CUTOFF <= at < CDNOW_END for at, _ in tx[c]) for c in ids]
    truth_own = [not any(CDNOW_CUTOFF <= at < own_end for at, _ in tx[c]) for c in ids]
    params = bgnbd.fit(*summary(signals, CDNOW_CUTOFF))
    xs, t_x, ages = (np.asarray(v, dtype=np.float64) for v in summary(signals, CDNOW_CUTOFF))
    weeks = (CDNOW_END - CDNOW_CUTOFF).days / 7

    now = [(s, CDNOW_CUTOFF) for s in signals]
    ours = probabilities(model, now, params, horizon_days=(CDNOW_END - CDNOW_CUTOFF).days)
    ours_own = probabilities(model, now, params)
    ruled = [assess(s, params, CDNOW_CUTOFF).score / 100 for s in signals]

    def silence(s: Any, at: datetime) -> float:
        return math.log1p((at - s.last_order_at).days)

    quiet = [silence(s, CDNOW_CUTOFF) for s in signals]
    fit_x = [[silence(s, at)] for sample, _, at in windows for s in sample]
    fit_y = [1.0 if v else 0.0 for _, gone, _ in windows for v in gone]
    days_model = fit_logistic(("silence",), fit_x, fit_y)
    days_own = [float(p) for p in days_model.predict([[q] for q in quiet])]
    days_p = np.ones(len(signals))
    done = 0
    while done < (CDNOW_END - CDNOW_CUTOFF).days:
        share = min(1.0, ((CDNOW_END - CDNOW_CUTOFF).days - done) / train_days)
        later = CDNOW_CUTOFF + timedelta(days=done)
        days_p *= days_model.predict([[silence(s, later)] for s in signals]) ** share
        done += train_days
    bg_p = [float(p) for p in bgnbd.p_no_purchase(params, weeks, xs, t_x, ages)]
    bg_rank = [-float(v) for v in bgnbd.expected_purchases(params, weeks, xs, t_x, ages)]
    bg_own = [float(p) for p in bgnbd.p_no_purchase(params, train_days / 7, xs, t_x, ages)]
    methods = [
        Scored("calibrated (ours)", ours, ours),
        Scored("rules (documented constants)", ruled, ruled),
        Scored("days since last order", quiet, [float(p) for p in days_p]),
        Scored("days since, one period", quiet, days_own),
        Scored("BG/NBD alone", bg_rank, bg_p),
    ]
    own = {
        "calibrated (ours)": ours_own,
        "days since last order": days_own,
        "BG/NBD alone": bg_own,
    }
    return {
        "customers": len(ids),
        "left": sum(truth),
        "left_own": sum(truth_own),
        "train_customers": model.n_customers,
        "train_left": model.n_left,
        "train_rows": model.rows,
        "train_windows": model.windows,
        "train_days": train_days,
        "weights": model.weights(),
        "methods": {
            m.name: {
                "auc": auc(m.scores, truth),
                "brier": brier(m.probabilities, truth),
                "high": flagged_precision_recall(m.probabilities, truth),
                "reliability": reliability(m.probabilities, truth),
                "brier_own": brier(own[m.name], truth_own) if m.name in own else math.nan,
                "reliability_own": reliability(own[m.name], truth_own) if m.name in own else [],
            }
            for m in methods
        },
    }


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


@dataclass(frozen=True)
class PlatformVerdicts:
    """The monitor's verdicts at the end date, BG/NBD's alone, and how the score was made."""

    assessed: dict[str, tuple[int, str]]
    bg_nbd: dict[str, float]
    """P(no purchase in the monitor's horizon) from the tenant's fitted BG/NBD model."""
    calibration: str
    """"calibrated on ..." or the reason the documented rules were used."""


async def platform_assessments(settings: Settings, now: datetime) -> PlatformVerdicts:
    """Every customer's (score, level) from the churn monitor at ``now``, after a tick (which
    fits the tenant's model, calibrates the score on the tenant's history and records the
    assessments, as the running platform does)."""
    from crm.analytics.churn.bgnbd import p_no_purchase
    from crm.analytics.churn.monitor import ChurnMonitor, purchase_sample
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
        bg: dict[str, float] = {}
        notes: list[str] = []
        for tenant in sorted({d["tenant"] for d in docs}):
            mine = [d for d in docs if d["tenant"] == tenant]
            params, _ = await monitor.model(tenant, mine, now)
            calibrated, _ = await monitor.calibration(tenant, mine, now)
            if calibrated is None:
                notes.append(report.calibration_skipped.get(tenant, "documented rules"))
            else:
                notes.append(
                    f"calibrated on {calibrated.n_customers} customers "
                    f"({calibrated.n_left} left within {calibrated.horizon_days:g} days)"
                )
            for doc in mine:
                verdict = await monitor.assess(doc, params, now)
                out[doc["id"]] = (verdict.score, verdict.level)
                bg[doc["id"]] = math.nan
            buyers = [d for d in mine if d["orders"]["purchase_days"] >= 1]
            if params is not None and buyers:
                xs, t_x, ages = purchase_sample(buyers, now)
                quiet = p_no_purchase(params, monitor.horizon_days / 7, xs, t_x, ages)
                bg.update({d["id"]: float(p) for d, p in zip(buyers, quiet, strict=True)})
        return PlatformVerdicts(out, bg, "; ".join(notes))
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
    results.figure(
        f"{g}.platform_brier",
        "platform: Brier score of score/100 (lower is better)",
        "",
        peers=(f"{g}.bgnbd_brier",),
    )
    results.figure(f"{g}.bgnbd_brier", "BG/NBD alone: Brier, P(no purchase in 90 days)", "")
    results.figure(f"{g}.bgnbd_auc", "BG/NBD alone: ROC AUC of P(no purchase in 90 days)", "")
    c = f"{g}.cdnow"
    for method, label in CDNOW_METHODS.items():
        peers = () if method != "ours" else (f"{c}_days_auc", f"{c}_bgnbd_auc")
        if method == "ours":
            results.figure(
                f"{c}_ours_brier_peer",
                "CDNOW: calibrated Brier / BG/NBD Brier (below 1: ours better)",
                "",
            )
        results.figure(
            f"{c}_{method}_auc", f"CDNOW, {label}: ROC AUC, 39-week truth", "", peers=peers
        )
        results.figure(f"{c}_{method}_brier", f"CDNOW, {label}: Brier, 39-week truth", "")
        results.figure(f"{c}_{method}_precision", f"CDNOW, {label}: precision of 'high'", "")
        results.figure(f"{c}_{method}_recall", f"CDNOW, {label}: recall of 'high'", "")
    for method in ("ours", "days", "bgnbd"):
        results.figure(
            f"{c}_{method}_brier_own",
            f"CDNOW, {CDNOW_METHODS[method]}: Brier on the calibration horizon (13 weeks)",
            "",
        )


CDNOW_METHODS = {
    "ours": "calibrated (ours)",
    "rules": "rules (documented constants)",
    "days": "days since last order",
    "days1": "days since, one period",
    "bgnbd": "BG/NBD alone",
}


def record(results: Results, key: str, value: float) -> None:
    results.figures[f"{GROUP}.{key}"].samples.append(value)


def record_cdnow(results: Results, step: Step) -> None:
    step("CDNOW: 2 357 customers, scored at 1997-10-01 against the next 39 weeks")
    found = evaluate_cdnow()
    names = {label: key for key, label in CDNOW_METHODS.items()}
    for label, m in found["methods"].items():
        key = f"cdnow_{names[label]}"
        record(results, f"{key}_auc", m["auc"])
        record(results, f"{key}_brier", m["brier"])
        precision, recall, _ = m["high"]
        record(results, f"{key}_precision", precision)
        record(results, f"{key}_recall", recall)
        if not math.isnan(m["brier_own"]):
            record(results, f"{key}_brier_own", m["brier_own"])
    ratio = (
        found["methods"]["calibrated (ours)"]["brier"] / found["methods"]["BG/NBD alone"]["brier"]
    )
    record(results, "cdnow_ours_brier_peer", ratio)
    console = Console(file=sys.stdout, width=160)
    console.print(
        f"CDNOW: {found['customers']} customers, {found['left']} without a purchase in the 39 "
        f"weeks after the cut-off; calibrated on {found['train_customers']} as of "
        f"{found['train_days']} days before it ({found['train_left']} left), "
        f"{found['train_rows']} rows over {found['train_windows']} windows"
    )
    for label, m in found["methods"].items():
        console.print(
            reliability_table(f"CDNOW reliability, {label} (39-week truth)", m["reliability"])
        )
        if m["reliability_own"]:
            console.print(
                reliability_table(
                    f"CDNOW reliability, {label} ({found['train_days']}-day truth)",
                    m["reliability_own"],
                )
            )


def reliability_table(title: str, rows: Sequence[tuple[float, float, int, float, float]]) -> Table:
    t = Table(title=title, title_justify="left")
    for column in ("predicted", "customers", "mean predicted", "observed left"):
        t.add_column(column, justify="right")
    for lo, hi, n, mean, seen in rows:
        t.add_row(f"{lo:.1f}-{hi:.1f}", str(n), f"{mean:.3f}", f"{seen:.3f}")
    return t


async def run(results: Results, plan: Plan, step: Step) -> None:
    declare(results)
    record_cdnow(results, step)
    customers = plan.size(300, 40)
    months = plan.size(18, 6)
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
            verdicts = await platform_assessments(settings, now)
        except ImportError:
            assessed: dict[str, tuple[int, str]] = {}
            step(NOT_AVAILABLE)
            print(NOT_AVAILABLE)
            k = sum(truth.values())
            flagged = set()
        else:
            assessed = verdicts.assessed
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
            labels = [truth[c] for c in ids]
            record(results, "platform_auc", auc([scores[c] for c in ids], labels))
            record(results, "platform_brier", brier([scores[c] / 100 for c in ids], labels))
            # BG/NBD alone: a customer without an order counts as certain to buy nothing.
            bg = [1.0 if math.isnan(verdicts.bg_nbd[c]) else verdicts.bg_nbd[c] for c in ids]
            record(results, "bgnbd_brier", brier(bg, labels))
            record(results, "bgnbd_auc", auc(bg, labels))
            results.figures[f"{GROUP}.platform_brier"].note = verdicts.calibration
            console = Console(file=sys.stdout, width=160)
            console.print(f"demo company: {verdicts.calibration}")
            console.print(
                reliability_table(
                    "demo reliability, platform score/100",
                    reliability([scores[c] / 100 for c in ids], labels),
                )
            )
            console.print(
                reliability_table("demo reliability, BG/NBD alone", reliability(bg, labels))
            )
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
