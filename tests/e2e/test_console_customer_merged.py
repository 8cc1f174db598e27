"""The console after a merge: the merged customer's page sends the user to the survivor's
(303), and the survivor's page shows what it gained."""

from __future__ import annotations

import pytest

from crm.kernel.auth import Role
from tests.conftest import Api
from tests.support.console import console_user, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "analytics")]


async def test_the_merged_customers_page_sends_to_the_survivors(api: Api) -> None:
    admin = api.as_user("root", Role.ADMIN)
    r = await admin.post("/customers", json={"name": "Ada Lovelace"})
    ada = r.json()["id"]
    body = {"name": "Ada Lovelace", "email": "ada@example.com", "confirm_distinct": True}
    king = (await admin.post("/customers", json=body)).json()["id"]
    merged = await admin.post(f"/customers/{ada}/merge", json={"merged_id": king})
    assert merged.status_code == 200, merged.text
    position = merged.json()["position"]

    await console_user(api, "mgr", "manager")
    async with own_client(api) as client:
        await sign_in(client, "mgr")
        page = await client.get(f"/console/customers/{king}?min_position={position}")
        assert page.status_code == 303, page.text
        assert page.headers["location"] == f"/console/customers/{ada}"
        survivor = await client.get(page.headers["location"])
        assert survivor.status_code == 200
        assert "ada@example.com" in survivor.text
