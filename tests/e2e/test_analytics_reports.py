"""The sales funnel and the analysts' reports over HTTP, on a small story built through the
real sales and service-desk routes with the test's clock: every figure is asserted exactly,
each report's CSV equals its JSON, access follows the roles, and the projections rebuilt
from position 0 give the same documents."""

from __future__ import annotations

import asyncio
import copy
import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from crm.analytics.application.reports.funnel import funnel_report
from crm.analytics.application.reports.rfm import quintile, segment
from crm.analytics.projections.funnel_models import FunnelProjection
from crm.analytics.projections.report_models import ReportsProjection
from crm.events import DomainEvent, EventEnvelope
from crm.events.money import Money
from crm.events.sales import (
    OpportunityLost,
    OpportunityOpened,
    OpportunityReopened,
    OpportunityStageChanged,
    OpportunityWon,
    StageDirection,
)
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.projection import ProjectionRunner
from crm.kernel.read_store import Query
from crm.platform.bootstrap import Platform
from crm.service_desk.application.scheduler import ServiceDeskScheduler
from tests.conftest import Api, UserClient
from tests.support.customers import known_customers

pytestmark = pytest.mark.e2e

_customers = known_customers("cust-9", "cust-3", "cust-2", "c-1", "c")

Users = Callable[..., UserClient]
TARGETS = {
    "urgent": {"first_response_minutes": 15, "resolution_minutes": 120},
    "high": {"first_response_minutes": 30, "resolution_minutes": 240},
    "normal": {"first_response_minutes": 60, "resolution_minutes": 480},
    "low": {"first_response_minutes": 120, "resolution_minutes": 960},
}


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


class Story:
    """Remembers the last position written, so every report read waits for it."""

    def __init__(self) -> None:
        self.position = 0

    async def do(self, response: Any, status: int = 200) -> dict[str, Any]:
        body = await ok(response, status)
        self.position = max(self.position, int(body.get("position", 0)))
        return body


