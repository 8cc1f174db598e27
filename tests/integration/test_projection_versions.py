"""A projection's version: a read model built by another version of its code is rebuilt
online when the platform starts (the old documents serve until the new ones are swapped in),
so a new field never leaves old documents behind. And its handlers, declared once, give the
event types it reads."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from crm.customer.application.customer_commands import RegisterCustomer, TagCustomer
from crm.customer.context import CONTEXT as CUSTOMER
from crm.customer.domain.customer import Profile
from crm.customer.projections.customers import COLLECTION, CustomersProjection
from crm.events import DomainEvent, EventEnvelope
from crm.events.customer import CUSTOMER_EVENTS, CustomerKind, CustomerTagged
from crm.kernel.handlers import DocKey, Handlers
from crm.kernel.projection import ensure_version, recorded_version
from crm.kernel.read_store import Document, Query
from crm.kernel.repository import CommandContext
from crm.kernel.settings import Settings
from crm.platform.bootstrap import Platform, open_platform
from tests.conftest import T0

pytestmark = pytest.mark.integration


class ShoutingCustomers(CustomersProjection):
    """The next version of the customers read model: every document also has its name in
    capitals."""

    version = CustomersProjection.version + 1

    @staticmethod
    def evolve(  # type: ignore[override]
        key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        new = CustomersProjection.evolve(key, doc, event, envelope)
        return None if new is None else {**new, "shout": str(new["name"]).upper()}


def ctx() -> CommandContext:
    return CommandContext(actor="m1", role="manager", tenant="default", now=T0)


async def names(platform: Platform) -> dict[str, Any]:
    page = await platform.read_store.find(COLLECTION, Query(limit=100))
    return {d["name"]: d.get("shout") for d in page.items}


def test_the_event_types_are_those_it_has_handlers_for() -> None:
    assert CustomersProjection.event_types == {e.event_type for e in CUSTOMER_EVENTS}
    on: Handlers[dict[str, Any]] = Handlers()
    on(CustomerTagged)(lambda key, doc, event, envelope: doc)
    with pytest.raises(ValueError, match="already has a handler"):
        on(CustomerTagged)(lambda key, doc, event, envelope: doc)


async def test_a_new_version_is_rebuilt_at_start_and_recorded(settings: Settings) -> None:
    first = open_platform(settings, contexts=(CUSTOMER,))
    try:
        for name in ("Ada", "Grace"):
            command = RegisterCustomer(
                Profile(kind=CustomerKind.PERSON, name=name), confirm_distinct=True
            )
            await first.runtime.commands.execute(command, ctx())
        await first.start_projections()
        assert await names(first) == {"Ada": None, "Grace": None}
        recorded = await recorded_version(first.read_store, CustomersProjection())
        assert recorded.position == CustomersProjection.version
    finally:
        await first.close()

    upgraded = replace(CUSTOMER, projections=(ShoutingCustomers(),))
    second = open_platform(settings, contexts=(upgraded,))
    try:
        await second.start_projections()
        async with asyncio.timeout(10):
            while not second.projections_healthy():  # noqa: ASYNC110 (a plain flag)
                await asyncio.sleep(0.01)
        assert await names(second) == {"Ada": "ADA", "Grace": "GRACE"}
        recorded = await recorded_version(second.read_store, ShoutingCustomers())
        assert recorded.position == ShoutingCustomers.version
        # and it follows on from the swap
        some = (await second.read_store.find(COLLECTION, Query(limit=1))).items[0]
        result = await second.runtime.commands.execute(TagCustomer(some["id"], "vip"), ctx())
        await second.read_store.wait_for_checkpoint("customers", result.position, 5)
        doc = await second.read_store.get(COLLECTION, some["id"])
        assert doc is not None
        assert doc["tags"] == ["vip"]
        assert doc["shout"] == some["shout"]
        # started again at the same version, nothing is rebuilt
        assert not await ensure_version(
            ShoutingCustomers(), second.store, second.read_store, second.runtime.codec
        )
    finally:
        await second.close()
