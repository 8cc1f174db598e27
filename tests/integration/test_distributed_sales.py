"""Lead conversion across two services that share nothing but Kafka (and the key store).

The customer and sales services run as separate processes, each with its own event store and
read store, and a relay each; the broker is a real Kafka-protocol broker (Tansu). Converting
a lead on the sales service makes the customer service register the customer (it follows
``crm.sales.events`` in its consumer group), which makes the sales service open the
opportunity and mark the lead converted (it follows ``crm.customer.events``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.auth import Role
from crm.kernel.settings import Settings
from crm.platform.bootstrap import token_issuer
from crm.sales.domain.leads import conversion_ids
from tests.support.processes import Process, operator, platform_env
from tests.support.tansu import Broker

pytestmark = pytest.mark.integration


class TwoServices:
    def __init__(self, tmp: Path, broker: Broker) -> None:
        self.data = tmp / "data"
        base = platform_env(self.data, broker.url)
        logs = tmp / "logs"
        logs.mkdir()

        def own(context: str) -> dict[str, str]:
            return {
                **base,
                "CRM_EVENT_STORE": f"sqlite:///{self.data / context}-events.db",
                "CRM_READ_STORE": f"sqlite:///{self.data / context}-read.db",
            }

        self.env_of = own
        self.customer = Process(["serve", "customer"], own("customer"), logs / "customer.log")
        self.sales = Process(["serve", "sales"], own("sales"), logs / "sales.log")
        self.relays = [
            Process(["relay", c], own(c), logs / f"relay-{c}.log") for c in ("customer", "sales")
        ]
        self.all = [self.customer, self.sales, *self.relays]

    def auth(self, user: str, role: Role) -> dict[str, str]:
        issuer = token_issuer(Settings(data_dir=self.data))
        return {"Authorization": f"Bearer {issuer.issue(user, role, 'default')}"}


@pytest.fixture
def services(tmp_path: Path, broker: Broker) -> Iterator[TwoServices]:
    s = TwoServices(tmp_path, broker)
    s.customer.start()  # creates the data directory and its secret first
    # each service has its own event store here: the operator adds the tenant to each
    for context in ("customer", "sales"):
        operator(s.env_of(context), "tenants", "add", "default")
    for p in (s.sales, *s.relays):
        p.start(wait=False)
    for p in (s.sales, *s.relays):
        p.wait_ready()
    yield s
    for p in s.all:
        p.stop()


def call(method: str, url: str, auth: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    r = httpx.request(method, url, headers=auth, timeout=10, **kwargs)
    assert r.status_code < 300, r.text
    return dict(r.json())


def test_a_lead_converts_across_services_through_kafka(services: TwoServices) -> None:
    rep = services.auth("rep-1", Role.SALES_REP)
    sales = services.sales.url
    lead = call(
        "POST",
        f"{sales}/leads",
        rep,
        json={"name": "Grace Hopper", "email": "grace@navy.example", "company": "US Navy"},
    )
    call("POST", f"{sales}/leads/{lead['id']}/qualify", rep)
    call(
        "POST",
        f"{sales}/leads/{lead['id']}/convert",
        rep,
        json={
            "opportunity_name": "Navy compilers",
            "amount": {"amount": "50000.00", "currency": "EUR"},
            "expected_close_date": "2026-09-30",
        },
    )
    customer_id, opportunity_id = conversion_ids(lead["id"])

    deadline = time.monotonic() + 60
    while True:
        doc = call("GET", f"{sales}/leads/{lead['id']}", rep)
        if doc["status"] == "converted":
            break
        assert time.monotonic() < deadline, f"lead stuck as {doc['status']}; see the logs"
        time.sleep(0.2)

    customer = call("GET", f"{services.customer.url}/customers/{customer_id}", rep)
    assert (customer["name"], customer["owner_id"]) == ("Grace Hopper", "rep-1")
    opportunity = call("GET", f"{sales}/opportunities/{opportunity_id}", rep)
    assert opportunity["customer_id"] == customer_id
    # the customer lives only in the customer service's store, the opportunity only in sales'
    assert asyncio.run(streams_in(services.data / "customer-events.db")) >= {
        f"customer-{customer_id}"
    }
    sales_streams = asyncio.run(streams_in(services.data / "sales-events.db"))
    assert {f"opportunity-{opportunity_id}", f"lead-{lead['id']}"} <= sales_streams
    assert f"customer-{customer_id}" not in sales_streams


async def streams_in(path: Path) -> set[str]:
    store = SqliteEventStore(path)
    try:
        return {e.stream_id async for page in store.read_all() for e in page}
    finally:
        await store.close()
