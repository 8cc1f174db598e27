"""Sales targets of two tenants over HTTP: stream ids are global to the event store, so a
target's stream is qualified by its tenant while routes, answers and read models show the
tenant's own id (``rep-r1-2026-Q1``). Two tenants with the same rep id and period each set,
read and revise their own target, and each one's funnel attainment counts its own."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from crm.kernel.auth import Role
from crm.platform.bootstrap import Platform
from tests.conftest import UserClient

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("sales", "analytics")]

Users = Callable[..., UserClient]
TENANTS = ("acme", "globex")
AMOUNTS = {"acme": "10000.00", "globex": "25000.00"}


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def read(client: UserClient, url: str, position: int) -> dict[str, Any]:
    r = await client.get(url, params={"min_position": position})
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


async def test_two_tenants_set_the_target_of_rep_r1_for_one_period(
    as_user: Users, platform: Platform
) -> None:
    bosses = {t: as_user("boss", Role.MANAGER, tenant=t) for t in TENANTS}
    positions = {}
    for tenant, boss in bosses.items():
        body = {
            "owner_kind": "rep",
            "owner_id": "r1",
            "period": "2026-Q1",
            "amount": eur(AMOUNTS[tenant]),
        }
        r = await boss.post("/targets", json=body)
        assert r.status_code == 201, r.text
        assert r.headers["Location"] == "/targets/rep-r1-2026-Q1"
        assert (r.json()["id"], r.json()["version"]) == ("rep-r1-2026-Q1", 0)
        positions[tenant] = r.json()["position"]
        again = await boss.post("/targets", json=body)  # the same target again: its own stream
        assert (again.status_code, again.json()["version"]) == (201, 0), again.text
    last = max(positions.values())

    for tenant, boss in bosses.items():
        shown = await read(boss, "/targets/rep-r1-2026-Q1", last)
        assert (shown["id"], shown["owner_id"], shown["amount"]) == (
            "rep-r1-2026-Q1",
            "r1",
            eur(AMOUNTS[tenant]),
        )
        listed = await read(boss, "/targets", last)
        assert [(x["id"], x["amount"]) for x in listed["items"]] == [
            ("rep-r1-2026-Q1", eur(AMOUNTS[tenant]))
        ]
        stream = await platform.store.read_stream(f"target-{tenant}:rep-r1-2026-Q1")
        assert [e.event_type for e in stream] == ["sales.target.set"]
        assert Decimal(stream[0].payload["amount"]["amount"]) == Decimal(AMOUNTS[tenant])

    # Revising one tenant's target leaves the other's alone.
    revised = await bosses["acme"].patch(
        "/targets/rep-r1-2026-Q1", json={"amount": eur("12000.00"), "reason": "new hire"}
    )
    assert revised.status_code == 200, revised.text
    assert (revised.json()["id"], revised.json()["version"]) == ("rep-r1-2026-Q1", 1)
    position = revised.json()["position"]
    mine = await read(bosses["acme"], "/targets/rep-r1-2026-Q1", position)
    theirs = await read(bosses["globex"], "/targets/rep-r1-2026-Q1", position)
    assert (mine["amount"], theirs["amount"]) == (eur("12000.00"), eur(AMOUNTS["globex"]))
    assert theirs["revisions"] == []
    # A tenant without the target cannot revise or read another's.
    lone = as_user("boss", Role.MANAGER, tenant="initech")
    missing = await lone.patch("/targets/rep-r1-2026-Q1", json={"amount": eur("1.00")})
    assert missing.status_code == 404, missing.text
    assert "globex" not in missing.text
    assert "acme" not in missing.text
    assert (await lone.get("/targets/rep-r1-2026-Q1")).status_code == 404

    # The analytics funnel (keyed by stream id) counts each tenant's own target.
    expected = {"acme": "12000.00", "globex": AMOUNTS["globex"]}
    for tenant in TENANTS:
        analyst = as_user("ana", Role.ANALYST, tenant=tenant)
        funnel = await read(analyst, "/analytics/funnel", position)
        assert [(a["owner_id"], a["period"], a["target"]) for a in funnel["attainment"]] == [
            ("r1", "2026-Q1", eur(expected[tenant]))
        ]
