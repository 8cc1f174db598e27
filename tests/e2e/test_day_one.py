"""Day one, tried as a new user (issue 11): what a newcomer ran into on the real platform
over HTTP. The service report is the agents' too (of their own group); the funnel lists the
pipeline's stages only, removed ones apart; a churn reason follows its event at once, not at
the next monitor tick; ``q=`` finds a customer by company and phone; a visit cannot be booked
on a closed ticket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from typer.testing import CliRunner

from crm.analytics.application.reports.funnel import funnel_report
from crm.console.install import console_projections
from crm.kernel.auth import Role
from crm.kernel.projection import wait_until
from crm.platform.bootstrap import Platform
from crm.platform.cli import app as cli
from crm.platform.status import projection_status
from tests.conftest import SECRET, Api, UserClient
from tests.support.console import console_user

pytestmark = pytest.mark.e2e


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def customer(boss: UserClient, name: str, **extra: Any) -> tuple[str, int]:
    body = {"name": name, "owner_id": "rep-1", "region": "north", **extra}
    done = await ok(await boss.post("/customers", json=body), 201)
    return str(done["id"]), int(done["position"])


def ticket_body(
    customer_id: str, kind: str = "inquiry", priority: str = "normal"
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "kind": kind,
        "channel": "phone",
        "priority": priority,
        "subject": "Late delivery",
        "description": "The parcel came a week late.",
    }


# -- the service report: agents read their own group's --------------------------------------


async def test_an_agent_reads_the_service_report_of_their_own_group(
    api: Api, platform: Platform
) -> None:
    boss = api.as_user("boss")
    ann = api.as_user("ann", Role.AGENT, team="group-a")
    bea = api.as_user("bea", Role.AGENT, team="group-b")
    cid, _ = await customer(boss, "Ada Lovelace")
    for agent, group, n in ((ann, "group-a", 2), (bea, "group-b", 1)):
        for _ in range(n):
            tid = (await ok(await agent.post("/tickets", json=ticket_body(cid)), 201))["id"]
            assign = {"agent_id": "ann" if group == "group-a" else "bea", "group_id": group}
            await ok(await agent.post(f"/tickets/{tid}/assign", json=assign))
    head = await platform.store.head_position()

    async def tickets(who: UserClient, **params: Any) -> int | None:
        r = await who.get("/analytics/reports/service", params={"min_position": head, **params})
        assert r.status_code == 200, r.text
        return sum(row["tickets"] for row in r.json()["months"])

    assert await tickets(ann) == 2
    assert await tickets(bea) == 1
    assert await tickets(ann, group_id="group-a") == 2
    refused = await ann.get("/analytics/reports/service", params={"group_id": "group-b"})
    assert refused.status_code == 403
    loner = api.as_user("lone", Role.AGENT)
    assert (await loner.get("/analytics/reports/service")).status_code == 403
    assert await tickets(boss) == 3, "a manager without a team: the whole tenant"
    assert await tickets(api.as_user("ana", Role.ANALYST), group_id="group-b") == 1
    assert await tickets(api.as_user("lead", Role.MANAGER, team="group-b")) == 1
    rep = api.as_user("rep-1", Role.SALES_REP)
    assert (await rep.get("/analytics/reports/service")).status_code == 403
    # the other reports stay the analysts' and managers'
    assert (await ann.get("/analytics/reports/revenue")).status_code == 403


# -- the funnel: the pipeline's stages, removed ones apart -----------------------------------


def opportunity(stages: list[str], status: str = "open") -> dict[str, Any]:
    visits = [
        {
            "stage": s,
            "entered_at": f"2026-03-0{i + 1}T10:00:00+00:00",
            "exited_at": None if i == len(stages) - 1 else f"2026-03-0{i + 2}T10:00:00+00:00",
            "exit": None if i == len(stages) - 1 else "forward",
        }
        for i, s in enumerate(stages)
    ]
    return {
        "id": "-".join(stages),
        "opened_at": "2026-03-01T10:00:00+00:00",
        "stages": visits,
        "status": status,
        "stage": stages[-1],
        "lost_at_stage": None,
        "lost_reason": None,
        "expected_close_date": "2026-04-30",
        "amount": {"amount": "100.00", "currency": "EUR"},
        "probability": 10,
    }


def test_stages_removed_by_a_new_pipeline_are_not_listed_as_stages() -> None:
    """Opportunities that went through ``old-1`` and ``old-2`` before ``PUT /pipeline``
    replaced them: the funnel's stages are the pipeline's, in its order; the old ones are
    history, under ``removed_stages``."""
    pipeline = {
        "stages": [
            {"name": "discovery", "probability": 10, "outcome": "open"},
            {"name": "pilot", "probability": 50, "outcome": "open"},
            {"name": "signed", "probability": 100, "outcome": "won"},
            {"name": "dropped", "probability": 0, "outcome": "lost"},
        ]
    }
    opportunities = [opportunity(["old-1", "old-2"]), opportunity(["discovery", "pilot"])]
    report = funnel_report(
        opportunities=opportunities,
        leads=[],
        targets=[],
        invoices=[],
        pipeline=pipeline,
        start=None,
        end=None,
        owner_id=None,
        team_id=None,
        campaign_id=None,
        source=None,
    )
    assert [r["stage"] for r in report["stages"]] == ["discovery", "pilot"]
    assert [(r["stage"], r["entered"], r["open_now"]) for r in report["removed_stages"]] == [
        ("old-1", 1, 0),
        ("old-2", 1, 1),
    ]


# -- churn: the reason follows its event, not the next tick ----------------------------------


async def test_a_churn_reason_is_shown_right_after_the_event_that_caused_it(
    api: Api, platform: Platform
) -> None:
    """The platform's own monitor (its interval a minute) re-assesses a customer as soon as
    an event about them reached the 360° view; ``min_position`` of the triggering command
    waits for the verdict too (read-your-writes)."""
    boss = api.as_user("boss")
    agent = api.as_user("ann", Role.AGENT)
    analyst = api.as_user("ana", Role.ANALYST)
    cid, _ = await customer(boss, "Carl Complainer")
    for _ in range(3):
        done = await ok(await agent.post("/tickets", json=ticket_body(cid, "complaint")), 201)
    r = await analyst.get("/analytics/churn/warnings", params={"min_position": done["position"]})
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    [warned] = r.json()["items"]
    assert warned["customer_id"] == cid
    assert "3 complaints in 30 days" in [reason["text"] for reason in warned["reasons"]]
    view = await analyst.get(
        f"/analytics/customers/{cid}/360", params={"min_position": done["position"]}
    )
    assert view.json()["churn"]["level"] == warned["level"]


# -- projections status and /ready tell the same story ---------------------------------------


async def test_a_caught_up_platform_is_behind_by_nothing(api: Api, platform: Platform) -> None:
    """Events of other categories after a projection's last one are not work it has to do:
    once ``/ready``, every projection is 0 behind, in the CLI's table too."""
    boss = api.as_user("boss")
    await customer(boss, "Ada Lovelace")
    product = {"sku": "BOX", "name": "Box", "list_price": {"amount": "100", "currency": "EUR"}}
    done = await ok(await boss.post("/products", json=product), 201)
    for _ in range(3):  # the last events of the log are the sales context's
        await ok(await boss.post("/products", json={**product, "sku": f"B{_}"}), 201)
    assert (await api.client.get("/ready")).json() == {"ready": True}
    await boss.get("/products", params={"min_position": done["position"] + 3})
    read_models = [*platform.projections, *console_projections()]  # what `crm up` keeps
    for p in read_models:
        await wait_until(
            platform.read_store,
            p.name,
            await platform.store.head_position(),
            5.0,
            store=platform.store,
            categories=p.categories,
        )
        status = await projection_status(platform.store, platform.read_store, p)
        assert status.behind == 0, (p.name, status)
    [customers] = [p for p in platform.projections if p.name == "customers"]
    behind_head = (
        await platform.store.head_position()
        - (await platform.read_store.checkpoint(customers.name)).position
    )
    assert behind_head >= 4, "the customers' checkpoint is not the head: the old count lied"

    env = {
        "CRM_DATA_DIR": str(platform.settings.data_dir),
        "CRM_SECRET": SECRET,
        "COLUMNS": "200",
    }
    shown = await asyncio.to_thread(
        CliRunner().invoke, cli, ["projections", "status"], env=env, terminal_width=200
    )
    assert shown.exit_code == 0, shown.output
    rows = [line.split("│") for line in shown.output.splitlines() if "│" in line]
    behind = {cells[1].strip(): cells[4].strip() for cells in rows if len(cells) > 5}
    assert "┃ behind ┃" in shown.output
    assert set(behind) == {p.name for p in platform.projections} | CONSOLE_READ_MODELS
    assert set(behind.values()) == {"0"}, behind


