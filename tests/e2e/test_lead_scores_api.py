"""Lead scores over HTTP on the real platform, the scorer ticked by hand on a moved clock: a
tenant with little history is scored by the rules and says so; a relevant event (a lead
qualified, an interaction) moves the score at the next tick, an unchanged one records
nothing; with enough decided leads the score is fitted; the routes' filters, sort, CSV,
unknown parameters and access; the model report for analysts."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from crm.analytics.leads.scorer import LeadScorer
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.context import BoundedContext
from crm.platform.bootstrap import CONTEXTS, Platform
from tests.conftest import Api, UserClient
from tests.support.console import console_user, csrf_of, own_client, sign_in
from tests.support.reads import caught_up

pytestmark = pytest.mark.e2e

MODELS = ("lead_scoring", "funnel")


@pytest.fixture
def contexts() -> tuple[BoundedContext, ...]:
    """Every context, the analytics jobs (the churn monitor, the lead scorer) ticked by hand."""
    return tuple(replace(c, jobs=None) if c.name == "analytics" else c for c in CONTEXTS)


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def tick(platform: Platform, scorer: LeadScorer, clock: ManualClock) -> None:
    await caught_up(platform, *MODELS)
    await scorer.tick(clock.now())
    await caught_up(platform, *MODELS)


async def scores(client: UserClient, url: str = "/analytics/leads/scores", **params: Any) -> Any:
    return await ok(await client.get(url, params=params))


async def converted(rep: UserClient, lead_id: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        response = await rep.get(f"/leads/{lead_id}")
        lead = None if response.status_code == 404 else await ok(response)
        if lead is not None and lead["status"] == "converted":
            return dict(lead)
        assert asyncio.get_running_loop().time() < deadline, lead
        await asyncio.sleep(0.02)


async def test_rules_then_a_relevant_event_then_access(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    alice = api.as_user("alice", Role.SALES_REP, team="north")
    bob = api.as_user("bob", Role.SALES_REP, team="south")
    boss = api.as_user("boss", Role.MANAGER)
    ana = api.as_user("ana", Role.ANALYST)
    agent = api.as_user("ann", Role.AGENT)
    a1 = await ok(
        await alice.post("/leads", json={"name": "Grace", "company": "ACME", "source": "fair"}),
        201,
    )
    a2 = await ok(await alice.post("/leads", json={"name": "Ada", "source": "web"}), 201)
    b1 = await ok(await bob.post("/leads", json={"name": "Alan"}), 201)
    scorer = LeadScorer(platform.runtime)
    await tick(platform, scorer, clock)

    found = await scores(boss)
    assert found["total"] == 3
    by_id = {r["id"]: r for r in found["items"]}
    # Rules: 20, +10 a source, +10 a company.
    assert by_id[a1["id"]]["score"] == 40
    assert by_id[a2["id"]]["score"] == 30
    assert by_id[b1["id"]]["score"] == 20
    assert [r["score"] for r in found["items"]] == [40, 30, 20]  # -score by default
    row = by_id[a1["id"]]
    assert row["model"] == "rules"
    assert row["model_version"] == "rules-1"
    assert row["model_reason"].startswith("too little history for a fitted model: 0 decided")
    assert row["owner_id"] == "alice"
    assert row["status"] == "open"
    assert {(r["code"], r["text"], r["text_zh"]) for r in row["reasons"]} == {
        ("source", "source: fair", "来源：fair"),  # noqa: RUF001
        ("company", "company given", "已填写公司"),
    }

    # Nothing changed: the next tick records nothing.
    clock.advance(timedelta(hours=1))
    await tick(platform, scorer, clock)
    for lead in (a1, a2, b1):
        doc = await platform.runtime.read_store.get("lead_scores", lead["id"])
        assert doc is not None
        assert doc["scorings"] == 1

    # A relevant event: the lead is qualified (+20), recorded at the next tick.
    await ok(await alice.post(f"/leads/{a1['id']}/qualify", json={}))
    clock.advance(timedelta(hours=1))
    await tick(platform, scorer, clock)
    row = {r["id"]: r for r in (await scores(boss))["items"]}[a1["id"]]
    assert (row["score"], row["previous_score"]) == (60, 40)
    assert "qualified" in {r["code"] for r in row["reasons"]}

    # Filters and sort.
    assert [r["id"] for r in (await scores(boss, min_score=30))["items"]] == [a1["id"], a2["id"]]
    assert [r["id"] for r in (await scores(boss, max_score=20))["items"]] == [b1["id"]]
    assert [r["score"] for r in (await scores(boss, sort="score"))["items"]] == [20, 30, 60]
    assert (await scores(boss, status="qualified"))["total"] == 1
    assert (await scores(boss, source="web"))["total"] == 1
    assert (await scores(boss, model="fitted"))["total"] == 0
    assert (await scores(boss, owner_id="bob"))["total"] == 1
    page = await scores(boss, limit=1, offset=1)
    assert ([r["id"] for r in page["items"]], page["total"]) == ([a2["id"]], 3)

    # CSV: the same page, the reasons in both languages.
    response = await boss.get("/analytics/leads/scores", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == [a1["id"], a2["id"], b1["id"]]
    assert rows[0]["score"] == "60"
    assert "来源：fair" in rows[0]["reasons_zh"].split(";")  # noqa: RUF001

    # Bad input names the field; an unknown parameter is an error.
    for params, field in (
        ({"min_score": "101"}, "min_score"),
        ({"sort": "name"}, "sort"),
        ({"status": "won"}, "status"),
        ({"colour": "red"}, "colour"),
    ):
        response = await boss.get("/analytics/leads/scores", params=params)
        assert response.status_code in (400, 422), (params, response.text)
        assert field in response.text

    # Access: reps their own, analysts and managers all, agents nothing.
    assert {r["id"] for r in (await scores(alice))["items"]} == {a1["id"], a2["id"]}
    assert {r["id"] for r in (await scores(bob))["items"]} == {b1["id"]}
    assert (
        await bob.get("/analytics/leads/scores", params={"owner_id": "alice"})
    ).status_code == 403
    assert (await scores(ana))["total"] == 3
    assert (await agent.get("/analytics/leads/scores")).status_code == 403
    assert (await agent.get("/analytics/opportunities/scores")).status_code == 403
    assert (await alice.get("/analytics/leads/model")).status_code == 403
    other = api.as_user("eve", Role.MANAGER, tenant="acme")
    assert (await scores(other))["total"] == 0

    # The console's leads list shows the score and its reasons, in the user's language.
    await console_user(api, "alice", "sales_rep", "north")
    async with own_client(api) as browser:
        await sign_in(browser, "alice")
        page = (await browser.get("/console/leads")).text
        assert "<strong>60</strong>" in page
        assert "<li>qualified</li>" in page
        assert "<li>source: fair</li>" in page
        assert "Alan" not in page  # bob's lead: neither listed nor scored for alice
        answer = await browser.post(
            "/console/language",
            data={"csrf": csrf_of(page), "locale": "zh-CN", "back": "/console/leads"},
        )
        assert answer.status_code == 303, answer.text
        page = (await browser.get("/console/leads")).text
        assert "<li>已确认合格</li>" in page
        assert "<li>来源：fair</li>" in page  # noqa: RUF001


async def test_opportunity_scores_follow_interactions_and_a_fitted_model(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    alice = api.as_user("alice", Role.SALES_REP, team="north")
    ana = api.as_user("ana", Role.ANALYST)
    scorer = LeadScorer(platform.runtime)
    # 50 decided leads, all qualified first: 15 of the 20 referrals (with a company) convert,
    # none of the 30 website leads.
    decided: list[str] = []
    for i in range(50):
        referral = i % 5 < 2
        body = {"name": f"Lead {i}", "source": "referral" if referral else "website"}
        if referral:
            body["company"] = f"Company {i}"
        lead = await ok(await alice.post("/leads", json=body), 201)
        await ok(await alice.post(f"/leads/{lead['id']}/qualify", json={}))
        convert = referral if i % 10 != 0 else not referral
        if convert:
            await ok(
                await alice.post(
                    f"/leads/{lead['id']}/convert",
                    json={
                        "opportunity_name": f"Deal {i}",
                        "amount": {"amount": "1000", "currency": "EUR"},
                        "expected_close_date": "2026-12-31",
                    },
                ),
                202,
            )
            decided.append((await converted(alice, lead["id"]))["opportunity_id"])
        else:
            await ok(await alice.post(f"/leads/{lead['id']}/disqualify", json={"reason": "no"}))
        clock.advance(timedelta(hours=6))
    fresh_ref = await ok(
        await alice.post("/leads", json={"name": "New", "source": "referral", "company": "X"}), 201
    )
    fresh_web = await ok(await alice.post("/leads", json={"name": "Web", "source": "website"}), 201)
    await tick(platform, scorer, clock)

    rows = {r["id"]: r for r in (await scores(ana, status="open"))["items"]}
    assert rows[fresh_ref["id"]]["model"] == "fitted"
    assert (
        rows[fresh_ref["id"]]["model_reason"] == "fitted on 50 decided, 15 of them won or converted"
    )
    assert rows[fresh_ref["id"]]["model_version"].startswith("fitted-")
    assert rows[fresh_ref["id"]]["score"] > 60 > 20 > rows[fresh_web["id"]]["score"]

    # The fit is an event, with what it takes to score with it again; a scorer started again
    # the same day scores with the recorded fit (the same version, the same scores) and
    # records no second fit.
    [fitted] = await platform.store.read_stream("leadmodel-lead-default")
    assert fitted.event_type == "analytics.lead_model.fitted"
    body = fitted.payload
    assert body["version"] == rows[fresh_ref["id"]]["model_version"]
    assert (body["n_decided"], body["n_positive"], body["holdout_size"]) == (50, 15, 15)
    assert 0.5 < body["holdout_auc"] <= 1
    assert "source=referral" in body["features"]
    assert len(body["coefficients"]) == len(body["features"]) == len(body["scales"])
    assert await platform.store.read_stream("leadmodel-opportunity-default") == []  # rules
    again = LeadScorer(platform.runtime)
    clock.advance(timedelta(minutes=5))
    from crm.analytics.leads.history import tenant_history

    history = await tenant_history(platform.runtime.read_store, "default")
    models, refitted = await again.models("default", history, clock.now())
    assert refitted == []
    assert models["lead"].version == body["version"]
    assert len(await platform.store.read_stream("leadmodel-lead-default")) == 1

    # The opportunities (all open) are scored by the rules: none decided yet.
    opp = decided[0]
    before = {r["id"]: r for r in (await scores(ana, "/analytics/opportunities/scores"))["items"]}
    assert len(before) == len(decided)
    assert before[opp]["model"] == "rules"
    assert before[opp]["score"] == 10  # prospecting's 10 %
    # Interactions with the opportunity's customer (+5 each, at most +20) move it.
    customer = (await ok(await alice.get(f"/opportunities/{opp}")))["customer_id"]
    for _ in range(2):
        call = {
            "channel": "call",
            "direction": "outbound",
            "summary": "Follow-up",
            "occurred_at": clock.now().isoformat(),
        }
        await ok(await alice.post(f"/customers/{customer}/interactions", json=call), 201)
    clock.advance(timedelta(hours=1))
    await tick(platform, scorer, clock)
    after = {r["id"]: r for r in (await scores(ana, "/analytics/opportunities/scores"))["items"]}
    assert (after[opp]["score"], after[opp]["previous_score"]) == (20, 10)
    touches = {r["code"]: r for r in after[opp]["reasons"]}["touches"]
    assert touches["text"] == "2 calls, meetings or e-mails in 90 days"
    assert touches["text_zh"] == "近 90 天 2 次通话、会议或邮件"

    # The console's pipeline board shows each card's score and its reasons.
    await console_user(api, "alice", "sales_rep", "north")
    async with own_client(api) as browser:
        await sign_in(browser, "alice")
        board = await browser.get("/console/pipeline")
        assert board.status_code == 200, board.text
        assert "<strong>20</strong>" in board.text
        assert "<li>2 calls, meetings or e-mails in 90 days</li>" in board.text

    report = await ok(await ana.get("/analytics/leads/model"))
    lead = report["lead"]
    assert lead["model"]["model"] == "fitted"
    assert lead["model"]["weights"]["source=referral"] > lead["model"]["weights"]["source=website"]
    # 35 older decided leads to fit on, 15 newer to measure on.
    assert (lead["evaluation"]["n_train"], lead["evaluation"]["n_test"]) == (35, 15)
    assert lead["evaluation"]["model"]["auc"] >= lead["evaluation"]["baseline"]["auc"]
    assert len(lead["evaluation"]["model"]["reliability"]) == 5
    assert report["opportunity"]["model"]["model"] == "rules"
    # The model's history: the scorer's recorded fits, newest first.
    [fit] = lead["history"]
    assert fit["version"] == body["version"]
    assert (fit["n_decided"], fit["holdout_size"]) == (50, 15)
    assert fit["holdout_auc"] == body["holdout_auc"]
    assert report["opportunity"]["history"] == []
    assert report["opportunity"]["evaluation"]["model"] is None
