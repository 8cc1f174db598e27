"""Order to cash through HTTP: catalogue, quote, order, invoice, payments, with the rules a
client meets (exact Decimal totals, one order per quote, overpayment and floats refused,
unique skus, reps seeing only their own records)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest

from crm.kernel.auth import Role
from tests.conftest import Api, UserClient
from tests.support.customers import known_customers

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("sales")]

_customers = known_customers("cust-1", "c", "c-1", "c-7", "c-9")

Users = Callable[..., UserClient]


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def read(client: UserClient, url: str, position: int) -> dict[str, Any]:
    """GET ``url`` once the read model has ``position`` (httpx's ``params`` would replace a
    query string, so it is merged here)."""
    path, _, query = url.partition("?")
    r = await client.get(path, params=[*parse_qsl(query), ("min_position", str(position))])
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


async def product(boss: UserClient, sku: str, price: str) -> dict[str, Any]:
    body = {"sku": sku, "name": f"Product {sku}", "list_price": eur(price)}
    return await ok(await boss.post("/products", json=body), 201)


async def accepted_quote(rep: UserClient, boss: UserClient) -> dict[str, Any]:
    await product(boss, "wid-1", "19.99")
    quote = await ok(
        await rep.post(
            "/quotes",
            json={
                "customer_id": "cust-1",
                "currency": "EUR",
                "valid_until": "2026-03-31",
                "campaign_id": "camp-1",
                "lines": [{"sku": "WID-1", "quantity": "3", "discount_percent": "10"}],
            },
        ),
        201,
    )
    await ok(await rep.post(f"/quotes/{quote['id']}/send"))
    await ok(await rep.post(f"/quotes/{quote['id']}/accept"))
    return quote


async def test_product_to_quote_to_order_to_paid_invoice(api: Api, as_user: Users) -> None:
    boss, rep = as_user("boss"), as_user("rep-1", Role.SALES_REP)
    widget = await product(boss, " wid-1 ", "19.99")
    gadget = await product(boss, "GAD-2", "5.00")
    shown = await read(boss, f"/products/{widget['id']}", widget["position"])
    assert (shown["sku"], shown["list_price"]) == ("WID-1", eur("19.99"))

    book = await ok(
        await boss.post("/price-books", json={"name": "Retail", "currency": "EUR"}), 201
    )
    for sku, price in (("wid-1", "19.99"), ("gad-2", "0.25")):
        entry = await api.client.put(
            f"/price-books/{book['id']}/entries/{sku}",
            json={"unit_price": eur(price)},
            headers=api.headers("boss"),
        )
        assert entry.status_code == 200, entry.text
    unpriced = await rep.post(
        "/quotes",
        json={
            "customer_id": "cust-1",
            "currency": "EUR",
            "valid_until": "2026-03-31",
            "price_book_id": book["id"],
            "lines": [{"sku": "nope-1", "quantity": "1"}],
        },
    )
    assert unpriced.status_code == 422
    assert unpriced.json()["detail"][0]["loc"] == ["body", "lines", "0", "sku"]

    created = await ok(
        await rep.post(
            "/quotes",
            json={
                "customer_id": "cust-1",
                "currency": "EUR",
                "valid_until": "2026-03-31",
                "campaign_id": "camp-1",
                "price_book_id": book["id"],
                "lines": [
                    # 3 x 19.99 (price book) less 10 % = 53.973 -> 53.97
                    {"product_id": widget["id"], "quantity": "3", "discount_percent": "10"},
                    # 0.5 x 0.25 (price book) = 0.125 -> 0.12, half to even
                    {"sku": "gad-2", "quantity": "0.5"},
                ],
            },
        ),
        201,
    )
    quote_id = created["id"]
    more = await ok(
        await rep.post(
            f"/quotes/{quote_id}/lines",
            json={
                "lines": [
                    # no price book: 2.5 x 5.00 (list price) = 12.50
                    {"sku": "GAD-2", "quantity": "2.5"},
                    # a price of its own: 1 x 4.10
                    {"sku": "WID-1", "quantity": "1", "unit_price": eur("4.10")},
                ]
            },
        )
    )
    quote = await read(rep, f"/quotes/{quote_id}", more["position"])
    assert [line["line_total"]["amount"] for line in quote["lines"]] == [
        "53.97",
        "0.12",
        "12.50",
        "4.10",
    ]
    assert quote["total"] == eur("70.69")
    assert quote["lines"][2]["product_id"] == gadget["id"]
    assert quote["owner_id"] == "rep-1"

    await ok(await rep.post(f"/quotes/{quote_id}/send"))
    accepted = await ok(await rep.post(f"/quotes/{quote_id}/accept"))
    assert (await read(rep, f"/quotes/{quote_id}", accepted["position"]))["status"] == "accepted"

    key = {"Idempotency-Key": "order-from-quote-1"}
    first = await ok(await rep.post("/orders", json={"quote_id": quote_id}, headers=key), 201)
    retried = await rep.post("/orders", json={"quote_id": quote_id}, headers=key)
    assert retried.json()["id"] == first["id"]
    assert retried.headers["Idempotent-Replayed"] == "true"
    order = await read(rep, f"/orders/{first['id']}", first["position"])
    assert (order["status"], order["total"], order["campaign_id"], order["quote_id"]) == (
        "placed",
        eur("70.69"),
        "camp-1",
        quote_id,
    )
    assert order["version"] == 0

    ship = await ok(await rep.post(f"/orders/{order['id']}/ship", json={"carrier": "DHL"}))
    await ok(await rep.post(f"/orders/{order['id']}/deliver"))
    listed = await read(rep, "/orders?customer_id=cust-1&campaign_id=camp-1", ship["position"])
    assert [o["id"] for o in listed["items"]] == [order["id"]]

    invoice = await ok(await rep.post("/invoices", json={"order_id": order["id"]}), 201)
    again = await rep.post("/invoices", json={"order_id": order["id"]})
    assert again.status_code == 409
    assert again.json()["code"] == "already_invoiced"
    shown = await read(rep, f"/invoices/{invoice['id']}", invoice["position"])
    assert (shown["issue_date"], shown["due_date"], shown["balance"]) == (
        "2026-03-02",
        "2026-04-01",
        eur("70.69"),
    )

    paid = {"invoice_id": invoice["id"]}
    floating = await rep.post(
        "/payments", json={**paid, "amount": {"amount": 50.0, "currency": "EUR"}}
    )
    assert floating.status_code == 422
    assert floating.json()["detail"][0]["loc"] == ["body", "amount", "amount"]
    one = await ok(await rep.post("/payments", json={**paid, "amount": eur("50.00")}), 201)
    too_much = await rep.post("/payments", json={**paid, "amount": eur("20.70")})
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "overpayment"
    assert "overpayment" in too_much.json()["message"]
    two = await ok(
        await rep.post(
            "/payments",
            json={**paid, "amount": eur("20.69"), "method": "transfer"},
            headers={"Idempotency-Key": "pay-2"},
        ),
        201,
    )
    replay = await rep.post(
        "/payments",
        json={**paid, "amount": eur("20.69"), "method": "transfer"},
        headers={"Idempotency-Key": "pay-2"},
    )
    assert replay.json() == two
    assert one["id"] != two["id"]
    final = await read(rep, f"/invoices/{invoice['id']}", two["position"])
    assert (final["status"], final["balance"], final["paid"]) == (
        "paid",
        eur("0.00"),
        eur("70.69"),
    )
    assert [p["amount"]["amount"] for p in final["payments"]] == ["50.00", "20.69"]
    payments = await read(rep, f"/payments?invoice_id={invoice['id']}", two["position"])
    assert {p["payment_id"] for p in payments["items"]} == {one["id"], two["id"]}
    assert payments["total"] == 2


async def test_a_concurrent_duplicate_conversion_gives_one_order(as_user: Users) -> None:
    boss, rep = as_user("boss"), as_user("rep-1", Role.SALES_REP)
    quote = await accepted_quote(rep, boss)
    key = {"Idempotency-Key": "convert"}
    answers = await asyncio.gather(
        rep.post("/orders", json={"quote_id": quote["id"]}, headers=key),
        rep.post("/orders", json={"quote_id": quote["id"]}, headers=key),
        rep.post("/orders", json={"quote_id": quote["id"]}),
    )
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    last = max(a.json()["position"] for a in answers)
    orders = await read(rep, f"/orders?quote_id={quote['id']}", last)
    assert orders["total"] == 1
    quote_doc = await read(rep, f"/quotes/{quote['id']}", last)
    assert quote_doc["order_id"] == answers[0].json()["id"]


async def test_floats_and_duplicate_skus_are_refused(as_user: Users) -> None:
    boss = as_user("boss")
    await product(boss, "SKU-1", "10.00")
    duplicate = await boss.post(
        "/products", json={"sku": "sku-1", "name": "Again", "list_price": eur("11.00")}
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "sku_taken"
    floating = await boss.post(
        "/products",
        json={"sku": "SKU-2", "name": "Float", "list_price": {"amount": 9.99, "currency": "EUR"}},
    )
    assert floating.status_code == 422
    assert ["body", "list_price", "amount"] in [e["loc"] for e in floating.json()["detail"]]
    quantity = await boss.post(
        "/orders",
        json={
            "customer_id": "c",
            "currency": "EUR",
            "lines": [{"sku": "SKU-1", "quantity": 1.5}],
        },
    )
    assert quantity.status_code == 422
    assert ["body", "lines", 0, "quantity"] in [e["loc"] for e in quantity.json()["detail"]]


async def test_concurrent_creations_of_one_sku_make_one_product(as_user: Users) -> None:
    boss = as_user("boss")
    body = {"sku": "RACE-1", "name": "Raced", "list_price": eur("1.00")}
    answers = await asyncio.gather(*(boss.post("/products", json=body) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    made = next(a.json() for a in answers if a.status_code == 201)
    listed = await read(boss, "/products?sku=race-1", made["position"])
    assert [p["id"] for p in listed["items"]] == [made["id"]]


async def test_reps_see_and_change_only_their_own_orders(as_user: Users) -> None:
    boss = as_user("boss")
    rep1, rep2 = as_user("rep-1", Role.SALES_REP), as_user("rep-2", Role.SALES_REP)
    await product(boss, "OWN-1", "3.00")
    placed = await ok(
        await rep1.post(
            "/orders",
            json={
                "customer_id": "c-9",
                "currency": "EUR",
                "campaign_id": "spring",
                "lines": [{"sku": "OWN-1", "quantity": "2"}],
            },
        ),
        201,
    )
    mine = await read(rep1, f"/orders/{placed['id']}", placed["position"])
    assert (mine["total"], mine["campaign_id"], mine["owner_id"]) == (
        eur("6.00"),
        "spring",
        "rep-1",
    )
    hidden = await rep2.get(f"/orders/{placed['id']}", params={"min_position": placed["position"]})
    assert hidden.status_code == 404
    assert (await rep2.post(f"/orders/{placed['id']}/ship")).status_code == 404
    assert (await read(rep2, "/orders", placed["position"]))["total"] == 0
    assert (await read(boss, "/orders?owner_id=rep-1", placed["position"]))["total"] == 1
    assert (await read(boss, "/orders?campaign_id=autumn", placed["position"]))["total"] == 0
    assert (await read(boss, "/orders?status=shipped", placed["position"]))["total"] == 0
    # Reps read the catalogue but do not configure it.
    assert (
        await rep1.post("/products", json={"sku": "X", "name": "X", "list_price": eur("1")})
    ).status_code == 403


async def test_managers_see_and_work_their_team_orders_only(as_user: Users) -> None:
    boss = as_user("boss")
    rep_x, rep_y = as_user("rx", Role.SALES_REP, team="x"), as_user("ry", Role.SALES_REP, team="y")
    mx, my = as_user("mx", Role.MANAGER, team="x"), as_user("my", Role.MANAGER, team="y")
    await product(boss, "TEAM-1", "4.00")
    body = {"customer_id": "c-7", "currency": "EUR", "lines": [{"sku": "TEAM-1", "quantity": "1"}]}
    in_x = await ok(await rep_x.post("/orders", json=body), 201)
    in_y = await ok(await rep_y.post("/orders", json=body), 201)
    last = max(in_x["position"], in_y["position"])

    seen = await read(mx, f"/orders/{in_x['id']}", last)
    assert (seen["owner_id"], seen["team_id"]) == ("rx", "x")
    assert [o["id"] for o in (await read(mx, "/orders", last))["items"]] == [in_x["id"]]
    shipped = await ok(await mx.post(f"/orders/{in_x['id']}/ship", json={"carrier": "DHL"}))
    assert (await read(rep_x, f"/orders/{in_x['id']}", shipped["position"]))["status"] == "shipped"

    hidden = await my.get(f"/orders/{in_x['id']}", params={"min_position": shipped["position"]})
    assert hidden.status_code == 404
    assert (await my.post(f"/orders/{in_x['id']}/deliver")).status_code == 404
    assert (await my.post("/invoices", json={"order_id": in_x["id"]})).status_code == 404
    assert [o["id"] for o in (await read(my, "/orders", last))["items"]] == [in_y["id"]]

    everyone = await read(as_user("m-all", Role.MANAGER), "/orders", shipped["position"])
    assert {o["id"] for o in everyone["items"]} == {in_x["id"], in_y["id"]}


async def test_a_quote_team_carries_to_its_order_invoice_and_payments(as_user: Users) -> None:
    rep_x = as_user("rx", Role.SALES_REP, team="x")
    mx, my = as_user("mx", Role.MANAGER, team="x"), as_user("my", Role.MANAGER, team="y")
    quote = await accepted_quote(rep_x, as_user("boss"))
    assert (await read(mx, f"/quotes/{quote['id']}", quote["position"]))["team_id"] == "x"
    order = await ok(await mx.post("/orders", json={"quote_id": quote["id"]}), 201)
    invoice = await ok(await mx.post("/invoices", json={"order_id": order["id"]}), 201)
    paid = await ok(
        await mx.post("/payments", json={"invoice_id": invoice["id"], "amount": eur("10.00")}),
        201,
    )
    assert (await read(mx, f"/orders/{order['id']}", paid["position"]))["team_id"] == "x"
    shown = await read(mx, f"/invoices/{invoice['id']}", paid["position"])
    assert (shown["owner_id"], shown["team_id"]) == ("rx", "x")
    assert (await read(mx, "/payments", paid["position"]))["total"] == 1

    for url in (f"/quotes/{quote['id']}", f"/invoices/{invoice['id']}"):
        r = await my.get(url, params={"min_position": paid["position"]})
        assert r.status_code == 404, url
    body = {"invoice_id": invoice["id"], "amount": eur("1.00")}
    assert (await my.post("/payments", json=body)).status_code == 404
    assert (await read(my, "/payments", paid["position"]))["total"] == 0
    assert (await read(my, "/invoices", paid["position"]))["total"] == 0


async def test_a_draft_quote_s_lines_are_changed_and_removed(as_user: Users) -> None:
    boss, rep = as_user("boss"), as_user("rep-1", Role.SALES_REP)
    await product(boss, "EDIT-1", "2.00")
    two_lines = [{"sku": "EDIT-1", "quantity": "1"}, {"sku": "EDIT-1", "quantity": "2"}]
    body = {"customer_id": "c-1", "currency": "EUR", "valid_until": "2026-03-31"}
    quote = await ok(await rep.post("/quotes", json={**body, "lines": two_lines}), 201)
    url = f"/quotes/{quote['id']}/lines"
    await ok(await rep.put(f"{url}/L1", json={"sku": "EDIT-1", "quantity": "4"}))
    mismatch = await rep.put(f"{url}/L1", json={"sku": "EDIT-1", "quantity": "4", "line_id": "L2"})
    assert mismatch.status_code == 422
    removed = await ok(await rep.delete(f"{url}/L2"))
    shown = await read(rep, f"/quotes/{quote['id']}", removed["position"])
    assert [(line["line_id"], line["quantity"]) for line in shown["lines"]] == [("L1", "4")]
    assert shown["total"] == eur("8.00")
    assert (await rep.delete(f"{url}/L2")).status_code == 404


async def test_an_invoice_keeps_its_number_one_per_tenant(as_user: Users) -> None:
    boss, rep = as_user("boss"), as_user("rep-1", Role.SALES_REP)
    await product(boss, "wid-1", "19.99")
    line = {"sku": "WID-1", "quantity": "2"}
    first, second = [
        await ok(
            await rep.post(
                "/orders", json={"customer_id": "cust-1", "currency": "EUR", "lines": [line]}
            ),
            201,
        )
        for _ in range(2)
    ]
    issued = await ok(
        await rep.post("/invoices", json={"order_id": first["id"], "number": " FP-2026-001 "}),
        201,
    )
    shown = await read(rep, f"/invoices/{issued['id']}", issued["position"])
    assert shown["number"] == "FP-2026-001"  # trimmed
    found = await read(rep, "/invoices?number=FP-2026-001", issued["position"])
    assert [i["id"] for i in found["items"]] == [issued["id"]]
    assert (await read(rep, "/invoices?number=FP-2026-002", issued["position"]))["total"] == 0

    taken = await rep.post("/invoices", json={"order_id": second["id"], "number": "FP-2026-001"})
    assert taken.status_code == 409, taken.text
    assert taken.json()["code"] == "invoice_number_taken"
    assert (taken.json()["field"], taken.json()["invoice_id"]) == ("number", issued["id"])
    for bad in ("F" * 65, "FP\x07"):
        refused = await rep.post("/invoices", json={"order_id": second["id"], "number": bad})
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"][-1] == "number"
    unnumbered = await ok(await rep.post("/invoices", json={"order_id": second["id"]}), 201)
    assert (await read(rep, f"/invoices/{unnumbered['id']}", unnumbered["position"]))[
        "number"
    ] is None
    too_long = await rep.get("/invoices", params={"number": "F" * 65})
    assert too_long.status_code == 422


async def test_two_issues_under_one_number_at_the_same_instant_give_one_invoice(
    as_user: Users,
) -> None:
    """Both issues are asked at once, before the invoices read model has either: the
    number's own stream lets one of them have it, and the other is the 409."""
    boss, rep = as_user("boss"), as_user("rep-1", Role.SALES_REP)
    await product(boss, "wid-2", "5.00")
    line = {"sku": "WID-2", "quantity": "1"}
    orders = [
        await ok(
            await rep.post(
                "/orders", json={"customer_id": "cust-1", "currency": "EUR", "lines": [line]}
            ),
            201,
        )
        for _ in range(4)
    ]
    answers = await asyncio.gather(
        *(rep.post("/invoices", json={"order_id": o["id"], "number": "FP-9"}) for o in orders)
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409], [a.text for a in answers]
    winner = next(a.json() for a in answers if a.status_code == 201)
    for lost in (a for a in answers if a.status_code == 409):
        assert lost.json()["code"] == "invoice_number_taken"
        assert lost.json()["invoice_id"] == winner["id"]
    head = max(a.json().get("position", 0) for a in answers if a.status_code == 201)
    numbered = await read(rep, "/invoices?number=FP-9", head)
    assert [i["id"] for i in numbered["items"]] == [winner["id"]]
