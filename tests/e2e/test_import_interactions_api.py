"""Importing past interactions over HTTP: each row names an existing customer (by id or
e-mail; one that does not exist is an error naming the column), is dated by its own date
(the event's ``occurred_at`` in 2019, recorded now), and is logged once: the same row twice
in a file, or the same file imported again, is a duplicate, never a second interaction."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from crm.kernel.auth import Role
from tests.conftest import T0, Api, UserClient
from tests.support.imports import finished

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]

Users = Callable[..., UserClient]


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([["客户", "邮箱", "方式", "方向", "日期", "内容", "时长"], *rows])
    return out.getvalue().encode("utf-8-sig")


async def test_past_interactions_keep_their_dates_and_are_logged_once(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER)
    ada = (await boss.post("/customers", json={"name": "Ada", "email": "ada@example.com"})).json()
    bob = (await boss.post("/customers", json={"name": "Bob"})).json()
    rows = [
        ["", "ADA@example.com", "电话", "呼入", "2019/03/04", "asked for a quote", "15"],
        [bob["id"], "", "visit", "", "04/03/2019", "installed the machine", ""],
        ["", "nobody@example.com", "call", "", "2019-03-05", "who?", ""],  # row 4
        ["", "ada@example.com", "fax", "", "2019-03-05", "a fax", ""],  # row 5
        ["", "ada@example.com", "email", "", "", "no date", ""],  # row 6
        ["", "ada@example.com", "email", "", "2030-01-01", "from the future", ""],  # row 7
        ["", "ADA@example.com", "电话", "呼入", "2019/03/04", "asked for a quote", "15"],  # row 8
        ["not-an-id", "", "call", "", "2019-03-05", "x", ""],  # row 9
    ]
    r = await boss.post(
        "/imports",
        files={"file": ("interactions.csv", csv_bytes(rows))},
        data={"kind": "interactions", "day_first": "true"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["summary"]["kind"] == "interactions"
    assert body["summary"]["planned"] == {"create": 2, "duplicate": 1, "error": 5}
    issues = {i["row"]: i for i in body["issues"]}
    assert issues[4]["column"] == "邮箱"
    assert "没有此邮箱的客户" in issues[4]["reason"]
    assert issues[5]["column"] == "方式"
    assert issues[5]["value"] == "fax"
    assert issues[6]["column"] == "日期"
    assert issues[7]["column"] == "日期"
    assert "future" in issues[7]["reason"]
    assert issues[8]["outcome"] == "duplicate"
    assert issues[8]["duplicate_row"] == 2
    assert issues[9]["column"] == "客户"

    import_id = body["summary"]["id"]
    await boss.post(f"/imports/{import_id}/confirm")
    done = await finished(boss, import_id)
    assert done["done"] == {"created": 2, "duplicate": 1, "failed": 5}

    answer = await boss.get(f"/customers/{ada['id']}/interactions")
    assert answer.status_code == 200, answer.text
    [logged] = answer.json()
    assert logged["channel"] == "call"
    assert logged["direction"] == "inbound"
    assert logged["duration_minutes"] == 15
    assert logged["occurred_at"].startswith("2019-03-04")
    [visit] = (await boss.get(f"/customers/{bob['id']}/interactions")).json()
    assert visit["occurred_at"].startswith("2019-03-04")  # 04/03/2019, day first
    envelopes = [e async for page in api.platform.store.read_all(0) for e in page]
    events = [e for e in envelopes if e.event_type == "customer.interaction_logged"]
    assert {e.occurred_at for e in events} == {datetime(2019, 3, 4, tzinfo=UTC)}
    assert all(e.recorded_at >= T0 for e in events)  # recorded now, happened in 2019

    again = await boss.post(
        "/imports",
        files={"file": ("interactions.csv", csv_bytes(rows))},
        data={"kind": "interactions", "day_first": "true"},
    )
    assert again.json()["summary"]["planned"] == {"create": 0, "duplicate": 3, "error": 5}
    second = again.json()["summary"]["id"]
    await boss.post(f"/imports/{second}/confirm")
    await finished(boss, second)
    envelopes = [e async for page in api.platform.store.read_all(0) for e in page]
    assert sum(e.event_type == "customer.interaction_logged" for e in envelopes) == 2


async def test_a_file_without_the_customer_or_date_column_is_refused(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    out = io.StringIO(newline="")
    csv.writer(out).writerows([["channel", "summary"], ["call", "hello"]])
    r = await boss.post(
        "/imports",
        files={"file": ("i.csv", out.getvalue().encode())},
        data={"kind": "interactions"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == "mapping"
    assert "customer" in r.json()["detail"][0]["msg"]
