"""Demo data through the real command path: ``crm up --demo`` on an empty store generates a
small company's history (as a process, over its own HTTP app) and then serves it; the store
holds events of every context, the read models show customers, orders and tickets, the
ground truth names every customer's persona, a store with events gets no more demo data,
and the same seed generated in process gives the same number of events of every type."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import sqlite3
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from bench.churn import auc
from crm.kernel.auth import Role, TokenIssuer
from crm.kernel.settings import Settings
from crm.platform.cli import _demo_if_empty
from crm.platform.cli import app as cli
from crm.platform.demo import CHURNERS, DEFAULT_SEED, TRUTH_FILE, Persona, generate
from tests.support.processes import Process

pytestmark = pytest.mark.e2e

SECRET = "demo-test-secret-" + "d" * 40
CUSTOMERS, MONTHS = 12, 6
FAST = {"CRM_SQLITE_SYNCHRONOUS": "NORMAL"}
"""Throw-away data: no fsync per commit (the demo does the same work either way)."""


def event_types(data_dir: Path) -> Counter[str]:
    db = sqlite3.connect(data_dir / "events.db")
    try:
        return Counter(r[0] for r in db.execute("SELECT event_type FROM events"))
    finally:
        db.close()


def test_up_with_demo_data_then_the_same_seed_in_process(tmp_path: Path) -> None:
    data = tmp_path / "up"
    env = {**os.environ, "CRM_DATA_DIR": str(data), "CRM_SECRET": SECRET, **FAST}
    args = ["up", "--demo", "--demo-customers", str(CUSTOMERS), "--demo-months", str(MONTHS)]
    crm = Process(args, env, tmp_path / "up.log")
    crm.start(timeout=60)
    try:
        token = TokenIssuer(SECRET).issue("boss", Role.ADMIN, "default")
        with httpx.Client(base_url=crm.url, headers={"Authorization": f"Bearer {token}"}) as c:
            customers = c.get("/customers", params={"limit": 100}).json()
            orders = c.get("/orders", params={"limit": 1}).json()
            tickets = c.get("/tickets", params={"limit": 1}).json()
            invoices = c.get("/invoices", params={"limit": 1, "overdue": True}).json()
            living = living_company(c)
    finally:
        crm.stop()
    log = (tmp_path / "up.log").read_text()
    assert "commands in" in log, log[-2000:]
    for user in ("admin", "mgr-nora", "rep-ana", "agent-ivy"):
        assert user in log, "the demo's users are listed"

    truth = json.loads((data / TRUTH_FILE).read_text())
    shown = {c["id"] for c in customers["items"]}
    # churn losses are dated as the simulation went (the monitor ticked weekly), not all on
    # the day `crm up` first ran it: over more than one month
    losses = living["losses"]
    assert all(loss["lost_at"] < truth["end"] for loss in losses), losses
    assert len(living["periods"]) > 1, living["periods"]
    assert customers["total"] == CUSTOMERS + len(truth["prospects"])
    assert set(truth["customers"]) | set(truth["prospects"]) == shown
    kinds = {t["persona"] for t in truth["customers"].values()}
    assert kinds == {p.value for p in Persona}, "12 customers: every persona at least once"
    for record in truth["customers"].values():
        assert record["churned"] == (Persona(record["persona"]) in CHURNERS)
        assert (record["churn_date"] is not None) == record["churned"]
    assert orders["total"] > CUSTOMERS
    assert tickets["total"] > 0
    assert invoices["total"] >= 0

    first = Counter(truth["events"])
    assert first - event_types(data) == Counter(), "the store holds what the demo reported"
    contexts = {t.split(".", 1)[0] for t in first}
    assert contexts >= {"customer", "sales", "service_desk"}
    for kind in (
        "customer.registered",
        "customer.interaction_logged",
        "sales.lead.converted",
        "sales.lead.disqualified",
        "sales.opportunity.won",
        "sales.opportunity.lost",
        "sales.order.delivered",
        "sales.invoice.paid",
        "sales.invoice.overdue",
        "sales.target.set",
        "service_desk.ticket.resolved",
        "service_desk.ticket.satisfaction_recorded",
        "service_desk.ticket.sla_breached",
    ):
        assert first[kind] > 0, kind

    # on a store with events, `up --demo` generates nothing, and `crm demo` refuses
    served = event_types(data)
    _demo_if_empty(Settings(data_dir=data, secret=SECRET), CUSTOMERS, MONTHS)
    assert event_types(data) == served
    refused = CliRunner().invoke(cli, ["demo"], env={"CRM_DATA_DIR": str(data)})
    assert refused.exit_code == 2, refused.output
    assert "holds events already" in " ".join(refused.output.split())  # wrapped to the terminal

    # the same seed and end date, in process: the same behaviour
    again = tmp_path / "again"
    report = asyncio.run(
        generate(
            Settings(data_dir=again, secret=SECRET, sqlite_synchronous="NORMAL"),
            customers=CUSTOMERS,
            months=MONTHS,
            seed=DEFAULT_SEED,
            end=date.fromisoformat(truth["end"]),
        )
    )
    assert report.events == truth["events"]
    assert event_types(again) == Counter(truth["events"])
    assert report.commands > 0


def living_company(c: httpx.Client) -> dict[str, Any]:
    """What a newcomer looks at first shows a company at work: an open pipeline at several
    stages (and a forecast), customers in the pool, published articles that resolved
    tickets, campaigns with revenue, first responses that took time; returns the churn
    report."""
    opportunities = c.get("/opportunities", params={"status": "open", "limit": 500}).json()
    stages = {o["stage"] for o in opportunities["items"]}
    assert len(stages) >= 3, stages
    funnel = c.get("/analytics/funnel").json()
    assert funnel["forecast"], "open opportunities expected to close later"
    assert [r["stage"] for r in funnel["stages"] if r["open_now"]], funnel["stages"]
    pool = c.get("/customers", params={"in_pool": True}).json()
    assert pool["total"] > 0
    articles = c.get("/kb/articles", params={"status": "published", "limit": 100}).json()
    assert articles["total"] > 0
    assert any(a["resolved_tickets"] > 0 for a in articles["items"]), articles["items"]
    campaigns = c.get("/analytics/reports/campaigns").json()["campaigns"]
    assert any(Decimal(row["revenue"]["amount"]) > 0 for row in campaigns), campaigns
    months = c.get("/analytics/reports/service").json()["months"]
    responses = [Decimal(m["first_response_avg_minutes"]) for m in months if m["first_responses"]]
    assert responses, months
    assert all(r > 0 for r in responses), months
    return dict(c.get("/analytics/churn/report").json())


def test_auc_is_the_share_of_correctly_ordered_pairs() -> None:
    """The churn bench's Mann-Whitney AUC against counting every (churner, stayer) pair."""
    rng = random.Random(3)
    for _ in range(50):
        n = rng.randint(2, 30)
        scores = [float(rng.randint(0, 6)) for _ in range(n)]  # many ties
        labels = [rng.random() < 0.4 for _ in range(n)]
        pos = [s for s, y in zip(scores, labels, strict=True) if y]
        neg = [s for s, y in zip(scores, labels, strict=True) if not y]
        if not pos or not neg:
            assert math.isnan(auc(scores, labels))
            continue
        pairs = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
        assert auc(scores, labels) == pytest.approx(pairs / (len(pos) * len(neg)))
    assert auc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert auc([4, 3, 2, 1], [False, False, True, True]) == 0.0