def flat(row: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = "" if value is None else str(value)
    return out


async def report(
    client: UserClient, url: str, position: int, tables: tuple[str, ...], **params: str
) -> dict[str, Any]:
    """The JSON report, after checking each of its ``tables`` as CSV equals it."""
    r = await client.get(url, params={**params, "min_position": str(position)})
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    body = dict(r.json())
    for table in tables:
        c = await client.get(url, params={**params, "format": "csv", "table": table})
        assert c.status_code == 200, c.text
        assert c.headers["content-type"].startswith("text/csv")
        assert c.headers["content-disposition"].startswith("attachment")
        reader = csv.DictReader(io.StringIO(c.text))
        rows = list(reader)
        assert rows == [flat(row) for row in body[table]], table
        if rows:  # the columns in the order of the JSON's fields
            assert list(reader.fieldnames or []) == list(flat(body[table][0]))
    return body


async def converted(rep: UserClient, lead_id: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        response = await rep.get(f"/leads/{lead_id}")
        lead = None if response.status_code == 404 else await ok(response)  # not projected yet
        if lead is not None and lead["status"] == "converted":
            return lead
        assert asyncio.get_running_loop().time() < deadline, lead
        await asyncio.sleep(0.02)


async def test_funnel_and_reports_of_a_small_story(
    api: Api, as_user: Users, clock: ManualClock, platform: Platform
) -> None:
    s = Story()
    boss = as_user("boss", Role.MANAGER, team="north")
    alice = as_user("alice", Role.SALES_REP, team="north")
    bob = as_user("bob", Role.SALES_REP, team="south")
    ana = as_user("ana", Role.ANALYST)
    ann = as_user("ann", Role.AGENT, team="group-a")

    # 2026-03-02 09:00: a campaign, a product, targets, three leads and two opportunities
    campaign = await s.do(
        await boss.post(
            "/campaigns",
            json={
                "name": "Spring webinar",
                "channel": "webinar",
                "budget": eur("5000.00"),
                "starts_on": "2026-03-01",
                "ends_on": "2026-04-30",
            },
        ),
        201,
    )
    cid = campaign["id"]
    await s.do(await boss.post(f"/campaigns/{cid}/launch"))
    product = await s.do(
        await boss.post(
            "/products", json={"sku": "CMP-1", "name": "Compiler", "list_price": eur("1200.00")}
        ),
        201,
    )
    rep_target = {"owner_kind": "rep", "owner_id": "alice", "period": "2026-Q1"}
    await s.do(await boss.post("/targets", json={**rep_target, "amount": eur("24000")}), 201)
    team_target = {"owner_kind": "team", "owner_id": "north", "period": "2026-03"}
    await s.do(await boss.post("/targets", json={**team_target, "amount": eur("30000")}), 201)

    def lead(name: str, source: str, campaign_id: str | None) -> dict[str, Any]:
        return {"name": name, "company": "ACME", "source": source, "campaign_id": campaign_id}

    l1 = await s.do(await alice.post("/leads", json=lead("Grace", "webinar", cid)), 201)
    l2 = await s.do(await alice.post("/leads", json=lead("Ada", "webinar", cid)), 201)
    await s.do(await bob.post("/leads", json=lead("Alan", "fair", None)), 201)
    await s.do(await alice.post(f"/leads/{l1['id']}/qualify", json={}))
    conversion = await s.do(
        await alice.post(
            f"/leads/{l1['id']}/convert",
            json={
                "opportunity_name": "Compilers",
                "amount": eur("12000.00"),
                "expected_close_date": "2026-06-30",
            },
        ),
        202,
    )
    o1, customer_a = conversion["opportunity_id"], conversion["customer_id"]
    await converted(alice, l1["id"])
    await s.do(await alice.post(f"/leads/{l2['id']}/disqualify", json={"reason": "no budget"}))
    opp = {"customer_id": "cust-9", "name": "Licences", "expected_close_date": "2026-05-31"}
    o2 = (
        await s.do(await alice.post("/opportunities", json={**opp, "amount": eur("10000")}), 201)
    )["id"]
    await s.do(
        await bob.post(
            "/opportunities",
            json={**opp, "amount": eur("20000.50"), "expected_close_date": "2026-04-30"},
        ),
        201,
    )

    async def move(client: UserClient, oid: str, stage: str) -> None:
        await s.do(await client.post(f"/opportunities/{oid}/stage", json={"stage": stage}))

    clock.advance(timedelta(days=1))  # 03-03
    await move(alice, o1, "qualification")
    clock.advance(timedelta(days=1))  # 03-04
    await move(alice, o2, "qualification")
    clock.advance(timedelta(days=2))  # 03-06
    await move(alice, o1, "proposal")
    clock.advance(timedelta(days=1))  # 03-07
    await s.do(await alice.post(f"/opportunities/{o2}/lose", json={"reason": "price"}))
    await s.do(await alice.post(f"/opportunities/{o1}/win"))

    def order(customer: str, quantity: str, **fields: Any) -> dict[str, Any]:
        line = {"product_id": product["id"], "quantity": quantity}
        return {"customer_id": customer, "currency": "EUR", "lines": [line], **fields}

    big = await s.do(
        await alice.post(
            "/orders", json=order(customer_a, "10", campaign_id=cid, opportunity_id=o1)
        ),
        201,
    )
    await s.do(await alice.post("/orders", json=order("cust-3", "1", campaign_id=cid)), 201)
    invoice = await s.do(await alice.post("/invoices", json={"order_id": big["id"]}), 201)
    await s.do(
        await alice.post("/payments", json={"invoice_id": invoice["id"], "amount": eur("4000")}),
        201,
    )
    clock.set(datetime(2026, 4, 2, 9, 0, tzinfo=UTC))
    await s.do(
        await alice.post("/payments", json={"invoice_id": invoice["id"], "amount": eur("8000")}),
        201,
    )
    clock.set(datetime(2026, 4, 3, 9, 0, tzinfo=UTC))  # +180 days = 2026-09-30, a month end
    await s.do(await alice.post("/orders", json=order("cust-3", "1")), 201)
    gone = await s.do(await alice.post("/orders", json=order("cust-2", "1", campaign_id=cid)), 201)
    await s.do(await alice.post(f"/orders/{gone['id']}/cancel", json={"reason": "mistake"}))

    # -- the funnel, as the analyst sees it ----------------------------------------------------
    funnel = await report(
        ana,
        "/analytics/funnel",
        s.position,
        ("stages", "conversion", "lost_reasons", "forecast", "attainment"),
        **{"from": "2026-03-01", "to": "2026-06-30"},
    )
    stages = {row["stage"]: row for row in funnel["stages"]}
    assert list(stages) == [
        "prospecting",
        "qualification",
        "needs_analysis",
        "proposal",
        "negotiation",
    ]
    assert stages["prospecting"] == {
        "stage": "prospecting",
        "probability": 10,
        "entered": 3,
        "moved_on": 2,
        "lost": 0,
        "open_now": 1,
        "conversion_rate": "0.6667",
        "average_days": "1.50",
    }
    q = stages["qualification"]
    assert (q["entered"], q["moved_on"], q["lost"], q["conversion_rate"], q["average_days"]) == (
        2,
        1,
        1,
        "0.5000",
        "3.00",
    )
    assert (stages["needs_analysis"]["entered"], stages["needs_analysis"]["average_days"]) == (
        0,
        None,
    )
    p = stages["proposal"]
    assert (p["entered"], p["moved_on"], p["conversion_rate"], p["average_days"]) == (
        1,
        1,
        "1.0000",
        "1.00",
    )
    assert funnel["conversion"] == [
        {
            "leads": 3,
            "qualified": 1,
            "disqualified": 1,
            "converted": 1,
            "converted_won": 1,
            "lead_to_opportunity": "0.3333",
            "opportunity_to_won": "1.0000",
            "lead_to_won": "0.3333",
            "opportunities": 3,
            "open": 1,
            "won": 1,
            "lost": 1,
            "win_rate": "0.5000",
        }
    ]
    assert funnel["lost_reasons"] == [{"stage": "qualification", "reason": "price", "count": 1}]
    assert funnel["forecast"] == [
        {
            "month": "2026-04",
            "opportunities": 1,
            "pipeline": eur("20000.50"),
            "weighted": eur("2000.05"),
        }
    ]
    assert funnel["attainment"] == [
        {
            "owner_kind": "rep",
            "owner_id": "alice",
            "period": "2026-Q1",
            "target": eur("24000.00"),
            "won": eur("12000.00"),
            "collected": eur("4000.00"),
            "won_attainment": "0.5000",
            "collected_attainment": "0.1667",
        },
        {
            "owner_kind": "team",
            "owner_id": "north",
            "period": "2026-03",
            "target": eur("30000.00"),
            "won": eur("12000.00"),
            "collected": eur("4000.00"),
            "won_attainment": "0.4000",
            "collected_attainment": "0.1333",
        },
    ]

    # filters: a lead source, a later period
    webinar = await report(ana, "/analytics/funnel", s.position, (), source="webinar")
    assert webinar["conversion"][0]["leads"] == 2
    assert webinar["conversion"][0]["opportunities"] == 1
    assert [r["entered"] for r in webinar["stages"]][:2] == [1, 1]
    later = await report(ana, "/analytics/funnel", s.position, (), **{"from": "2026-04-01"})
    assert later["conversion"][0]["opportunities"] == 0
    assert later["forecast"] == funnel["forecast"]

    # who sees what: a rep their own, a team manager their team, an agent nothing
    own = await report(alice, "/analytics/funnel", s.position, ())
    assert own["filters"]["owner_id"] == "alice"
    assert own["conversion"][0]["opportunities"] == 2
    assert [row["owner_id"] for row in own["attainment"]] == ["alice"]
    assert own["forecast"] == []
    assert (await alice.get("/analytics/funnel", params={"owner_id": "bob"})).status_code == 403
    team = await report(boss, "/analytics/funnel", s.position, ())
    assert team["filters"]["team_id"] == "north"
    assert team["conversion"][0]["opportunities"] == 2
    assert (await boss.get("/analytics/funnel", params={"team_id": "south"})).status_code == 403
    assert (await ann.get("/analytics/funnel")).status_code == 403
    for path in ("customers", "rfm", "revenue", "campaigns", "service"):
        assert (await alice.get(f"/analytics/reports/{path}")).status_code == 403
        if path != "service":  # an agent reads their own group's service report
            assert (await ann.get(f"/analytics/reports/{path}")).status_code == 403

    # -- revenue, campaigns, customers, RFM ----------------------------------------------------
    revenue = await report(ana, "/analytics/reports/revenue", s.position, ("months",))
    assert revenue["months"] == [
        {
            "month": "2026-03",
            "currency": "EUR",
            "orders": 2,
            "booked": eur("13200.00"),
            "cancelled": eur("0.00"),
            "returned": eur("0.00"),
            "revenue": eur("13200.00"),
            "payments": 1,
            "collected": eur("4000.00"),
        },
        {
            "month": "2026-04",
            "currency": "EUR",
            "orders": 2,
            "booked": eur("2400.00"),
            "cancelled": eur("1200.00"),
            "returned": eur("0.00"),
            "revenue": eur("1200.00"),
            "payments": 1,
            "collected": eur("8000.00"),
        },
    ]
    campaigns = await report(ana, "/analytics/reports/campaigns", s.position, ("campaigns",))
    assert campaigns["campaigns"] == [
        {
            "campaign_id": cid,
            "name": "Spring webinar",
            "channel": "webinar",
            "status": "launched",
            "budget": eur("5000.00"),
            "leads": 2,
            "opportunities": 1,
            "won": 1,
            "orders": 2,
            "revenue": eur("13200.00"),
            "return_on_budget": "2.6400",
        }
    ]
    customers = await report(
        ana, "/analytics/reports/customers", s.position, ("periods",), to="2026-09"
    )
    steady = {"new": 0, "active": 2, "lost": 0, "total": 2, "repeat_customers": 1}
    assert customers["periods"] == [
        {"month": "2026-03", "new": 2, "active": 2, "lost": 0, "total": 2, "repeat_customers": 0}
        | {"repeat_purchase_rate": "0.0000"},
        *(
            {"month": f"2026-{m:02d}", **steady, "repeat_purchase_rate": "0.5000"}
            for m in range(4, 9)
        ),
        {"month": "2026-09", "new": 0, "active": 0, "lost": 2, "total": 2}
        | {"repeat_customers": 1, "repeat_purchase_rate": "0.5000"},
    ]
    rfm = await report(
        ana, "/analytics/reports/rfm", s.position, ("customers", "segments"), as_of="2026-04-30"
    )
    columns = ("customer_id", "recency_days", "frequency", "monetary", "rfm", "segment")
    assert sorted(tuple(r[c] for c in columns) for r in rfm["customers"]) == sorted(
        [
            (customer_a, 54, 1, eur("12000.00"), "335", "loyal"),
            ("cust-3", 27, 2, eur("2400.00"), "553", "champions"),
        ]
    )
    assert {x["segment"]: x["customers"] for x in rfm["segments"]} == {
        "champions": 1,
        "loyal": 1,
        "promising": 0,
        "needs_attention": 0,
        "at_risk": 0,
        "hibernating": 0,
    }

    # -- the service desk: two tickets on Monday 2026-04-06 -------------------------------------
    await s.do(
        await boss.post(
            "/calendars",
            json={
                "id": "eu",
                "name": "EU hours",
                "time_zone": "Europe/Berlin",
                "hours": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(5)],
            },
        ),
        201,
    )
    policy = {"level": None, "name": "Default", "targets": TARGETS, "calendar_id": "eu"}
    await s.do(await boss.post("/sla/policies", json=policy), 201)
    clock.set(datetime(2026, 4, 6, 9, 0, tzinfo=UTC))
    ticket = {"customer_id": "c-1", "channel": "phone", "subject": "Help", "description": "x"}
    t1 = (
        await s.do(
            await ann.post("/tickets", json={**ticket, "kind": "complaint", "priority": "high"}),
            201,
        )
    )["id"]
    t2 = (
        await s.do(
            await ann.post(
                "/tickets", json={**ticket, "kind": "service_request", "priority": "normal"}
            ),
            201,
        )
    )["id"]
    assign = {"agent_id": "ann", "group_id": "group-a"}
    for tid in (t1, t2):
        await s.do(await ann.post(f"/tickets/{tid}/assign", json=assign))
    clock.set(datetime(2026, 4, 6, 9, 20, tzinfo=UTC))
    await s.do(await ann.post(f"/tickets/{t1}/comment", json={"body": "on it", "public": True}))
    clock.set(datetime(2026, 4, 6, 10, 1, tzinfo=UTC))
    seen = await ann.get(f"/tickets/{t2}", params={"min_position": s.position})
    assert seen.status_code == 200
    assert "X-CRM-Stale" not in seen.headers
    tick = await ServiceDeskScheduler(platform.runtime).tick(clock.now())
    assert tick.breached == (t2,)
    clock.set(datetime(2026, 4, 6, 10, 30, tzinfo=UTC))
    await s.do(await ann.post(f"/tickets/{t2}/comment", json={"body": "sorry", "public": True}))
    clock.set(datetime(2026, 4, 6, 11, 0, tzinfo=UTC))
    await s.do(await ann.post(f"/tickets/{t1}/resolve", json={"resolution": "refunded"}))
    await s.do(await ann.post(f"/tickets/{t1}/satisfaction", json={"score": 4}))
    clock.set(datetime(2026, 4, 6, 12, 0, tzinfo=UTC))
    await s.do(await ann.post(f"/tickets/{t2}/resolve", json={"resolution": "fixed"}))
    await s.do(await ann.post(f"/tickets/{t2}/satisfaction", json={"score": 2}))
    breach = [
        e
        for e in await platform.store.read_stream(f"ticket-{t2}")
        if e.event_type == "service_desk.ticket.sla_breached"
    ]
    service = await report(
        ana,
        "/analytics/reports/service",
        max(s.position, breach[0].position),
        ("months",),
        **{"from": "2026-04"},
    )
    assert service["months"] == [
        {
            "month": "2026-04",
            "tickets": 2,
            "complaints": 1,
            "first_responses": 2,
            "first_response_avg_minutes": "55.00",
            "resolved": 2,
            "resolution_avg_hours": "2.50",
            "sla_breached": 1,
            "sla_met": 1,
            "sla_compliance": "0.5000",
            "satisfaction_responses": 2,
            "satisfaction_avg": "3.00",
        }
    ]

    # -- rebuilt from position 0, the read models are the same documents ------------------------
    read_store = platform.runtime.read_store
    compared = 0
    for projection in (FunnelProjection(), ReportsProjection()):
        assert await read_store.dead_letters(projection.name) == []
        runner = ProjectionRunner(
            projection, platform.store, read_store, platform.runtime.codec, suffix="__again"
        )
        await runner.catch_up()
        for spec in projection.collections:
            live = await read_store.find(spec.name, Query(limit=10_000))
            again = await read_store.find(spec.name + "__again", Query(limit=10_000))
            assert again.items == live.items, spec.name
            compared += live.total
    assert compared == 3 + 3 + 2 + 1 + 2 + 1 + 3 + 2  # opportunities .. tickets; no pipeline


def test_a_stage_history_with_a_step_back_a_loss_and_a_reopen_counts_every_visit() -> None:
    """The funnel's document of one opportunity, fed its events one by one (pure ``evolve``):
    a backward move ends a visit too, a loss names its stage, a reopen starts a new visit."""
    projection = FunnelProjection()
    day = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def at(days: float) -> datetime:
        return day + timedelta(days=days)

    events: list[DomainEvent] = [
        OpportunityOpened(
            customer_id="c",
            owner_id="alice",
            name="Deal",
            amount=Money.of("1000", "EUR"),
            expected_close_date=date(2026, 5, 31),
            stage="prospecting",
            probability=10,
            entered_at=at(0),
        ),
        OpportunityStageChanged(
            from_stage="prospecting",
            to_stage="proposal",
            direction=StageDirection.FORWARD,
            entered_at=at(1),
            probability=60,
        ),
        OpportunityStageChanged(
            from_stage="proposal",
            to_stage="qualification",
            direction=StageDirection.BACKWARD,
            entered_at=at(3),
            probability=20,
        ),
        OpportunityLost(
            reason="silence", lost_at_stage="qualification", stage="lost", closed_at=at(3.5)
        ),
        OpportunityReopened(
            from_stage="lost", to_stage="proposal", entered_at=at(10), probability=60
        ),
        OpportunityWon(
            from_stage="proposal", stage="won", amount=Money.of("900", "EUR"), closed_at=at(12)
        ),
    ]
    doc: dict[str, Any] | None = None
    for position, event in enumerate(events, start=1):
        envelope = EventEnvelope(
            event_id=uuid4(),
            event_type=event.event_type,
            schema_version=1,
            stream_id="opportunity-o1",
            stream_version=position - 1,
            position=position,
            occurred_at=at(position),
            recorded_at=at(position),
            tenant="default",
            actor="alice",
            correlation_id=uuid4(),
            causation_id=None,
            payload={},
        )
        [key] = projection.keys(event, envelope)
        assert key == ("funnel_opportunities", "o1")
        before = copy.deepcopy(doc)
        after = projection.evolve(key, doc, event, envelope)
        assert doc == before  # evolve returns a new document and leaves the old one alone
        doc = after
    assert doc is not None
    assert [(v["stage"], v["exit"]) for v in doc["stages"]] == [
        ("prospecting", "forward"),
        ("proposal", "backward"),
        ("qualification", "lost"),
        ("proposal", "won"),
    ]
    assert (doc["status"], doc["won_amount"], doc["lost_reason"]) == ("won", eur("900"), None)
    stages = {
        row["stage"]: row
        for row in funnel_report(
            opportunities=[doc],
            leads=[],
            targets=[],
            invoices=[],
            pipeline=None,
            start=None,
            end=None,
            owner_id=None,
            team_id=None,
            campaign_id=None,
            source=None,
        )["stages"]
    }
    proposal = stages["proposal"]
    # two visits (2 days, then 2 days), left forward once (won): entered counts the deal once
    assert (proposal["entered"], proposal["moved_on"], proposal["average_days"]) == (1, 1, "2.00")
    qualification = stages["qualification"]
    # lost there once, but it is won now: "lost" counts deals that are lost, so 0
    assert (qualification["entered"], qualification["moved_on"], qualification["lost"]) == (1, 0, 0)
    assert qualification["average_days"] == "0.50"


def test_quintiles_and_segments() -> None:
    values = [Decimal(v) for v in range(1, 11)]
    assert [quintile(v, values, higher_is_better=True) for v in values] == [
        1, 1, 2, 2, 3, 3, 4, 4, 5, 5,
    ]  # fmt: skip
    assert [quintile(v, values, higher_is_better=False) for v in values] == [
        5, 5, 4, 4, 3, 3, 2, 2, 1, 1,
    ]  # fmt: skip
    ties = [Decimal(1), Decimal(1), Decimal(1), Decimal(7)]
    assert [quintile(v, ties, higher_is_better=True) for v in ties] == [4, 4, 4, 5]
    grid = {(r, f): segment(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert grid[(5, 5)] == grid[(4, 4)] == "champions"
    assert grid[(3, 3)] == grid[(5, 3)] == "loyal"
    assert grid[(5, 1)] == grid[(4, 2)] == "promising"
    assert grid[(3, 1)] == "needs_attention"
    assert grid[(2, 5)] == grid[(1, 3)] == "at_risk"
    assert grid[(1, 1)] == grid[(2, 2)] == "hibernating"
