"""Importing the contacts of company customers over HTTP: each row's company found by its
name, a customer e-mail or its id (an unknown one, or a person, is the row's error naming
the column), English and Chinese headers, phones and e-mails normalised, a second primary
refused in the dry run, a contact the company has (the same e-mail) or an earlier row's a
duplicate, and the same file again creating nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from crm.kernel.auth import Role
from tests.conftest import UserClient
from tests.support.imports import finished

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]

Users = Callable[..., UserClient]
HEADERS = ["客户", "联系人", "职位", "邮箱", "电话", "主要联系人", "备注"]


def csv_bytes(rows: list[list[str]], headers: list[str] = HEADERS) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([headers, *rows])
    return out.getvalue().encode("utf-8-sig")


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def test_contacts_are_imported_once_into_their_companies(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    acme_body = {"kind": "company", "name": "Acme Ltd", "email": "info@acme.example"}
    acme = (await ok(await boss.post("/customers", json=acme_body), 201))["id"]
    wok_body = {"kind": "company", "name": "上海沃克有限公司"}
    wok = (await ok(await boss.post("/customers", json=wok_body), 201))["id"]
    ada = (await ok(await boss.post("/customers", json={"name": "Ada"}), 201))["id"]
    await ok(
        await boss.post(f"/customers/{acme}/contacts", json={"name": "Li", "email": "li@acme.cn"}),
        201,
    )
    rows = [
        ["acme  LTD", "Zhou Min", "CFO", "Zhou@ACME.cn", "021 5555 0101", "是", "likes tea"],
        ["INFO@acme.example", "Ma Lin", "", "ma@acme.cn", "", "否", ""],
        [wok, "王芳", "采购", "", "13800138000", "yes", ""],
        ["Nobody Inc", "X", "", "", "", "", ""],  # row 5: no such company
        [ada, "Y", "", "", "", "", ""],  # row 6: a person
        ["Acme Ltd", "Li Wei", "", "LI@acme.cn", "", "", ""],  # row 7: the company has her
        ["Acme Ltd", "Zhou M.", "", "zhou@acme.cn", "", "", ""],  # row 8: row 2's
        ["Acme Ltd", "Sun", "", "sun@acme.cn", "", "yes", ""],  # row 9: row 2 is primary
        ["Acme Ltd", "", "", "", "", "", ""],  # row 10: no name
        ["Acme Ltd", "Qian", "", "not-mail", "", "", ""],  # row 11
        ["Acme Ltd", "Zhao", "", "", "", "maybe", ""],  # row 12
    ]
    r = await boss.post(
        "/imports", files={"file": ("contacts.csv", csv_bytes(rows))}, data={"kind": "contacts"}
    )
    body = await ok(r, 201)
    summary = body["summary"]
    assert summary["kind"] == "contacts"
    assert summary["mapping"] == dict(
        zip(
            HEADERS, ["customer", "name", "title", "email", "phone", "primary", "note"], strict=True
        )
    )
    assert summary["planned"] == {"create": 3, "duplicate": 2, "error": 6}, body["issues"]
    issues = {i["row"]: i for i in body["issues"]}
    assert (issues[5]["column"], issues[5]["value"]) == ("客户", "Nobody Inc")
    assert "没有此名称的公司客户" in issues[5]["reason"]
    assert issues[6]["column"] == "客户"
    assert "not a company" in issues[6]["reason"]
    assert (issues[7]["outcome"], issues[7]["duplicate_row"]) == ("duplicate", None)
    assert (issues[8]["outcome"], issues[8]["duplicate_row"]) == ("duplicate", 2)
    assert issues[9]["column"] == "主要联系人"
    assert issues[10]["column"] == "联系人"
    assert issues[11]["column"] == "邮箱"
    assert issues[12]["column"] == "主要联系人"

    import_id = summary["id"]
    await ok(await boss.post(f"/imports/{import_id}/confirm"), 202)
    done = await finished(boss, import_id)
    assert done["done"] == {"created": 3, "duplicate": 2, "failed": 6}
    contacts = {c["name"]: c for c in (await boss.get(f"/customers/{acme}/contacts")).json()}
    assert set(contacts) == {"Li", "Zhou Min", "Ma Lin"}
    zhou = contacts["Zhou Min"]
    assert (zhou["email"], zhou["phone"], zhou["primary"]) == (
        "zhou@acme.cn",
        "+862155550101",
        True,
    )
    assert (zhou["title"], zhou["note"]) == ("CFO", "likes tea")
    [wang] = (await boss.get(f"/customers/{wok}/contacts")).json()
    assert (wang["name"], wang["phone"], wang["primary"]) == ("王芳", "+8613800138000", True)

    again = await boss.post(
        "/imports", files={"file": ("contacts.csv", csv_bytes(rows))}, data={"kind": "contacts"}
    )
    assert again.json()["summary"]["planned"] == {"create": 0, "duplicate": 5, "error": 6}
    second = again.json()["summary"]["id"]
    await ok(await boss.post(f"/imports/{second}/confirm"), 202)
    await finished(boss, second)
    assert len((await boss.get(f"/customers/{acme}/contacts")).json()) == 3


async def test_english_headers_and_the_refusals(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    headers = ["Company", "Contact name", "Role", "E-mail", "Primary contact", "Notes"]
    r = await boss.post(
        "/imports",
        files={"file": ("c.csv", csv_bytes([["Acme", "Li", "", "", "", ""]], headers))},
        data={"kind": "contacts"},
    )
    body = await ok(r, 201)
    assert body["summary"]["mapping"] == dict(
        zip(headers, ["customer", "name", "title", "email", "primary", "note"], strict=True)
    )
    r = await boss.post(
        "/imports",
        files={"file": ("c.csv", csv_bytes([["Li"]], ["name"]))},
        data={"kind": "contacts"},
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "mapping"
    rep = as_user("bob", Role.SALES_REP)
    r = await rep.post(
        "/imports",
        files={"file": ("c.csv", csv_bytes([["Acme", "Li", "", "", "", "", ""]]))},
        data={"kind": "contacts"},
    )
    assert r.status_code == 403
