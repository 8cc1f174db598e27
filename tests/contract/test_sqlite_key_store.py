"""The SQLite key store against the key store contract."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from crm.kernel.adapters.sqlite.key_store import SqliteKeyStore
from crm.kernel.keys import KeyStore
from tests.contract.key_store_contract import KeyStoreContract

pytestmark = pytest.mark.contract


@pytest.fixture
async def key_store(tmp_path: Path) -> AsyncIterator[KeyStore]:
    store = SqliteKeyStore(tmp_path / "keys.db")
    yield store
    await store.close()


@pytest.fixture
def reopen(tmp_path: Path) -> Callable[[], KeyStore]:
    return lambda: SqliteKeyStore(tmp_path / "keys.db")


class TestSqliteKeyStore(KeyStoreContract):
    pass
