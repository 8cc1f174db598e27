"""``crm backup`` and ``crm restore`` for the embedded stores (SQLite).

What is backed up, and where:

- **the event log** (``events.db``) into the backup directory: it is the system of record.
- **the key store** (``keys.db``) only into a directory of its own (``--keys``), never beside
  the log. Personal fields in the log are encrypted with a key per subject, and erasure
  deletes the key (crypto-shredding): a backup of the log alone keeps an erased customer
  erased, while a backup that held the keys would bring them back. Keep key backups apart,
  with their own (short) retention, and restore the newest.
- **not the read models**: they are derived, so a restore rebuilds every projection from the
  restored log instead (a read model restored from a file could be older or newer than the
  log beside it; a rebuild cannot).

Each file is copied with SQLite's online backup API from inside one read transaction: in WAL
mode writers in other processes go on committing meanwhile, and the copy is the database as
of the transaction's start (a consistent prefix of the log, never a torn commit). The copy
runs in steps of ``STEP_PAGES`` pages, reporting its progress.

PostgreSQL (``CRM_EVENT_STORE`` and ``CRM_KEY_STORE`` as ``postgresql://`` URLs) is backed up
with its own tools (``pg_dump``, see the README); these commands refuse such URLs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from crm.console.install import console_projections
from crm.kernel.adapters.sqlite.connection import connect, path_from_url
from crm.kernel.projection import rebuild
from crm.kernel.settings import Settings
from crm.platform.bootstrap import open_platform

STEP_PAGES = 256
EVENTS_FILE = "events.db"
KEYS_FILE = "keys.db"
MANIFEST = "backup.json"
FORMAT = "crm-backup/1"

Progress = Callable[[str, int, int], None]
"""``(what, done, total)``: pages copied of a file, or events rebuilt of a projection."""


class BackupError(ValueError):
    """The backup or restore cannot be done as asked (the message says why)."""


@dataclass(frozen=True)
class BackupReport:
    directory: Path
    head_position: int
    events: int
    keys: Path | None


@dataclass(frozen=True)
class RestoreReport:
    head_position: int
    events: int
    keys: bool
    rebuilt: dict[str, int]


def _sqlite_path(url: str, what: str) -> Path:
    if not url.startswith("sqlite:"):
        raise BackupError(
            f"the {what} is {url.split(':', 1)[0]}, not the embedded SQLite: back it up with"
            " its own tools (PostgreSQL: pg_dump, see the README's Backups and recovery)"
        )
    return path_from_url(url)


def copy_database(source: Path, target: Path, progress: Progress, what: str) -> None:
    """Copy ``source`` into the new file ``target`` as of one moment (see the module
    docstring): the read transaction is opened before the first page and held to the last."""
    src = connect(source)
    try:
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts
        dst = sqlite3.connect(target)
        try:
            src.backup(
                dst,
                pages=STEP_PAGES,
                progress=lambda _status, remaining, total: progress(what, total - remaining, total),
            )
        finally:
            dst.close()
        src.execute("COMMIT")
    finally:
        src.close()
    check = sqlite3.connect(target)
    try:
        check.execute("PRAGMA journal_mode=WAL")  # as the stores open it
        result = check.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        check.close()
    if result != "ok":
        raise BackupError(f"the copy of {source} failed SQLite's integrity check: {result}")


def _log_extent(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        head, count = conn.execute(
            "SELECT COALESCE(MAX(position), 0), COUNT(*) FROM events"
        ).fetchone()
    finally:
        conn.close()
    return int(head), int(count)


def _empty_target(directory: Path, what: str) -> None:
    if directory.exists() and not directory.is_dir():
        raise BackupError(f"{what} {directory} is a file, not a directory")
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{what} {directory} is not empty: a backup goes into a new directory")


def _apart(log_dir: Path, keys_dir: Path) -> None:
    a, b = log_dir.resolve(), keys_dir.resolve()
    if a == b or a in b.parents or b in a.parents:
        raise BackupError(
            "--keys must be a directory apart from the log's backup (neither inside the"
            " other): a backup of the log must not hold the keys that erasure deletes"
        )


def backup(settings: Settings, out: Path, keys: Path | None, progress: Progress) -> BackupReport:
    events_path = _sqlite_path(settings.event_store_url, "event store")
    if not events_path.exists():
        raise BackupError(f"no event store at {events_path} (CRM_DATA_DIR, CRM_EVENT_STORE)")
    keys_path: Path | None = None
    if keys is not None:
        keys_path = _sqlite_path(settings.key_store_url, "key store")
        _apart(out, keys)
        _empty_target(keys, "the keys' directory")
    _empty_target(out, "the backup directory")
    out.mkdir(parents=True, exist_ok=True)
    taken_at = datetime.now(UTC).isoformat()
    copy_database(events_path, out / EVENTS_FILE, progress, "event log")
    head, count = _log_extent(out / EVENTS_FILE)
    _write_manifest(
        out, {"contains": "event log", "head_position": head, "events": count}, taken_at
    )
    if keys is not None and keys_path is not None:
        keys.mkdir(parents=True, exist_ok=True)
        if keys_path.exists():
            copy_database(keys_path, keys / KEYS_FILE, progress, "key store")
        else:  # nothing was ever encrypted yet: an empty key store is the truth
            connect(keys / KEYS_FILE).close()
        # taken after the log: it holds every key the log's events need (and may hold keys
        # of later events, harmless), and no key erased before the log's copy was taken
        _write_manifest(keys, {"contains": "key store", "log_head_position": head}, taken_at)
    return BackupReport(out, head, count, keys)


def _write_manifest(directory: Path, fields: dict[str, object], taken_at: str) -> None:
    body = {"format": FORMAT, "taken_at": taken_at, **fields}
    (directory / MANIFEST).write_text(json.dumps(body, indent=2) + "\n")


def _read_manifest(directory: Path, contains: str) -> dict[str, object]:
    try:
        body = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{directory} holds no backup ({MANIFEST} is missing)") from None
    except json.JSONDecodeError as e:
        raise BackupError(f"{directory / MANIFEST} is not valid JSON: {e}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise BackupError(f"{directory / MANIFEST} is not a {FORMAT} manifest")
    if body.get("contains") != contains:
        raise BackupError(
            f"{directory} holds a backup of the {body.get('contains')}, not the {contains}"
        )
    return body


async def restore(
    settings: Settings, source: Path, keys: Path | None, progress: Progress
) -> RestoreReport:
    """Restore into the stores ``settings`` name, which must not exist yet, then rebuild
    every read model from the restored log."""
    _read_manifest(source, "event log")
    if keys is not None:
        _read_manifest(keys, "key store")
    events_path = _sqlite_path(settings.event_store_url, "event store")
    keys_path = _sqlite_path(settings.key_store_url, "key store")
    read_path = _sqlite_path(settings.read_store_url, "read store")
    for path, what in (
        (events_path, "event store"),
        (keys_path, "key store"),
        (read_path, "read store"),
    ):
        if path.exists():
            raise BackupError(
                f"a {what} exists at {path}: restore into a fresh data directory"
                " (CRM_DATA_DIR), never over a live one"
            )
    events_path.parent.mkdir(parents=True, exist_ok=True)
    copy_database(source / EVENTS_FILE, events_path, progress, "event log")
    if keys is not None:
        keys_path.parent.mkdir(parents=True, exist_ok=True)
        copy_database(keys / KEYS_FILE, keys_path, progress, "key store")
    head, count = _log_extent(events_path)
    platform = open_platform(settings)
    rebuilt: dict[str, int] = {}
    try:
        # the contexts' read models and the console's (what `crm up` runs)
        for projection in [*platform.projections, *console_projections()]:
            name = projection.name

            def report(position: int, end: int, name: str = name) -> None:
                progress(f"rebuild {name}", position, end)

            rebuilt[name] = await rebuild(
                projection,
                platform.store,
                platform.read_store,
                platform.runtime.codec,
                progress=report,
            )
    finally:
        await platform.close()
    return RestoreReport(head, count, keys is not None, rebuilt)


__all__ = ["BackupError", "BackupReport", "RestoreReport", "backup", "copy_database", "restore"]
