"""The order's and invoice's after-sale forms over HTTP: a manager ships one order (carrier
and tracking reference shown) and marks it delivered, cancels another with a reason, and a
cancelled or shipped order refuses to be cancelled again with the domain's words (409); a
payment refunded in part (the same form twice is one refund), more than was paid a 409, a
wrong amount a 422 naming it; the sales API reads back each change; another team's rep is
refused the page and the forms, an agent reads without forms and is refused; no form goes
through without its token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Api
from tests.support.console import console_user, csrf_of, followed, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _orders(api: Api) -> tuple[str, str]:
    """Two orders of Ana's customer (a boiler at €1,200.00 each)."""
    boss = api.as_user("mgr", "manager", team="north")
    price = {"amount": "1200.00", "currency": "EUR"}
    await ok(
        await boss.post("/products", json={"sku": "B-1", "name": "Boiler", "list_price": price}),
        201,
    )
    ana = api.as_user("ana", "sales_rep", team="north")
    customer = await ok(
        await ana.post("/customers", json={"name": "Hopper Ltd", "owner_id": "ana"}), 201
    )
    line = {"sku": "B-1", "quantity": "1"}
    body = {"customer_id": customer["id"], "currency": "EUR", "lines": [line]}
    first = await ok(await ana.post("/orders", json=body), 201)
    second = await ok(await ana.post("/orders", json=body), 201)
    return first["id"], second["id"]


async def test_a_manager_ships_cancels_and_refunds(api: Api) -> None:
    await console_user(api, "mgr", "manager", team="north")
    await console_user(api, "ivy", "agent")
    await console_user(api, "sue", "sales_rep", team="south")
    shipped_id, cancelled_id = await _orders(api)
    sales = api.as_user("mgr", "manager", team="north")
    async with own_client(api) as mgr, own_client(api) as ivy, own_client(api) as sue:
        csrf = await sign_in(mgr, "mgr")
        page = await mgr.get(f"/console/orders/{shipped_id}")
        assert "Ship the order" in page.text
        assert "Cancel the order" in page.text
        assert (await mgr.post(f"/console/orders/{shipped_id}/ship", data={})).status_code == 403
        shipped = await mgr.post(
            f"/console/orders/{shipped_id}/ship",
            data={"csrf": csrf, "carrier": "DHL", "tracking_ref": "JD0142"},
        )
        page = await followed(mgr, shipped)
        assert "Order shipped." in page.text
        assert "DHL · JD0142" in page.text
        assert "Mark as delivered" in page.text
        assert "Cancel the order" not in page.text
        order = await ok(await sales.get(f"/orders/{shipped_id}"))
        assert (order["status"], order["carrier"], order["tracking_ref"]) == (
            "shipped",
            "DHL",
            "JD0142",
        )
        late = await mgr.post(f"/console/orders/{shipped_id}/cancel", data={"csrf": csrf})
        assert late.status_code == 409
        assert "shipped" in late.text
        delivered = await mgr.post(f"/console/orders/{shipped_id}/deliver", data={"csrf": csrf})
        assert "Order delivered." in (await followed(mgr, delivered)).text

        cancelled = await mgr.post(
            f"/console/orders/{cancelled_id}/cancel",
            data={"csrf": csrf, "reason": "ordered twice"},
        )
        page = await followed(mgr, cancelled)
        assert "Order cancelled." in page.text
        order = await ok(await sales.get(f"/orders/{cancelled_id}"))
        assert order["status"] == "cancelled"
        again = await mgr.post(f"/console/orders/{cancelled_id}/cancel", data={"csrf": csrf})
        assert again.status_code == 409

        # the delivered order's invoice, paid, then refunded in part
        invoice = await ok(await sales.post("/invoices", json={"order_id": shipped_id}), 201)
        paid = {"invoice_id": invoice["id"], "amount": {"amount": "1200.00", "currency": "EUR"}}
        payment = await ok(await sales.post("/payments", json=paid), 201)
        page = await mgr.get(
            f"/console/invoices/{invoice['id']}?min_position={payment['position']}"
        )
        assert "Refund the payment of €1,200.00" in page.text
        token = csrf_of(page.text)
        refund_id = page.text.split('name="refund_id" value="')[1].split('"')[0]
        payment_id = (
            page.text.split("/refunds")[1].split('name="payment_id" value="')[1].split('"')[0]
        )
        form = {
            "csrf": token,
            "payment_id": payment_id,
            "refund_id": refund_id,
            "amount": "200.00",
            "refunded_on": "2026-03-02",
            "reason": "a dent",
        }
        wrong = await mgr.post(
            f"/console/invoices/{invoice['id']}/refunds", data={**form, "amount": "2.001"}
        )
        assert wrong.status_code == 422
        too_much = await mgr.post(
            f"/console/invoices/{invoice['id']}/refunds",
            data={**form, "amount": "5000.00", "refund_id": "5b7f0c1e-0000-4000-8000-000000000001"},
        )
        assert too_much.status_code == 409
        done = await mgr.post(f"/console/invoices/{invoice['id']}/refunds", data=form)
        page = await followed(mgr, done)
        assert "Refund recorded." in page.text
        twice = await mgr.post(f"/console/invoices/{invoice['id']}/refunds", data=form)
        await followed(mgr, twice)
        read = await ok(
            await sales.get(
                f"/invoices/{invoice['id']}",
                params={
                    "min_position": done.headers["location"].split("min_position=")[1].split("&")[0]
                },
            )
        )
        assert read["refunded"]["amount"] in ("200.00", "200")

        # another team's rep: the 404 page and refused; an agent reads without forms
        sue_csrf = await sign_in(sue, "sue")
        assert (await sue.get(f"/console/orders/{shipped_id}")).status_code == 404
        refused = await sue.post(f"/console/orders/{cancelled_id}/ship", data={"csrf": sue_csrf})
        assert refused.status_code == 404
        ivy_csrf = await sign_in(ivy, "ivy")
        seen = await ivy.get(f"/console/orders/{shipped_id}")
        if seen.status_code == 200:
            assert "Mark as delivered" not in seen.text
        refused = await ivy.post(f"/console/orders/{shipped_id}/deliver", data={"csrf": ivy_csrf})
        assert refused.status_code in (403, 404)


