"""A customers import's rows that are customers already there (``on_match=update`` and the
``merge_into`` column, :mod:`crm.platform.imports.matching`): the dry run counts the rows that
create, update, merge, change nothing or fail; confirmed, an update row runs UpdateProfile
and a merge row MergeCustomers as the importing user (their events carry the import as their
correlation id); the same file again changes nothing; a merge needs an admin."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from crm.kernel.auth import Role
from crm.platform.imports.service import imports_of
from tests.conftest import Api, UserClient
from tests.e2e.test_import_customers_api import finished, upload

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]

HEADER = ["Name", "E-mail", "Phone", "Company", "CRM ID", "Merge into"]
MISSING = "7f0c4a7e-0000-4000-8000-000000000000"


def csv_of(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode()


async def customer(client: UserClient, **body: Any) -> str:
    r = await client.post("/customers", json={"confirm_distinct": True, **body})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def seeded(admin: UserClient) -> dict[str, str]:
    return {
        "ada": await customer(admin, name="Ada Lovelace", email="ada@example.com"),
        "bob": await customer(
            admin, name="Bob Byron", email="bob@example.com", phone="+8613900139000"
        ),
        "carl": await customer(admin, name="Carl Gauss", email="carl@example.com"),
        "carl2": await customer(admin, name="C. Gauss", email="gauss@example.com"),
    }


def rows_for(ids: dict[str, str]) -> list[list[str]]:
    return [
        ["Ada Lovelace", "ADA@example.com", "", "Analytical Engines", "", ""],  # 2: update
        ["Bob Byron", "bob@example.com", "13900139000", "", "", ""],  # 3: unchanged
        ["Dora Dirac", "dora@example.com", "", "", "", ""],  # 4: create
        ["C. Gauss", "gauss@example.com", "", "", "", ids["carl"]],  # 5: merge into carl
        ["Nobody", "", "", "", MISSING, ""],  # 6: no such customer
        ["Ada L.", "", "", "Other", ids["ada"], ""],  # 7: ada again: a duplicate of row 2
    ]


async def test_update_and_merge_rows_are_counted_run_and_changed_nothing_twice(
    api: Api, as_user: Any
) -> None:
    admin = as_user("root", Role.ADMIN)
    ids = await seeded(admin)
    content = csv_of(rows_for(ids))
    r = await upload(admin, content, on_match="update")
    assert r.status_code == 201, r.text
    body = r.json()
    summary = body["summary"]
    assert summary["mapping"]["CRM ID"] == "customer_id"
    assert summary["mapping"]["Merge into"] == "merge_into"
    assert summary["options"]["on_match"] == "update"
    assert summary["planned"] == {
        "create": 1,
        "update": 1,
        "merge": 1,
        "unchanged": 1,
        "duplicate": 1,
        "error": 1,
    }
    issues = {i["row"]: i for i in body["issues"]}
    assert issues[2]["outcome"] == "update"
    assert issues[2]["id"] == ids["ada"]
    assert "company" in issues[2]["message"]
    assert issues[3]["outcome"] == "unchanged"
    assert issues[5] | {"message": ""} == {
        "row": 5,
        "outcome": "merge",
        "id": ids["carl2"],
        "into": ids["carl"],
        "message": "",
    }
    assert issues[6]["outcome"] == "error"
    assert issues[6]["column"] == "CRM ID"
    assert "客户不存在" in issues[6]["reason"]
    assert issues[7]["outcome"] == "duplicate"
    assert issues[7]["duplicate_of"] == ids["ada"]
    assert issues[7]["duplicate_row"] == 2
    ada = (await admin.get(f"/customers/{ids['ada']}")).json()
    assert ada["company"] is None  # nothing written before the confirmation

    import_id = summary["id"]
    await admin.post(f"/imports/{import_id}/confirm")
    done = await finished(admin, import_id)
    assert done["done"] == {
        "created": 1,
        "duplicate": 1,
        "failed": 1,
        "updated": 1,
        "merged": 1,
        "unchanged": 1,
    }
    head = await api.platform.store.head_position()
    ada = (await admin.get(f"/customers/{ids['ada']}", params={"min_position": head})).json()
    assert ada["company"] == "Analytical Engines"
    assert ada["email"] == "ada@example.com"  # the same address: not changed
    merged = await admin.get(f"/customers/{ids['carl2']}", params={"min_position": head})
    assert ids["carl"] in merged.headers.get("location", "") + merged.text
    rows = (await admin.get(f"/imports/{import_id}/rows", params={"outcome": "merged"})).json()
    assert rows["items"] == [{"row": 5, "id": ids["carl2"], "into": ids["carl"]}]
    rows = (await admin.get(f"/imports/{import_id}/rows", params={"outcome": "updated"})).json()
    assert rows["items"] == [{"row": 2, "id": ids["ada"], "into": None}]

    envelopes = [e for p in [p async for p in api.platform.store.read_all(0)] for e in p]
    by_type = {e.event_type: e for e in envelopes if str(e.correlation_id) == import_id}
    for event_type in ("customer.profile_updated", "customer.merged_into", "customer.absorbed"):
        assert by_type[event_type].actor == "root", event_type  # audited as the importer

    again = (await upload(admin, content, on_match="update")).json()["summary"]
    assert again["planned"] == {
        "create": 0,
        "update": 0,
        "merge": 0,
        "unchanged": 4,
        "duplicate": 1,
        "error": 1,
    }


async def test_a_manager_imports_updates_but_not_merges(api: Api, as_user: Any) -> None:
    ids = await seeded(as_user("root", Role.ADMIN))
    boss = as_user("boss", Role.MANAGER)
    body = (await upload(boss, csv_of(rows_for(ids)), on_match="update")).json()
    merge_row = next(i for i in body["issues"] if i["row"] == 5)
    assert merge_row["outcome"] == "error"
    assert merge_row["column"] == "Merge into"
    assert "only an admin merges" in merge_row["reason"]
    assert body["summary"]["planned"]["update"] == 1


async def test_skip_reports_rows_of_customers_already_there_as_duplicates(
    api: Api, as_user: Any
) -> None:
    admin = as_user("root", Role.ADMIN)
    ids = await seeded(admin)
    body = (await upload(admin, csv_of(rows_for(ids)[:3] + rows_for(ids)[5:]))).json()
    assert body["summary"]["options"]["on_match"] == "skip"
    issues = {i["row"]: i for i in body["issues"]}
    assert issues[2]["outcome"] == "duplicate"
    assert issues[2]["duplicate_of"] == ids["ada"]
    assert issues[5]["reasons"] == ["same_id"]  # the CRM id column names Ada
    assert body["summary"]["planned"]["update"] == 0


async def test_on_match_is_refused_where_the_kind_has_no_such_choice(
    api: Api, as_user: Any
) -> None:
    admin = as_user("root", Role.ADMIN)
    content = b"customer,channel,summary\nada@example.com,call,hello\n"
    r = await upload(admin, content, kind="interactions", on_match="update")
    assert r.status_code == 422, r.text
    assert "on_match" in r.text
    r = await upload(admin, csv_of([]), on_match="merge")
    assert r.status_code == 422
    assert "on_match" in r.text


async def test_a_resumed_run_finds_what_each_row_did_by_its_key(api: Api, as_user: Any) -> None:
    """A run cut short after a row's command and before its batch was recorded reads the
    row again as done: its key's stream says it updated or merged, not registered."""
    admin = as_user("root", Role.ADMIN)
    ids = await seeded(admin)
    body = (await upload(admin, csv_of(rows_for(ids)), on_match="update")).json()
    import_id = body["summary"]["id"]
    await admin.post(f"/imports/{import_id}/confirm")
    await finished(admin, import_id)
    platform = api.platform
    planner = await imports_of(platform.runtime, platform.settings.data_dir).planner_of(
        import_id, "default"
    )
    await planner.caught_up()
    again = {o.row: o async for o in planner.rows(resumed=True)}
    assert (again[2].outcome, again[2].id) == ("updated", ids["ada"])
    assert again[4].outcome == "created"
    assert (again[5].outcome, again[5].id, again[5].into) == ("merged", ids["carl2"], ids["carl"])
    envelopes = [e for p in [p async for p in platform.store.read_all(0)] for e in p]
    mine = [e for e in envelopes if str(e.correlation_id) == import_id]
    assert [e.event_type for e in mine].count("customer.merged_into") == 1
    assert [e.event_type for e in mine].count("customer.profile_updated") >= 1


