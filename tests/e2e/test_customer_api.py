"""The customer service through HTTP, as a client uses it: auth, rules, idempotency,
read-your-writes and errors that name the field."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
import pytest_asyncio

from crm.kernel.auth import Role
from tests.conftest import Api, UserClient
from tests.support.shared_platform import TenantApi, in_new_tenant, module_api  # noqa: F401

# one platform for the module, each test in a tenant of its own (its customers, keys and totals)
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.contexts("customer"),
    pytest.mark.asyncio(loop_scope="module"),
]


@pytest_asyncio.fixture(loop_scope="module")
async def api(module_api: Api) -> TenantApi:  # noqa: F811  (the fixture imported above)
    return await in_new_tenant(module_api)


Users = Callable[..., UserClient]


async def register(client: UserClient, **fields: Any) -> dict[str, Any]:
    # each a person of their own (another e-mail address): the same one twice would be a
    # likely duplicate, refused (tests/e2e/test_customer_duplicates_api.py)
    body = {"name": "Ada Lovelace", "email": f"ada-{uuid4().hex[:12]}@example.com", **fields}
    r = await client.post("/customers", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def read(client: UserClient, customer_id: str, position: int) -> dict[str, Any]:
    r = await client.get(f"/customers/{customer_id}", params={"min_position": position})
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    return dict(r.json())


async def test_register_then_read_your_write(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    created = await register(
        boss,
        kind="company",
        name="Acme GmbH",
        email="info@acme.example",
        phone="+49 30 1234567",
        region="EMEA",
        source="trade fair",
        tags=["VIP", " key account "],
        owner_id="rep-1",
    )
    assert set(created) == {"id", "position", "version"}
    assert created["version"] == 0
    doc = await read(boss, created["id"], created["position"])
    assert doc["name"] == "Acme GmbH"
    assert doc["kind"] == "company"
    assert doc["tags"] == ["key account", "vip"]
    assert doc["owner_id"] == "rep-1"
    assert doc["in_pool"] is False
    assert doc["created_by"] == "boss"


async def test_location_and_position_headers(as_user: Users) -> None:
    r = await as_user("boss").post("/customers", json={"name": "Bo"})
    assert r.headers["Location"] == f"/customers/{r.json()['id']}"
    assert int(r.headers["X-CRM-Position"]) == r.json()["position"]


async def test_profile_update_changes_only_the_fields_sent(as_user: Users) -> None:
    boss = as_user("boss")
    c = await register(boss, phone="+1 555 0100", title="Countess")
    r = await boss.patch(
        f"/customers/{c['id']}", json={"email": "ada@lovelace.example", "title": None}
    )
    assert r.status_code == 200, r.text
    doc = await read(boss, c["id"], r.json()["position"])
    assert (doc["email"], doc["title"], doc["phone"]) == (
        "ada@lovelace.example",
        None,
        "+1 555 0100",
    )
    assert doc["version"] == 1


async def test_if_match_refuses_a_stale_update(as_user: Users) -> None:
    boss = as_user("boss")
    c = await register(boss)
    ok = await boss.patch(
        f"/customers/{c['id']}", json={"region": "EU"}, headers={"If-Match": '"0"'}
    )
    assert ok.status_code == 200
    stale = await boss.patch(
        f"/customers/{c['id']}", json={"region": "US"}, headers={"If-Match": '"0"'}
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "version_conflict"
    assert stale.json()["actual_version"] == 1


async def test_owner_pool_claim_and_release(as_user: Users) -> None:
    boss, rep = as_user("boss"), as_user("rep-1", Role.SALES_REP)
    c = await register(boss)  # no owner: in the pool
    doc = await read(boss, c["id"], c["position"])
    assert doc["in_pool"] is True
    assert doc["owner_id"] is None
    claimed = await rep.post(f"/customers/{c['id']}/claim")
    assert claimed.status_code == 200, claimed.text
    doc = await read(rep, c["id"], claimed.json()["position"])
    assert doc["owner_id"] == "rep-1"
    assert doc["in_pool"] is False
    again = await rep.post(f"/customers/{c['id']}/claim")
    assert again.status_code == 409
    assert again.json()["code"] == "not_in_pool"
    released = await rep.post(f"/customers/{c['id']}/release", json={"reason": "moved abroad"})
    assert released.status_code == 200
    doc = await read(rep, c["id"], released.json()["position"])
    assert doc["in_pool"] is True
    assigned = await boss.post(f"/customers/{c['id']}/owner", json={"owner_id": "rep-2"})
    doc = await read(boss, c["id"], assigned.json()["position"])
    assert doc["owner_id"] == "rep-2"


async def test_two_simultaneous_claims_one_wins_the_other_gets_409(as_user: Users) -> None:
    boss = as_user("boss")
    for _ in range(5):
        c = await register(boss)
        reps = [as_user(f"rep-{i}", Role.SALES_REP) for i in range(2)]
        answers = await asyncio.gather(*(r.post(f"/customers/{c['id']}/claim") for r in reps))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 409], [a.text for a in answers]
        winner = next(i for i, a in enumerate(answers) if a.status_code == 200)
        doc = await read(boss, c["id"], answers[winner].json()["position"])
        assert doc["owner_id"] == f"rep-{winner}"
        assert doc["version"] == 1


async def test_tags(as_user: Users) -> None:
    boss = as_user("boss")
    c = await register(boss)
    r = await boss.post(f"/customers/{c['id']}/tags", json={"tag": "Newsletter"})
    assert r.status_code == 200
    same = await boss.post(f"/customers/{c['id']}/tags", json={"tag": "newsletter"})
    assert same.json()["version"] == r.json()["version"]  # already tagged: no new event
    doc = await read(boss, c["id"], r.json()["position"])
    assert doc["tags"] == ["newsletter"]
    gone = await boss.delete(f"/customers/{c['id']}/tags/newsletter")
    assert gone.status_code == 200
    assert (await read(boss, c["id"], gone.json()["position"]))["tags"] == []
    missing = await boss.delete(f"/customers/{c['id']}/tags/newsletter")
    assert missing.status_code == 404


async def test_interactions_and_consent(as_user: Users) -> None:
    boss, agent = as_user("boss"), as_user("agent-7", Role.AGENT)
    c = await register(boss)
    r = await agent.post(
        f"/customers/{c['id']}/interactions",
        json={
            "channel": "call",
            "direction": "inbound",
            "summary": "Asked about pricing",
            "occurred_at": "2026-03-01T10:00:00Z",
            "duration_minutes": 12,
        },
    )
    assert r.status_code == 201, r.text
    r = await agent.post(
        f"/customers/{c['id']}/interactions",
        json={"channel": "email", "summary": "Sent the brochure"},
    )
    consent = await agent.post(
        f"/customers/{c['id']}/consent",
        json={"purpose": "marketing_email", "granted": True, "method": "web form"},
    )
    assert consent.status_code == 201
    doc = await read(boss, c["id"], consent.json()["position"])
    assert doc["interactions"]["count"] == 2
    assert doc["interactions"]["by_channel"] == {"call": 1, "email": 1}
    assert doc["consents"]["marketing_email"]["granted"] is True
    listed = await boss.get(f"/customers/{c['id']}/interactions")
    assert [i["channel"] for i in listed.json()] == ["email", "call"]
    assert listed.json()[1]["logged_by"] == "agent-7"
    assert listed.json()[1]["duration_minutes"] == 12


async def test_list_filters_and_pagination(as_user: Users) -> None:
    boss = as_user("boss")
    last = 0
    for i in range(6):
        c = await register(
            boss,
            name=f"Person {i}",
            email=f"p{i}@example.com",
            region="EMEA" if i % 2 else "APAC",
            owner_id=None if i < 2 else "rep-1",
            tags=["vip"] if i == 3 else [],
        )
        last = c["position"]
    lst = lambda **p: boss.get("/customers", params={"min_position": last, **p})  # noqa: E731
    assert (await lst()).json()["total"] == 6
    assert (await lst(region="EMEA")).json()["total"] == 3
    assert (await lst(in_pool="true")).json()["total"] == 2
    assert [d["name"] for d in (await lst(tag="VIP")).json()["items"]] == ["Person 3"]
    assert [d["name"] for d in (await lst(q="p4@")).json()["items"]] == ["Person 4"]
    assert (await lst(owner_id="rep-1")).json()["total"] == 4
    page = (await lst(sort="name", limit=2, offset=2)).json()
    assert [d["name"] for d in page["items"]] == ["Person 2", "Person 3"]
    assert page["total"] == 6


async def test_sales_rep_sees_and_changes_only_own_and_pool_customers(as_user: Users) -> None:
    boss, rep1, rep2 = (
        as_user("boss"),
        as_user("rep-1", Role.SALES_REP),
        as_user("rep-2", Role.SALES_REP),
    )
    mine = await register(boss, name="Mine", owner_id="rep-1")
    theirs = await register(boss, name="Theirs", owner_id="rep-2")
    pooled = await register(boss, name="Pooled")
    last = pooled["position"]
    listed = await rep1.get("/customers", params={"min_position": last, "sort": "name"})
    assert [d["name"] for d in listed.json()["items"]] == ["Mine", "Pooled"]
    assert (await rep1.get(f"/customers/{theirs['id']}")).status_code == 404
    assert (
        await rep1.post(f"/customers/{theirs['id']}/tags", json={"tag": "x"})
    ).status_code == 404
    assert (await rep1.patch(f"/customers/{theirs['id']}", json={"region": "x"})).status_code == 404
    assert (await rep1.post(f"/customers/{mine['id']}/tags", json={"tag": "x"})).status_code == 200
    assert (
        await rep1.post(f"/customers/{pooled['id']}/tags", json={"tag": "x"})
    ).status_code == 200
    assert (await rep2.post(f"/customers/{theirs['id']}/release")).status_code == 200
    # a rep may not hand customers to someone else, nor register for someone else
    assert (
        await rep1.post(f"/customers/{mine['id']}/owner", json={"owner_id": "rep-2"})
    ).status_code == 403
    assert (
        await rep1.post("/customers", json={"name": "X", "owner_id": "rep-2"})
    ).status_code == 403
    assert (
        await rep1.post("/customers", json={"name": "X", "owner_id": "rep-1"})
    ).status_code == 201


async def test_roles_that_may_only_read(as_user: Users) -> None:
    c = await register(as_user("boss"))
    analyst = as_user("ann", Role.ANALYST)
    assert (
        await analyst.get(f"/customers/{c['id']}", params={"min_position": c["position"]})
    ).status_code == 200
    assert (await analyst.post(f"/customers/{c['id']}/tags", json={"tag": "x"})).status_code == 403
    assert (await analyst.post("/customers", json={"name": "X"})).status_code == 403
    agent = as_user("agent", Role.AGENT)
    assert (await agent.patch(f"/customers/{c['id']}", json={"region": "x"})).status_code == 403


async def test_actor_of_every_command_is_recorded(api: Api, as_user: Users) -> None:
    c = await register(as_user("boss"))
    await as_user("rep-9", Role.SALES_REP).post(f"/customers/{c['id']}/claim")
    events = await api.platform.store.read_stream(f"customer-{c['id']}")
    assert [(e.event_type, e.actor) for e in events] == [
        ("customer.registered", "boss"),
        ("customer.claimed_from_pool", "rep-9"),
    ]


async def test_other_tenants_customers_do_not_exist(as_user: Users) -> None:
    c = await register(as_user("boss", tenant="acme"))
    other = as_user("boss", tenant="globex")
    assert (
        await other.get(f"/customers/{c['id']}", params={"min_position": c["position"]})
    ).status_code == 404
    assert (await other.post(f"/customers/{c['id']}/tags", json={"tag": "x"})).status_code == 404
    assert (await other.get("/customers", params={"min_position": c["position"]})).json()[
        "total"
    ] == 0


async def test_authentication_is_required_except_for_health(api: Api) -> None:
    assert (await api.client.get("/health")).status_code == 200
    assert (await api.client.get("/ready")).json() == {"ready": True}
    r = await api.client.get("/customers")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    r = await api.client.get("/customers", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    forged = (
        api.platform.runtime.tokens.issue("x", Role.ADMIN, "default").rsplit(".", 1)[0] + ".AAAA"
    )
    assert (
        await api.client.get("/customers", headers={"Authorization": f"Bearer {forged}"})
    ).status_code == 401


async def test_idempotency_key_gives_the_same_answer_and_no_new_event(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss")
    key = {"Idempotency-Key": "create-ada-1"}
    body = {"name": "Ada", "email": "ada@example.com"}
    first = await boss.post("/customers", json=body, headers=key)
    head = await api.platform.store.head_position()
    again = await boss.post("/customers", json=body, headers=key)
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await api.platform.store.head_position() == head
    different = await boss.post("/customers", json={**body, "name": "Bob"}, headers=key)
    assert different.status_code == 422
    assert different.json()["code"] == "idempotency_key_reused"
    # keys are per user: another user's identical key is another request
    # (run as a new request, it meets the first Ada as a likely duplicate, not its replay)
    other = await as_user("boss-2").post("/customers", json=body, headers=key)
    assert other.status_code == 409
    assert other.json()["code"] == "possible_duplicate"
    body = {**body, "confirm_distinct": True}
    other = await as_user("boss-2").post("/customers", json=body, headers=key)
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


async def test_concurrent_retries_with_one_key_create_one_customer(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss")
    key = {"Idempotency-Key": "burst"}
    answers = await asyncio.gather(
        *(boss.post("/customers", json={"name": "Burst"}, headers=key) for _ in range(8))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    listed = await boss.get(
        "/customers", params={"min_position": answers[0].json()["position"], "q": "Burst"}
    )
    assert listed.json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@b.example"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "X", "email": "not-an-email"}, "email"),
        ({"name": "X", "kind": "robot"}, "kind"),
        ({"name": "X", "phone": "call me maybe"}, "phone"),
        ({"name": "X", "tags": ["ok", ""]}, "tags"),
        ({"name": "X", "favourite_colour": "red"}, "favourite_colour"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    as_user: Users, body: dict[str, Any], field: str
) -> None:
    r = await as_user("boss").post("/customers", json=body)
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["detail"]]
    assert any(field in loc for loc in locs), locs


async def test_malformed_requests_are_4xx_never_500(as_user: Users) -> None:
    boss = as_user("boss")
    c = await register(boss)
    cases = [
        await boss.post(
            "/customers", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        await boss.post("/customers", json=["a", "list"]),
        await boss.get("/customers/not-a-uuid"),
        await boss.get("/customers", params={"limit": 0}),
        await boss.get("/customers", params={"sort": "password"}),
        await boss.get("/customers", params={"min_position": -1}),
        await boss.patch(f"/customers/{c['id']}", json={}),
        await boss.patch(f"/customers/{c['id']}", json={"name": None}),
        await boss.patch(
            f"/customers/{c['id']}", json={"region": "x"}, headers={"If-Match": "abc"}
        ),
        await boss.post(
            f"/customers/{c['id']}/interactions", json={"channel": "fax", "summary": "x"}
        ),
        await boss.post(
            f"/customers/{c['id']}/interactions",
            json={"channel": "call", "summary": "x", "occurred_at": "2999-01-01T00:00:00Z"},
        ),
        await boss.post(
            f"/customers/{c['id']}/interactions",
            json={"channel": "call", "summary": "x", "occurred_at": "2026-01-01T00:00:00"},
        ),
        await boss.post("/customers", json={"name": "X"}, headers={"Idempotency-Key": "k" * 300}),
        await boss.post("/customers", json={"name": "X"}, headers={"X-Correlation-ID": "nope"}),
    ]
    assert [r.status_code for r in cases] == [422] * len(cases), [r.text for r in cases]
    unknown = await boss.get("/customers/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404


async def test_a_get_that_cannot_catch_up_says_so(api: Api, as_user: Users) -> None:
    boss = as_user("boss")
    c = await register(boss)
    r = await boss.get(f"/customers/{c['id']}", params={"min_position": c["position"] + 1000})
    assert r.status_code == 200
    assert r.headers["X-CRM-Stale"] == "true"
    assert int(r.headers["X-CRM-Read-Position"]) >= c["position"]


async def test_erasure_shreds_personal_data_everywhere(api: Api, as_user: Users) -> None:
    admin, boss = as_user("root", Role.ADMIN), as_user("boss")
    c = await register(boss, phone="+1 555 0100", company="Analytical Engines Ltd")
    await boss.post(
        f"/customers/{c['id']}/interactions", json={"channel": "call", "summary": "Ada called"}
    )
    assert (await boss.post(f"/customers/{c['id']}/erase")).status_code == 403
    erased = await admin.post(
        f"/customers/{c['id']}/erase", json={"reason": "GDPR art. 17 request"}
    )
    assert erased.status_code == 200, erased.text
    doc = await read(boss, c["id"], erased.json()["position"])
    assert doc["erased"] is True
    assert doc["name"] == doc["email"] == doc["phone"] == "\u2039erased\u203a"
    assert doc["company"] == "Analytical Engines Ltd"
    interactions = (await boss.get(f"/customers/{c['id']}/interactions")).json()
    assert interactions[0]["summary"] == "\u2039erased\u203a"
    # nothing personal is stored in clear in the log, and nothing can be added any more
    raw = await api.platform.store.read_stream(f"customer-{c['id']}")
    assert "Ada" not in str([e.payload for e in raw])
    refused = await boss.patch(f"/customers/{c['id']}", json={"name": "Ada again"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "customer_erased"
