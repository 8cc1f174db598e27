"""The console as a person's browser speaks to it, over the app's own transport: users added
through the bus, a client with cookies of its own, signing in with the CSRF token of the page,
following redirects, waiting for a page to show what a process finishes after it."""

from __future__ import annotations

import asyncio
import re

import httpx

from crm.console.users import AddUser, hash_password, system_context
from tests.conftest import Api

PASSWORD = "a long password"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


async def console_user(api: Api, user: str, role: str, team: str | None = None, **kw: str) -> None:
    runtime = api.platform.runtime
    command = AddUser(user, user.title(), role, hash_password(PASSWORD), team, **kw)
    await runtime.commands.execute(command, system_context("default", runtime.clock.now()))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def own_client(api: Api) -> httpx.AsyncClient:
    """A client of its own (its own cookies), on the same app."""
    return httpx.AsyncClient(transport=api.client._transport, base_url="http://crm.test")


async def sign_in(client: httpx.AsyncClient, user: str) -> str:
    page = await client.get("/console/sign-in")
    answer = await client.post(
        "/console/sign-in",
        data={
            "csrf": csrf_of(page.text),
            "tenant": "default",
            "user_id": user,
            "password": PASSWORD,
        },
    )
    assert answer.status_code == 303, answer.text
    return csrf_of((await client.get("/console/")).text)


async def followed(client: httpx.AsyncClient, answer: httpx.Response) -> httpx.Response:
    assert answer.status_code == 303, answer.text
    page = await client.get(answer.headers["location"])
    assert page.status_code == 200, page.text
    return page


async def until_shown(client: httpx.AsyncClient, url: str, text: str) -> httpx.Response:
    """The page once it shows ``text`` (a process finishing after the redirect)."""
    for _ in range(600):  # 30 s at most
        page = await client.get(url)
        if text in page.text:
            return page
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never showed {text!r}")
