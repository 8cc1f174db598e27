"""A request's directory (:class:`CustomersReadOnce`): the lists of one customer that a page
asks together (its timeline: quotes, orders, invoices, opportunities) wait for and read the
customer's directory entry once, and each gets the same condition as through the directory
itself (their records and those of the customers merged into them)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from crm.console.timeline import entry_of
from crm.kernel.auth import Role
from crm.kernel.directory import Customers, CustomersReadOnce
from crm.kernel.read_store import Document
from crm.sales.projections.customer_directory import CUSTOMER_DIRECTORY
from tests.conftest import Api

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def test_a_customers_entry_is_read_once_for_all_the_requests_lists(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana = api.as_user("ana", Role.SALES_REP, team="north")
    ada = (await ok(await ana.post("/customers", json={"name": "Ada", "owner_id": "ana"}), 201))[
        "id"
    ]
    body = {"name": "Ada", "email": "ada@example.com", "owner_id": "ana", "confirm_distinct": True}
    king = (await ok(await ana.post("/customers", json=body), 201))["id"]
    admin = api.as_user("root", Role.ADMIN)
    await ok(await admin.post(f"/customers/{ada}/merge", json={"merged_id": king}))

    runtime = api.platform.runtime
    directory = Customers(runtime, CUSTOMER_DIRECTORY)
    store = runtime.read_store
    read = store.get
    reads: list[str] = []

    async def counted(collection: str, id_: str) -> Document | None:
        if collection == CUSTOMER_DIRECTORY.collection:
            reads.append(id_)
        return await read(collection, id_)

    monkeypatch.setattr(store, "get", counted)
    both = [{"customer_id": {"$in": [ada, king]}}]

    plain = await asyncio.gather(*(directory.records_of("default", ada) for _ in range(5)))
    assert plain == [both] * 5
    assert reads == [ada] * 5

    reads.clear()
    once = CustomersReadOnce(directory)
    shared = await asyncio.gather(*(once.records_of("default", ada) for _ in range(5)))
    assert shared == [both] * 5
    assert await once.records_of("default", ada) == both
    assert await once.records_of("default", king) == [{"customer_id": king}]
    assert reads == [ada, king]
    assert CustomersReadOnce.of(None) is None

    # the customer's page read them from the customer context: the directory is not read,
    # and the condition is the same (the merge is in both)
    page_read = await ok(await admin.get(f"/customers/{ada}"))
    reads.clear()
    seeded = CustomersReadOnce(directory, (entry_of("default", page_read),))
    assert await seeded.records_of("default", ada) == both
    assert reads == []
    assert await seeded.records_of("default", king) == [{"customer_id": king}]
    assert reads == [king]