async def _order_body(api: Api, like: str) -> dict[str, Any]:
    """An order like ``like`` (the same customer, one boiler)."""
    order = await ok(await api.as_user("mgr", "manager", team="north").get(f"/orders/{like}"))
    line = {"sku": "B-1", "quantity": "1"}
    return {"customer_id": order["customer_id"], "currency": "EUR", "lines": [line]}


async def test_a_delivered_order_is_returned_and_an_unpaid_invoice_voided(api: Api) -> None:
    await console_user(api, "mgr", "manager", team="north")
    await console_user(api, "wang", "manager", team="north", locale="zh-CN")
    await console_user(api, "ivy", "agent")
    delivered_id, placed_id = await _orders(api)
    sales = api.as_user("mgr", "manager", team="north")
    await ok(await sales.post(f"/orders/{delivered_id}/ship", json={}))
    await ok(await sales.post(f"/orders/{delivered_id}/deliver"))
    async with own_client(api) as mgr, own_client(api) as wang, own_client(api) as ivy:
        csrf = await sign_in(mgr, "mgr")
        head = await api.platform.store.head_position()
        placed = await mgr.get(f"/console/orders/{placed_id}?min_position={head}")
        assert "Record the return" not in placed.text  # only a delivered order comes back
        page = await mgr.get(f"/console/orders/{delivered_id}?min_position={head}")
        assert "Record the return" in page.text
        no_reason = await mgr.post(
            f"/console/orders/{delivered_id}/return", data={"csrf": csrf, "reason": " "}
        )
        assert no_reason.status_code == 422
        early = await mgr.post(
            f"/console/orders/{placed_id}/return", data={"csrf": csrf, "reason": "broken"}
        )
        assert early.status_code == 409
        returned = await mgr.post(
            f"/console/orders/{delivered_id}/return", data={"csrf": csrf, "reason": "broken"}
        )
        assert "Return recorded." in (await followed(mgr, returned)).text
        assert (await ok(await sales.get(f"/orders/{delivered_id}")))["status"] == "returned"

        unpaid = await ok(await sales.post("/invoices", json={"order_id": placed_id}), 201)
        url = f"/console/invoices/{unpaid['id']}"
        shown = await mgr.get(f"{url}?min_position={unpaid['position']}")
        assert "Void the invoice" in shown.text
        assert (await mgr.post(f"{url}/void", data={"reason": "x"})).status_code == 403
        voided = await mgr.post(f"{url}/void", data={"csrf": csrf, "reason": "wrong customer"})
        page = await followed(mgr, voided)
        assert "Invoice voided." in page.text
        assert "wrong customer" in page.text
        assert "Void the invoice" not in page.text
        doc = await ok(await sales.get(f"/invoices/{unpaid['id']}"))
        assert (doc["status"], doc["void_reason"]) == ("void", "wrong customer")

        ana = api.as_user("ana", "sales_rep", team="north")
        third = await ok(await ana.post("/orders", json=await _order_body(api, placed_id)), 201)
        paid = await ok(await sales.post("/invoices", json={"order_id": third["id"]}), 201)
        money = {"amount": "100.00", "currency": "EUR"}
        payment = await ok(
            await sales.post("/payments", json={"invoice_id": paid["id"], "amount": money}), 201
        )
        with_payment = await mgr.get(
            f"/console/invoices/{paid['id']}?min_position={payment['position']}"
        )
        assert "Void the invoice" not in with_payment.text
        refused = await mgr.post(f"/console/invoices/{paid['id']}/void", data={"csrf": csrf})
        assert refused.status_code == 409
        assert "refund" in refused.text
        api_refused = await sales.post(f"/invoices/{paid['id']}/void", json={"reason": "no"})
        assert api_refused.status_code == 409
        assert api_refused.json()["code"] == "invoice_has_payments"

        await sign_in(wang, "wang")
        zh = await wang.get(f"/console/invoices/{unpaid['id']}")
        assert "发票已作废" in zh.text or "作废原因" in zh.text
        ivy_csrf = await sign_in(ivy, "ivy")
        agent = await ivy.post(
            f"/console/orders/{placed_id}/return", data={"csrf": ivy_csrf, "reason": "x"}
        )
        assert agent.status_code in (403, 404)
