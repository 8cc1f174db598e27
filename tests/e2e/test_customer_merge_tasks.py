"""The activities' tasks after a merge: the survivor's tasks include the merged customer's,
and no new task names the merged one (409 ``customer_merged``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from crm.kernel.auth import Role
from tests.conftest import T0, UserClient

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "activities")]

Users = Callable[..., UserClient]


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def call(customer_id: str, title: str) -> dict[str, Any]:
    return {
        "kind": "call",
        "title": title,
        "subject_kind": "customer",
        "subject_id": customer_id,
        "due_at": (T0 + timedelta(days=1)).isoformat(),
    }


async def test_the_survivors_tasks_include_the_merged_ones(as_user: Users) -> None:
    admin = as_user("root", Role.ADMIN)
    ada = (await ok(await admin.post("/customers", json={"name": "Ada Lovelace"}), 201))["id"]
    body = {"name": "Ada Lovelace", "email": "ada@example.com", "confirm_distinct": True}
    king = (await ok(await admin.post("/customers", json=body), 201))["id"]
    await ok(await admin.post("/tasks", json=call(ada, "Call Ada")), 201)
    await ok(await admin.post("/tasks", json=call(king, "Call A. King")), 201)

    merged = await ok(await admin.post(f"/customers/{ada}/merge", json={"merged_id": king}))
    at = {"min_position": merged["position"]}
    tasks = await ok(await admin.get("/tasks", params={"customer_id": ada, **at}))
    assert sorted(t["title"] for t in tasks["items"]) == ["Call A. King", "Call Ada"]
    theirs = await ok(await admin.get("/tasks", params={"customer_id": king, **at}))
    assert [t["title"] for t in theirs["items"]] == ["Call A. King"]

    r = await admin.post("/tasks", json=call(king, "Once more"))
    assert r.status_code == 409, r.text
    assert r.json()["merged_into"] == ada
