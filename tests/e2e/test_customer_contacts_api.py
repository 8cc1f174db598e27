"""A company customer's contacts over HTTP: added, changed and removed, listed in the customer
and on their own route, the rules (a person has none, one primary, one per e-mail address),
404 and 422 naming the field, access as the customer's (a rep's own and the pool's), an
analyst reading them redacted, the read model rebuilt to the same, a merge's company survivor
gaining the merged one's, the erasure erasing them, and the data subject export holding them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest

from crm.customer.projections.customers import CustomersProjection
from crm.events import ERASED
from crm.kernel.auth import Role
from crm.kernel.projection import rebuild
from crm.kernel.redaction import REDACTED
from crm.platform.bootstrap import Platform
from tests.conftest import UserClient
from tests.support.reads import caught_up

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]

Users = Callable[..., UserClient]


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def company(client: UserClient, name: str = "Acme Ltd", **fields: Any) -> str:
    body = {"kind": "company", "name": name, "email": f"{uuid4().hex[:10]}@acme.example"}
    return str((await ok(await client.post("/customers", json={**body, **fields}), 201))["id"])


async def read(client: UserClient, customer_id: str, position: int) -> dict[str, Any]:
    r = await client.get(f"/customers/{customer_id}", params={"min_position": position})
    return await ok(r)


LI = {"name": "Li Wei", "title": "Buyer", "email": "Li.Wei@ACME.example", "primary": True}


async def test_add_change_list_and_remove_a_contact(as_user: Users, platform: Platform) -> None:
    boss = as_user("boss", Role.MANAGER)
    acme = await company(boss)
    added = await ok(await boss.post(f"/customers/{acme}/contacts", json=LI), 201)
    li = added["id"]
    ma_body = {"name": "Ma Lin", "phone": "+86 21 5555 0101", "note": "speaks for IT"}
    ma = await ok(await boss.post(f"/customers/{acme}/contacts", json=ma_body), 201)
    doc = await read(boss, acme, ma["position"])
    assert [c["name"] for c in doc["contacts"]] == ["Li Wei", "Ma Lin"]
    first = doc["contacts"][0]
    assert first["id"] == li
    assert first["email"] == "Li.Wei@acme.example"  # the domain in lower case, as a customer's
    assert (first["title"], first["primary"], first["note"]) == ("Buyer", True, None)

    await ok(
        await boss.patch(f"/customers/{acme}/contacts/{li}", json={"primary": False, "note": None})
    )
    changed = await ok(
        await boss.patch(f"/customers/{acme}/contacts/{ma['id']}", json={"primary": True}),
    )
    listed = (
        await boss.get(f"/customers/{acme}/contacts", params={"min_position": changed["position"]})
    ).json()
    assert {c["name"]: c["primary"] for c in listed} == {"Li Wei": False, "Ma Lin": True}

    removed = await ok(await boss.delete(f"/customers/{acme}/contacts/{li}"))
    doc = await read(boss, acme, removed["position"])
    assert [c["name"] for c in doc["contacts"]] == ["Ma Lin"]

    # the read model is a function of the log
    runtime = platform.runtime
    await caught_up(platform, "customers")
    before = await runtime.read_store.get("customers", acme)
    await rebuild(CustomersProjection(), runtime.store, runtime.read_store, runtime.codec)
    assert await runtime.read_store.get("customers", acme) == before

    # the personal fields are sealed in the log, never stored in the clear
    envelopes = await runtime.store.read_stream(f"customer-{acme}")
    added_event = next(e for e in envelopes if e.event_type == "customer.contact_added")
    assert "Li Wei" not in str(added_event.payload)


async def test_the_rules_and_the_refusals(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    acme = await company(boss)
    await ok(await boss.post(f"/customers/{acme}/contacts", json=LI), 201)

    r = await boss.post(f"/customers/{acme}/contacts", json={"name": "Zhou", "primary": True})
    assert r.status_code == 409
    assert r.json()["code"] == "primary_contact_exists"
    again = {"name": "L. Wei", "email": "li.wei@acme.EXAMPLE"}
    r = await boss.post(f"/customers/{acme}/contacts", json=again)
    assert r.status_code == 409
    assert r.json()["code"] == "contact_exists"

    person = str(
        (await ok(await boss.post("/customers", json={"name": "Ada", "kind": "person"}), 201))["id"]
    )
    r = await boss.post(f"/customers/{person}/contacts", json={"name": "Li Wei"})
    assert r.status_code == 409
    assert r.json()["code"] == "not_a_company"

    for body, field in (
        ({"name": ""}, "name"),
        ({"name": "Li", "email": "no-at-sign"}, "email"),
        ({"name": "Li", "phone": "call me"}, "phone"),
        ({"name": "Li", "age": 40}, "age"),
    ):
        r = await boss.post(f"/customers/{acme}/contacts", json=body)
        assert r.status_code == 422, body
        assert r.json()["detail"][0]["loc"][:2] == ["body", field], r.text

    nobody = str(uuid4())
    r = await boss.patch(f"/customers/{acme}/contacts/{nobody}", json={"title": "CEO"})
    assert r.status_code == 404
    assert r.json()["detail"][0]["loc"] == ["path", "contact_id"]
    r = await boss.delete(f"/customers/{acme}/contacts/{nobody}")
    assert r.status_code == 404
    r = await boss.patch(f"/customers/{acme}/contacts/{nobody}", json={})
    assert r.status_code == 422
    r = await boss.get(f"/customers/{acme}/contacts", params={"sort": "name"})
    assert r.status_code == 422  # an unknown query parameter


async def test_a_retried_addition_is_the_same_contact(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    acme = await company(boss)
    key = {"Idempotency-Key": f"contact-{uuid4()}"}
    one = await ok(await boss.post(f"/customers/{acme}/contacts", json=LI, headers=key), 201)
    two = await boss.post(f"/customers/{acme}/contacts", json=LI, headers=key)
    assert two.status_code == 201
    assert two.headers["Idempotent-Replayed"] == "true"
    assert two.json()["id"] == one["id"]
    assert len((await read(boss, acme, one["position"]))["contacts"]) == 1


async def test_access_is_the_customers(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    bob, eve = as_user("bob", Role.SALES_REP), as_user("eve", Role.SALES_REP)
    bobs = await company(boss, owner_id="bob")
    pools = await company(boss, "Pool Co")
    added = await ok(await bob.post(f"/customers/{bobs}/contacts", json=LI), 201)
    await ok(await eve.post(f"/customers/{pools}/contacts", json={"name": "Ma Lin"}), 201)
    li = added["id"]
    for r in (
        await eve.post(f"/customers/{bobs}/contacts", json={"name": "Zhou"}),
        await eve.patch(f"/customers/{bobs}/contacts/{li}", json={"title": "CEO"}),
        await eve.delete(f"/customers/{bobs}/contacts/{li}"),
        await eve.get(f"/customers/{bobs}/contacts"),
    ):
        assert r.status_code == 404, r.text  # another rep's customer: not known to exist
    agent = as_user("ann", Role.AGENT)
    r = await agent.post(f"/customers/{bobs}/contacts", json={"name": "Zhou"})
    assert r.status_code == 403
    analyst = as_user("ana", Role.ANALYST)
    r = await analyst.delete(f"/customers/{bobs}/contacts/{li}")
    assert r.status_code == 403
    seen = (
        await analyst.get(f"/customers/{bobs}/contacts", params={"min_position": added["position"]})
    ).json()
    assert (seen[0]["name"], seen[0]["email"], seen[0]["primary"]) == (REDACTED, REDACTED, True)
    doc = await ok(await analyst.get(f"/customers/{bobs}"))
    assert doc["contacts"][0]["name"] == REDACTED
    other = as_user("boss", Role.MANAGER, tenant="acme")
    assert (await other.get(f"/customers/{bobs}/contacts")).status_code == 404


async def test_a_company_survivor_gains_the_merged_ones_contacts(as_user: Users) -> None:
    admin = as_user("root", Role.ADMIN)
    acme = await company(admin)
    dupe = await company(admin, "ACME Limited")
    await ok(await admin.post(f"/customers/{acme}/contacts", json=LI), 201)
    same_li = {"name": "Wei Li", "email": "li.wei@acme.example", "primary": True}
    await ok(await admin.post(f"/customers/{dupe}/contacts", json=same_li), 201)
    zhou = {"name": "Zhou Min", "title": "CFO", "email": "zhou@acme.example"}
    await ok(await admin.post(f"/customers/{dupe}/contacts", json=zhou), 201)
    merged = await ok(await admin.post(f"/customers/{acme}/merge", json={"merged_id": dupe}))
    doc = await read(admin, acme, merged["position"])
    assert [(c["name"], c["primary"]) for c in doc["contacts"]] == [
        ("Li Wei", True),
        ("Zhou Min", False),  # the same e-mail address is the same person: Li once
    ]
    gone = await admin.get(f"/customers/{dupe}/contacts")  # the merged one points on
    assert gone.status_code == 308, gone.text
    assert gone.headers["location"] == f"/customers/{acme}/contacts"
    assert gone.json()["code"] == "customer_merged"
    # gained: the survivor's own from now on
    zhou_id = doc["contacts"][1]["id"]
    edited = await ok(
        await admin.patch(f"/customers/{acme}/contacts/{zhou_id}", json={"title": "CEO"})
    )
    assert (await read(admin, acme, edited["position"]))["contacts"][1]["title"] == "CEO"


async def test_erasure_erases_the_contacts_and_the_export_holds_them(
    as_user: Users, platform: Platform
) -> None:
    admin = as_user("root", Role.ADMIN)
    acme = await company(admin)
    added = await ok(await admin.post(f"/customers/{acme}/contacts", json=LI), 201)
    at = {"min_position": added["position"]}
    exported = await ok(await admin.get(f"/customers/{acme}/export", params=at))
    assert [c["name"] for c in exported["contacts"]] == ["Li Wei"]
    assert exported["profile"]["contacts"][0]["email"] == "Li.Wei@acme.example"

    erased = await ok(await admin.post(f"/customers/{acme}/erase", json={"reason": "asked"}))
    doc = await read(admin, acme, erased["position"])
    [contact] = doc["contacts"]
    assert (contact["name"], contact["email"], contact["title"]) == (ERASED, ERASED, ERASED)
    assert contact["phone"] is None  # never given: stays none
    r = await admin.post(f"/customers/{acme}/contacts", json={"name": "Zhou"})
    assert r.status_code == 409
    assert r.json()["code"] == "customer_erased"

    runtime = platform.runtime
    events = await runtime.codec.decode(await runtime.store.read_stream(f"customer-{acme}"))
    added = next(e for e in events if type(e).__name__ == "ContactAdded")
    assert getattr(added, "name") == ERASED  # noqa: B009  (the key is gone)
    await caught_up(platform, "customers")
    await rebuild(CustomersProjection(), runtime.store, runtime.read_store, runtime.codec)
    rebuilt = await runtime.read_store.get("customers", acme)
    assert rebuilt is not None
    assert rebuilt["contacts"][0]["name"] == ERASED
    exported = await ok(await admin.get(f"/customers/{acme}/export"))
    assert exported["contacts"][0]["name"] == ERASED


async def test_a_contact_of_a_customer_that_does_not_exist_is_a_404_naming_the_customer(
    as_user: Users,
) -> None:
    boss = as_user("boss", Role.MANAGER)
    nobody, no_contact = str(uuid4()), str(uuid4())
    for r in (
        await boss.patch(f"/customers/{nobody}/contacts/{no_contact}", json={"title": "CEO"}),
        await boss.delete(f"/customers/{nobody}/contacts/{no_contact}"),
        await boss.post(f"/customers/{nobody}/contacts", json={"name": "Li"}),
    ):
        assert r.status_code == 404, r.text
        assert r.json()["detail"][0]["loc"] == ["path", "customer_id"], r.text
