"""Customer care never gets in touch with a customer who withdrew consent for the purpose:
three customers with a service contract ending in 20 days, one who never answered, one who
withdrew ``marketing_phone`` (no care call for her, but an e-mail task is still hers if the
rule asks for one, and she may withdraw ``marketing_email`` too), and one who withdrew then
gave it again (his latest answer counts). The consent read model rebuilds to the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from crm.activities.application.care import CareScheduler, care_task_id
from crm.activities.projections.consent_models import CONSENTS, CONSENTS_PROJECTION
from crm.events.activities import CareOccasion
from crm.kernel.auth import Role
from crm.kernel.projection import rebuild
from crm.platform.bootstrap import Platform
from tests.conftest import T0, UserClient
from tests.support.reads import caught_up

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "activities", "service-desk")]

Users = Callable[..., UserClient]
ENDS = (T0 + timedelta(days=20)).date()


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def customer_with_contract(boss: UserClient) -> str:
    body = {"name": "Ada Lovelace", "email": f"ada-{uuid4().hex[:12]}@example.com"}
    cid = (await ok(await boss.post("/customers", json={**body, "owner_id": "ana"}), 201))["id"]
    contract = {
        "customer_id": cid,
        "level": "basic",
        "starts_on": "2026-01-01",
        "ends_on": str(ENDS),
    }
    await ok(await boss.post("/contracts", json=contract), 201)
    return cid


async def consent(boss: UserClient, cid: str, purpose: str, granted: bool) -> int:
    body = {"purpose": purpose, "granted": granted, "method": "phone call"}
    return int((await ok(await boss.post(f"/customers/{cid}/consent", json=body), 201))["position"])


async def test_care_skips_a_customer_whose_latest_consent_for_the_purpose_is_withdrawn(
    platform: Platform, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER)
    asked_never = await customer_with_contract(boss)
    withdrew = await customer_with_contract(boss)
    changed_mind = await customer_with_contract(boss)
    await consent(boss, withdrew, "marketing_email", True)
    await consent(boss, withdrew, "marketing_phone", False)
    await consent(boss, changed_mind, "marketing_phone", False)
    await consent(boss, changed_mind, "marketing_phone", True)
    runtime = platform.runtime
    await caught_up(platform, "activities_care_dates", "activities_consents")

    def task_of(cid: str) -> str:
        return care_task_id("default", CareOccasion.CONTRACT_END, cid, ENDS)

    care = CareScheduler(runtime)
    report = await care.tick(T0)
    assert sorted(report.opened) == sorted([task_of(asked_never), task_of(changed_mind)])
    assert report.withheld == (task_of(withdrew),)
    again = await care.tick(T0 + timedelta(hours=1))
    assert (again.opened, again.withheld) == ((), (task_of(withdrew),))

    # an e-mail rule needs marketing_email, which she still gives; withdrawn too: nothing
    email = {"rules": [{"occasion": "contract_end", "days_before": 30, "task_kind": "email"}]}
    await ok(await boss.put("/care/rules", json=email))
    nxt = T0 + timedelta(days=1)
    report = await care.tick(nxt)
    opened = {care_task_id("default", CareOccasion.CONTRACT_END, withdrew, ENDS)}
    assert set(report.opened) == opened
    assert report.withheld == ()
    # (the others' tasks for this occasion are open already: same ids, nothing new)
    later = await customer_with_contract(boss)
    await consent(boss, later, "marketing_email", False)
    report = await care.tick(nxt)
    assert (report.opened, report.withheld) == ((), (task_of(later),))

    # rebuilt from the log, the consent read model answers the same
    before = await runtime.read_store.get(CONSENTS, withdrew)
    assert before is not None
    assert before["granted"] == {"marketing_email": True, "marketing_phone": False}
    await rebuild(CONSENTS_PROJECTION, runtime.store, runtime.read_store, runtime.codec)
    assert await runtime.read_store.get(CONSENTS, withdrew) == before
    assert await runtime.read_store.get(CONSENTS, asked_never) is None
