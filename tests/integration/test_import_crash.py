"""An import SIGKILLed half-way and resumed creates every row exactly once.

``crm import customers`` runs as its own process on a data directory; the test watches the
event store from outside, kills the process (SIGKILL: no cleanup, no last batch recorded)
once it has recorded progress and before it finishes, then runs ``--resume ID``. Afterwards
each row that creates has exactly one customer, under the id derived from (import, row),
the planted duplicates and bad rows none, and the import's own record lists every created
row once."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from crm.events import EventEnvelope
from crm.kernel.adapters.urls import open_event_store
from crm.kernel.settings import Settings
from crm.platform.bootstrap import ensure_tenant, open_platform
from crm.platform.imports.run import record_id
from tests.conftest import SECRET

pytestmark = [pytest.mark.integration]

ROWS = 3000


def write_file(path: Path) -> set[int]:
    """The rows (by their spreadsheet number) that create: every 97th repeats an earlier
    row's e-mail (a duplicate), every 89th has no valid e-mail (an error)."""
    creating: set[int] = set()
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["Name", "E-mail", "Phone"])
        for i in range(ROWS):
            row = i + 2
            email = f"person{i}@example.com"
            if i and i % 97 == 0:
                email = f"person{i - 50}@example.com"
            elif i and i % 89 == 0:
                email = f"person{i}-at-example.com"
            else:
                creating.add(row)
            out.writerow([f"Customer Number {i}", email, f"+86 139{i:08d}"])
    return creating


async def log(settings: Settings) -> list[EventEnvelope]:
    store = open_event_store(settings.event_store_url)
    try:
        return [e async for page in store.read_all(0) for e in page]
    finally:
        await store.close()


async def wait_for_progress(settings: Settings, process: asyncio.subprocess.Process) -> str:
    """The import's id, once it has recorded a batch done (and is not finished)."""
    store = open_event_store(settings.event_store_url)
    try:
        deadline = asyncio.get_running_loop().time() + 120
        while True:
            types: dict[str, str] = {}
            async for page in store.read_all(0, categories={"import"}):
                for e in page:
                    types.setdefault(e.event_type, e.stream_id)
            if "import.progressed" in types:
                assert "import.finished" not in types, "the import finished before the kill"
                return types["import.planned"].partition("-")[2]
            assert process.returncode is None, "the import stopped on its own"
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
    finally:
        await store.close()


def crm(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "crm"), *args]


async def test_sigkill_half_way_then_resume_creates_every_row_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret=SECRET)
    platform = open_platform(settings, contexts=())
    await ensure_tenant(platform, "default")
    await platform.close()
    creating = write_file(tmp_path / "customers.csv")
    env = {**os.environ, "CRM_DATA_DIR": str(settings.data_dir), "CRM_SECRET": SECRET}
    file = str(tmp_path / "customers.csv")

    process = await asyncio.create_subprocess_exec(
        *crm("import", "customers", file),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import_id = await wait_for_progress(settings, process)
        process.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGKILL
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    before = await log(settings)
    created_before = [e for e in before if e.event_type == "customer.registered"]
    assert 0 < len(created_before) < len(creating), "killed half-way"
    assert not any(e.event_type == "import.finished" for e in before)

    resumed = await asyncio.create_subprocess_exec(
        *crm("import", "customers", file, "--resume", import_id),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(resumed.communicate(), 600)
    assert resumed.returncode == 0, err.decode()[-2000:]
    assert f"import {import_id}:" in out.decode()

    after = await log(settings)
    registered = [e for e in after if e.event_type == "customer.registered"]
    streams = Counter(e.stream_id for e in registered)
    assert all(n == 1 for n in streams.values()), "a row was created twice"
    assert set(streams) == {f"customer-{record_id(import_id, row)}" for row in creating}
    assert {str(e.correlation_id) for e in registered} == {import_id}

    record = [e for e in after if e.stream_id == f"import-{import_id}"]
    rows = Counter(
        r["row"]
        for e in record
        if e.event_type == "import.progressed"
        for r in e.payload["created"]
    )
    assert set(rows) == creating
    assert all(n == 1 for n in rows.values())
    [finished] = [e for e in record if e.event_type == "import.finished"]
    assert finished.payload["created"] == len(creating)
    assert finished.payload["duplicates"] == ROWS // 97
    assert finished.payload["failed"] == ROWS - len(creating) - ROWS // 97
