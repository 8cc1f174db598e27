"""The lead-conversion process manager across the sales and customer contexts.

Converting a lead for a new customer is three steps in two contexts, linked only by events:
sales records the request, the customer context registers the customer, sales opens the
opportunity and marks the lead converted. These tests run it through HTTP as a user would,
then prove that it completes exactly once in effect when every event is delivered again,
when the reactions restart from nothing (their checkpoints lost), and when the process is
cut between its steps.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from crm.customer.application.reactions import reactions as customer_reactions
from crm.events import EventEnvelope
from crm.kernel.auth import Role
from crm.kernel.reactor import Delivery, Reaction, ReactionRunner, react_with_retry
from crm.platform.bootstrap import Platform, open_platform
from crm.sales.application.reactions import reactions as sales_reactions
from crm.sales.domain.leads import conversion_ids
from tests.conftest import Api, UserClient

# the process runs in these two; no other context appends meanwhile (the churn monitor would)
pytestmark = [pytest.mark.integration, pytest.mark.contexts("customer", "sales")]

Users = Callable[..., UserClient]
BODY = {
    "opportunity_name": "Navy compilers",
    "amount": {"amount": "50000.00", "currency": "EUR"},
    "expected_close_date": "2026-09-30",
}


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def qualified_lead(rep: UserClient) -> str:
    lead = await ok(
        await rep.post(
            "/leads",
            json={
                "name": "Grace Hopper",
                "email": "grace@navy.example",
                "phone": "+1 555 0100",
                "company": "US Navy",
                "source": "webinar",
            },
        ),
        201,
    )
    await ok(await rep.post(f"/leads/{lead['id']}/qualify"))
    return str(lead["id"])


async def converted(rep: UserClient, lead_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """Poll the lead until the asynchronous process marked it converted."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await rep.get(f"/leads/{lead_id}")
        # 404: the leads read model has not applied the capture yet
        doc = None if response.status_code == 404 else await ok(response)
        if doc is not None and doc["status"] == "converted":
            return doc
        assert asyncio.get_running_loop().time() < deadline, f"lead stuck: {doc}"
        await asyncio.sleep(0.05)


async def stream_counts(platform: Platform, *stream_ids: str) -> dict[str, Counter[str]]:
    return {
        s: Counter(e.event_type for e in await platform.store.read_stream(s)) for s in stream_ids
    }


def streams_of(lead_id: str) -> tuple[str, str, str]:
    customer_id, opportunity_id = conversion_ids(lead_id)
    return f"lead-{lead_id}", f"customer-{customer_id}", f"opportunity-{opportunity_id}"


EXPECTED = {
    "lead": Counter(
        {
            "sales.lead.captured": 1,
            "sales.lead.qualified": 1,
            "sales.lead.conversion_requested": 1,
            "sales.lead.converted": 1,
        }
    ),
    "customer": Counter({"customer.registered": 1}),
    "opportunity": Counter({"sales.opportunity.opened": 1}),
}


def assert_once(counts: dict[str, Counter[str]]) -> None:
    lead, customer, opportunity = counts.values()
    assert lead == EXPECTED["lead"]
    assert customer == EXPECTED["customer"]
    assert opportunity == EXPECTED["opportunity"]


async def test_a_converted_lead_becomes_a_customer_and_an_opportunity(
    api: Api, as_user: Users
) -> None:
    rep = as_user("rep-1", Role.SALES_REP)
    lead_id = await qualified_lead(rep)
    answer = await ok(await rep.post(f"/leads/{lead_id}/convert", json=BODY), 202)
    customer_id, opportunity_id = conversion_ids(lead_id)
    assert (answer["customer_id"], answer["opportunity_id"]) == (customer_id, opportunity_id)

    lead = await converted(rep, lead_id)
    assert (lead["customer_id"], lead["opportunity_id"]) == (customer_id, opportunity_id)
    customer = await ok(await rep.get(f"/customers/{customer_id}"))
    assert (customer["name"], customer["email"], customer["company"]) == (
        "Grace Hopper",
        "grace@navy.example",
        "US Navy",
    )
    assert (customer["owner_id"], customer["source"]) == ("rep-1", "webinar")
    opportunity = await ok(await rep.get(f"/opportunities/{opportunity_id}"))
    assert (opportunity["customer_id"], opportunity["lead_id"]) == (customer_id, lead_id)
    assert opportunity["amount"] == {"amount": "50000.00", "currency": "EUR"}
    assert opportunity["stage"] == "prospecting"
    assert_once(await stream_counts(api.platform, *streams_of(lead_id)))

    # every event of the process carries the conversion's correlation id
    envelopes: list[EventEnvelope] = []
    for s in streams_of(lead_id):
        envelopes += await api.platform.store.read_stream(s)
    request = next(e for e in envelopes if e.event_type == "sales.lead.conversion_requested")
    later = [e for e in envelopes if e.position > request.position]
    assert {e.correlation_id for e in later} == {request.correlation_id}
    assert {e.actor for e in later} == {
        "process:customer.register-converted-lead",
        "process:sales.convert-lead-for-registered-customer",
    }


