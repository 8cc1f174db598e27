"""The 360° view after a merge: the survivor's view counts the merged customer's orders,
payments, tickets, opportunities and interactions as its own (resolved when read, from the
merge recorded in ``customer_360``), the merged one's view points to the survivor (308), the
analytics customer list shows the survivor once with the figures of both, and a rebuild of
the read model gives the same documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crm.analytics.projections.activity_models import COLLECTION as ACTIVITY
from crm.analytics.projections.activity_models import CustomerActivityProjection
from crm.analytics.projections.customer_360_models import CUSTOMERS, Customer360Projection
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.projection import rebuild
from crm.platform.bootstrap import Platform
from tests.conftest import Api, UserClient
from tests.support.reads import caught_up, moment

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.contexts("customer", "sales", "service-desk", "analytics"),
]


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def order(client: UserClient, customer_id: str, boxes: int) -> dict[str, Any]:
    line = {"sku": "BOX", "quantity": str(boxes)}
    body = {"customer_id": customer_id, "currency": "EUR", "lines": [line]}
    return await ok(await client.post("/orders", json=body), 201)


async def test_the_survivors_360_view_holds_the_merged_ones_records(
    api: Api, platform: Platform
) -> None:
    admin = api.as_user("root", Role.ADMIN)
    agent = api.as_user("ann", Role.AGENT, team="group-a")
    product = {"sku": "BOX", "name": "Box", "list_price": {"amount": "100", "currency": "EUR"}}
    await ok(await admin.post("/products", json=product), 201)
    ada = (await ok(await admin.post("/customers", json={"name": "Ada Lovelace"}), 201))["id"]
    king = {"name": "Ada Lovelace", "email": "ada@example.com", "confirm_distinct": True}
    king_id = (await ok(await admin.post("/customers", json=king), 201))["id"]
    await order(admin, ada, 1)
    await order(admin, king_id, 2)
    await order(admin, king_id, 3)
    deal = {
        "customer_id": king_id,
        "name": "Boxes for the office",
        "amount": {"amount": "900.00", "currency": "EUR"},
        "expected_close_date": "2026-06-30",
    }
    await ok(await admin.post("/opportunities", json=deal), 201)
    ticket = {
        "customer_id": king_id,
        "kind": "complaint",
        "channel": "phone",
        "priority": "high",
        "subject": "Wrong box",
        "description": "wrong box",
    }
    await ok(await agent.post("/tickets", json=ticket), 201)
    call = {"channel": "call", "summary": "asked for a discount"}
    await ok(await admin.post(f"/customers/{king_id}/interactions", json=call), 201)

    merged = await ok(await admin.post(f"/customers/{ada}/merge", json={"merged_id": king_id}))
    at = {"min_position": merged["position"]}
    view = await ok(await admin.get(f"/analytics/customers/{ada}/360", params=at))
    assert view["orders"]["count"] == 3
    assert view["orders"]["totals"] == {"EUR": "600.00"}
    assert view["spend"] == "600.00"
    assert view["orders"]["purchase_days"] == 1  # all three on the same day
    assert [o["name"] for o in view["opportunities"]["open"]] == ["Boxes for the office"]
    assert view["tickets"]["opened"] == 1
    assert view["interactions"]["by_channel"] == {"call": 1}
    assert "customer.absorbed" in {e["type"] for e in view["timeline"]}

    gone = await admin.get(f"/analytics/customers/{king_id}/360", follow_redirects=False)
    assert gone.status_code == 308
    assert gone.headers["Location"] == f"/analytics/customers/{ada}/360"
    assert gone.json()["merged_into"] == ada

    activity = await ok(await admin.get(f"/analytics/customers/{ada}/activity", params=at))
    assert activity["interactions"]["by_channel"] == {"call": 1}
    assert activity["counts"]["customer.registered"] == 2  # both registrations
    assert activity["counts"]["customer.absorbed"] == 1
    gone = await admin.get(f"/analytics/customers/{king_id}/activity", follow_redirects=False)
    assert gone.status_code == 308
    assert gone.headers["Location"] == f"/analytics/customers/{ada}/activity"

    # the lists filtered by the survivor hold the merged one's records
    mine = {"customer_id": ada, **at}
    assert (await ok(await admin.get("/orders", params=mine)))["total"] == 3
    deals = (await ok(await admin.get("/opportunities", params=mine)))["items"]
    assert [d["name"] for d in deals] == ["Boxes for the office"]
    assert (await ok(await agent.get("/tickets", params=mine)))["total"] == 1
    theirs = {"customer_id": king_id, **at}
    assert (await ok(await admin.get("/orders", params=theirs)))["total"] == 2

    # the survivor's data subject export holds the merged one's records; the merged one's
    # export says where they are
    export = await ok(await admin.get(f"/customers/{ada}/export"))
    assert len(export["orders"]) == 3
    assert [o["name"] for o in export["opportunities"]] == ["Boxes for the office"]
    assert len(export["tickets"]) == 1
    assert export["analytics"]["orders"]["count"] == 3
    theirs_export = await ok(await admin.get(f"/customers/{king_id}/export"))
    assert theirs_export["profile"] == {"id": king_id, "merged_into": ada}
    assert theirs_export["analytics"]["merged_into"] == ada
    assert len(theirs_export["orders"]) == 2

    # the other contexts take no new records for the merged one: they name the survivor
    line = {"sku": "BOX", "quantity": "1"}
    r = await admin.post(
        "/orders", json={"customer_id": king_id, "currency": "EUR", "lines": [line]}
    )
    assert r.status_code == 409, r.text
    assert (r.json()["code"], r.json()["merged_into"]) == ("customer_merged", ada)
    r = await agent.post("/tickets", json={**ticket, "subject": "again"})
    assert r.status_code == 409, r.text
    assert r.json()["merged_into"] == ada

    rows = (await ok(await admin.get("/analytics/customers", params=at)))["items"]
    assert [(r["id"], r["orders"]) for r in rows] == [(ada, 3)]

    await caught_up(platform, "customer_360", "customer_activity")
    runtime = platform.runtime
    for projection, collection in (
        (Customer360Projection(), CUSTOMERS),
        (CustomerActivityProjection(), ACTIVITY),
    ):
        before = [await runtime.read_store.get(collection, i) for i in (ada, king_id)]
        await rebuild(projection, runtime.store, runtime.read_store, runtime.codec)
        assert [await runtime.read_store.get(collection, i) for i in (ada, king_id)] == before
    again = await ok(await admin.get(f"/analytics/customers/{ada}/360"))
    assert again["orders"] == view["orders"]


async def test_an_as_of_view_of_the_survivor_holds_what_was_merged_into_it_by_then(
    api: Api, clock: ManualClock
) -> None:
    """As of a moment before the merge, the survivor's view is its own; as of a moment after
    it, it holds the merged customer's orders too, as the live view does; the merged one as
    of before the merge is its own customer still."""
    clock.set(datetime.now(UTC))  # the facts happen before the moments asked about
    admin = api.as_user("root", Role.ADMIN)
    product = {"sku": "BOX", "name": "Box", "list_price": {"amount": "100", "currency": "EUR"}}
    await ok(await admin.post("/products", json=product), 201)
    ada = (await ok(await admin.post("/customers", json={"name": "Ada Lovelace"}), 201))["id"]
    king = {"name": "Ada Lovelace", "email": "ada@example.com", "confirm_distinct": True}
    king_id = (await ok(await admin.post("/customers", json=king), 201))["id"]
    await order(admin, ada, 1)
    await order(admin, king_id, 2)
    before = (await moment()).isoformat()
    await ok(await admin.post(f"/customers/{ada}/merge", json={"merged_id": king_id}))
    await order(admin, ada, 4)
    after = (await moment()).isoformat()
    last = await order(admin, ada, 8)  # after the moment asked about
    url = f"/analytics/customers/{ada}/360"
    then = await ok(await admin.get(url, params={"as_of": before}))
    assert (then["orders"]["count"], then["spend"]) == (1, "100.00")
    assert "customer.absorbed" not in {e["type"] for e in then["timeline"]}
    later = await ok(await admin.get(url, params={"as_of": after}))
    assert (later["orders"]["count"], later["spend"]) == (3, "700.00")
    live = await ok(await admin.get(url, params={"min_position": last["position"]}))
    assert (live["orders"]["count"], live["spend"]) == (4, "1500.00")
    theirs = await ok(
        await admin.get(f"/analytics/customers/{king_id}/360", params={"as_of": before})
    )
    assert (theirs["orders"]["count"], theirs["spend"]) == (1, "200.00")
    gone = await admin.get(
        f"/analytics/customers/{king_id}/360", params={"as_of": after}, follow_redirects=False
    )
    assert gone.status_code == 308