CONSOLE_READ_MODELS = {"console_users", "console_teams"}


async def test_crm_projections_lists_and_rebuilds_the_consoles_read_models(
    api: Api, platform: Platform
) -> None:
    """``console_users`` and ``console_teams`` are listed by ``crm projections status`` and
    rebuilt by ``crm projections rebuild`` like the contexts' read models; the rebuilt
    directory still knows the user."""
    await console_user(api, "nia", "sales_rep", team="north")
    env = {"CRM_DATA_DIR": str(platform.settings.data_dir), "CRM_SECRET": SECRET}
    runner = CliRunner()
    shown = await asyncio.to_thread(
        runner.invoke, cli, ["projections", "status"], env=env, terminal_width=200
    )
    assert shown.exit_code == 0, shown.output
    rows = {line.split("│")[1].strip() for line in shown.output.splitlines() if "│" in line}
    assert rows >= CONSOLE_READ_MODELS, shown.output
    for name in sorted(CONSOLE_READ_MODELS):
        rebuilt = await asyncio.to_thread(
            runner.invoke, cli, ["projections", "rebuild", name], env=env
        )
        assert rebuilt.exit_code == 0, rebuilt.output
        assert f"{name} rebuilt up to position" in rebuilt.output
    users = await api.as_user("boss", Role.ADMIN).get("/users/nia")
    assert users.status_code == 200, users.text
    assert users.json()["team"] == "north"


