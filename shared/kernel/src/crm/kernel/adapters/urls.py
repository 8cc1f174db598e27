"""Which adapter serves a port, chosen by the scheme of its URL.

``memory://`` (event store and read store) keeps the data in this process's memory, for tests
and quick experiments: it is lost when the process exits. ``memory://`` alone opens a fresh,
private store each time; ``memory://NAME`` the store of that name, shared by every opening in
this process (a rebuild beside a running platform in another process cannot see it).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from crm.kernel.event_store import EventStore
from crm.kernel.keys import KeyStore
from crm.kernel.read_store import ReadStore


class UnsupportedUrl(ValueError):
    pass


def _scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()


def _memory_name(url: str) -> str | None:
    """The name of a ``memory://NAME`` store, None for a private ``memory://`` one."""
    parts = urlsplit(url)
    name = (parts.netloc + parts.path).strip("/")
    return name or None


def open_event_store(url: str, *, synchronous: str = "FULL") -> EventStore:
    scheme = _scheme(url)
    if scheme == "memory":
        from crm.kernel.adapters.memory.event_store import InMemoryEventStore, shared_log

        name = _memory_name(url)
        return InMemoryEventStore(None if name is None else shared_log(name))
    if scheme == "sqlite":
        from crm.kernel.adapters.sqlite.connection import path_from_url
        from crm.kernel.adapters.sqlite.event_store import SqliteEventStore

        return SqliteEventStore(path_from_url(url), synchronous=synchronous)
    if scheme in ("postgresql", "postgres"):
        from crm.kernel.adapters.postgres.event_store import PostgresEventStore

        return PostgresEventStore(url)  # `synchronous` is SQLite's; PostgreSQL's settings decide
    if scheme in ("esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover"):
        from crm.kernel.adapters.kurrentdb import KurrentDBEventStore

        return KurrentDBEventStore(url)  # `synchronous` is SQLite's; the server decides durability
    raise UnsupportedUrl(
        f"no event store adapter for {scheme!r} URLs"
        " (supported: memory, sqlite, postgresql, postgres, esdb, esdb+discover, kurrentdb,"
        " kurrentdb+discover)"
    )


def open_read_store(url: str, *, synchronous: str = "FULL") -> ReadStore:
    scheme = _scheme(url)
    if scheme == "memory":
        from crm.kernel.adapters.memory.read_store import InMemoryReadStore, shared_state

        name = _memory_name(url)
        return InMemoryReadStore(None if name is None else shared_state(name))
    if scheme == "sqlite":
        from crm.kernel.adapters.sqlite.connection import path_from_url
        from crm.kernel.adapters.sqlite.read_store import SqliteReadStore

        return SqliteReadStore(path_from_url(url), synchronous=synchronous)
    if scheme in ("mongodb", "mongodb+srv"):
        from crm.kernel.adapters.mongodb import MongoReadStore

        return MongoReadStore(url)
    raise UnsupportedUrl(
        f"no read store adapter for {scheme!r} URLs (supported: memory, sqlite, mongodb,"
        " mongodb+srv)"
    )


def open_key_store(url: str) -> KeyStore:
    scheme = _scheme(url)
    if scheme == "sqlite":
        from crm.kernel.adapters.sqlite.connection import path_from_url
        from crm.kernel.adapters.sqlite.key_store import SqliteKeyStore

        return SqliteKeyStore(path_from_url(url))
    if scheme in ("postgresql", "postgres"):
        from crm.kernel.adapters.postgres.key_store import PostgresKeyStore

        return PostgresKeyStore(url)
    raise UnsupportedUrl(
        f"no key store adapter for {scheme!r} URLs (supported: sqlite, postgresql, postgres)"
    )
