"""What the tests of imports share: waiting for an import to finish over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import UserClient


async def finished(client: UserClient, import_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """``GET /imports/{id}`` once its status is ``finished`` (within ``timeout`` seconds)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r = await client.get(f"/imports/{import_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] == "finished":
            return dict(r.json())
        assert asyncio.get_running_loop().time() < deadline, r.json()
        await asyncio.sleep(0.05)
