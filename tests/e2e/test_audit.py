"""``GET /audit/{kind}/{id}``: every change of a record, by whom and when, with the record's
document before and after each (the owning context's projection over the stream); paged;
admins and managers only; another tenant's record is a 404."""

from __future__ import annotations

import pytest

from crm.events import ERASED
from crm.kernel.auth import Role
from tests.conftest import Api

pytestmark = pytest.mark.contexts("customer", "sales")


async def test_a_customers_audit_trail_has_each_change_with_before_and_after(api: Api) -> None:
    boss = api.as_user("boss", Role.MANAGER)
    r = await boss.post("/customers", json={"name": "Ada", "email": "ada@example.com"})
    cid = r.json()["id"]
    assert (await boss.patch(f"/customers/{cid}", json={"region": "EU"})).status_code == 200
    r = await api.as_user("ana", Role.SALES_REP).post(f"/customers/{cid}/claim")
    assert r.status_code == 200, r.text

    r = await boss.get(f"/audit/customer/{cid}")
    assert r.status_code == 200, r.text
    trail = r.json()
    assert trail["total"] == 3
    registered, edited, claimed = trail["items"]
    assert (registered["event_type"], registered["actor"]) == ("customer.registered", "boss")
    assert registered["before"] is None
    assert (registered["after"]["name"], registered["after"]["email"]) == ("Ada", "ada@example.com")
    assert edited["event_type"] == "customer.profile_updated"
    assert (edited["before"]["region"], edited["after"]["region"]) == (None, "EU")
    assert "region" in edited["changed"]
    assert "name" not in edited["changed"]
    assert (claimed["actor"], claimed["after"]["owner_id"]) == ("ana", "ana")
    assert claimed["before"]["owner_id"] is None

    page = (await boss.get(f"/audit/customer/{cid}", params={"limit": 1, "offset": 1})).json()
    assert [c["event_type"] for c in page["items"]] == ["customer.profile_updated"]
    assert page["total"] == 3

    # erased: the history reads erased too
    assert (
        await api.as_user("root", Role.ADMIN).post(f"/customers/{cid}/erase")
    ).status_code == 200
    after = (await boss.get(f"/audit/customer/{cid}")).json()
    assert after["items"][0]["after"]["email"] == ERASED
    assert after["items"][-1]["event_type"] == "customer.erased"


async def test_a_leads_audit_and_the_access_rules(api: Api) -> None:
    rep = api.as_user("ana", Role.SALES_REP)
    lead = (await rep.post("/leads", json={"name": "Grace", "company": "Navy"})).json()["id"]
    assert (await rep.post(f"/leads/{lead}/qualify", json={"note": "budget"})).status_code == 200
    trail = (await api.as_user("root", Role.ADMIN).get(f"/audit/lead/{lead}")).json()
    assert [c["event_type"] for c in trail["items"]] == [
        "sales.lead.captured",
        "sales.lead.qualified",
    ]
    assert (trail["items"][1]["before"]["status"], trail["items"][1]["after"]["status"]) == (
        "open",
        "qualified",
    )

    for role in (Role.SALES_REP, Role.AGENT, Role.ANALYST):
        assert (await api.as_user("x", role).get(f"/audit/lead/{lead}")).status_code == 403
    other = api.as_user("boss", Role.MANAGER, tenant="other")
    assert (await other.get(f"/audit/lead/{lead}")).status_code in (401, 404)
    r = await api.as_user("boss").get(f"/audit/planet/{lead}")
    assert (r.status_code, r.json()["detail"][0]["loc"][-1]) == (422, "kind")
    r = await api.as_user("boss").get("/audit/lead/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
