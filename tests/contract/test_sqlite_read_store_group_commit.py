"""Group commit in the SQLite read store: the commits of several projections that wait for the
writer at once share one transaction (one fsync), each in a savepoint of its own, so one that
fails leaves the others committed and itself entirely unwritten (documents and checkpoint)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm.kernel.adapters.sqlite.read_store import SqliteReadStore
from crm.kernel.read_store import Checkpoint, CheckpointMoved, CollectionSpec, Index, Write

pytestmark = pytest.mark.contract


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteReadStore]:
    s = SqliteReadStore(tmp_path / "read.db")
    yield s
    await s.close()


async def held_writer(store: SqliteReadStore) -> threading.Event:
    """Keep the writer thread busy until the event is set, so commits queue up behind it."""
    gate = threading.Event()
    store._writer_pool.submit(gate.wait)
    return gate


async def test_waiting_commits_share_one_transaction_and_fail_alone(
    store: SqliteReadStore,
) -> None:
    await store.commit("p3", [], checkpoint=5, expected=Checkpoint())
    before = store.transactions
    gate = await held_writer(store)
    commits = [
        asyncio.create_task(
            store.commit(
                f"p{i}",
                [Write(f"docs{i}", "a", {"n": i}, 10)],
                checkpoint=10,
                expected=Checkpoint(),  # p3 is at 5: its commit is refused
            )
        )
        for i in range(6)
    ]
    await asyncio.sleep(0.05)
    assert not any(c.done() for c in commits)
    gate.set()
    outcomes = await asyncio.gather(*commits, return_exceptions=True)
    assert store.transactions == before + 1
    assert isinstance(outcomes[3], CheckpointMoved)
    for i in (0, 1, 2, 4, 5):
        assert outcomes[i] == Checkpoint(10, 0)
        assert await store.checkpoint(f"p{i}") == Checkpoint(10, 0)
        assert await store.get(f"docs{i}", "a") == {"n": i}
    assert await store.checkpoint("p3") == Checkpoint(5, 0)
    assert await store.get("docs3", "a") is None
    # the table the refused commit created went with it, and is created again when needed
    await store.commit(
        "p3", [Write("docs3", "a", {"n": 3}, 10)], checkpoint=10, expected=Checkpoint(5, 0)
    )
    assert await store.get("docs3", "a") == {"n": 3}


async def test_a_document_a_unique_index_refuses_rolls_back_its_commit_only(
    store: SqliteReadStore,
) -> None:
    await store.ensure([CollectionSpec("people", (Index(("email",), unique=True),))])
    await store.commit(
        "first", [Write("people", "1", {"email": "a@x"}, 1)], checkpoint=1, expected=Checkpoint()
    )
    gate = await held_writer(store)
    clash = asyncio.create_task(
        store.commit(
            "second",
            [Write("other", "z", {"k": 1}, 2), Write("people", "2", {"email": "a@x"}, 2)],
            checkpoint=2,
            expected=Checkpoint(),
        )
    )
    fine = asyncio.create_task(
        store.commit(
            "third",
            [Write("people", "3", {"email": "c@x"}, 3)],
            checkpoint=3,
            expected=Checkpoint(),
        )
    )
    await asyncio.sleep(0.05)
    gate.set()
    with pytest.raises(sqlite3.IntegrityError):
        await clash
    assert await fine == Checkpoint(3, 0)
    assert await store.checkpoint("second") == Checkpoint()
    assert await store.get("other", "z") is None
    assert await store.get("people", "2") is None
    assert await store.get("people", "3") == {"email": "c@x"}


async def test_a_commit_cancelled_before_the_writer_got_to_it_writes_nothing(
    store: SqliteReadStore,
) -> None:
    gate = await held_writer(store)
    cancelled = asyncio.create_task(
        store.commit("gone", [Write("docs", "a", {"n": 1}, 1)], checkpoint=1, expected=Checkpoint())
    )
    kept = asyncio.create_task(
        store.commit("kept", [Write("docs", "b", {"n": 2}, 2)], checkpoint=2, expected=Checkpoint())
    )
    await asyncio.sleep(0.05)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    gate.set()
    assert await kept == Checkpoint(2, 0)
    assert await store.checkpoint("gone") == Checkpoint()
    assert await store.get("docs", "a") is None
    assert await store.get("docs", "b") == {"n": 2}
