"""The read store port: documents by collection and id, written only by projections.

Each document remembers the global position of the last event applied to it, and a write
lands only if it carries a later position: a redelivered event changes nothing. Each
projection's checkpoint moves in the same commit as its writes, and only from the position
the writer last saw (compare-and-set), so a rebuild that swaps in new collections rewinds a
live runner instead of racing it.

Filters are a small subset of MongoDB's query language, so the same query runs on every
adapter: ``{"owner_id": "u1", "tags": {"$contains": "vip"}, "$or": [...]}`` with the
operators ``$eq $ne $in $nin $gt $gte $lt $lte $exists $contains $icontains $or $and``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from crm.kernel.errors import CrmError

Document = dict[str, Any]
Filter = Mapping[str, Any]

FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
OPERATORS = frozenset(
    {
        "$eq",
        "$ne",
        "$in",
        "$nin",
        "$gt",
        "$gte",
        "$lt",
        "$lte",
        "$exists",
        "$contains",
        "$icontains",
    }
)


class InvalidQuery(CrmError, ValueError):
    """A filter or sort that the read store cannot run (an unknown operator or field path)."""


class CheckpointMoved(CrmError):
    """The projection's checkpoint is not where this writer left it (a rebuild swapped it)."""


@dataclass(frozen=True, slots=True)
class Index:
    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    name: str
    indexes: tuple[Index, ...] = ()


@dataclass(frozen=True, slots=True)
class Write:
    """Set a document (``doc``) or delete it (``None``, kept as a tombstone with its position)."""

    collection: str
    id: str
    doc: Document | None
    position: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event a projection could not apply, kept with the reason, never silently dropped."""

    projection: str
    position: int
    event_id: str
    event_type: str
    error: str
    failed_at: datetime


@dataclass(frozen=True, slots=True)
class Query:
    filter: Filter = field(default_factory=dict)
    sort: tuple[tuple[str, int], ...] = ()
    """(field path, 1 ascending | -1 descending); ties are broken by id."""
    limit: int = 50
    offset: int = 0

    @classmethod
    def all_of(
        cls, conditions: Sequence[Filter], *, sort: str, limit: int = 50, offset: int = 0
    ) -> Query:
        """The documents meeting every condition, sorted as an API's ``sort`` parameter says
        (``"field"`` ascending, ``"-field"`` descending), one page of them."""
        return cls(
            filter={"$and": list(conditions)},
            sort=(sort_order(sort),),
            limit=limit,
            offset=offset,
        )


def sort_order(sort: str) -> tuple[str, int]:
    """An API's ``sort`` parameter as (field, direction): ``"-name"`` is name descending."""
    return (sort[1:], -1) if sort.startswith("-") else (sort, 1)


async def find_all(
    read_store: ReadStore,
    collection: str,
    flt: Filter,
    *,
    sort: tuple[tuple[str, int], ...] = (("id", 1),),
    page_size: int = 200,
) -> list[Document]:
    """Every document of ``collection`` matching ``flt``, read page by page (a scheduler's or
    a report's whole working set, not an API page)."""
    found: list[Document] = []
    while True:
        page = await read_store.find(
            collection,
            Query(filter=dict(flt), sort=sort, limit=page_size, offset=len(found)),
        )
        found.extend(page.items)
        if not page.items or len(found) >= page.total:
            return found


def equal_to(**fields: Any) -> list[dict[str, Any]]:
    """Equality conditions for the filters a caller gave (a None value filters nothing)."""
    return [{name: value} for name, value in fields.items() if value is not None]


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Document]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a projection got, and in which epoch: a rebuild's swap starts a new epoch, so
    a writer that loaded documents from the collections it replaced cannot commit."""

    position: int = 0
    epoch: int = 0


@dataclass(frozen=True, slots=True)
class Versioned:
    """A stored document (None: absent or deleted) and the position last applied to it."""

    doc: Document | None
    position: int


class ReadStore(Protocol):
    async def ensure(self, collections: Sequence[CollectionSpec]) -> None:
        """Create the collections and their indexes if they do not exist."""
        ...

    async def get(self, collection: str, id: str) -> Document | None: ...

    async def get_versioned(self, collection: str, ids: Sequence[str]) -> dict[str, Versioned]:
        """The documents (tombstones included) with their positions; absent ids are left out."""
        ...

    async def find(self, collection: str, query: Query) -> Page: ...

    async def commit(
        self,
        projection: str,
        writes: Sequence[Write],
        *,
        checkpoint: int,
        expected: Checkpoint,
        dead_letters: Sequence[DeadLetter] = (),
    ) -> Checkpoint:
        """Apply ``writes`` (each only if newer than the stored document), record
        ``dead_letters`` and move the checkpoint from ``expected`` to position ``checkpoint``
        in the same epoch, durably; CheckpointMoved if it was elsewhere."""
        ...

    async def checkpoint(self, projection: str) -> Checkpoint: ...

    async def wait_for_checkpoint(self, projection: str, position: int, timeout: float) -> int:
        """Wait until the checkpoint reaches ``position`` or ``timeout`` passes; return it."""
        ...

    async def dead_letters(self, projection: str | None = None) -> list[DeadLetter]: ...

    async def drop(self, collections: Sequence[str], projection: str) -> None:
        """Drop the collections and the projection's checkpoint (a staging area, say)."""
        ...

    async def swap(
        self, projection: str, collections: Mapping[str, str], *, staged_projection: str
    ) -> int:
        """Atomically replace each live collection (key) by its staged one (value) and give
        ``projection`` the staged position in a new epoch; return the position."""
        ...

    async def close(self) -> None: ...


def check_field(path: str) -> str:
    if not FIELD_PATH.match(path):
        raise InvalidQuery(f"not a field path: {path!r}")
    return path
