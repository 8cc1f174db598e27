"""The HTTP app, spoken to in process (httpx's ASGI transport) as the company's users.

Every command of the demo goes through this client, so through routes, authentication,
validation, the domain and the store; a refused command stops the demo (:class:`DemoError`)
rather than leave data that is not what the truth file claims.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from crm.kernel.auth import Role
from crm.platform.bootstrap import Platform
from crm.platform.demo.company import AGENTS, MANAGERS, SUPPORT_GROUP, TEAMS

DEMO_TENANT = "default"
"""The tenant the demo company is (the generator creates it first)."""

WAIT_SECONDS = 30.0
"""How long to wait for what another process does (a reaction, a projection)."""


class DemoError(RuntimeError):
    """A command of the generator was refused: the demo data would not be what it claims."""


def eur(amount: Decimal | int | str) -> dict[str, str]:
    return {"amount": f"{Decimal(amount):.2f}", "currency": "EUR"}


class Crm:
    """The HTTP app spoken to as the company's users; counts the commands it sends."""

    def __init__(self, client: httpx.AsyncClient, platform: Platform) -> None:
        self.client = client
        self.platform = platform
        self.commands = 0
        self._headers: dict[str, dict[str, str]] = {}

    def user(self, user: str) -> dict[str, str]:
        if user not in self._headers:
            role, team = Role.SALES_REP, None
            for t, reps in TEAMS.items():
                if user in reps:
                    team = t
            for t, manager in MANAGERS.items():
                if user == manager:
                    role, team = Role.MANAGER, t
            if user in AGENTS:
                role, team = Role.AGENT, SUPPORT_GROUP
            if user == "admin":
                role = Role.ADMIN
            token = self.platform.runtime.tokens.issue(user, role, DEMO_TENANT, team=team)
            self._headers[user] = {"Authorization": f"Bearer {token}"}
        return self._headers[user]

    async def send(
        self, user: str, method: str, url: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        r = await self.client.request(method, url, json=body, headers=self.user(user))
        self.commands += 1
        if r.status_code >= 300:
            raise DemoError(f"{user}: {method} {url} -> {r.status_code} {r.text}")
        return dict(r.json())

    async def register(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /customers``. The demo's people are distinct by construction, so a likely
        duplicate (two Ada Lindqvists at Lindqvist Legal) is confirmed distinct, as the user
        who looked at the candidates the 409 names would."""
        r = await self.client.post("/customers", json=body, headers=self.user(user))
        self.commands += 1
        if r.status_code == 409 and r.json().get("code") == "possible_duplicate":
            return await self.send(user, "POST", "/customers", {**body, "confirm_distinct": True})
        if r.status_code >= 300:
            raise DemoError(f"{user}: POST /customers -> {r.status_code} {r.text}")
        return dict(r.json())

    async def get(self, user: str, url: str, **params: Any) -> httpx.Response:
        return await self.client.get(url, params=params, headers=self.user(user))

    async def until(self, user: str, url: str, done: Callable[[dict[str, Any]], bool]) -> None:
        """Wait for something another process does (the lead conversion's reaction)."""
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while True:
            r = await self.get(user, url)
            if r.status_code == 200 and done(r.json()):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise DemoError(f"{url} did not get there in {WAIT_SECONDS}s: {r.text}")
            await asyncio.sleep(0.02)
