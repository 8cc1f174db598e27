"""The company customer's contacts on its console page: added, edited and removed through
the forms (each refused without the CSRF token, the removal without its confirmation), a
refusal in the reader's words (a second primary), another rep's company not found, no
section for a person, and the section in Chinese."""

from __future__ import annotations

import pytest

from crm.kernel.auth import Role
from tests.conftest import Api
from tests.support.console import console_user, followed, own_client, sign_in

pytestmark = pytest.mark.e2e


async def test_contacts_through_the_page(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    await console_user(api, "rep", "sales_rep")
    await console_user(api, "zh", "manager", locale="zh-CN")
    boss = api.as_user("boss", Role.MANAGER)
    body = {"kind": "company", "name": "Acme Ltd", "owner_id": "someone-else"}
    acme = (await boss.post("/customers", json=body)).json()["id"]
    ada = (await boss.post("/customers", json={"name": "Ada"})).json()["id"]
    url = f"/console/customers/{acme}"
    async with own_client(api) as client:
        csrf = await sign_in(client, "mgr")
        li = {"name": "Li Wei", "title": "Buyer", "email": "li@acme.example", "primary": "true"}
        refused = await client.post(f"{url}/contacts", data={**li, "csrf": "forged"})
        assert refused.status_code == 403
        page = await followed(
            client, await client.post(f"{url}/contacts", data={**li, "csrf": csrf})
        )
        assert "Li Wei" in page.text
        assert "li@acme.example" in page.text
        second = await client.post(
            f"{url}/contacts", data={"csrf": csrf, "name": "Ma", "primary": "true"}
        )
        assert second.status_code == 409
        assert "The company has a primary contact already" in second.text
        unreachable = await client.post(
            f"{url}/contacts", data={"csrf": csrf, "name": "Zhou", "phone": "call me"}
        )
        assert unreachable.status_code == 422
        assert "phone" in unreachable.text
        [contact] = (await boss.get(f"/customers/{acme}/contacts")).json()
        cid = contact["id"]
        edit = {"csrf": csrf, "name": "Li Wei", "title": "CFO", "email": "li@acme.example"}
        page = await followed(client, await client.post(f"{url}/contacts/{cid}/edit", data=edit))
        assert "CFO" in page.text
        [contact] = (await boss.get(f"/customers/{acme}/contacts")).json()
        assert (contact["title"], contact["primary"]) == ("CFO", False)  # the box left unticked
        unconfirmed = await client.post(f"{url}/contacts/{cid}/remove", data={"csrf": csrf})
        assert unconfirmed.status_code == 422
        page = await followed(
            client,
            await client.post(
                f"{url}/contacts/{cid}/remove", data={"csrf": csrf, "confirm": "true"}
            ),
        )
        assert "No contact yet." in page.text
        person = await client.get(f"/console/customers/{ada}")
        assert 'id="contacts"' not in person.text
    async with own_client(api) as client:
        csrf = await sign_in(client, "rep")
        theirs = await client.post(f"{url}/contacts", data={"csrf": csrf, "name": "X"})
        assert theirs.status_code == 404
    async with own_client(api) as client:
        await sign_in(client, "zh")
        page = await client.get(url)
        assert "联系人" in page.text
        assert "添加联系人" in page.text
        assert "暂无联系人。" in page.text
