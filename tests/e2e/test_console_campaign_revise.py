"""A campaign's budget and dates changed over the API (``POST /campaigns/{id}/revise``) and
from the console's campaigns page: the change read back from the API, a wrong date refused
with a 422 naming the field (in English and Chinese), a rep refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Api
from tests.support.console import console_user, followed, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


NEW = {
    "name": "Autumn mailing",
    "channel": "email",
    "budget": {"amount": "1000.00", "currency": "EUR"},
    "starts_on": "2026-09-01",
    "ends_on": "2026-09-30",
}


async def test_revise_a_campaign_over_the_api_and_from_the_console(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    await console_user(api, "zh", "manager", locale="zh-CN")
    boss = api.as_user("mgr")
    created = await ok(await boss.post("/campaigns", json=NEW), 201)
    cid = created["id"]
    body = {
        "budget": {"amount": "1500.00", "currency": "EUR"},
        "starts_on": "2026-09-08",
        "ends_on": "2026-10-15",
        "reason": "more reach",
    }
    revised = await ok(await boss.post(f"/campaigns/{cid}/revise", json=body))
    at = {"min_position": revised["position"]}
    doc = await ok(await boss.get(f"/campaigns/{cid}", params=at))
    assert (doc["budget"]["amount"], doc["starts_on"], doc["ends_on"]) == (
        "1500.00",
        "2026-09-08",
        "2026-10-15",
    )
    bad = await boss.post(f"/campaigns/{cid}/revise", json={**body, "ends_on": "2026-09-01"})
    assert bad.status_code == 422, bad.text
    assert "ends_on" in bad.text
    rep = await api.as_user("rep", "sales_rep").post(f"/campaigns/{cid}/revise", json=body)
    assert rep.status_code == 403

    async with own_client(api) as mgr, own_client(api) as zh:
        csrf = await sign_in(mgr, "mgr")
        page = await mgr.get("/console/admin/campaigns")
        assert "Change budget and dates of Autumn mailing" in page.text
        assert 'value="2026-10-15"' in page.text
        saved = await mgr.post(
            f"/console/admin/campaigns/{cid}/revise",
            data={
                "csrf": csrf,
                "budget": "2000",
                "currency": "EUR",
                "starts_on": "2026-09-08",
                "ends_on": "2026-10-31",
            },
        )
        page = await followed(mgr, saved)
        assert "€2,000.00" in page.text
        doc = await ok(await boss.get(f"/campaigns/{cid}"))
        assert (doc["budget"]["amount"], doc["ends_on"]) == ("2000", "2026-10-31")
        wrong = {
            "csrf": csrf,
            "budget": "2000",
            "starts_on": "2026-09-08",
            "ends_on": "2026-09-01",
        }
        refused = await mgr.post(f"/console/admin/campaigns/{cid}/revise", data=wrong)
        assert refused.status_code == 422
        assert "the end date" in refused.text
        negative = await mgr.post(
            f"/console/admin/campaigns/{cid}/revise", data={**wrong, "budget": "-5"}
        )
        assert negative.status_code == 422
        assert "the budget" in negative.text
        no_token = await mgr.post(
            f"/console/admin/campaigns/{cid}/revise", data={**wrong, "csrf": ""}
        )
        assert no_token.status_code == 403

        zh_csrf = await sign_in(zh, "zh")
        page = await zh.get("/console/admin/campaigns")
        assert "修改Autumn mailing的预算和日期" in page.text
        refused = await zh.post(
            f"/console/admin/campaigns/{cid}/revise", data={**wrong, "csrf": zh_csrf}
        )
        assert refused.status_code == 422
        assert "结束日期" in refused.text