async def test_converting_for_an_existing_customer_opens_the_opportunity_only(
    api: Api, as_user: Users
) -> None:
    rep = as_user("rep-1", Role.SALES_REP)
    existing = await ok(
        await rep.post("/customers", json={"kind": "company", "name": "ACME", "owner_id": "rep-1"}),
        201,
    )
    lead_id = await qualified_lead(rep)
    body = {**BODY, "existing_customer_id": existing["id"]}
    answer = await ok(await rep.post(f"/leads/{lead_id}/convert", json=body), 202)
    assert (answer["customer_id"], answer["new_customer"]) == (existing["id"], False)
    await converted(rep, lead_id)
    opportunity = await ok(await rep.get(f"/opportunities/{answer['opportunity_id']}"))
    assert opportunity["customer_id"] == existing["id"]
    _, new_customer, _ = streams_of(lead_id)
    assert await api.platform.store.read_stream(new_customer) == []


async def all_reactions(platform: Platform) -> list[Reaction]:
    return [*customer_reactions(platform.runtime), *sales_reactions(platform.runtime)]


async def test_redelivering_every_event_and_restarting_from_nothing_changes_nothing(
    api: Api, as_user: Users
) -> None:
    rep = as_user("rep-1", Role.SALES_REP)
    lead_ids = [await qualified_lead(rep) for _ in range(3)]
    for lead_id in lead_ids:
        await ok(await rep.post(f"/leads/{lead_id}/convert", json=BODY), 202)
    for lead_id in lead_ids:
        await converted(rep, lead_id)
    platform = api.platform
    before = {lid: await stream_counts(platform, *streams_of(lid)) for lid in lead_ids}
    head = await platform.store.head_position()

    # 1. every event delivered again, twice, to every reaction, concurrently
    log = [e async for page in platform.store.read_all() for e in page]
    reactions = await all_reactions(platform)
    letters = await asyncio.gather(
        *(
            react_with_retry(
                r, platform.runtime.codec, Delivery(e, e.position), checkpoint_name=r.name
            )
            for _ in range(2)
            for r in reactions
            for e in log
        )
    )
    assert [x for x in letters if x is not None] == []

    # 2. the reactions restarted with their checkpoints lost: they re-read the whole log
    for reaction in reactions:
        runner = ReactionRunner(
            reaction, platform.store, platform.read_store, platform.runtime.codec
        )
        runner.name = f"{runner.name}:fresh"  # a checkpoint that starts from 0
        await runner.catch_up()

    assert await platform.store.head_position() == head
    for lead_id in lead_ids:
        assert await stream_counts(platform, *streams_of(lead_id)) == before[lead_id]
        assert_once(before[lead_id])


async def test_a_process_cut_between_its_steps_completes_after_a_restart(
    platform: Platform, as_user: Users, api: Api
) -> None:
    """The platform of ``api`` stops its reactions right after the request is recorded; a
    fresh platform on the same files (a restart) finishes the process from the checkpoints."""
    await api.platform.stop_processes()  # the reactions are "down"
    rep = as_user("rep-1", Role.SALES_REP)
    lead_id = await qualified_lead(rep)
    await ok(await rep.post(f"/leads/{lead_id}/convert", json=BODY), 202)
    lead_stream, customer_stream, opportunity_stream = streams_of(lead_id)

    # only the customer context's step runs, then the process "crashes"
    register = customer_reactions(platform.runtime)[0]
    runner = ReactionRunner(register, platform.store, platform.read_store, platform.runtime.codec)
    await runner.catch_up()
    assert len(await platform.store.read_stream(customer_stream)) == 1
    assert await platform.store.read_stream(opportunity_stream) == []

    restarted = open_platform(platform.settings, clock=platform.runtime.clock)
    try:
        await restarted.start_processes()
        deadline = asyncio.get_running_loop().time() + 10
        while len(await restarted.store.read_stream(lead_stream)) < 4:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        await restarted.stop_processes()
        assert_once(await stream_counts(restarted, *streams_of(lead_id)))
    finally:
        await restarted.close()
