"""The sales scheduler's checks on the real platform: an unpaid invoice past its due date is
marked overdue exactly once (across ticks, restarts and two schedulers at once), a paid one
never is, and a sent quote past its validity expires."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from prometheus_client import REGISTRY

from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.platform.bootstrap import Platform
from crm.sales.application.scheduler import ACTOR, SalesScheduler
from tests.conftest import Api, UserClient
from tests.support.customers import known_customers

_customers = known_customers("c-1")

AFTER_DUE = datetime(2026, 3, 11, 0, 0, 1, tzinfo=UTC)
"""The day after the due date below."""
DUE = "2026-03-10"


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


async def invoice(rep: UserClient, sku: str, *, paid: bool = False) -> dict[str, Any]:
    """An invoice of 2 x 10.00 EUR due on DUE, read back once the read model has it."""
    order = await ok(
        await rep.post(
            "/orders",
            json={
                "customer_id": "c-1",
                "currency": "EUR",
                "lines": [{"sku": sku, "quantity": "2"}],
            },
        ),
        201,
    )
    issued = await ok(
        await rep.post("/invoices", json={"order_id": order["id"], "due_date": DUE}), 201
    )
    position = issued["position"]
    if paid:
        payment = {"invoice_id": issued["id"], "amount": {"amount": "20.00", "currency": "EUR"}}
        position = (await ok(await rep.post("/payments", json=payment), 201))["position"]
    return await read(rep, f"/invoices/{issued['id']}", position)


async def overdue_events(platform: Platform, invoice_id: str) -> list[Any]:
    stream = await platform.store.read_stream(f"invoice-{invoice_id}")
    return [e for e in stream if e.event_type == "sales.invoice.overdue"]


async def setup(api: Api) -> UserClient:
    boss = api.as_user("boss")
    body = {"sku": "INV-1", "name": "Invoiced", "list_price": {"amount": "10", "currency": "EUR"}}
    await ok(await boss.post("/products", json=body), 201)
    return api.as_user("rep-1", Role.SALES_REP)


async def test_an_invoice_becomes_overdue_once_across_ticks_and_restarts(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    rep = await setup(api)
    unpaid = await invoice(rep, "INV-1")
    paid = await invoice(rep, "INV-1", paid=True)
    assert paid["status"] == "paid"
    scheduler = SalesScheduler(platform.runtime)

    clock.set(datetime(2026, 3, 10, 23, 59, tzinfo=UTC))  # still the due date: not overdue
    assert (await scheduler.tick(clock.now())).invoices_overdue == ()

    clock.set(AFTER_DUE)
    first = await scheduler.tick(clock.now())
    assert first.invoices_overdue == (unpaid["id"],)
    assert first.failed == ()
    again = await scheduler.tick(clock.now())  # the read model may not show it yet
    assert again.invoices_overdue == ()
    restarted = await SalesScheduler(platform.runtime).tick(clock.now())
    assert restarted.invoices_overdue == ()

    events = await overdue_events(platform, unpaid["id"])
    assert len(events) == 1
    assert (events[0].actor, events[0].payload["as_of"]) == (ACTOR, "2026-03-11")
    assert await overdue_events(platform, paid["id"]) == []
    shown = await read(rep, f"/invoices/{unpaid['id']}", events[0].position)
    assert (shown["overdue"], shown["overdue_since"]) == (True, "2026-03-11")
    listed = await read(rep, "/invoices?overdue=true", events[0].position)
    assert [i["id"] for i in listed["items"]] == [unpaid["id"]]


async def test_two_schedulers_ticking_at_once_record_it_once(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    rep = await setup(api)
    invoices = [await invoice(rep, "INV-1") for _ in range(3)]
    clock.set(AFTER_DUE)
    one, two = SalesScheduler(platform.runtime), SalesScheduler(platform.runtime)
    reports = await asyncio.gather(one.tick(clock.now()), two.tick(clock.now()))
    marked = [i for r in reports for i in r.invoices_overdue]
    assert sorted(marked) == sorted(i["id"] for i in invoices)
    assert all(r.failed == () for r in reports)
    for i in invoices:
        assert len(await overdue_events(platform, i["id"])) == 1


async def test_a_sent_quote_expires_after_its_validity(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    rep = await setup(api)
    quote = await ok(
        await rep.post(
            "/quotes",
            json={
                "customer_id": "c-1",
                "currency": "EUR",
                "valid_until": "2026-03-05",
                "lines": [{"sku": "INV-1", "quantity": "1"}],
            },
        ),
        201,
    )
    draft = await ok(
        await rep.post(
            "/quotes",
            json={
                "customer_id": "c-1",
                "currency": "EUR",
                "valid_until": "2026-03-05",
                "lines": [{"sku": "INV-1", "quantity": "1"}],
            },
        ),
        201,
    )
    sent = await ok(await rep.post(f"/quotes/{quote['id']}/send"))
    await read(rep, f"/quotes/{quote['id']}", sent["position"])
    await read(rep, f"/quotes/{draft['id']}", sent["position"])

    scheduler = SalesScheduler(platform.runtime)
    assert (await scheduler.tick(clock.now())).quotes_expired == ()
    clock.set(datetime(2026, 3, 6, 8, 0, tzinfo=UTC))
    report = await scheduler.tick(clock.now())
    assert report.quotes_expired == (quote["id"],)  # the draft was never sent: it stays
    assert (await SalesScheduler(platform.runtime).tick(clock.now())).quotes_expired == ()

    stream = await platform.store.read_stream(f"quote-{quote['id']}")
    expiries = [e for e in stream if e.event_type == "sales.quote.expired"]
    assert len(expiries) == 1
    shown = await read(rep, f"/quotes/{quote['id']}", expiries[0].position)
    assert shown["status"] == "expired"
    accept = await rep.post(f"/quotes/{quote['id']}/accept")
    assert accept.status_code == 409


async def test_run_ticks_until_cancelled(api: Api, platform: Platform, clock: ManualClock) -> None:
    rep = await setup(api)
    unpaid = await invoice(rep, "INV-1")
    clock.set(AFTER_DUE)
    ticks = {"scheduler": "sales", "outcome": "ok"}
    recorded = {"scheduler": "sales", "result": "recorded"}
    ticks_before = REGISTRY.get_sample_value("crm_scheduler_ticks_total", ticks) or 0
    recorded_before = REGISTRY.get_sample_value("crm_scheduler_due_total", recorded) or 0
    task = asyncio.create_task(SalesScheduler(platform.runtime).run(clock, interval=0.01))
    try:
        for _ in range(200):
            if await overdue_events(platform, unpaid["id"]):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # several more ticks
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert len(await overdue_events(platform, unpaid["id"])) == 1
    # each tick counted (the alert on a scheduler that stopped ticking reads these)
    assert (REGISTRY.get_sample_value("crm_scheduler_ticks_total", ticks) or 0) >= ticks_before + 2
    assert REGISTRY.get_sample_value("crm_scheduler_due_total", recorded) == recorded_before + 1
    last = REGISTRY.get_sample_value(
        "crm_scheduler_last_tick_timestamp_seconds", {"scheduler": "sales"}
    )
    assert last is not None
    assert time.time() - last < 60
