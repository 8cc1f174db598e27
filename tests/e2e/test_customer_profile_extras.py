"""A customer's addresses (billing, shipping, visit), birthday and anniversary, preferred
channel and language through HTTP: registered, edited, read back, sealed at rest like the
rest of their personal data, hidden from the roles that may not see them, and erased."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from crm.customer.domain.customer import Customer
from crm.events import ERASED
from crm.kernel.auth import Role
from crm.kernel.redaction import REDACTED
from tests.conftest import Api

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]

EXTRAS: dict[str, Any] = {
    "billing_address": "Hauptstr. 1\n10115 Berlin\nDE",
    "shipping_address": "Lager 7\n20095 Hamburg\nDE",
    "visit_address": "Unter den Linden 5\n10117 Berlin",
    "birthday": "1985-03-14",
    "anniversary": "2010-06-01",
    "preferred_channel": "email",
    "preferred_language": "zh-CN",
}


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def register(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Mei Chen", "email": f"mei-{uuid4().hex[:10]}@example.com", **fields}
    return await ok(await api.as_user("boss").post("/customers", json=body), 201)


async def read(api: Api, user: str, role: Role, customer_id: str) -> dict[str, Any]:
    head = await api.platform.store.head_position()
    r = await api.as_user(user, role).get(
        f"/customers/{customer_id}", params={"min_position": head}
    )
    return await ok(r)


async def test_registered_with_addresses_dates_and_preferences(api: Api) -> None:
    c = await register(api, **EXTRAS, owner_id="rep-1")
    doc = await read(api, "boss", Role.MANAGER, c["id"])
    assert {f: doc[f] for f in EXTRAS} == EXTRAS


async def test_personal_ones_are_sealed_in_the_event_store(api: Api) -> None:
    c = await register(api, **EXTRAS)
    (stored,) = await api.platform.store.read_stream(Customer.stream_id_for(c["id"]))
    assert stored.schema_version == 3
    payload = stored.payload
    for f in ("billing_address", "shipping_address", "visit_address", "birthday", "anniversary"):
        assert str(payload[f]).startswith("enc:"), f
    assert payload["preferred_channel"] == "email"  # business data: how, not who
    assert "Hauptstr" not in str(payload)
    assert "1985-03-14" not in str(payload)


async def test_edited_and_cleared_with_patch(api: Api) -> None:
    c = await register(api, **EXTRAS)
    r = await api.as_user("boss").patch(
        f"/customers/{c['id']}",
        json={"birthday": "1986-04-15", "visit_address": None, "preferred_language": "en"},
    )
    await ok(r)
    doc = await read(api, "boss", Role.MANAGER, c["id"])
    assert (doc["birthday"], doc["visit_address"], doc["preferred_language"]) == (
        "1986-04-15",
        None,
        "en",
    )
    assert doc["billing_address"] == EXTRAS["billing_address"]
    events = await api.platform.store.read_stream(Customer.stream_id_for(c["id"]))
    assert events[-1].payload["changed"] == ["visit_address", "birthday", "preferred_language"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"birthday": "1985-02-30"}, "birthday"),
        ({"birthday": "2999-01-01"}, "birthday"),
        ({"anniversary": "soon"}, "anniversary"),
        ({"preferred_channel": "pigeon"}, "preferred_channel"),
        ({"preferred_language": "english!"}, "preferred_language"),
        ({"billing_address": "x" * 501}, "billing_address"),
    ],
)
async def test_bad_values_are_refused_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    r = await api.as_user("boss").post("/customers", json={"name": "Mei", **body})
    assert r.status_code == 422, r.text
    assert field in r.text
    c = await register(api)
    r = await api.as_user("boss").patch(f"/customers/{c['id']}", json=body)
    assert r.status_code == 422, r.text
    assert field in r.text


async def test_who_sees_what(api: Api) -> None:
    c = await register(api, **EXTRAS, owner_id="rep-1")
    rep = await read(api, "rep-1", Role.SALES_REP, c["id"])
    assert rep["birthday"] == "1985-03-14"  # a rep congratulates their customer
    assert rep["billing_address"] == REDACTED  # addresses are the desk's (the kernel's rule)
    analyst = await read(api, "ana", Role.ANALYST, c["id"])
    assert {f: analyst[f] for f in EXTRAS} == {
        **{f: REDACTED for f in EXTRAS},
        "preferred_channel": "email",
        "preferred_language": "zh-CN",
    }
    agent = await read(api, "desk", Role.AGENT, c["id"])
    assert agent["visit_address"] == EXTRAS["visit_address"]


async def test_erasure_removes_addresses_and_dates(api: Api) -> None:
    c = await register(api, **EXTRAS)
    await ok(await api.as_user("root", Role.ADMIN).post(f"/customers/{c['id']}/erase"))
    doc = await read(api, "root", Role.ADMIN, c["id"])
    personal = ("billing_address", "shipping_address", "visit_address", "birthday", "anniversary")
    assert {f: doc[f] for f in personal} == dict.fromkeys(personal, ERASED)
    # and the log itself reads them as erased: the key is gone
    events = await api.platform.runtime.codec.decode(
        await api.platform.store.read_stream(Customer.stream_id_for(c["id"]))
    )
    assert events[0].birthday == ERASED
    assert events[0].billing_address == ERASED
