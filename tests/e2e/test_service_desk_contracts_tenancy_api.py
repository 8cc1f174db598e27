"""Service contracts of two tenants over HTTP: a contract's stream is qualified by its tenant
(``servicecontract-<tenant>:<customer>``) while routes, answers and read models show the
customer id, so no tenant can name another's contract stream. Two tenants sign a contract
with their own customer at different levels, each one's ticket gets its own tenant's level,
and neither may sign, read or change a contract of the other's customer."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from crm.kernel.auth import Role
from crm.platform.bootstrap import Platform
from crm.service_desk.domain.sla import DEFAULT_POLICY
from tests.conftest import Api, UserClient
from tests.support.customers import known_customers

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("service-desk")]

TARGETS = {
    "urgent": {"first_response_minutes": 15, "resolution_minutes": 120},
    "high": {"first_response_minutes": 30, "resolution_minutes": 240},
    "normal": {"first_response_minutes": 60, "resolution_minutes": 480},
    "low": {"first_response_minutes": 120, "resolution_minutes": 960},
}
LEVELS = {"acme": "premium", "globex": "basic"}
CUSTOMERS = {"acme": "c-1", "globex": "c-2"}

_acme = known_customers(CUSTOMERS["acme"], tenant="acme")
_globex = known_customers(CUSTOMERS["globex"], tenant="globex")


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def read(client: UserClient, url: str, position: int) -> dict[str, Any]:
    path, _, query = url.partition("?")
    r = await client.get(path, params=[*parse_qsl(query), ("min_position", str(position))])
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


async def open_ticket(boss: UserClient, customer: str) -> dict[str, Any]:
    body = {
        "customer_id": customer,
        "kind": "inquiry",
        "channel": "email",
        "priority": "high",
        "subject": "Export?",
        "description": "Question",
    }
    return await ok(await boss.post("/tickets", json=body), 201)


async def test_two_tenants_sign_a_contract_with_their_own_customer(
    api: Api, platform: Platform
) -> None:
    bosses = {t: api.as_user("boss", Role.MANAGER, tenant=t) for t in LEVELS}
    for tenant, boss in bosses.items():
        for level in ("premium", "basic"):  # both tenants have both policies
            policy = {"level": level, "name": f"{tenant} {level}", "targets": TARGETS}
            await ok(await boss.post("/sla/policies", json=policy), 201)
        c = CUSTOMERS[tenant]
        contract = {"customer_id": c, "level": LEVELS[tenant], "starts_on": "2026-03-01"}
        r = await boss.post("/contracts", json=contract)
        assert (r.status_code, r.headers["Location"]) == (201, f"/contracts/{c}"), r.text
        assert (r.json()["id"], r.json()["version"]) == (c, 0)
        again = await ok(await boss.post("/contracts", json=contract), 201)
        assert (again["id"], again["version"]) == (c, 0)
    # the other tenant's customer does not exist for a tenant: a 422 naming the field
    theirs = {"customer_id": CUSTOMERS["acme"], "level": "basic", "starts_on": "2026-03-01"}
    refused = await bosses["globex"].post("/contracts", json=theirs)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"][-1] == "customer_id"
    assert await platform.store.read_stream(f"servicecontract-globex:{CUSTOMERS['acme']}") == []

    opened = {tenant: await open_ticket(boss, CUSTOMERS[tenant]) for tenant, boss in bosses.items()}
    last = max(o["position"] for o in opened.values())
    for tenant, boss in bosses.items():
        ticket = await read(boss, f"/tickets/{opened[tenant]['id']}", last)
        assert (ticket["sla"]["policy_id"], ticket["sla"]["policy_name"]) == (
            LEVELS[tenant],
            f"{tenant} {LEVELS[tenant]}",
        )
        c = CUSTOMERS[tenant]
        shown = await read(boss, f"/contracts/{c}", last)
        assert (shown["id"], shown["customer_id"], shown["level"], shown["active"]) == (
            c,
            c,
            LEVELS[tenant],
            True,
        )
        listed = await read(boss, "/contracts", last)
        assert [(x["id"], x["level"]) for x in listed["items"]] == [(c, LEVELS[tenant])]
        stream = await platform.store.read_stream(f"servicecontract-{tenant}:{c}")
        assert [(e.payload["customer_id"], e.payload["level"]) for e in stream] == [
            (c, LEVELS[tenant])
        ]
        other = CUSTOMERS["globex" if tenant == "acme" else "acme"]
        assert (await boss.get(f"/contracts/{other}")).status_code == 404

    # Changing one tenant's contract and ending the other's touch only their own.
    acme_c, globex_c = CUSTOMERS["acme"], CUSTOMERS["globex"]
    changed = await ok(
        await bosses["acme"].post(f"/contracts/{acme_c}/change", json={"level": "basic"})
    )
    assert (changed["id"], changed["version"]) == (acme_c, 1)
    ended = await ok(
        await bosses["globex"].post(f"/contracts/{globex_c}/end", json={"reason": "left"})
    )
    assert (ended["id"], ended["version"]) == (globex_c, 1)
    position = max(changed["position"], ended["position"])
    acme = await read(bosses["acme"], f"/contracts/{acme_c}", position)
    globex = await read(bosses["globex"], f"/contracts/{globex_c}", position)
    assert (acme["level"], acme["active"]) == ("basic", True)
    assert (globex["level"], globex["active"]) == ("basic", False)
    after = {tenant: await open_ticket(boss, CUSTOMERS[tenant]) for tenant, boss in bosses.items()}
    last = max(o["position"] for o in after.values())
    acme_ticket = await read(bosses["acme"], f"/tickets/{after['acme']['id']}", last)
    globex_ticket = await read(bosses["globex"], f"/tickets/{after['globex']['id']}", last)
    assert acme_ticket["sla"]["policy_id"] == "basic"
    # No contract in force any more: the built-in policy (neither tenant defined a default).
    assert globex_ticket["sla"]["policy_id"] == DEFAULT_POLICY.id

    # Another tenant sees neither contract and cannot change one.
    lone = api.as_user("boss", Role.MANAGER, tenant="initech")
    assert (await lone.get(f"/contracts/{acme_c}")).status_code == 404
    missing = await lone.post(f"/contracts/{acme_c}/change", json={"level": "premium"})
    assert missing.status_code == 404, missing.text
    assert "acme" not in missing.text
    assert "globex" not in missing.text
    assert (await lone.get("/contracts")).json()["total"] == 0
