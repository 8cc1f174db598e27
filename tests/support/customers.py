"""Customers for the tests of the contexts that refer to them (sales, the service desk).

A command naming a customer needs one the context's directory knows (:mod:`crm.kernel.
directory`). A test that runs without the customer context records the customer's
registration straight in the shared store, as the customer context would."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from crm.events import EventMetadata
from crm.events.customer import CustomerKind, CustomerRegistered
from crm.kernel.event_store import NO_STREAM
from crm.platform.bootstrap import Platform


async def register_customer(
    platform: Platform,
    customer_id: str | None = None,
    *,
    tenant: str = "default",
    owner_id: str | None = None,
    name: str = "A Customer",
) -> str:
    """Record ``customer.registered`` for ``customer_id`` (default: a new UUID); its id."""
    id_ = customer_id or str(uuid4())
    stream = f"customer-{id_}"
    event = CustomerRegistered(kind=CustomerKind.PERSON, name=name, owner_id=owner_id)
    metadata = EventMetadata(tenant=tenant, actor="test", correlation_id=uuid4())
    runtime = platform.runtime
    new = await runtime.codec.encode(stream, [event], metadata, datetime.now(UTC))
    await runtime.store.append(stream, new, NO_STREAM)
    return id_


async def register_customers(
    platform: Platform, *ids: str, tenant: str = "default", owner_id: str | None = None
) -> None:
    for id_ in ids:
        await register_customer(platform, id_, tenant=tenant, owner_id=owner_id)


def known_customers(
    *ids: str, tenant: str = "default", owner_id: str | None = None
) -> Callable[[Platform], Coroutine[Any, Any, None]]:
    """An autouse fixture registering ``ids`` (in the pool, unless ``owner_id``) for a module
    whose tests name those customers: ``_customers = known_customers("c-1", "c-2")``."""

    @pytest.fixture(autouse=True)
    async def fixture(platform: Platform) -> None:
        await register_customers(platform, *ids, tenant=tenant, owner_id=owner_id)

    return fixture
