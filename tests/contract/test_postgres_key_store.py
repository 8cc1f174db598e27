"""The PostgreSQL key store against the key store contract. Runs when
``CRM_TEST_POSTGRES_URL`` names a database; each test gets a fresh schema, dropped afterwards."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from uuid import uuid4

import pytest

from crm.kernel.adapters.postgres.key_store import PostgresKeyStore
from crm.kernel.keys import KeyStore
from tests.contract.key_store_contract import KeyStoreContract

URL = os.environ.get("CRM_TEST_POSTGRES_URL", "")

pytestmark = [
    pytest.mark.contract,
    pytest.mark.skipif(
        not URL, reason="CRM_TEST_POSTGRES_URL is not set (CI sets it with .ci/postgres)"
    ),
]


async def drop_schema(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(URL)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"test_keys_{uuid4().hex[:12]}"
    yield name
    asyncio.run(drop_schema(name))


@pytest.fixture
async def key_store(schema: str) -> AsyncIterator[KeyStore]:
    store = PostgresKeyStore(URL, schema=schema)
    yield store
    await store.close()


@pytest.fixture
def reopen(schema: str) -> Callable[[], KeyStore]:
    return lambda: PostgresKeyStore(URL, schema=schema)


class TestPostgresKeyStore(KeyStoreContract):
    pass
