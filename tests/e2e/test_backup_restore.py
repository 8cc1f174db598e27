"""A restore drill (issue 16): ``crm backup`` taken by another process while commands flow,
``crm restore`` into a fresh data directory, every read model rebuilt there, and what it
serves equals what the original serves. The key store's copy lives apart from the log's."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from crm.platform.bootstrap import Platform
from crm.platform.status import projection_status
from tests.conftest import SECRET, Api

pytestmark = pytest.mark.e2e
CRM = str(Path(sys.executable).parent / "crm")


async def crm(data_dir: Path, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env |= {"CRM_DATA_DIR": str(data_dir), "CRM_SECRET": SECRET}
    proc = await asyncio.create_subprocess_exec(
        CRM, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    return await proc.wait(), out.decode()


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def read_models(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every document of every read model (``rm_*`` tables), by collection; a collection
    without documents is left out (a live store creates its table at its first document, a
    restore's rebuild at the swap)."""
    tables = [
        t
        for (t,) in rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")
        if t.startswith("rm_")
    ]
    found = {t: rows(db, f'SELECT id, position, doc FROM "{t}" ORDER BY id') for t in tables}
    return {t: docs for t, docs in found.items() if docs}


async def caught_up(platform: Platform) -> int:
    """Wait until no command is running, the log stopped growing and every projection has
    applied all of it: the head then."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        head = await platform.store.head_position()
        behind = [
            s.name
            for p in platform.projections
            if (s := await projection_status(platform.store, platform.read_store, p)).behind
        ]
        await asyncio.sleep(0.3)
        if not behind and await platform.store.head_position() == head:
            return head
        assert asyncio.get_running_loop().time() < deadline, f"still behind: {behind}"


class Load:
    """Customers registered and tagged one after another until stopped."""

    def __init__(self, api: Api) -> None:
        self.client = api.as_user("loader")
        self.done = 0
        self.stopping = False

    async def run(self) -> None:
        n = 0
        while not self.stopping:
            n += 1
            r = await self.client.post(
                "/customers", json={"name": f"Load {n}", "email": f"load{n}@example.com"}
            )
            assert r.status_code == 201, r.text
            t = await self.client.post(f"/customers/{r.json()['id']}/tags", json={"tag": "drill"})
            assert t.status_code in (200, 201), t.text
            self.done += 2


async def test_a_backup_under_load_restores_to_the_same_read_models(
    api: Api, platform: Platform, tmp_path: Path
) -> None:
    data = tmp_path / "data"  # the platform fixture's
    ada = await api.as_user("alice").post(
        "/customers", json={"name": "Ada Lovelace", "email": "ada@example.com"}
    )
    assert ada.status_code == 201, ada.text

    load = Load(api)
    task = asyncio.create_task(load.run())
    while load.done < 20:  # noqa: ASYNC110 - the load runs in the same loop
        await asyncio.sleep(0.05)
    before = await platform.store.head_position()
    code, out = await crm(data, "backup", str(tmp_path / "b1"), "--keys", str(tmp_path / "k1"))
    assert code == 0, out
    manifest = json.loads((tmp_path / "b1" / "backup.json").read_text())
    taken = manifest["head_position"]
    # the load writes on past the backup's head (on a busy machine the backup may finish
    # before the next command commits: waited for, not assumed)
    deadline = asyncio.get_running_loop().time() + 30
    while await platform.store.head_position() <= taken:
        assert asyncio.get_running_loop().time() < deadline, "the load stopped at the backup"
        await asyncio.sleep(0.05)
    load.stopping = True
    await task
    after = await platform.store.head_position()
    assert before < taken < after, (before, taken, after)  # commands flowed meanwhile
    assert not (tmp_path / "b1" / "keys.db").exists()  # the keys only where --keys said
    assert (tmp_path / "k1" / "keys.db").exists()

    # the log's copy is a consistent prefix of the log: every event up to its head, no more
    original_log = data / "events.db"
    backup_log = tmp_path / "b1" / "events.db"
    assert rows(backup_log, "SELECT * FROM events ORDER BY position") == rows(
        original_log, "SELECT * FROM events WHERE position <= ? ORDER BY position", taken
    )

    code, out = await crm(
        tmp_path / "r1", "restore", str(tmp_path / "b1"), "--keys", str(tmp_path / "k1")
    )
    assert code == 0, out
    assert "rebuilt" in out
    # the customers whose streams the backup holds whole read the same as in the original
    whole = {
        sid.removeprefix("customer-")
        for (sid,) in rows(
            backup_log, "SELECT DISTINCT stream_id FROM events WHERE category = 'customer'"
        )
    }
    later = {
        sid.removeprefix("customer-")
        for (sid,) in rows(
            original_log, "SELECT DISTINCT stream_id FROM events WHERE position > ?", taken
        )
    }
    whole -= later
    assert ada.json()["id"] in whole
    original = dict(
        (i, (p, d)) for i, p, d in read_models(data / "read.db")["rm_customers"] if i in whole
    )
    restored = dict(
        (i, (p, d))
        for i, p, d in read_models(tmp_path / "r1" / "read.db")["rm_customers"]
        if i in whole
    )
    assert restored == original
    assert len(original) == len(whole)

    # once quiet, a second backup restores to exactly the original's read models
    head = await caught_up(platform)
    code, out = await crm(data, "backup", str(tmp_path / "b2"), "--keys", str(tmp_path / "k2"))
    assert code == 0, out
    code, out = await crm(
        tmp_path / "r2", "restore", str(tmp_path / "b2"), "--keys", str(tmp_path / "k2")
    )
    assert code == 0, out
    assert json.loads((tmp_path / "b2" / "backup.json").read_text())["head_position"] == head
    live, rebuilt = read_models(data / "read.db"), read_models(tmp_path / "r2" / "read.db")
    assert rebuilt.keys() == live.keys()
    for table in live:
        assert rebuilt[table] == live[table], table
    # and the restored platform decrypts with the restored keys
    doc = json.loads(dict((i, d) for i, _, d in rebuilt["rm_customers"])[ada.json()["id"]])
    assert doc["name"] == "Ada Lovelace"


async def test_backup_refuses_keys_beside_the_log_and_restore_over_a_live_store(
    api: Api, platform: Platform, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    r = await api.as_user("alice").post("/customers", json={"name": "Ada"})
    assert r.status_code == 201, r.text
    code, out = await crm(data, "backup", str(tmp_path / "b"), "--keys", str(tmp_path / "b" / "k"))
    assert code == 2, out
    assert "apart" in out, out
    code, out = await crm(data, "backup", str(tmp_path / "b"))
    assert code == 0, out
    assert "not backed up" in out, out
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["backup.json", "events.db"]
    code, out = await crm(data, "backup", str(tmp_path / "b"))
    assert code == 2, out
    assert "not empty" in out, out
    code, out = await crm(data, "restore", str(tmp_path / "b"), "--without-keys")
    assert code == 2, out
    assert "fresh data directory" in out, out
    code, out = await crm(tmp_path / "fresh", "restore", str(tmp_path / "b"))
    assert code == 2, out
    assert "--without-keys" in out, out
    code, out = await crm(
        tmp_path / "fresh", "restore", str(tmp_path / "nothing"), "--without-keys"
    )
    assert code == 2, out
    assert "holds no backup" in out, out
