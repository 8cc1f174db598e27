"""The retention report through HTTP, on a scripted story with exact figures: five customers'
churn risk becomes high on 2 and 3 March (two reps' customers and one in the shared pool, which
the manager hands to a rep), the reps get in touch after 3, 10, 25 and 48 hours (reached, won
back, lost, offer made) or not at all (no answer), and a sixth warning falls outside the window.
Per rep, per reason and in total, in JSON and CSV and after a rebuild; who reads whose; the
4xx answers for bad or unknown input."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from crm.activities.projections.retention_models import RETENTION_PROJECTION
from crm.analytics.application.churn_commands import RecordAssessment
from crm.analytics.churn.assessment import Assessment
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.projection import rebuild
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.repository import CommandContext
from crm.platform.bootstrap import Platform
from tests.conftest import T0, UserClient
from tests.support.reads import caught_up

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "activities", "analytics")]

Users = Callable[..., UserClient]
WINDOW = {"from": "2026-03-02", "to": "2026-03-03"}


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def row(warned: int, contacted: int, median: float | None, kept: int, lost: int) -> dict[str, Any]:
    return {
        "warned": warned,
        "contacted": contacted,
        "median_hours_to_contact": median,
        "kept": kept,
        "lost": lost,
    }


class Story:
    def __init__(self, platform: Platform, clock: ManualClock, boss: UserClient) -> None:
        self.platform = platform
        self.clock = clock
        self.boss = boss

    async def customer(self, owner: str | None) -> str:
        body = {"name": "Ada Lovelace", "email": f"ada-{uuid4().hex[:12]}@example.com"}
        if owner is not None:
            body["owner_id"] = owner
        return str((await ok(await self.boss.post("/customers", json=body), 201))["id"])

    async def warn(self, cid: str, *codes: str) -> str:
        """The customer's churn risk becomes high; the retention task it opened."""
        verdict = Assessment.from_dict(
            {
                "score": 85,
                "level": "high",
                "p_alive": 0.1,
                "reasons": [{"code": c, "text": c, "weight": 1.0} for c in codes],
            }
        )
        runtime = self.platform.runtime
        ctx = CommandContext(
            actor="process:test", role=SYSTEM_ROLE, tenant="default", now=self.clock.now()
        )
        head = await self.platform.store.head_position()
        await runtime.commands.execute(RecordAssessment(cid, verdict, head), ctx)
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            page = await ok(
                await self.boss.get("/tasks", params={"kind": "retention", "customer_id": cid})
            )
            if page["total"]:
                return str(page["items"][0]["id"])
            assert asyncio.get_running_loop().time() < deadline, "no retention task opened"
            await asyncio.sleep(0.05)

    async def at(self, hours: float) -> None:
        self.clock.set(T0 + timedelta(hours=hours))


async def report(client: UserClient, position: int, **params: Any) -> Any:
    r = await client.get(
        "/reports/retention", params={**WINDOW, **params, "min_position": position}
    )
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return r.json() if params.get("format") != "csv" else r.text


