"""Hostile input is a 422 naming the field, never a 500 and never stored: money in one format
and one bound (a decimal string within the currency's minor unit, at most 15 integer digits),
bounded quote-line quantities, ``offset`` bounded on every list route, SLA targets bounded,
control characters refused in every request body, and an id the context allows answered
with a valid ``Location``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
import pytest_asyncio

from crm.kernel.auth import Role
from crm.platform.bootstrap import Platform
from tests.conftest import Api, UserClient
from tests.support.shared_platform import TenantApi, in_new_tenant, module_api  # noqa: F401

# one platform for the module, each test in a tenant of its own (its products, SKUs and totals)
pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module")
async def api(module_api: Api) -> TenantApi:  # noqa: F811  (the fixture imported above)
    return await in_new_tenant(module_api)


HOSTILE_AMOUNTS: list[Any] = [
    "1e400",
    "9" * 30,
    "1" * 40,
    "12.505",  # three places: EUR has two
    "NaN",
    "Infinity",
    "-Infinity",
    "1E+2",
    " 12.50",
    25000,  # a JSON integer, refused like the float below
    12.5,
]


def eur(amount: Any) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


def field_of(response: Any) -> list[Any]:
    assert response.status_code == 422, response.text
    return [item["loc"] for item in response.json()["detail"]]


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def get(platform: Platform, client: UserClient, url: str) -> Any:
    head = await platform.store.head_position()
    path, _, query = url.partition("?")
    r = await client.get(path, params=[*parse_qsl(query), ("min_position", str(head))])
    assert r.status_code == 200, r.text
    return r


async def new_customer(client: UserClient, **fields: Any) -> str:
    body = {"name": "Ada Lovelace", **fields}
    return str((await ok(await client.post("/customers", json=body), 201))["id"])


@pytest.mark.parametrize("amount", HOSTILE_AMOUNTS)
async def test_a_hostile_amount_is_a_422_naming_it_everywhere(api: Api, amount: Any) -> None:
    boss = api.as_user("boss")
    customer_id = await new_customer(boss)
    product = await boss.post(
        "/products", json={"sku": "HOSTILE-1", "name": "n", "list_price": eur(amount)}
    )
    assert field_of(product)[0][:2] == ["body", "list_price"]
    opportunity = await boss.post(
        "/opportunities",
        json={
            "customer_id": customer_id,
            "name": "n",
            "amount": eur(amount),
            "expected_close_date": "2026-06-30",
        },
    )
    assert field_of(opportunity)[0][:2] == ["body", "amount"]
    target = {"owner_kind": "rep", "owner_id": "rep-1", "period": "2026-11"}
    assert field_of(await boss.post("/targets", json={**target, "amount": eur(amount)}))[0][:2] == [
        "body",
        "amount",
    ]
    # nothing was recorded
    assert (await get(api.platform, boss, "/products")).json()["total"] == 0
    assert (await get(api.platform, boss, "/opportunities")).json()["total"] == 0


async def test_amounts_follow_the_currency_s_minor_unit(api: Api) -> None:
    boss = api.as_user("boss")
    for sku, price, status in [
        ("JPY-1", {"amount": "1250", "currency": "JPY"}, 201),
        ("JPY-2", {"amount": "1250.5", "currency": "JPY"}, 422),
        ("KWD-1", {"amount": "12.125", "currency": "KWD"}, 201),
        ("KWD-2", {"amount": "12.1255", "currency": "KWD"}, 422),
        ("EUR-1", {"amount": "999999999999999.99", "currency": "EUR"}, 201),
        ("EUR-2", {"amount": "1000000000000000", "currency": "EUR"}, 422),
    ]:
        r = await boss.post("/products", json={"sku": sku, "name": sku, "list_price": price})
        assert r.status_code == status, (sku, r.text)
        if status == 422:
            assert field_of(r)[0][:2] == ["body", "list_price"]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": "1e400"}, "quantity"),
        ({"quantity": "9" * 30}, "quantity"),
        ({"quantity": "1234567890"}, "quantity"),  # ten integer digits
        ({"quantity": "1.0000001"}, "quantity"),  # seven places
        ({"quantity": "0"}, "quantity"),
        ({"quantity": 3}, "quantity"),
        ({"quantity": "1", "discount_percent": "1e2"}, "discount_percent"),
        ({"quantity": "1", "discount_percent": "100.5"}, "discount_percent"),
        ({"quantity": "1", "unit_price": eur("1e400")}, "unit_price"),
    ],
)
async def test_a_hostile_quote_line_is_a_422_pointing_at_the_line(
    api: Api, line: dict[str, Any], field: str
) -> None:
    boss = api.as_user("boss")
    customer_id = await new_customer(boss)
    await ok(
        await boss.post(
            "/products", json={"sku": "WID-1", "name": "w", "list_price": eur("19.99")}
        ),
        201,
    )
    body = {
        "customer_id": customer_id,
        "currency": "EUR",
        "valid_until": "2026-03-31",
        "lines": [{"sku": "WID-1", **line}],
    }
    assert field_of(await boss.post("/quotes", json=body))[0][:4] == ["body", "lines", 0, field]


async def test_a_line_whose_total_exceeds_the_bound_is_refused(api: Api) -> None:
    boss = api.as_user("boss")
    customer_id = await new_customer(boss)
    price = eur("999999999999.99")
    await ok(
        await boss.post("/products", json={"sku": "BIG-1", "name": "b", "list_price": price}),
        201,
    )
    body = {
        "customer_id": customer_id,
        "currency": "EUR",
        "valid_until": "2026-03-31",
        "lines": [{"sku": "BIG-1", "quantity": "999999999"}],
    }
    r = await boss.post("/quotes", json=body)
    assert r.status_code == 422, r.text
    assert "quantity" in r.text


async def test_the_funnel_and_the_360_still_answer_after_a_hostile_amount(api: Api) -> None:
    """``"1e400"`` used to be accepted as an opportunity amount and a list price; from then
    on the funnel, its CSV and the customer's 360 view answered 500 on every request."""
    boss = api.as_user("boss")
    customer_id = await new_customer(boss, email="ada@example.com")
    opportunity = {
        "customer_id": customer_id,
        "name": "n",
        "expected_close_date": "2026-06-30",
    }
    for amount in ("1e400", "9" * 40):
        r = await boss.post("/opportunities", json={**opportunity, "amount": eur(amount)})
        assert r.status_code == 422, r.text
        r = await boss.post(
            "/products", json={"sku": "X-1", "name": "x", "list_price": eur(amount)}
        )
        assert r.status_code == 422, r.text
    await ok(
        await boss.post("/opportunities", json={**opportunity, "amount": eur("12000.00")}), 201
    )
    platform = api.platform
    funnel = (await get(platform, boss, "/analytics/funnel")).json()
    assert funnel
    csv = await get(platform, boss, "/analytics/funnel?format=csv")
    assert csv.text
    view = (await get(platform, boss, f"/analytics/customers/{customer_id}/360")).json()
    assert view["name"] == "Ada Lovelace"


