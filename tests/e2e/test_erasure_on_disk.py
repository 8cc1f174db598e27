"""Erasure leaves no readable copy on disk: after ``POST /customers/{id}/erase`` and the
purges that follow it, no file the platform wrote (the event store, the read store and the
key store, each with its ``-wal`` and ``-shm``) holds the customer's e-mail address or name
in plaintext, not in a live row, not in a freed page, not in an old WAL frame. The event
store never held them in plaintext at all: personal fields are sealed with the customer's
key before they are appended."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from uuid import uuid4

import pytest

from crm.events import ERASED
from crm.kernel.auth import Role
from crm.platform.bootstrap import Platform
from crm.sales.projections.pipeline_models import LEADS
from crm.service_desk.projections.ticket_models import TICKETS
from crm.service_desk.projections.visit_models import VISITS
from tests.conftest import Api, UserClient

pytestmark = pytest.mark.e2e


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def get(platform: Platform, client: UserClient, url: str) -> dict[str, Any]:
    head = await platform.store.head_position()
    path, _, query = url.partition("?")
    r = await client.get(path, params=[*parse_qsl(query), ("min_position", str(head))])
    assert r.status_code == 200, r.text
    return dict(r.json())


def files_holding(data_dir: Path, secrets: list[bytes]) -> dict[str, list[str]]:
    """Every file under ``data_dir`` holding one of ``secrets`` (as ``grep -a`` finds it),
    with the secrets it holds."""
    found: dict[str, list[str]] = {}
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            hits = [s.decode() for s in secrets if s in content]
            if hits:
                found[path.name] = hits
    return found


async def stored_erased(platform: Platform, collection: str, id: str, field: str) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        doc = await platform.read_store.get(collection, id)
        if doc is not None and doc[field] == ERASED:
            return
        assert asyncio.get_running_loop().time() < deadline, doc
        await asyncio.sleep(0.05)


async def test_an_erased_customer_leaves_no_plaintext_in_any_file(api: Api, tmp_path: Path) -> None:
    platform = api.platform
    data_dir = tmp_path / "data"
    admin, rep = api.as_user("root", Role.ADMIN), api.as_user("rep-1", Role.SALES_REP)
    agent, boss = api.as_user("ann", Role.AGENT), api.as_user("boss")
    unique = uuid4().hex[:12]
    email = f"zelda.{unique}@example.com"
    name = f"Zelda Quux{unique}"
    secrets = [email.encode(), name.encode()]

    # a lead captured and converted: the customer is registered from the lead's contact
    lead = await ok(await rep.post("/leads", json={"name": name, "email": email}), 201)
    await ok(await rep.post(f"/leads/{lead['id']}/qualify"))
    conversion = {
        "opportunity_name": "Deal",
        "amount": {"amount": "5000.00", "currency": "EUR"},
        "expected_close_date": "2026-09-30",
    }
    conv = await ok(await rep.post(f"/leads/{lead['id']}/convert", json=conversion), 202)
    customer_id = conv["customer_id"]
    for _ in range(400):
        if (await get(platform, rep, f"/leads/{lead['id']}"))["status"] == "converted":
            break
        await asyncio.sleep(0.025)
    profile = await get(platform, rep, f"/customers/{customer_id}")
    assert (profile["name"], profile["email"]) == (name, email)

    # the customer in every context: an interaction, a ticket with a comment, a visit
    note = {"channel": "email", "summary": f"wrote to {email} about {name}"}
    await ok(await agent.post(f"/customers/{customer_id}/interactions", json=note), 201)
    ticket = {
        "customer_id": customer_id,
        "kind": "complaint",
        "channel": "email",
        "priority": "high",
        "subject": "Broken",
        "description": f"{name} ({email}) says it broke",
    }
    tid = (await ok(await agent.post("/tickets", json=ticket), 201))["id"]
    comment = {"body": f"Answered {name} at {email}", "public": True}
    await ok(await agent.post(f"/tickets/{tid}/comment", json=comment))
    visit = {
        "ticket_id": tid,
        "customer_id": customer_id,
        "technician_id": "tech-1",
        "start": "2026-03-03T09:00:00+00:00",
        "end": "2026-03-03T10:00:00+00:00",
        "address": f"{name}, 1 Main Street",
        "notes": f"call {email} first",
    }
    vid = (await ok(await boss.post("/visits", json=visit), 201))["id"]
    view = await get(platform, boss, f"/analytics/customers/{customer_id}/360")
    assert view["name"] == name
    stored = await platform.read_store.get(TICKETS, tid)
    assert stored is not None
    assert name in stored["description"]

    # the event store holds only ciphertext, even before the erasure
    events = {p.name: p.read_bytes() for p in data_dir.glob("events.db*")}
    assert events
    assert not [f for f, content in events.items() for s in secrets if s in content]
    # the read store holds the plaintext copies (the scan below would find them)
    assert set(files_holding(data_dir, secrets)) & {"read.db", "read.db-wal"}

    await ok(await admin.post(f"/customers/{customer_id}/erase", json={"reason": "art. 17"}))

    # the erasure's rebuilds and purges finish on their own; then no file holds either
    await stored_erased(platform, LEADS, lead["id"], "name")
    await stored_erased(platform, TICKETS, tid, "description")
    await stored_erased(platform, VISITS, vid, "address")
    deadline = asyncio.get_running_loop().time() + 30
    while found := files_holding(data_dir, secrets):
        assert asyncio.get_running_loop().time() < deadline, found
        await asyncio.sleep(0.1)
    assert (await get(platform, boss, f"/customers/{customer_id}"))["email"] == ERASED
    assert (await get(platform, boss, f"/analytics/customers/{customer_id}/360"))["name"] == ERASED
