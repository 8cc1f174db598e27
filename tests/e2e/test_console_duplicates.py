"""The suspected duplicates page over HTTP: an admin sees the pairs (same e-mail, similar name
in the same company) with both customers and the reasons, merges one into the other after
ticking the confirmation (the survivor's page then holds the other's order; the merged one's
page leads to the survivor), and keeps another pair as two customers (no longer listed); a
manager is refused; a form without its CSRF token is refused; the page in Chinese."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.console import console_user, followed, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]

PAGE = "/console/admin/duplicates"


async def registered(api: Api, **profile: Any) -> str:
    root = api.as_user("root", "admin")
    answer = await root.post("/customers", json={**profile, "confirm_distinct": True})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_an_admin_merges_one_pair_and_keeps_another_as_two(api: Api) -> None:
    await console_user(api, "ada", "admin")
    await console_user(api, "max", "manager")
    root = api.as_user("root", "admin")
    first = await registered(api, name="Grace Hopper", email="grace@navy.example")
    second = await registered(api, name="G. Hopper", email="GRACE@navy.example ")
    acme = await registered(api, name="Li Lei", company="Acme Ltd")
    other = await registered(api, name="Li Lei", company="ACME Ltd.")
    await root.post(
        "/products",
        json={"sku": "P-1", "name": "Pump", "list_price": {"amount": "10", "currency": "CNY"}},
    )
    order = await root.post(
        "/orders",
        json={"customer_id": second, "currency": "CNY", "lines": [{"sku": "P-1", "quantity": "1"}]},
    )
    assert order.status_code == 201, order.text

    async with own_client(api) as ada, own_client(api) as max_:
        csrf = await sign_in(ada, "ada")
        assert f'href="{PAGE}"' in (await ada.get("/console/admin")).text
        page = await ada.get(PAGE)
        assert page.status_code == 200, page.text
        assert "2 suspected pairs" in page.text
        assert "same e-mail" in page.text
        assert "similar name in the same company" in page.text
        assert f'href="/console/customers/{second}"' in page.text

        forged = await ada.post(
            f"{PAGE}/merge", data={"csrf": "x", "survivor_id": first, "merged_id": second}
        )
        assert forged.status_code == 403
        unticked = await ada.post(
            f"{PAGE}/merge", data={"csrf": csrf, "survivor_id": first, "merged_id": second}
        )
        assert unticked.status_code == 422
        assert "tick the box" in unticked.text
        merged = await ada.post(
            f"{PAGE}/merge",
            data={"csrf": csrf, "survivor_id": first, "merged_id": second, "confirm": "true"},
        )
        survivor = await followed(ada, merged)
        assert "Merged: this customer now holds the other&#39;s records." in survivor.text
        assert re.search(r"/console/customers/" + first, merged.headers["location"])
        gone = await ada.get(f"/console/customers/{second}")
        assert gone.status_code in (303, 307, 308)
        assert first in gone.headers["location"]

        kept = await ada.post(
            f"{PAGE}/distinct", data={"csrf": csrf, "customer_id": acme, "other_id": other}
        )
        listing = await followed(ada, kept)
        assert "Kept as two customers" in listing.text
        assert "No suspected duplicates." in listing.text

        await sign_in(max_, "max")
        refused = await max_.get(PAGE)
        assert refused.status_code == 403
        assert f'href="{PAGE}"' not in (await max_.get("/console/admin")).text

    orders = await root.get("/orders", params={"customer_id": first})
    assert [o["customer_id"] for o in orders.json()["items"]] == [second]  # B's, listed under A
    audit = (await root.get(f"/audit/customer/{first}")).json()
    assert any(e["actor"] == "ada" for e in audit["items"])


async def test_the_page_in_chinese(api: Api) -> None:
    await console_user(api, "ada", "admin", locale="zh-CN")
    await registered(api, name="王小明", phone="+8613800138000")
    await registered(api, name="王 小明", phone="+86 138 0013 8000")
    async with own_client(api) as ada:
        await sign_in(ada, "ada")
        page = await ada.get(PAGE)
        assert "疑似重复客户" in page.text
        assert "共 1 对疑似重复" in page.text
        assert "电话相同" in page.text
        assert "这是两个不同的客户" in page.text