LIST_ROUTES = [
    "/customers",
    "/leads",
    "/opportunities",
    "/campaigns",
    "/targets",
    "/products",
    "/price-books",
    "/quotes",
    "/orders",
    "/invoices",
    "/payments",
    "/tickets",
    "/sla/policies",
    "/calendars",
    "/contracts",
    "/visits",
    "/kb/articles",
    "/analytics/customers",
    "/analytics/churn/warnings",
]


@pytest.mark.parametrize("offset", ["10000000000000000000", "1" + "0" * 24, "1000000001"])
async def test_an_offset_out_of_bounds_is_a_422_on_every_list_route(api: Api, offset: str) -> None:
    boss = api.as_user("boss")
    for route in LIST_ROUTES:
        r = await boss.get(route, params={"offset": offset})
        assert field_of(r) == [["query", "offset"]], route
    for route in LIST_ROUTES:
        r = await boss.get(route, params={"offset": "1000000000"})
        assert r.status_code == 200, (route, r.text)
        assert r.json()["items"] == []


def policy(minutes: int) -> dict[str, Any]:
    targets = {"first_response_minutes": 60, "resolution_minutes": minutes}
    return {
        "name": "Huge",
        "targets": {p: targets for p in ("low", "normal", "high", "urgent")},
    }


