"""The import page's encoding of a CSV: found from the file unless chosen; a GB18030 file read
as chosen, the same file said to be UTF-8 refused for what it is, an unknown encoding a 422
naming it; the choice offered in English and Chinese."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Api
from tests.support.console import console_user, own_client, sign_in

pytestmark = pytest.mark.e2e

GB = "姓名,邮箱\n王小明,wang@example.com\n".encode("gb18030")


async def test_a_csv_read_in_the_encoding_chosen_on_the_page(api: Api) -> None:
    await console_user(api, "mgr", "manager")
    await console_user(api, "li", "manager", locale="zh-CN")
    async with own_client(api) as client:
        csrf = await sign_in(client, "mgr")
        listing = (await client.get("/console/imports")).text
        assert '<option value="">Found from the file</option>' in listing
        assert "GB18030 (GBK, Chinese Windows and Excel)" in listing

        async def upload(encoding: str) -> str:
            sent = await client.post(
                "/console/imports",
                data={"csrf": csrf, "kind": "customers", "encoding": encoding},
                files={"file": ("gbk.csv", GB, "text/csv")},
            )
            if sent.status_code != 303:
                return f"{sent.status_code} {sent.text}"
            return (await client.get(sent.headers["location"])).text

        read = await upload("gb18030")
        assert '<label for="column-0">姓名</label>' in read
        assert re.search(r'data-count="create">[^<]*<strong>1</strong>', read), read
        found = await upload("")
        assert '<label for="column-0">姓名</label>' in found
        wrong = await upload("utf-8")
        assert wrong.startswith("422"), wrong[:300]
        assert "姓名" not in wrong
        unknown = await upload("latin-1")
        assert unknown.startswith("422"), unknown[:300]
        assert "encoding" in unknown
    async with own_client(api) as client:
        await sign_in(client, "li")
        listing = (await client.get("/console/imports")).text
        assert "CSV 文件的编码" in listing
        assert "根据文件自动识别" in listing
