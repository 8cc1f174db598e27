"""A command that names a customer names one that exists, in the actor's tenant, that the
actor may act on (``crm.kernel.directory``): else a 422 naming the field, the same answer
for a customer that was never registered, another rep's and another tenant's; an erased
customer takes no new records (409). A customer registered a moment ago is found (the
directory is waited for), and the sales team targets follow one team rule on every route."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm.kernel.auth import Role
from tests.conftest import Api

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales", "service-desk")]

BOGUS = ("00000000-0000-0000-0000-000000000000", "not-a-uuid", "x' OR '1'='1'; --")


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def opportunity(customer_id: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "name": "Deal",
        "amount": eur("100.00"),
        "expected_close_date": "2026-06-30",
    }


def ticket(customer_id: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "kind": "inquiry",
        "channel": "email",
        "priority": "low",
        "subject": "s",
        "description": "d",
    }


def names_field(r: httpx.Response, field: str) -> bool:
    return r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field


async def test_records_for_customers_that_do_not_exist_are_422_and_record_nothing(
    api: Api,
) -> None:
    boss, agent = api.as_user("boss"), api.as_user("agent-1", Role.AGENT)
    head = await api.platform.store.head_position()
    for bogus in BOGUS:
        for client, url, body in (
            (boss, "/opportunities", opportunity(bogus)),
            (
                boss,
                "/quotes",
                {"customer_id": bogus, "currency": "EUR", "valid_until": "2026-03-31", "lines": []},
            ),
            (boss, "/orders", {"customer_id": bogus, "currency": "EUR", "lines": []}),
            (agent, "/tickets", ticket(bogus)),
            (
                boss,
                "/contracts",
                {"customer_id": bogus, "level": "basic", "starts_on": "2026-03-01"},
            ),
        ):
            r = await client.post(url, json=body)
            if url in ("/quotes", "/orders") and r.status_code == 422:
                continue  # no lines is refused too; the customer is checked below
            assert names_field(r, "customer_id"), (url, bogus, r.text)
    product = {"sku": "R-1", "name": "R", "list_price": eur("1.00")}
    await ok(await boss.post("/products", json=product), 201)
    line = [{"sku": "R-1", "quantity": "1"}]
    for url, body in (
        ("/quotes", {"currency": "EUR", "valid_until": "2026-03-31", "lines": line}),
        ("/orders", {"currency": "EUR", "lines": line}),
    ):
        r = await boss.post(url, json={**body, "customer_id": BOGUS[0]})
        assert names_field(r, "customer_id"), r.text
    # nothing but the product was recorded
    events = [e async for page in api.platform.store.read_all(head) for e in page]
    assert {e.event_type for e in events} == {"sales.product.added"} or all(
        e.stream_id.startswith("product-") for e in events
    )


async def test_a_rep_may_not_attach_records_to_another_reps_customer(api: Api) -> None:
    rep_a = api.as_user("rep-a", Role.SALES_REP, team="north")
    rep_b = api.as_user("rep-b", Role.SALES_REP, team="south")
    north = api.as_user("boss-n", Role.MANAGER, team="north")
    ada = (
        await ok(await rep_a.post("/customers", json={"name": "Ada", "owner_id": "rep-a"}), 201)
    )["id"]
    # registered a moment ago: found at once (the directory is waited for)
    mine = await ok(await rep_a.post("/opportunities", json=opportunity(ada)), 201)
    assert names_field(await rep_b.post("/opportunities", json=opportunity(ada)), "customer_id")
    pool = (await ok(await rep_b.post("/customers", json={"name": "Pool Co"}), 201))["id"]
    await ok(await rep_b.post("/opportunities", json=opportunity(pool)), 201)  # the pool's: ok
    listed = await north.get(
        "/opportunities", params={"customer_id": ada, "min_position": mine["position"]}
    )
    assert [o["id"] for o in listed.json()["items"]] == [mine["id"]]

    lead = await ok(await rep_b.post("/leads", json={"name": "Lead of B"}), 201)
    await ok(await rep_b.post(f"/leads/{lead['id']}/qualify", json={}))
    conversion = {
        "opportunity_name": "Sneaky",
        "amount": eur("1.00"),
        "expected_close_date": "2026-06-30",
        "existing_customer_id": ada,
    }
    before = await api.platform.store.read_stream(f"customer-{ada}")
    r = await rep_b.post(f"/leads/{lead['id']}/convert", json=conversion)
    assert names_field(r, "existing_customer_id"), r.text
    assert len(await api.platform.store.read_stream(f"customer-{ada}")) == len(before)

    other = api.as_user("root", Role.ADMIN, tenant="other")
    assert names_field(await other.post("/opportunities", json=opportunity(ada)), "customer_id")
    assert names_field(await other.post("/tickets", json=ticket(ada)), "customer_id")


async def test_an_erased_customer_takes_no_new_records(api: Api) -> None:
    admin, agent = api.as_user("root", Role.ADMIN), api.as_user("agent-1", Role.AGENT)
    ada = (await ok(await admin.post("/customers", json={"name": "Ada"}), 201))["id"]
    await ok(await agent.post("/tickets", json=ticket(ada)), 201)
    await ok(await admin.post(f"/customers/{ada}/erase", json={}))
    for client, url, body in (
        (agent, "/tickets", ticket(ada)),
        (admin, "/opportunities", opportunity(ada)),
    ):
        r = await client.post(url, json=body)
        assert (r.status_code, r.json()["code"]) == (409, "customer_erased"), r.text


async def test_a_target_belongs_to_the_team_it_was_set_under_on_every_route(api: Api) -> None:
    north = api.as_user("boss-n", Role.MANAGER, team="north")
    south = api.as_user("boss-s", Role.MANAGER, team="south")
    head = api.as_user("head", Role.MANAGER)
    body = {"owner_kind": "rep", "owner_id": "rep-s1", "period": "2026-Q2", "amount": eur("5.00")}
    set_ = await ok(await north.post("/targets", json=body), 201)
    url, at = f"/targets/{set_['id']}", {"min_position": set_["position"]}
    assert (await north.get(url, params=at)).status_code == 200
    assert (await head.get(url, params=at)).json()["team_id"] == "north"
    assert (await south.get(url, params=at)).status_code == 404
    assert (await south.post("/targets", json={**body, "amount": eur("6.00")})).status_code == 404
    assert (await south.patch(url, json={"amount": eur("6.00")})).status_code == 404
    assert (await south.get("/targets", params=at)).json()["total"] == 0
    revised = await ok(await north.patch(url, json={"amount": eur("6.00")}))
    assert revised["version"] == 1
    team = {"owner_kind": "team", "owner_id": "north", "period": "2026-Q2", "amount": eur("9.00")}
    assert (await south.post("/targets", json=team)).status_code == 403
