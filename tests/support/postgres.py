"""A real PostgreSQL for the adapters' contract suites: the URL CI exports (``.ci/postgres``
installs and starts the server), a marker that skips with the reason when there is none, and
a fresh schema per test, dropped afterwards."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from uuid import uuid4

import pytest

URL = os.environ.get("CRM_TEST_POSTGRES_URL", "")

needs_postgres = pytest.mark.skipif(
    not URL, reason="CRM_TEST_POSTGRES_URL is not set (CI sets it with .ci/postgres)"
)


async def drop_schema(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(URL)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


def fresh_schema(prefix: str) -> Iterator[str]:
    """A schema name no other test uses; dropped (with everything in it) after the test."""
    name = f"{prefix}_{uuid4().hex[:12]}"
    yield name
    asyncio.run(drop_schema(name))
