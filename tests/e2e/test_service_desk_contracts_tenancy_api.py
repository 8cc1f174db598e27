"""Service contracts of two tenants over HTTP: customer ids are the tenant's own free text and
stream ids are global to the event store, so a contract's stream is qualified by its tenant
(``servicecontract-<tenant>:<customer>``) while routes, answers and read models show the
customer id. Two tenants sign a contract with their customer ``c-1`` at different levels, and
each one's ticket for ``c-1`` gets its own tenant's level."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from crm.kernel.auth import Role
from crm.platform.bootstrap import Platform
from crm.service_desk.domain.sla import DEFAULT_POLICY
from tests.conftest import Api, UserClient

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("service-desk")]

TARGETS = {
    "urgent": {"first_response_minutes": 15, "resolution_minutes": 120},
    "high": {"first_response_minutes": 30, "resolution_minutes": 240},
    "normal": {"first_response_minutes": 60, "resolution_minutes": 480},
    "low": {"first_response_minutes": 120, "resolution_minutes": 960},
}
LEVELS = {"acme": "premium", "globex": "basic"}


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def read(client: UserClient, url: str, position: int) -> dict[str, Any]:
    path, _, query = url.partition("?")
    r = await client.get(path, params=[*parse_qsl(query), ("min_position", str(position))])
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


async def open_ticket(boss: UserClient) -> dict[str, Any]:
    body = {
        "customer_id": "c-1",
        "kind": "inquiry",
        "channel": "email",
        "priority": "high",
        "subject": "Export?",
        "description": "Question",
    }
    return await ok(await boss.post("/tickets", json=body), 201)


async def test_two_tenants_sign_a_contract_with_their_customer_c1(
    api: Api, platform: Platform
) -> None:
    bosses = {t: api.as_user("boss", Role.MANAGER, tenant=t) for t in LEVELS}
    for tenant, boss in bosses.items():
        for level in ("premium", "basic"):  # both tenants have both policies
            policy = {"level": level, "name": f"{tenant} {level}", "targets": TARGETS}
            await ok(await boss.post("/sla/policies", json=policy), 201)
        contract = {"customer_id": "c-1", "level": LEVELS[tenant], "starts_on": "2026-03-01"}
        r = await boss.post("/contracts", json=contract)
        assert (r.status_code, r.headers["Location"]) == (201, "/contracts/c-1"), r.text
        assert (r.json()["id"], r.json()["version"]) == ("c-1", 0)
        again = await ok(await boss.post("/contracts", json=contract), 201)
        assert (again["id"], again["version"]) == ("c-1", 0)

    opened = {tenant: await open_ticket(boss) for tenant, boss in bosses.items()}
    last = max(o["position"] for o in opened.values())
    for tenant, boss in bosses.items():
        ticket = await read(boss, f"/tickets/{opened[tenant]['id']}", last)
        assert (ticket["sla"]["policy_id"], ticket["sla"]["policy_name"]) == (
            LEVELS[tenant],
            f"{tenant} {LEVELS[tenant]}",
        )
        shown = await read(boss, "/contracts/c-1", last)
        assert (shown["id"], shown["customer_id"], shown["level"], shown["active"]) == (
            "c-1",
            "c-1",
            LEVELS[tenant],
            True,
        )
        listed = await read(boss, "/contracts", last)
        assert [(c["id"], c["level"]) for c in listed["items"]] == [("c-1", LEVELS[tenant])]
        stream = await platform.store.read_stream(f"servicecontract-{tenant}:c-1")
        assert [(e.payload["customer_id"], e.payload["level"]) for e in stream] == [
            ("c-1", LEVELS[tenant])
        ]

    # Changing one tenant's contract and ending the other's touch only their own.
    changed = await ok(await bosses["acme"].post("/contracts/c-1/change", json={"level": "basic"}))
    assert (changed["id"], changed["version"]) == ("c-1", 1)
    ended = await ok(await bosses["globex"].post("/contracts/c-1/end", json={"reason": "left"}))
    assert (ended["id"], ended["version"]) == ("c-1", 1)
    position = max(changed["position"], ended["position"])
    acme = await read(bosses["acme"], "/contracts/c-1", position)
    globex = await read(bosses["globex"], "/contracts/c-1", position)
    assert (acme["level"], acme["active"]) == ("basic", True)
    assert (globex["level"], globex["active"]) == ("basic", False)
    after = {tenant: await open_ticket(boss) for tenant, boss in bosses.items()}
    last = max(o["position"] for o in after.values())
    acme_ticket = await read(bosses["acme"], f"/tickets/{after['acme']['id']}", last)
    globex_ticket = await read(bosses["globex"], f"/tickets/{after['globex']['id']}", last)
    assert acme_ticket["sla"]["policy_id"] == "basic"
    # No contract in force any more: the built-in policy (neither tenant defined a default).
    assert globex_ticket["sla"]["policy_id"] == DEFAULT_POLICY.id

    # A tenant without a contract for c-1 sees none and cannot change another's.
    lone = api.as_user("boss", Role.MANAGER, tenant="initech")
    assert (await lone.get("/contracts/c-1")).status_code == 404
    missing = await lone.post("/contracts/c-1/change", json={"level": "premium"})
    assert missing.status_code == 404, missing.text
    assert "acme" not in missing.text
    assert "globex" not in missing.text
    assert (await lone.get("/contracts")).json()["total"] == 0
