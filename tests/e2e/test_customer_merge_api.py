"""Suspected duplicates and merges over HTTP: the admins' list of pairs (scored as the
registration's check scores them), a pair marked distinct leaving it, the merge (the survivor
gains the merged one's tags, empty fields, consent and interactions; the merged one answers
308 to the survivor and refuses commands naming it), the read model rebuilt to the same, the
audit trail, access (admins only), 404/422 naming the field, and erasure after a merge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest

from crm.customer.projections.customers import CustomersProjection
from crm.events import ERASED, EventMetadata
from crm.events.customer import CustomerMergedInto
from crm.kernel.auth import Role
from crm.kernel.projection import rebuild
from crm.platform.bootstrap import Platform
from tests.conftest import UserClient
from tests.support.reads import caught_up

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]

Users = Callable[..., UserClient]


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def register(client: UserClient, **fields: Any) -> dict[str, Any]:
    return await ok(await client.post("/customers", json=fields), 201)


async def two_adas(admin: UserClient) -> tuple[str, str, int]:
    ada = await register(admin, name="Ada Lovelace", company="Analytical", tags=["vip"])
    king = await register(
        admin,
        name="Ada Lovelace",
        company="Analytical",
        email="ada@example.com",
        phone="+44 20 7946 0000",
        tags=["newsletter"],
        confirm_distinct=True,
    )
    await ok(
        await admin.post(
            f"/customers/{king['id']}/interactions",
            json={"channel": "call", "summary": "asked for a quote"},
        ),
        201,
    )
    r = await admin.post(
        f"/customers/{king['id']}/consent",
        json={"purpose": "marketing_email", "granted": False, "method": "web"},
    )
    last = await ok(r, 201)
    return ada["id"], king["id"], last["position"]


async def test_the_list_the_distinct_decision_and_the_merge(
    as_user: Users, platform: Platform
) -> None:
    admin = as_user("root", Role.ADMIN)
    ada, king, position = await two_adas(admin)
    await register(admin, name="Someone Else", email="else@example.com")

    listed = await ok(await admin.get("/customers/duplicates", params={"min_position": position}))
    assert listed["total"] == 1
    [pair] = listed["items"]
    assert {pair["customer_id"], pair["other_id"]} == {ada, king}
    assert pair["reasons"] == ["similar_name_same_company"]
    assert pair["score"] == 80
    assert [c["name"] for c in pair["customers"]] == ["Ada Lovelace", "Ada Lovelace"]

    merged = await ok(await admin.post(f"/customers/{ada}/merge", json={"merged_id": king}))
    survivor = await ok(
        await admin.get(f"/customers/{ada}", params={"min_position": merged["position"]})
    )
    assert survivor["tags"] == ["newsletter", "vip"]
    assert survivor["email"] == "ada@example.com"  # empty here, given there
    assert survivor["phone"] == "+44 20 7946 0000"
    assert survivor["absorbed"] == [king]
    assert survivor["consents"]["marketing_email"]["granted"] is False
    assert survivor["interactions"]["count"] == 1
    calls = (await admin.get(f"/customers/{ada}/interactions")).json()
    assert [i["summary"] for i in calls] == ["asked for a quote"]

    gone = await admin.get(f"/customers/{king}", follow_redirects=False)
    assert gone.status_code == 308, gone.text
    assert gone.headers["Location"] == f"/customers/{ada}"
    assert gone.json()["merged_into"] == ada
    assert gone.json()["code"] == "customer_merged"

    r = await admin.post(f"/customers/{king}/tags", json={"tag": "gold"})
    assert r.status_code == 409
    assert r.json()["code"] == "customer_merged"
    assert r.json()["merged_into"] == ada

    everyone = await ok(await admin.get("/customers"))
    assert everyone["total"] == 2  # Ada and someone else: the merged one left the list
    assert king not in {c["id"] for c in everyone["items"]}
    assert (await ok(await admin.get("/customers/duplicates")))["total"] == 0

    again = await admin.post(f"/customers/{ada}/merge", json={"merged_id": king})
    assert again.status_code == 409
    assert again.json()["code"] == "customer_merged"

    trail = await ok(await admin.get(f"/audit/customer/{king}"))
    assert "customer.merged_into" in str(trail)
    trail = await ok(await admin.get(f"/audit/customer/{ada}"))
    assert "customer.absorbed" in str(trail)

    runtime = platform.runtime
    await caught_up(platform, "customers")
    before = {id_: await runtime.read_store.get("customers", id_) for id_ in (ada, king)}
    await rebuild(CustomersProjection(), runtime.store, runtime.read_store, runtime.codec)
    assert {id_: await runtime.read_store.get("customers", id_) for id_ in (ada, king)} == before


async def test_a_pair_marked_distinct_leaves_the_list(as_user: Users) -> None:
    admin = as_user("root", Role.ADMIN)
    ada, king, _ = await two_adas(admin)
    r = await admin.post(f"/customers/{king}/distinct", json={"other_id": ada})
    decided = await ok(r, 201)
    listed = await ok(
        await admin.get("/customers/duplicates", params={"min_position": decided["position"]})
    )
    assert listed["total"] == 0


async def test_admins_only_and_fields_named(as_user: Users) -> None:
    admin = as_user("root", Role.ADMIN)
    ada, king, _ = await two_adas(admin)
    for role in (Role.MANAGER, Role.SALES_REP, Role.AGENT, Role.ANALYST):
        user = as_user("u", role)
        assert (await user.get("/customers/duplicates")).status_code == 403
        r = await user.post(f"/customers/{ada}/merge", json={"merged_id": king})
        assert r.status_code in (403, 404), (role, r.text)
        r = await user.post(f"/customers/{ada}/distinct", json={"other_id": king})
        assert r.status_code in (403, 404), (role, r.text)

    nobody = str(uuid4())
    r = await admin.post(f"/customers/{ada}/merge", json={"merged_id": nobody})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "merged_id"]
    r = await admin.post(f"/customers/{nobody}/merge", json={"merged_id": king})
    assert r.status_code == 404
    assert r.json()["detail"][0]["loc"] == ["path", "survivor_id"]
    r = await admin.post(f"/customers/{ada}/merge", json={"merged_id": ada})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "merged_id"]
    r = await admin.post(f"/customers/{ada}/merge", json={"merged": king})
    assert r.status_code == 422
    r = await admin.post(f"/customers/{ada}/distinct", json={"other_id": nobody})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "other_id"]
    r = await admin.get("/customers/duplicates", params={"limit": 0})
    assert r.status_code == 422
    r = await admin.get("/customers/duplicates", params={"score": 90})
    assert r.status_code == 422  # an unknown parameter

    other_tenant = as_user("root", Role.ADMIN, tenant="acme")
    r = await other_tenant.post(f"/customers/{ada}/merge", json={"merged_id": king})
    assert r.status_code in (404, 422)


async def test_erasing_the_survivor_erases_the_merged_one_too(
    as_user: Users, platform: Platform
) -> None:
    admin = as_user("root", Role.ADMIN)
    ada, king, _ = await two_adas(admin)
    await ok(await admin.post(f"/customers/{ada}/merge", json={"merged_id": king}))
    erased = await ok(await admin.post(f"/customers/{ada}/erase", json={"reason": "asked"}))
    survivor = await ok(
        await admin.get(f"/customers/{ada}", params={"min_position": erased["position"]})
    )
    assert survivor["erased"] is True
    assert survivor["email"] == ERASED
    codec = platform.runtime.codec
    store = platform.runtime.store
    for id_ in (ada, king):
        envelopes = await store.read_stream(f"customer-{id_}")
        assert "customer.erased" in {e.event_type for e in envelopes}
        events = await codec.decode(envelopes)
        assert getattr(events[0], "name") == ERASED  # noqa: B009  (both keys gone)
    calls = (await admin.get(f"/customers/{ada}/interactions")).json()
    assert [i["summary"] for i in calls] == [ERASED]


async def test_the_merged_one_can_be_erased_alone(as_user: Users, platform: Platform) -> None:
    admin = as_user("root", Role.ADMIN)
    ada, king, _ = await two_adas(admin)
    await ok(await admin.post(f"/customers/{ada}/merge", json={"merged_id": king}))
    await ok(await admin.post(f"/customers/{king}/erase"))
    envelopes = await platform.runtime.store.read_stream(f"customer-{king}")
    events = await platform.runtime.codec.decode(envelopes)
    assert getattr(events[0], "email") == ERASED  # noqa: B009
    envelopes = await platform.runtime.store.read_stream(f"customer-{ada}")
    assert "customer.erased" not in {e.event_type for e in envelopes}


async def test_a_merge_cut_short_is_finished_by_sending_it_again(
    as_user: Users, platform: Platform
) -> None:
    """A crash after the merged one's event and before the survivor's: the same request
    again absorbs it (once), and a third time is refused."""
    admin = as_user("root", Role.ADMIN)
    ada, king, _ = await two_adas(admin)
    runtime = platform.runtime
    stream = f"customer-{king}"
    version = (await runtime.store.read_stream(stream))[-1].stream_version
    metadata = EventMetadata(tenant="default", actor="root", correlation_id=uuid4())
    half = await runtime.codec.encode(
        stream, [CustomerMergedInto(survivor_id=ada)], metadata, runtime.clock.now()
    )
    await runtime.store.append(stream, half, version)

    done = await ok(await admin.post(f"/customers/{ada}/merge", json={"merged_id": king}))
    survivor = await ok(
        await admin.get(f"/customers/{ada}", params={"min_position": done["position"]})
    )
    assert survivor["absorbed"] == [king]
    assert survivor["email"] == "ada@example.com"
    merged_events = [e.event_type for e in await runtime.store.read_stream(stream)]
    assert merged_events.count("customer.merged_into") == 1
    again = await admin.post(f"/customers/{ada}/merge", json={"merged_id": king})
    assert again.status_code == 409
    events = [e.event_type for e in await runtime.store.read_stream(f"customer-{ada}")]
    assert events.count("customer.absorbed") == 1


async def test_the_list_is_paged_best_first(as_user: Users) -> None:
    admin = as_user("root", Role.ADMIN)
    ada, king, _ = await two_adas(admin)
    third = await register(
        admin,
        name="Ada Lovelace",
        company="Analytical",
        email="ADA@example.com",
        confirm_distinct=True,
    )
    at = {"min_position": third["position"]}
    page = await ok(await admin.get("/customers/duplicates", params={**at, "limit": 2}))
    assert page["total"] == 3
    assert [p["score"] for p in page["items"]] == [100, 80]
    assert set(page["items"][0]["reasons"]) == {"same_email", "similar_name_same_company"}
    assert {page["items"][0]["customer_id"], page["items"][0]["other_id"]} == {king, third["id"]}
    rest = await ok(await admin.get("/customers/duplicates", params={"limit": 2, "offset": 2}))
    assert [p["score"] for p in rest["items"]] == [80]
    pairs = [{p["customer_id"], p["other_id"]} for p in page["items"] + rest["items"]]
    assert {ada, king} in pairs
