"""Importing customers over HTTP (``/imports``): the dry run names every row that would not
create (the column and the value, in English and Chinese) and writes no customer; confirming
creates each row once through the customer commands, duplicates (of a customer already there
or of an earlier row) never; the records are found from the import; admins and managers only.
Files are written by ``csv`` (UTF-8 with a BOM, GB18030) and ``openpyxl``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import Workbook

from crm.kernel.auth import Role
from tests.conftest import Api, UserClient
from tests.support.imports import finished

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]

Users = Callable[..., UserClient]

HEADER = ["姓名", "邮箱", "电话", "公司", "标签", "备注"]
ROWS = [
    ["Ada Lovelace", "ada@example.com", "13800138000", "Analytical", "vip, uk", "first"],
    ["Bob Byron", "bob@", "13900139000", "", "", ""],  # row 3: a bad e-mail
    ["Ada  Lovelace", "ADA@example.com", "", "", "", ""],  # row 4: row 2 again
    ["", "nobody@example.com", "", "", "", ""],  # row 5: no name
    ["Grace Hopper", "grace@navy.example", "+1 202 555 0143", "US Navy", "", ""],
    ["Linus", "linus@example.com", "12", "", "", ""],  # row 7: not a phone number
    ["Alan Turing", "alan@example.com", "13700137000", "Bletchley", "", ""],
]


NO_MATCHES = {"update": 0, "merge": 0, "unchanged": 0}
"""A customers import's plan counts the rows that update or merge customers already there."""
NONE_CHANGED = {"updated": 0, "merged": 0, "unchanged": 0}


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [["客户名称", "手机", "邮箱"], *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(
    client: UserClient, content: bytes, name: str = "customers.csv", **form: str
) -> Any:
    return await client.post(
        "/imports", files={"file": (name, content, "application/octet-stream")}, data=form
    )


async def customer_streams(api: Api) -> int:
    count = 0
    async for page in api.platform.store.read_all(0, categories={"customer"}):
        count += len(page)
    return count


async def test_a_dry_run_reports_each_row_and_writes_no_customer(api: Api, as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    r = await upload(boss, csv_bytes(ROWS))
    assert r.status_code == 201, r.text
    body = r.json()
    summary = body["summary"]
    assert summary["status"] == "planned"
    assert summary["rows"] == 7
    assert summary["planned"] == {"create": 3, "duplicate": 1, "error": 3, **NO_MATCHES}
    assert summary["mapping"] == {
        "姓名": "name",
        "邮箱": "email",
        "电话": "phone",
        "公司": "company",
        "标签": "tags",
    }
    assert body["unmapped"] == ["备注"]
    issues = {i["row"]: i for i in body["issues"]}
    assert sorted(issues) == [3, 4, 5, 7]
    assert issues[3]["outcome"] == "error"
    assert issues[3]["column"] == "邮箱"
    assert issues[3]["value"] == "bob@"
    assert "not an e-mail address" in issues[3]["reason"]
    assert "不是邮箱地址" in issues[3]["reason"]
    assert issues[4]["outcome"] == "duplicate"
    assert issues[4]["duplicate_row"] == 2
    assert issues[4]["reasons"] == ["same_email"]
    assert issues[5]["column"] == "姓名"
    assert "必填" in issues[5]["message"]
    assert issues[7]["column"] == "电话"
    assert issues[7]["value"] == "12"
    assert await customer_streams(api) == 0  # nothing written until confirmed
    listed = (await boss.get("/imports")).json()
    assert [i["id"] for i in listed] == [summary["id"]]


async def test_confirming_creates_each_row_once_and_the_records_are_found(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER)
    planned = (await upload(boss, csv_bytes(ROWS))).json()["summary"]
    import_id = planned["id"]
    r = await boss.post(f"/imports/{import_id}/confirm")
    assert r.status_code == 202, r.text
    # the confirmation is on record when it is answered (a page shown then says it runs)
    assert r.json()["status"] in ("running", "finished")
    done = await finished(boss, import_id)
    assert done["done"] == {"created": 3, "duplicate": 1, "failed": 3, **NONE_CHANGED}
    assert done["through_row"] == 8

    again = await boss.post(f"/imports/{import_id}/confirm")  # a finished import does nothing
    assert again.status_code == 202
    assert again.json()["done"] == done["done"]

    rows = (await boss.get(f"/imports/{import_id}/rows")).json()
    assert rows["total"] == 3
    assert [r["row"] for r in rows["items"]] == [2, 6, 8]
    head = await api.platform.store.head_position()
    customers = (await boss.get("/customers", params={"min_position": head})).json()
    assert customers["total"] == 3
    by_id = {c["id"]: c for c in customers["items"]}
    ada = by_id[rows["items"][0]["id"]]
    assert ada["name"] == "Ada Lovelace"
    assert ada["phone"] == "+8613800138000"  # E.164, the region's country code
    assert sorted(ada["tags"]) == ["uk", "vip"]
    failed = (await boss.get(f"/imports/{import_id}/rows", params={"outcome": "failed"})).json()
    assert [(f["row"], f["column"]) for f in failed["items"]] == [
        (3, "邮箱"),
        (5, "姓名"),
        (7, "电话"),
    ]
    assert all("bob@" not in f["reason"] for f in failed["items"])  # no value in the log
    envelopes = [e for p in [p async for p in api.platform.store.read_all(0)] for e in p]
    registered = [e for e in envelopes if e.event_type == "customer.registered"]
    assert {str(e.correlation_id) for e in registered} == {import_id}

    # the same file again: every row is now a duplicate of what the first import created
    second = (await upload(boss, csv_bytes(ROWS))).json()
    assert second["summary"]["planned"] == {"create": 0, "duplicate": 4, "error": 3, **NO_MATCHES}
    dup_of = {i["row"]: i["duplicate_of"] for i in second["issues"] if i["outcome"] == "duplicate"}
    assert dup_of[2] == ada["id"]


async def test_a_customer_already_there_is_a_duplicate_not_a_second_record(
    api: Api, as_user: Users
) -> None:
    boss = as_user("boss", Role.MANAGER)
    r = await boss.post("/customers", json={"name": "Grace Hopper", "email": "GRACE@navy.example"})
    grace = r.json()["id"]
    body = (await upload(boss, csv_bytes(ROWS[4:5]))).json()
    [issue] = body["issues"]
    assert issue["duplicate_of"] == grace
    assert issue["duplicate_row"] is None
    assert "duplicate of customer" in issue["message"]
    assert "疑似重复" in issue["message"]
    await boss.post(f"/imports/{body['summary']['id']}/confirm")
    done = await finished(boss, body["summary"]["id"])
    assert done["done"] == {"created": 0, "duplicate": 1, "failed": 0, **NONE_CHANGED}


async def test_xlsx_and_gb18030_files(api: Api, as_user: Users) -> None:
    admin = as_user("root", Role.ADMIN)
    book = xlsx_bytes([["王小明", 13800138001, "wang@example.cn"], ["李雷", "139 0013 9001", ""]])
    r = await upload(admin, book, "客户.xlsx")
    assert r.status_code == 201, r.text
    assert r.json()["summary"]["planned"] == {"create": 2, "duplicate": 0, "error": 0, **NO_MATCHES}
    gb = csv_bytes([["韩梅梅", "han@example.cn", "13600136000", "北京公司", "重要", ""]], "gb18030")
    r = await upload(admin, gb, "gb.csv")
    assert r.status_code == 201, r.text
    summary = r.json()["summary"]
    assert summary["options"]["encoding"] == "gb18030"
    await admin.post(f"/imports/{summary['id']}/confirm")
    await finished(admin, summary["id"])
    head = await api.platform.store.head_position()
    names = [
        c["name"]
        for c in (await admin.get("/customers", params={"min_position": head})).json()["items"]
    ]
    assert names == ["韩梅梅"]


async def test_only_admins_and_managers_import(api: Api, as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    import_id = (await upload(boss, csv_bytes(ROWS[:1]))).json()["summary"]["id"]
    for role in (Role.SALES_REP, Role.AGENT, Role.ANALYST):
        other = as_user(f"u-{role.value}", role)
        assert (await upload(other, csv_bytes(ROWS[:1]))).status_code == 403
        assert (await other.get("/imports")).status_code == 403
        assert (await other.get(f"/imports/{import_id}")).status_code == 403
        assert (await other.post(f"/imports/{import_id}/confirm")).status_code == 403
    outsider = as_user("boss", Role.MANAGER, tenant="acme")
    assert (await outsider.get(f"/imports/{import_id}")).status_code == 404
    assert (await outsider.post(f"/imports/{import_id}/confirm")).status_code == 404
    assert (await outsider.get("/imports")).json() == []
    unknown = "3f0c9a4e-5b7d-4e21-9c3a-8d2f1e6b7a90"
    assert (await boss.get(f"/imports/{unknown}")).status_code == 404


async def test_bad_input_is_a_422_naming_it(api: Api, as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    content = csv_bytes(ROWS[:1])

    def culprit(r: Any) -> list[str]:
        assert r.status_code == 422, r.text
        return list(r.json()["detail"][0]["loc"])

    mapping = json.dumps({"电话": "fax"})
    assert culprit(await upload(boss, content, mapping=mapping))[-1] == "mapping"
    assert culprit(await upload(boss, content, mapping="{not json"))[-1] == "mapping"
    unmapped = json.dumps({"姓名": None})
    r = await upload(boss, content, mapping=unmapped)
    assert culprit(r)[-1] == "mapping"
    assert "name" in r.json()["detail"][0]["msg"]
    assert culprit(await upload(boss, content, "notes.pdf"))[-1] == "file"
    assert culprit(await upload(boss, b"", "empty.csv"))[-1] == "file"
    assert culprit(await upload(boss, content, encoding="latin-1"))[-1] == "encoding"
    assert culprit(await upload(boss, content, kind="spaceships"))[-1] == "kind"
    r = await boss.post("/imports", params={"format": "csv"}, files={"file": ("a.csv", content)})
    assert culprit(r) == ["query", "format"]
    assert culprit(await boss.post("/imports/not-a-uuid/confirm"))[-1] == "import_id"
    assert await customer_streams(api) == 0


async def test_an_upload_retried_under_its_key_plans_one_import(api: Api, as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    key = {"Idempotency-Key": "upload-1"}
    content = csv_bytes(ROWS)
    first = await boss.post("/imports", files={"file": ("c.csv", content)}, headers=key)
    assert first.status_code == 201, first.text
    retry = await boss.post("/imports", files={"file": ("c.csv", content)}, headers=key)
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["summary"]["id"] == first.json()["summary"]["id"]
    assert retry.json()["issues"] == first.json()["issues"]
    assert len((await boss.get("/imports")).json()) == 1
    other = await boss.post("/imports", files={"file": ("c.csv", csv_bytes(ROWS[:2]))}, headers=key)
    assert other.status_code == 422, other.text
    assert len((await boss.get("/imports")).json()) == 1