async def _users(api: Api) -> None:
    """rep-1, an active rep; rep-2, a rep no longer active; ana, an analyst."""
    from crm.console.install import register_user_commands
    from crm.console.users import AddUser, DeactivateUser, hash_password, system_context

    runtime = api.platform.runtime
    register_user_commands(runtime.commands)
    ctx = system_context("default", runtime.clock.now())
    secret = hash_password("a long password")
    for user, role in (("rep-1", Role.SALES_REP), ("rep-2", Role.SALES_REP), ("ana", "analyst")):
        await runtime.commands.execute(AddUser(user, user.title(), str(role), secret), ctx)
    await runtime.commands.execute(DeactivateUser("rep-2"), ctx)


def tagged_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([["Name", "E-mail", "标签", "负责人"], *rows])
    return out.getvalue().encode()


async def test_an_update_row_adds_its_tags_and_gives_the_customer_its_owner(
    api: Api, as_user: Any
) -> None:
    """Each by the customer context's own commands (TagCustomer per new tag, AssignOwner),
    under keys of their own; an owner who is not an active rep or manager is the row's error,
    naming the column; the same file again changes nothing."""
    await _users(api)
    admin = as_user("root", Role.ADMIN)
    ada = await customer(admin, name="Ada Lovelace", email="ada@example.com", tags=["vip"])
    bob = await customer(admin, name="Bob Byron", email="bob@example.com")
    rows = [
        ["Ada Lovelace", "ada@example.com", "vip; 重点", "rep-1"],  # 2: a tag and the owner
        ["Bob Byron", "bob@example.com", "", "rep-2"],  # 3: rep-2 is not active
        ["Bob Byron", "bob@example.com", "", "ana"],  # 4: an analyst owns no customer
        ["Dora Dirac", "dora@example.com", "new", "rep-1"],  # 5: created, owned by rep-1
        ["Bob Byron", "bob@example.com", "key account", ""],  # 6: bob's tag (3, 4 failed)
    ]
    r = await upload(admin, tagged_csv(rows), on_match="update")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["summary"]["mapping"]["负责人"] == "owner"
    assert body["summary"]["planned"]["update"] == 2
    assert body["summary"]["planned"]["error"] == 2
    issues = {i["row"]: i for i in body["issues"]}
    assert issues[2]["outcome"] == "update"
    assert "tags, owner" in issues[2]["message"]
    assert (issues[3]["column"], issues[3]["value"]) == ("负责人", "rep-2")
    assert issues[4]["column"] == "负责人"
    assert issues[6]["message"].endswith("(tags) / 更新")
    import_id = body["summary"]["id"]
    assert (await admin.post(f"/imports/{import_id}/confirm")).status_code == 202
    done = await finished(admin, import_id)
    assert done["done"]["updated"] == 2
    head = {"min_position": await api.platform.store.head_position()}
    got = (await admin.get(f"/customers/{ada}", params=head)).json()
    assert sorted(got["tags"]) == ["vip", "重点"]
    assert got["owner_id"] == "rep-1"
    listed = (await admin.get("/customers", params={**head, "q": "Dora"})).json()["items"]
    assert [c["owner_id"] for c in listed] == ["rep-1"]
    envelopes = [e async for page in api.platform.store.read_all(0) for e in page]
    ada_events = [e for e in envelopes if e.stream_id == f"customer-{ada}"]
    types = [e.event_type for e in ada_events]
    assert types.count("customer.tagged") == 1
    assert types.count("customer.owner_assigned") == 1
    assert {str(e.correlation_id) for e in ada_events[1:]} == {import_id}
    assert (await admin.get(f"/customers/{bob}", params=head)).json()["tags"] == ["key account"]

    again = await upload(admin, tagged_csv(rows[:1]), on_match="update")
    assert again.json()["summary"]["planned"]["unchanged"] == 1
