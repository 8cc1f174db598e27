"""Churn after a merge, on the platform's own monitor: merging a complaining duplicate into a
quiet customer re-assesses the survivor at once on the history of both (the duplicate's
complaints and open tickets are its reasons now); the duplicate leaves the churn warnings
and is not assessed any more; ``min_position`` of the merge waits for the verdict."""

from __future__ import annotations

from typing import Any

import pytest

from crm.kernel.auth import Role
from crm.platform.bootstrap import Platform
from tests.conftest import Api, UserClient

pytestmark = pytest.mark.e2e


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert "X-CRM-Stale" not in response.headers
    return dict(response.json())


def complaint(customer_id: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "kind": "complaint",
        "channel": "phone",
        "priority": "high",
        "subject": "Late delivery",
        "description": "The parcel came a week late.",
    }


async def risk_stream(platform: Platform, customer_id: str) -> list[Any]:
    return list(await platform.store.read_stream(f"churnrisk-{customer_id}"))


async def warned(analyst: UserClient, position: int) -> list[tuple[str, str]]:
    page = await ok(
        await analyst.get("/analytics/churn/warnings", params={"min_position": position})
    )
    return [(w["customer_id"], w["level"]) for w in page["items"]]


async def test_a_merge_re_assesses_the_survivor_on_the_history_of_both(
    api: Api, platform: Platform
) -> None:
    admin = api.as_user("root", Role.ADMIN)
    agent = api.as_user("ann", Role.AGENT)
    analyst = api.as_user("ana", Role.ANALYST)
    first = {"name": "Ada Lovelace", "owner_id": "rep-1", "region": "north"}
    ada = await ok(await admin.post("/customers", json=first), 201)
    body = {**first, "email": "ada@example.com", "confirm_distinct": True}
    king = (await ok(await admin.post("/customers", json=body), 201))["id"]
    for _ in range(3):
        done = await ok(await agent.post("/tickets", json=complaint(king)), 201)
    before = await ok(
        await analyst.get(
            f"/analytics/customers/{ada['id']}/360", params={"min_position": done["position"]}
        )
    )
    assert before["churn"] is None or before["churn"]["reasons"] == []
    assert await warned(analyst, done["position"]) == [(king, "medium")]
    kings_verdicts = len(await risk_stream(platform, king))

    merged = await ok(await admin.post(f"/customers/{ada['id']}/merge", json={"merged_id": king}))
    at = {"min_position": merged["position"]}
    view = await ok(await analyst.get(f"/analytics/customers/{ada['id']}/360", params=at))
    assert view["churn"]["level"] == "medium"
    reasons = [r["text"] for r in view["churn"]["reasons"]]
    assert reasons == ["3 complaints in 30 days", "3 open tickets"]
    assert await warned(analyst, merged["position"]) == [(ada["id"], "medium")]

    # the verdict saw the merge (the survivor's customer.absorbed)
    [absorbed] = [
        e
        for e in await platform.store.read_stream(f"customer-{ada['id']}")
        if e.event_type == "customer.absorbed"
    ]
    [*_, assessed] = [
        e for e in await risk_stream(platform, ada["id"]) if e.event_type.endswith("assessed")
    ]
    assert assessed.payload["source_position"] >= absorbed.position
    assert assessed.payload["level"] == "medium"
    # the duplicate is not assessed any more, whatever moves
    await ok(await agent.post("/tickets", json=complaint(ada["id"])), 201)
    r = await ok(await analyst.get(f"/analytics/customers/{ada['id']}/360", params=at))
    assert r["churn"]["level"] in ("medium", "high")
    assert len(await risk_stream(platform, king)) == kings_verdicts