async def test_sla_targets_are_bounded_so_tickets_still_open(api: Api) -> None:
    boss = api.as_user("boss")
    for minutes in (10**13, 366 * 24 * 60 + 1):
        r = await boss.post("/sla/policies", json=policy(minutes))
        assert field_of(r)[0][:3] == ["body", "targets", "low"], r.text
    await ok(await boss.post("/sla/policies", json=policy(366 * 24 * 60)), 201)
    customer_id = await new_customer(boss)
    ticket = {
        "customer_id": customer_id,
        "kind": "inquiry",
        "channel": "phone",
        "priority": "low",
        "subject": "s",
        "description": "d",
    }
    await ok(await boss.post("/tickets", json=ticket), 201)


async def test_a_contract_s_location_is_a_valid_header_whatever_the_id(api: Api) -> None:
    """A non-Latin-1 id used to be saved, then its ``Location`` header failed: a 500."""
    boss = api.as_user("boss")
    customer_id = await new_customer(boss)
    r = await boss.post(
        "/contracts",
        json={"customer_id": customer_id, "level": "premium", "starts_on": "2026-03-01"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/contracts/{customer_id}"
    hostile = await boss.post(
        "/contracts", json={"customer_id": "客户-Ω", "level": "premium", "starts_on": "2026-03-01"}
    )
    assert hostile.status_code in (201, 422), hostile.text
    if hostile.status_code == 201:
        hostile.headers["location"].encode("latin-1")
        assert hostile.headers["location"] == "/contracts/%E5%AE%A2%E6%88%B7-%CE%A9"


@pytest.mark.parametrize("bad", ["Ada\x00Lovelace", "Ada\x1b[31m", "Ada\x7f", "\x08"])
async def test_control_characters_are_refused_in_every_body(api: Api, bad: str) -> None:
    boss = api.as_user("boss")
    agent = api.as_user("ann", Role.AGENT)
    assert field_of(await boss.post("/customers", json={"name": bad})) == [["body", "name"]]
    customer_id = await new_customer(boss)
    tags = await boss.post("/customers", json={"name": "Ada", "tags": ["ok", bad]})
    assert field_of(tags)[0][:2] == ["body", "tags"]
    lead = await boss.post("/leads", json={"name": "Ada", "company": bad})
    assert field_of(lead) == [["body", "company"]]
    ticket = {
        "customer_id": customer_id,
        "kind": "inquiry",
        "channel": "phone",
        "priority": "low",
        "subject": "s",
        "description": f"line one\n{bad}",
    }
    assert field_of(await agent.post("/tickets", json=ticket)) == [["body", "description"]]
    article = {"title": bad, "problem": "p", "solution": "s"}
    assert field_of(await boss.post("/kb/articles", json=article))[0] == ["body", "title"]
    stages = {"stages": [{"name": bad, "probability": 10}]}
    assert field_of(await boss.put("/pipeline", json=stages))[0][:2] == ["body", "stages"]
    line = {"sku": "W", "quantity": "1", "description": bad}
    quote = {
        "customer_id": customer_id,
        "currency": "EUR",
        "valid_until": "2026-03-31",
        "lines": [line],
    }
    assert ["body", "lines", 0, "description"] in field_of(await boss.post("/quotes", json=quote))


async def test_tabs_and_line_breaks_stay_allowed_in_free_text(api: Api) -> None:
    boss = api.as_user("boss")
    customer_id = await new_customer(boss)
    ticket = {
        "customer_id": customer_id,
        "kind": "inquiry",
        "channel": "phone",
        "priority": "low",
        "subject": "s",
        "description": "line one\n\tline two\r\nthree",
    }
    await ok(await boss.post("/tickets", json=ticket), 201)
