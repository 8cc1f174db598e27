"""The console's customer form and page with addresses, dates and preferences: registered
through the form, shown on the page (in Chinese too), edited, and a field the user may not
see is neither shown in the edit form nor changed by it."""

from __future__ import annotations

import pytest

from crm.kernel.auth import Role
from tests.conftest import Api
from tests.support.console import console_user, followed, own_client, sign_in

pytestmark = pytest.mark.e2e


async def test_register_show_and_edit_addresses_dates_and_preferences(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    await console_user(api, "rep", "sales_rep")
    async with own_client(api) as client:
        csrf = await sign_in(client, "mgr")
        new = await client.get("/console/customers/new")
        assert 'name="billing_address"' in new.text
        assert 'type="date"' in new.text
        page = await followed(
            client,
            await client.post(
                "/console/customers",
                data={
                    "csrf": csrf,
                    "name": "Mei Chen",
                    "billing_address": "Hauptstr. 1\n10115 Berlin",
                    "birthday": "1985-03-14",
                    "preferred_channel": "chat",
                    "preferred_language": "zh-CN",
                },
            ),
        )
        assert "Hauptstr. 1<br>10115 Berlin" in page.text
        assert "Billing address" in page.text
        assert "14 Mar 1985" in page.text
        assert "中文" in page.text
        customer = page.url.path
        bad = await client.post(
            f"{customer}/edit", data={"csrf": csrf, "name": "Mei Chen", "birthday": "2999-01-01"}
        )
        assert bad.status_code == 422
        assert "birthday" in bad.text
        edited = await followed(
            client,
            await client.post(
                f"{customer}/edit",
                data={
                    "csrf": csrf,
                    "name": "Mei Chen",
                    "billing_address": "Hauptstr. 1\n10115 Berlin",
                    "visit_address": "Unter den Linden 5",
                    "birthday": "",
                    "anniversary": "2010-06-01",
                    "preferred_channel": "email",
                    "preferred_language": "en",
                },
            ),
        )
        assert "Unter den Linden 5" in edited.text
        assert "1 Jun 2010" in edited.text
        assert "14 Mar 1985" not in edited.text
        # a rep's form has no address (they may not see it), and their save keeps it
        await client.post(f"{customer}/release", data={"csrf": csrf})
    async with own_client(api) as client:
        csrf = await sign_in(client, "rep")
        shown = await client.get(customer)
        assert shown.status_code == 200, shown.text
        assert 'name="visit_address"' not in shown.text
        assert "Unter den Linden" not in shown.text
        await followed(
            client,
            await client.post(
                f"{customer}/edit",
                data={"csrf": csrf, "name": "Mei Chen", "preferred_channel": "call"},
            ),
        )
    async with own_client(api) as client:
        await sign_in(client, "mgr")
        after = await client.get(
            f"{customer}?min_position={await api.platform.store.head_position()}"
        )
        assert "Unter den Linden 5" in after.text
        assert "Hauptstr. 1" in after.text
        assert "1 Jun 2010" in after.text  # the rep's form sent the dates it showed


async def test_the_forms_show_the_tenants_custom_fields(api: Api) -> None:
    admin = api.as_user("root", Role.ADMIN)
    sizes = [
        {"key": "small", "label_en": "Small", "label_zh": "小型"},
        {"key": "large", "label_en": "Large", "label_zh": "大型"},
    ]
    for key, body in {
        "size": {"label_en": "Size", "label_zh": "规模", "type": "choice", "choices": sizes},
        "interests": {
            "label_en": "Interests",
            "label_zh": "兴趣",
            "type": "multi_choice",
            "choices": sizes,
        },
        "vip": {"label_en": "VIP", "label_zh": "贵宾", "type": "boolean"},
        "budget": {"label_en": "Budget", "label_zh": "预算", "type": "money"},
    }.items():
        r = await admin.put(f"/custom-fields/customer/{key}", json=body)
        assert r.status_code == 200, r.text
    await console_user(api, "mgr", "manager")
    async with own_client(api) as client:
        csrf = await sign_in(client, "mgr")
        new = await client.get("/console/customers/new")
        assert 'name="custom.size"' in new.text
        assert 'type="checkbox" name="custom.interests"' in new.text
        page = await followed(
            client,
            await client.post(
                "/console/customers",
                data={
                    "csrf": csrf,
                    "name": "Mei Chen",
                    "custom.size": "large",
                    "custom.interests": ["small", "large"],
                    "custom.vip": "true",
                    "custom.budget": "",
                },
            ),
        )
        assert "<dt>Size</dt><dd>Large</dd>" in page.text
        assert "<dt>Interests</dt><dd>Small, Large</dd>" in page.text
        assert "<dt>VIP</dt><dd>yes</dd>" in page.text
        customer = page.url.path
        bad = await client.post(
            f"{customer}/edit", data={"csrf": csrf, "name": "Mei Chen", "custom.budget": "lots"}
        )
        assert bad.status_code == 422
        assert "custom.budget" in bad.text
        edited = await followed(
            client,
            await client.post(
                f"{customer}/edit",
                data={
                    "csrf": csrf,
                    "name": "Mei Chen",
                    "custom.budget": "12.50 EUR",
                    "custom.size": "",
                    "custom.vip": "true",
                },
            ),
        )
        assert "<dt>Budget</dt><dd>12.50 EUR</dd>" in edited.text
        assert "<dt>Size</dt>" not in edited.text  # sent blank: cleared
        assert "<dt>Interests</dt>" not in edited.text  # no box ticked: none
        assert "<dt>VIP</dt><dd>yes</dd>" in edited.text
