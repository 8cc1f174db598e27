"""The custom fields page over HTTP: an admin defines a choice field of tickets and a personal
text field of customers, edits a label and a choice, sees a refused key and bad choices named,
retires a field after ticking the confirmation; the definitions are the API's own
(``GET /custom-fields``) and the customer form shows the new field; a manager is refused;
a form without its CSRF token is refused; the page in Chinese."""

from __future__ import annotations

import re
from typing import Any

import pytest

from crm.console.fields import parse_choices
from crm.kernel.errors import InvalidCommand
from tests.conftest import Api
from tests.support.console import console_user, followed, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "service-desk")]

PAGE = "/console/admin/fields"


async def definitions(api: Api, entity: str) -> dict[str, dict[str, Any]]:
    answer = await api.as_user("root", "admin").get(
        "/custom-fields", params={"entity": entity, "retired": "true"}
    )
    assert answer.status_code == 200, answer.text
    return {d["key"]: d for d in answer.json()}


def field(csrf: str, **values: str) -> dict[str, str]:
    return {"csrf": csrf, "label_zh": "字段", **values}


async def test_an_admin_defines_edits_and_retires_custom_fields(api: Api) -> None:
    await console_user(api, "ada", "admin")
    async with own_client(api) as ada:
        csrf = await sign_in(ada, "ada")
        index = await ada.get("/console/admin")
        assert f'href="{PAGE}"' in index.text
        empty = await ada.get(PAGE, params={"entity": "ticket"})
        assert empty.status_code == 200
        assert "No custom field yet." in empty.text

        choices = "hw | Hardware | 硬件\nsw | Software | 软件\n"
        defined = await ada.post(
            PAGE,
            data=field(
                csrf,
                entity="ticket",
                field_key="area",
                label_en="Area",
                type="choice",
                choices=choices,
                required="true",
            ),
        )
        page = await followed(ada, defined)
        assert "Fields of Tickets" in page.text
        assert "custom.area" in page.text
        assert "Hardware, Software" in page.text
        area = (await definitions(api, "ticket"))["area"]
        assert area["required"] is True
        assert [c["key"] for c in area["choices"]] == ["hw", "sw"]

        edited = await ada.post(
            PAGE,
            data=field(
                csrf,
                entity="ticket",
                field_key="area",
                label_en="Product area",
                label_zh="产品领域",
                type="choice",
                choices="hw | Hardware | 硬件\nsw | Software | 软件\nnet | Network | 网络",
            ),
        )
        await followed(ada, edited)
        area = (await definitions(api, "ticket"))["area"]
        assert (area["label_en"], area["required"]) == ("Product area", False)
        assert [c["key"] for c in area["choices"]] == ["hw", "sw", "net"]

        retyped = await ada.post(
            PAGE,
            data=field(csrf, entity="ticket", field_key="area", label_en="Area", type="text"),
        )
        assert retyped.status_code == 422
        assert "a type never changes" in retyped.text

        bad_key = await ada.post(
            PAGE,
            data=field(csrf, entity="ticket", field_key="Bad Key", label_en="X", type="text"),
        )
        assert bad_key.status_code == 422
        assert "the key" in bad_key.text
        bad_choices = await ada.post(
            PAGE,
            data=field(
                csrf, entity="ticket", field_key="tier", label_en="T", type="choice", choices="x"
            ),
        )
        assert bad_choices.status_code == 422
        assert "line 1" in bad_choices.text

        personal = await ada.post(
            PAGE,
            data=field(
                csrf,
                entity="customer",
                field_key="wechat",
                label_en="WeChat",
                label_zh="微信",
                type="text",
                personal="true",
            ),
        )
        await followed(ada, personal)
        assert (await definitions(api, "customer"))["wechat"]["personal"] is True
        form = await ada.get("/console/customers/new")
        assert 'name="custom.wechat"' in form.text

        unticked = await ada.post(f"{PAGE}/ticket/area/retire", data={"csrf": csrf})
        assert unticked.status_code == 422
        assert (await definitions(api, "ticket"))["area"]["retired"] is False
        retired = await ada.post(
            f"{PAGE}/ticket/area/retire", data={"csrf": csrf, "confirm": "true"}
        )
        page = await followed(ada, retired)
        assert re.search(r"custom\.area.*?retired", page.text, re.S)
        assert (await definitions(api, "ticket"))["area"]["retired"] is True

        forged = await ada.post(
            PAGE,
            data={
                "entity": "lead",
                "field_key": "x",
                "label_en": "X",
                "label_zh": "X",
                "type": "text",
            },
        )
        assert forged.status_code == 403
        assert "x" not in await definitions(api, "lead")


async def test_only_admins_open_the_page_and_it_reads_in_chinese(api: Api) -> None:
    await console_user(api, "mia", "manager")
    await console_user(api, "wang", "admin", locale="zh-CN")
    async with own_client(api) as mia, own_client(api) as wang:
        csrf = await sign_in(mia, "mia")
        assert (await mia.get(PAGE)).status_code == 403
        refused = await mia.post(
            PAGE, data=field(csrf, entity="lead", field_key="x", label_en="X", type="text")
        )
        assert refused.status_code == 403
        assert f'href="{PAGE}"' not in (await mia.get("/console/admin")).text
        await sign_in(wang, "wang")
        zh = await wang.get(PAGE, params={"entity": "opportunity"})
        assert "商机的字段" in zh.text
        assert "定义商机的字段" in zh.text
        unknown = await wang.get(PAGE, params={"entity": "order"})
        assert unknown.status_code == 422


def test_choices_are_read_one_per_line() -> None:
    read = parse_choices("a | A | 甲\n\n b|B|乙 ")
    assert [(c.key, c.label_en, c.label_zh) for c in read] == [("a", "A", "甲"), ("b", "B", "乙")]
    with pytest.raises(InvalidCommand) as refused:
        parse_choices("a | A | 甲\nb | B")
    assert refused.value.field == "choices"
    assert "line 2" in refused.value.message