async def test_the_retention_report_counts_warnings_contacts_and_outcomes_per_rep_and_reason(
    platform: Platform, clock: ManualClock, as_user: Users
) -> None:
    admin = as_user("root", Role.ADMIN)
    boss = as_user("boss", Role.MANAGER, team="north")
    ana = as_user("ana", Role.SALES_REP, team="north")
    bob = as_user("bob", Role.SALES_REP, team="north")
    cy = as_user("cy", Role.SALES_REP, team="south")
    analyst = as_user("ida", Role.ANALYST)
    story = Story(platform, clock, admin)
    c1, c2, c3 = [await story.customer("ana") for _ in range(3)]
    c4, c5, c6 = (
        await story.customer("bob"),
        await story.customer("boss"),
        await story.customer("ana"),
    )

    t1 = await story.warn(c1, "silence", "complaints")
    t2 = await story.warn(c2, "silence")
    t4 = await story.warn(c4, "complaints")
    t5 = await story.warn(c5, "silence")  # the manager's own customer, handed to bob
    await story.warn(await story.customer(None), "overdue_invoices")  # the pool: the queue
    await story.at(1)
    await ok(await boss.post(f"/tasks/{t5}/reassign", json={"assignee_id": "bob"}))
    await story.at(3)
    await ok(await ana.post(f"/tasks/{t1}/complete", json={"outcome": "reached"}))
    await story.at(5)
    await ok(await ana.post(f"/tasks/{t2}/complete", json={"outcome": "no_answer"}))
    await story.at(24)
    t3 = await story.warn(c3, "sla_breaches")
    await story.at(25)
    await ok(await bob.post(f"/tasks/{t4}/complete", json={"outcome": "lost"}))
    await story.at(34)
    await ok(await ana.post(f"/tasks/{t3}/complete", json={"outcome": "won_back"}))
    await story.at(48)
    await ok(await bob.post(f"/tasks/{t5}/complete", json={"outcome": "offer_made"}))
    await story.at(240)
    await story.warn(c6, "silence")  # 12 March: outside the window
    head = await platform.store.head_position()

    everything = await report(admin, head)
    assert everything["total"] == row(6, 4, 17.5, 1, 1)  # 3, 10, 25 and 48 hours
    assert everything["by_rep"] == [
        {"assignee_id": "ana", **row(3, 2, 6.5, 1, 0)},
        {"assignee_id": "bob", **row(2, 2, 36.5, 0, 1)},
        {"assignee_id": None, **row(1, 0, None, 0, 0)},
    ]
    assert everything["by_reason"] == [
        {"reason": "silence", **row(3, 2, 25.5, 0, 0)},
        {"reason": "complaints", **row(2, 2, 14.0, 0, 1)},
        {"reason": "overdue_invoices", **row(1, 0, None, 0, 0)},
        {"reason": "sla_breaches", **row(1, 1, 10.0, 1, 0)},
    ]
    assert (everything["from"], everything["to"]) == ("2026-03-02", "2026-03-03")
    assert await report(analyst, head) == everything
    later = await report(admin, head, **{"from": "2026-03-04", "to": "2026-03-31"})
    assert later["total"] == row(1, 0, None, 0, 0)

    # who reads whose: a rep her own; the manager his team's (the task he handed to bob)
    mine = await report(ana, head)
    assert mine["total"] == row(3, 2, 6.5, 1, 0)
    assert [r["assignee_id"] for r in mine["by_rep"]] == ["ana"]
    team = await report(boss, head)
    assert team["by_rep"] == [{"assignee_id": "bob", **row(1, 1, 48.0, 0, 0)}]
    nobody = await report(cy, head)
    assert (nobody["total"], nobody["by_rep"], nobody["by_reason"]) == (
        row(0, 0, None, 0, 0),
        [],
        [],
    )

    # the same as CSV
    lines = list(csv.reader(io.StringIO(await report(admin, head, format="csv"))))
    assert lines[0] == ["group", "assignee_id", "reason", *row(0, 0, None, 0, 0)]
    assert lines[1:] == [
        ["rep", "ana", "", "3", "2", "6.5", "1", "0"],
        ["rep", "bob", "", "2", "2", "36.5", "0", "1"],
        ["rep", "", "", "1", "0", "", "0", "0"],
        ["reason", "", "silence", "3", "2", "25.5", "0", "0"],
        ["reason", "", "complaints", "2", "2", "14.0", "0", "1"],
        ["reason", "", "overdue_invoices", "1", "0", "", "0", "0"],
        ["reason", "", "sla_breaches", "1", "1", "10.0", "1", "0"],
        ["total", "", "", "6", "4", "17.5", "1", "1"],
    ]

    # rebuilt from the log, the same figures
    runtime = platform.runtime
    await caught_up(platform, RETENTION_PROJECTION.name)
    await rebuild(RETENTION_PROJECTION, runtime.store, runtime.read_store, runtime.codec)
    assert await report(admin, head) == everything

    # refused input names the field
    for params, field in (
        ({"from": "2026-03-05", "to": "2026-03-01"}, "to"),
        ({"from": "yesterday", "to": "2026-03-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-03-01"}, "to"),
        ({**WINDOW, "format": "xml"}, "format"),
        ({**WINDOW, "rep": "ana"}, "rep"),
    ):
        r = await admin.get("/reports/retention", params=params)
        assert r.status_code in (400, 422), (params, r.text)
        assert field in r.text, (params, r.text)
    assert (await admin.get("/reports/retention", params={"from": "2026-03-02"})).status_code == 422
