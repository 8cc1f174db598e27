"""Duplicates over HTTP: found on register and edit, answered 409 with the candidates, and
registered anyway when the user confirms it is another person."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from crm.kernel.auth import Role
from tests.conftest import UserClient

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]

Users = Callable[..., UserClient]


async def register(client: UserClient, **fields: Any) -> dict[str, Any]:
    r = await client.post("/customers", json=fields)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_the_same_email_or_phone_is_refused_with_the_candidates(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    ada = await register(
        boss, name="Ada Lovelace", email="ada@example.com", phone="+44 20 7946 0000"
    )
    r = await boss.post("/customers", json={"name": "A. King", "email": " ADA@example.com"})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "possible_duplicate"
    [candidate] = body["candidates"]
    assert candidate["id"] == ada["id"]
    assert candidate["score"] == 95
    assert candidate["reasons"] == ["same_email"]
    assert candidate["name"] == "Ada Lovelace"

    r = await boss.post("/customers", json={"name": "Someone", "phone": "+44 (20) 7946-0000"})
    assert r.status_code == 409
    assert r.json()["candidates"][0]["reasons"] == ["same_phone"]

    listed = await boss.get("/customers", params={"min_position": ada["position"]})
    assert listed.json()["total"] == 1  # nothing was created


async def test_confirm_distinct_registers_another_person(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    await register(boss, name="John Smith", company="Acme")
    r = await boss.post("/customers", json={"name": "Jon Smith", "company": "ACME"})
    assert r.status_code == 409
    assert r.json()["candidates"][0]["reasons"] == ["similar_name_same_company"]
    other = await register(boss, name="Jon Smith", company="ACME", confirm_distinct=True)
    r = await boss.get("/customers", params={"min_position": other["position"]})
    assert r.json()["total"] == 2


async def test_an_edit_into_another_customers_email_is_refused(as_user: Users) -> None:
    boss = as_user("boss", Role.MANAGER)
    await register(boss, name="Ada Lovelace", email="ada@example.com")
    bob = await register(boss, name="Bob", email="bob@example.com")
    url = f"/customers/{bob['id']}"
    r = await boss.patch(url, json={"email": "ada@example.com"})
    assert r.status_code == 409
    assert r.json()["code"] == "possible_duplicate"
    r = await boss.patch(url, json={"title": "CTO"})  # not a matched field: no check
    assert r.status_code == 200, r.text
    r = await boss.patch(url, json={"email": "ada@example.com", "confirm_distinct": True})
    assert r.status_code == 200, r.text


async def test_a_rep_learns_another_reps_match_by_id_only(as_user: Users) -> None:
    await register(
        as_user("rep-1", Role.SALES_REP), name="Ada", email="ada@example.com", owner_id="rep-1"
    )
    r = await as_user("rep-2", Role.SALES_REP).post(
        "/customers", json={"name": "Ada", "email": "ada@example.com", "owner_id": "rep-2"}
    )
    assert r.status_code == 409
    [candidate] = r.json()["candidates"]
    assert set(candidate) == {"id", "score", "reasons"}


async def test_an_erased_customer_is_no_candidate(as_user: Users) -> None:
    admin = as_user("root", Role.ADMIN)
    ada = await register(admin, name="Ada", email="ada@example.com")
    r = await admin.post(f"/customers/{ada['id']}/erase")
    assert r.status_code == 200, r.text
    await register(admin, name="Ada", email="ada@example.com")
