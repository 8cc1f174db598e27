# ruff: noqa: RUF001  (Chinese punctuation is meant)
"""A refusal of the domain on a console page reads in the reader's language: a Chinese manager
releasing a customer who is in the shared pool already is told so in Chinese (the 409 page),
an English one in English; the platform's own words follow, for which record and value."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Api
from tests.support.console import console_user, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]


async def test_a_refusal_in_chinese_and_in_english(api: Api) -> None:
    await console_user(api, "li", "manager", locale="zh-CN")
    await console_user(api, "max", "manager")
    boss = api.as_user("li", "manager")
    pooled = (await boss.post("/customers", json={"name": "Pooled"})).json()["id"]
    async with own_client(api) as li, own_client(api) as max_:
        for client, user, said, unsaid in (
            (li, "li", "无法执行：该客户已在公海中。", "already in the pool"),
            (
                max_,
                "max",
                "This cannot be done: The customer is in the shared pool already.",
                "公海",
            ),
        ):
            csrf = await sign_in(client, user)
            answer = await client.post(f"/console/customers/{pooled}/release", data={"csrf": csrf})
            assert answer.status_code == 409, answer.text
            alert = re.search(r'<p class="notice error" role="alert">(.*?)</p>', answer.text)
            assert alert is not None, answer.text
            words, _, engine = alert.group(1).partition("（" if user == "li" else " (")
            assert said in words
            assert unsaid not in words
            assert "pool" in engine  # the platform's own message follows, in parentheses
