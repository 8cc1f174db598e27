"""The console's order-to-cash pages over HTTP: a rep drafts a quote for a customer's
opportunity with lines picked from the catalogue (a price book's price, a discount), sends it,
records the customer's acceptance, places the order, issues the invoice and records two
payments until it is paid; a form from a stale page is a plain conflict that changes nothing;
bad input is a 422 naming the field; another rep's quote, order and invoice are the 404 page;
an analyst reads them without forms and a form they post anyway is refused; and the
customer's timeline in plain words, newest first, in English and Chinese."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from crm.kernel.clock import ManualClock
from crm.kernel.redaction import REDACTED
from tests.conftest import Api
from tests.support.console import (
    UUID,
    console_user,
    csrf_of,
    followed,
    own_client,
    sign_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales", "service-desk")]


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _catalogue_and_customer(api: Api) -> dict[str, str]:
    """Two products (a boiler at €1,200.00, a pump at €300.00 whose price book price is
    €250.00), Ana's customer with an opportunity, and Ben's customer."""
    boss = api.as_user("mgr", "manager", team="north")
    for sku, name, price in (("BOILER-1", "Boiler", "1200.00"), ("PUMP-2", "Pump", "300.00")):
        await ok(
            await boss.post(
                "/products",
                json={
                    "sku": sku,
                    "name": name,
                    "list_price": {"amount": price, "currency": "EUR"},
                },
            ),
            201,
        )
    book = await ok(
        await boss.post("/price-books", json={"name": "Dealers", "currency": "EUR"}), 201
    )
    await ok(
        await boss.put(
            f"/price-books/{book['id']}/entries/PUMP-2",
            json={"unit_price": {"amount": "250.00", "currency": "EUR"}},
        )
    )
    ana = api.as_user("ana", "sales_rep", team="north")
    customer = await ok(
        await ana.post("/customers", json={"name": "Ada Lovelace", "owner_id": "ana"}), 201
    )
    opportunity = await ok(
        await ana.post(
            "/opportunities",
            json={
                "customer_id": customer["id"],
                "name": "Heating",
                "amount": {"amount": "2000.00", "currency": "EUR"},
                "expected_close_date": "2027-09-30",
            },
        ),
        201,
    )
    ben = api.as_user("ben", "sales_rep", team="north")
    bens = await ok(
        await ben.post("/customers", json={"name": "Alan Turing", "owner_id": "ben"}), 201
    )
    for user, role in (("ana", "sales_rep"), ("ben", "sales_rep"), ("nia", "analyst")):
        await console_user(api, user, role, team="north")
    return {
        "customer": customer["id"],
        "opportunity": opportunity["id"],
        "book": book["id"],
        "bens": bens["id"],
        "position": str(opportunity["position"]),
    }


def _option(html: str, text: str) -> str:
    """The value of the select option whose label starts with ``text``."""
    found = re.search(rf'<option value="([^"]+)">{re.escape(text)}', html)
    assert found is not None, text
    return found.group(1)


def _field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found is not None, name
    return found.group(1)


def _version(html: str) -> str:
    return _field(html, "version")


async def test_a_rep_quotes_from_the_catalogue_and_takes_it_to_a_paid_invoice(api: Api) -> None:
    ids = await _catalogue_and_customer(api)
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        opportunity = await ana.get(
            f"/console/opportunities/{ids['opportunity']}?min_position={ids['position']}"
        )
        new = f"/console/quotes/new?customer={ids['customer']}&amp;opportunity={ids['opportunity']}"
        assert new in opportunity.text
        form = await ana.get(new.replace("&amp;", "&"))
        assert form.status_code == 200, form.text
        assert "New quote for Ada Lovelace" in form.text
        assert "BOILER-1 · Boiler · €1,200.00" in form.text
        valid_until = re.search(r'name="valid_until" type="date" value="([^"]+)"', form.text)
        assert valid_until is not None
        fields = {
            "csrf": csrf,
            "customer_id": ids["customer"],
            "opportunity_id": ids["opportunity"],
            "currency": "EUR",
            "valid_until": valid_until.group(1),
            "price_book_id": "",
            "product_id": _option(form.text, "BOILER-1"),
            "quantity": "2",
            "discount_percent": "10",
        }
        drafted = await ana.post("/console/quotes", data=fields)
        page = await followed(ana, drafted)
        quote = drafted.headers["location"].split("?")[0]
        assert re.fullmatch(f"/console/quotes/{UUID}", quote)
        assert "Quote drafted." in page.text
        assert "€1,200.00" in page.text  # the list price, as the unit price
        assert "€2,160.00" in page.text  # 2 x 1,200.00 less 10 %

        # a second line, priced from the price book: 3 pumps at 250.00
        added = await ana.post(
            f"{quote}/lines",
            data={
                "csrf": csrf,
                "version": _version(page.text),
                "price_book_id": ids["book"],
                "product_id": _option(page.text, "PUMP-2"),
                "quantity": "3",
                "discount_percent": "0",
            },
        )
        page = await followed(ana, added)
        assert "€250.00" in page.text
        assert "€750.00" in page.text
        assert re.search(r'class="total">€2,910.00<', page.text)  # the domain's total
        seen = _version(page.text)

        sent = await ana.post(f"{quote}/send", data={"csrf": csrf, "version": seen})
        page = await followed(ana, sent)
        assert "Quote sent." in page.text
        assert ">sent<" in page.text
        # the page before sending, posted again: a conflict naming the version, no change
        stale = await ana.post(f"{quote}/lines/L1/remove", data={"csrf": csrf, "version": seen})
        assert stale.status_code == 409
        assert "Someone else changed this quote after you opened it" in stale.text
        assert f"you saw version {seen}, it is now at version {int(seen) + 1}, sent" in stale.text
        assert re.search(r'class="total">€2,910.00<', (await ana.get(quote)).text)  # unchanged

        accepted = await ana.post(
            f"{quote}/accept", data={"csrf": csrf, "version": _version(page.text)}
        )
        page = await followed(ana, accepted)
        assert "The customer&#39;s acceptance is recorded." in page.text
        placed = await ana.post(
            f"{quote}/order", data={"csrf": csrf, "version": _version(page.text)}
        )
        page = await followed(ana, placed)
        order = placed.headers["location"].split("?")[0]
        assert re.fullmatch(f"/console/orders/{UUID}", order)
        assert "Order placed." in page.text
        assert re.search(r'class="total">€2,910.00<', page.text)
        assert quote in page.text  # the quote it came from

        issued = await ana.post(f"{order}/invoice", data={"csrf": csrf, "due_date": "2027-12-31"})
        page = await followed(ana, issued)
        invoice = issued.headers["location"].split("?")[0]
        assert "Invoice issued." in page.text
        assert "31 Dec 2027" in page.text
        payment = {
            "csrf": csrf,
            "payment_id": _field(page.text, "payment_id"),
            "amount": "1000.00",
            "received_on": "2027-01-15",
            "method": "bank transfer",
            "reference": "INV-1",
        }
        paid = await ana.post(f"{invoice}/payments", data=payment)
        page = await followed(ana, paid)
        assert "Payment recorded." in page.text
        assert 'class="balance">€1,910.00<' in page.text
        # the same form again (a double click): the same payment, recorded once
        again = await ana.post(f"{invoice}/payments", data=payment)
        page = await followed(ana, again)
        assert 'class="balance">€1,910.00<' in page.text
        assert page.text.count("INV-1") == 1

        bad = await ana.post(
            f"{invoice}/payments",
            data={**payment, "payment_id": str(uuid4()), "amount": "12.345"},
        )
        assert bad.status_code == 422
        assert "Please check the amount" in bad.text or "Please check Amount" in bad.text
        rest = await ana.post(
            f"{invoice}/payments",
            data={**payment, "payment_id": str(uuid4()), "amount": "1910.00", "reference": "INV-2"},
        )
        page = await followed(ana, rest)
        assert ">paid<" in page.text
        assert 'class="balance">€0.00<' in page.text
        assert f'action="{invoice}/payments"' not in page.text  # paid: no more payments

        sales = await ana.get(f"/console/customers/{ids['customer']}/sales")
        for link in (quote, order, invoice):
            assert f'href="{link}"' in sales.text


async def test_bad_lines_are_named_and_others_quotes_are_not_seen(api: Api) -> None:
    ids = await _catalogue_and_customer(api)
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        form = await ana.get(f"/console/quotes/new?customer={ids['customer']}")
        base = {
            "csrf": csrf,
            "customer_id": ids["customer"],
            "currency": "EUR",
            "valid_until": "2030-01-01",
            "product_id": _option(form.text, "BOILER-1"),
            "quantity": "1",
        }
        for field, value, named in (
            ("quantity", "two", "Quantity"),
            ("quantity", "0", "Quantity"),
            ("discount_percent", "150", "Discount (%)"),
            ("product_id", "not-a-product", "Product"),
            ("product_id", "00000000-0000-0000-0000-000000000000", "Product"),
        ):
            refused = await ana.post("/console/quotes", data={**base, field: value})
            assert refused.status_code == 422, (field, value, refused.text)
            assert f"Please check {named}" in refused.text, (field, value)
        gbp = await ana.post(
            "/console/quotes", data={**base, "currency": "GBP", "price_book_id": ids["book"]}
        )
        assert gbp.status_code == 422
        assert "Please check Price book: the price book is in EUR" in gbp.text
        unknown = await ana.get(f"/console/quotes/new?customer={ids['customer']}&colour=red")
        assert unknown.status_code == 422
        assert "colour" in unknown.text
        # Ben's customer: no new quote page, no draft for them
        assert (await ana.get(f"/console/quotes/new?customer={ids['bens']}")).status_code == 404
        theirs = await ana.post("/console/quotes", data={**base, "customer_id": ids["bens"]})
        assert theirs.status_code in (404, 422)
        drafted = await ana.post("/console/quotes", data=base)
        quote = drafted.headers["location"].split("?")[0]
        page = await followed(ana, drafted)
        no_token = await ana.post(f"{quote}/send", data={"version": _version(page.text)})
        assert no_token.status_code == 403

    async with own_client(api) as ben:
        csrf = await sign_in(ben, "ben")
        assert (await ben.get(quote)).status_code == 404
        assert "Ada Lovelace" not in (await ben.get(quote)).text
        sent = await ben.post(f"{quote}/send", data={"csrf": csrf, "version": "1"})
        assert sent.status_code == 404

    async with own_client(api) as nia:
        csrf = await sign_in(nia, "nia")
        page = await nia.get(quote)
        assert page.status_code == 200, page.text
        assert "Your role reads quotes, orders and invoices without changing them." in page.text
        assert f'action="{quote}/send"' not in page.text
        assert (
            "New quote" not in (await nia.get(f"/console/customers/{ids['customer']}/sales")).text
        )
        refused = await nia.post(f"{quote}/send", data={"csrf": csrf, "version": "1"})
        assert refused.status_code == 403


async def test_the_customers_timeline_in_plain_words_in_both_languages(
    api: Api, clock: ManualClock
) -> None:
    ids = await _catalogue_and_customer(api)
    ana_api = api.as_user("ana", "sales_rep", team="north")
    customer = ids["customer"]
    clock.advance(timedelta(minutes=1))
    await ok(await ana_api.post(f"/customers/{customer}/tags", json={"tag": "vip"}))
    clock.advance(timedelta(minutes=1))
    call = {"channel": "call", "direction": "outbound", "summary": "asked for a quote"}
    await ok(await ana_api.post(f"/customers/{customer}/interactions", json=call), 201)
    clock.advance(timedelta(minutes=1))
    line = {"sku": "BOILER-1", "quantity": "1"}
    order = await ok(
        await ana_api.post(
            "/orders", json={"customer_id": customer, "currency": "EUR", "lines": [line]}
        ),
        201,
    )
    clock.advance(timedelta(minutes=1))
    agent = api.as_user("tom", "agent")
    ticket = await ok(
        await agent.post(
            "/tickets",
            json={
                "customer_id": customer,
                "subject": "Boiler makes noise",
                "description": "since Monday",
                "kind": "complaint",
                "channel": "phone",
                "priority": "normal",
            },
        ),
        201,
    )
    at = max(int(order["position"]), int(ticket["position"]))
    async with own_client(api) as ana:
        await sign_in(ana, "ana")
        page = await ana.get(f"/console/customers/{customer}?min_position={at}")
        assert page.status_code == 200, page.text
        section = page.text.split('id="timeline"', 1)[1]
        texts = re.findall(r"</time> · (?:<a [^>]+>)?([^<]+)<", section)
        assert texts[-2:] == ["Opportunity opened: Heating (€2,000.00)", "Registered by Ana"]
        assert "Tagged vip" in texts
        assert "Call logged: asked for a quote" in texts
        assert "Order placed: €1,200.00" in texts
        assert "Opportunity opened: Heating (€2,000.00)" in texts
        order_at = texts.index("Order placed: €1,200.00")
        assert order_at < texts.index("Call logged: asked for a quote") < texts.index("Tagged vip")
        assert texts[0] == "Ticket opened: Boiler makes noise"  # their customer's ticket
        assert f'href="/console/orders/{order["id"]}"' in section

        await ana.post("/console/language", data={"csrf": csrf_of(page.text), "locale": "zh-CN"})
        page = await ana.get(f"/console/customers/{customer}")
        section = page.text.split('id="timeline"', 1)[1]
        assert "时间线" in page.text
        texts = re.findall(r"</time> · (?:<a [^>]+>)?([^<]+)<", section)
        assert "由 Ana 登记" in texts
        assert "添加标签 vip" in texts
        assert "已记录电话：asked for a quote" in texts
        assert "下单：€1,200.00" in texts
        order_page = await ana.get(f"/console/orders/{order['id']}")
        assert "Ada Lovelace 的订单" in order_page.text
        assert "开具发票" in order_page.text  # the issue-invoice button, in Chinese

    async with own_client(api) as nia:  # an analyst: no personal data, no sales records
        await sign_in(nia, "nia")
        page = await nia.get(f"/console/customers/{customer}")
        section = page.text.split('id="timeline"', 1)[1]
        texts = re.findall(r"</time> · (?:<a [^>]+>)?([^<]+)<", section)
        assert f"Call logged: {REDACTED}" in texts
        assert "Call logged: asked for a quote" not in texts
