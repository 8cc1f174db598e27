"""The PostgreSQL key store against the key store contract. Runs when
``CRM_TEST_POSTGRES_URL`` names a database; each test gets a fresh schema, dropped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from crm.kernel.adapters.postgres.key_store import PostgresKeyStore
from crm.kernel.keys import KeyStore
from tests.contract.key_store_contract import KeyStoreContract
from tests.support.postgres import URL, fresh_schema, needs_postgres

pytestmark = [pytest.mark.contract, needs_postgres]


@pytest.fixture
def schema() -> Iterator[str]:
    yield from fresh_schema("test_keys")


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
