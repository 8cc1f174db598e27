"""The console's audit page of a customer: linked from the customer page for managers and
admins, each change with who, when and the fields before and after (in Chinese too); a rep
neither gets the link nor the page."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.support.console import console_user, own_client, sign_in

pytestmark = pytest.mark.e2e


async def test_the_customer_page_links_to_its_history(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    await console_user(api, "rep", "sales_rep")
    boss = api.as_user("mgr", "manager")
    cid = (await boss.post("/customers", json={"name": "Mei Chen", "region": "EU"})).json()["id"]
    r = await boss.patch(f"/customers/{cid}", json={"region": "CN"})
    assert r.status_code == 200, r.text
    async with own_client(api) as client:
        await sign_in(client, "mgr")
        page = await client.get(f"/console/customers/{cid}")
        assert f'href="/console/audit/customer/{cid}"' in page.text
        history = await client.get(f"/console/audit/customer/{cid}")
        assert history.status_code == 200, history.text
        assert "customer.profile_updated" in history.text
        assert "customer.registered" in history.text
        assert '<td data-label="Before">EU</td><td data-label="After">CN</td>' in history.text
        assert "2 of 2 changes" in history.text
        zh = await client.get(
            f"/console/audit/customer/{cid}", headers={"Accept-Language": "zh-CN"}
        )
        assert zh.status_code == 200
    async with own_client(api) as client:
        await sign_in(client, "rep")
        page = await client.get(f"/console/customers/{cid}")
        assert "/console/audit/" not in page.text
        refused = await client.get(f"/console/audit/customer/{cid}")
        assert refused.status_code == 403