# -- q= finds a customer by name, company, e-mail and phone ----------------------------------


async def test_q_finds_a_customer_by_company_and_phone_too(api: Api) -> None:
    boss = api.as_user("boss")
    ada, _ = await customer(
        boss,
        "Ada Lovelace",
        email="ada@example.com",
        phone="+44 20 7946 0000",
        company="Analytical Engines Ltd",
    )
    firm, position = await customer(
        boss, "Babbage & Sons", kind="company", email="office@babbage.example"
    )

    async def found(q: str) -> list[str]:
        r = await boss.get("/customers", params={"q": q, "min_position": position})
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert await found("lovelace") == [ada]
    assert await found("analytical engines") == [ada]
    assert await found("7946 0000") == [ada]
    assert await found("babbage") == [firm]
    assert await found("BABBAGE.EXAMPLE") == [firm]
    assert await found("nobody") == []


# -- a visit on a closed ticket --------------------------------------------------------------


async def test_a_visit_is_refused_on_a_closed_ticket_and_allowed_after_resolution(
    api: Api,
) -> None:
    """Resolved: a visit to check the repair or follow a complaint up is legitimate. Closed:
    409 ``ticket_closed``, booking nothing; reopened, it can be booked again."""
    boss = api.as_user("boss")
    cid, _ = await customer(boss, "Dora Doe")
    tid = (await ok(await boss.post("/tickets", json=ticket_body(cid, "service_request")), 201))[
        "id"
    ]

    def visit(hour: int) -> dict[str, Any]:
        return {
            "ticket_id": tid,
            "customer_id": cid,
            "technician_id": "tech-1",
            "start": f"2026-03-04T{hour:02d}:00:00+00:00",
            "end": f"2026-03-04T{hour:02d}:30:00+00:00",
            "address": "3 Elm Street",
        }

    assign = {"agent_id": "ann", "group_id": "group-a"}
    await ok(await boss.post(f"/tickets/{tid}/assign", json=assign))
    await ok(await boss.post(f"/tickets/{tid}/resolve", json={"resolution": "Fixed"}))
    await ok(await boss.post("/visits", json=visit(9)), 201)
    await ok(await boss.post(f"/tickets/{tid}/close"))
    refused = await boss.post("/visits", json=visit(11))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "ticket_closed"
    await ok(await boss.post(f"/tickets/{tid}/reopen", json={"reason": "still broken"}))
    await ok(await boss.post("/visits", json=visit(11)), 201)
