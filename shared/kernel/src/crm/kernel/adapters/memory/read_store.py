"""The in-memory read store: collections as dictionaries, for tests and quick experiments.

It answers every query as the SQLite store does (the embedded default defines what a filter
returns, see :mod:`crm.kernel.adapters.mongodb.filters`): a field is read as SQLite's
``json_extract`` reads it (missing and null are both NULL, ``true`` is 1, an array or an
object is its JSON text), comparisons follow SQL's NULL logic and SQLite's order across types
(NULL, then numbers, then text), ``$contains`` is ``json_each`` (an element of an array, a
value of an object, or the scalar itself), ``$icontains`` is ``lower(...) LIKE`` (ASCII case
folding). A filter or sort is checked whole before anything is read, so a bad one is refused
even on an empty collection. Unique indexes are enforced (documents missing a field of the
index do not collide, as NULLs do not in SQLite).

A commit is applied under one lock, all or nothing: the guarded writes, the dead letters and
the checkpoint move together. Documents are stored as the SQLite store gives them back (a
JSON round trip) and every read returns a fresh copy. Nothing is written anywhere: the data
lives as long as the :class:`ReadState`, at most until the process exits.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm.kernel.adapters.sqlite.notifier import CommitNotifier
from crm.kernel.errors import CrmError
from crm.kernel.read_store import (
    OPERATORS,
    Checkpoint,
    CheckpointMoved,
    CollectionSpec,
    DeadLetter,
    Document,
    Filter,
    InvalidQuery,
    Page,
    Query,
    Versioned,
    Write,
    check_field,
)

IDLE_RECHECK_SECONDS = 5.0
"""Every writer of a state is in this process and wakes its waiters: this is only a guard."""

SqlValue = int | float | str | None
"""A field as SQLite's ``json_extract`` gives it (booleans as 0/1, arrays and objects as text)."""
Predicate = Callable[[Document], bool]


class UniqueIndexViolated(CrmError):
    """A commit would give two documents the same values of a unique index (nothing landed)."""


# -- reading a field as SQLite does --------------------------------------------------------

_MISSING: Any = object()


def _lookup(doc: Any, parts: Sequence[str]) -> Any:
    for part in parts:
        if not isinstance(doc, dict) or part not in doc:
            return _MISSING
        doc = doc[part]
    return doc


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _sql(value: Any) -> SqlValue:
    """A JSON value as ``json_extract`` returns it."""
    if value is _MISSING or value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | str):
        return value
    return _json_text(value)


def _param(value: Any) -> SqlValue:
    """A filter argument as the SQLite adapter binds it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | str):
        return value
    raise InvalidQuery(f"cannot compare with a {type(value).__name__}: {value!r}")


def _rank(value: SqlValue) -> tuple[int, int | float | str]:
    """SQLite's order across types: NULL, then numbers, then text."""
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (2, value)
    return (1, value)


def _text(value: SqlValue) -> str | None:
    """``value`` as SQLite turns it into text (for ``lower``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.1f}" if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _ascii_lower(text: str) -> str:
    """SQLite's ``lower()`` without ICU folds ASCII letters only."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _path(path: str) -> tuple[str, ...]:
    return tuple(check_field(path).split("."))


# -- filters -------------------------------------------------------------------------------


def compile_predicate(flt: Filter) -> Predicate:
    """The test of a filter (see :mod:`crm.kernel.read_store`) on a document, answering as
    the SQLite store does; a bad filter raises InvalidQuery here, before any document."""
    tests: list[Predicate] = []
    for key, value in flt.items():
        if key in ("$or", "$and"):
            if not isinstance(value, list | tuple) or not value:
                raise InvalidQuery(f"{key} takes a non-empty list of filters")
            parts = [compile_predicate(sub) for sub in value]
            tests.append(_any(parts) if key == "$or" else _all(parts))
            continue
        parts_of_key = _path(key)
        ops = value if isinstance(value, Mapping) else {"$eq": value}
        for op, arg in ops.items():
            tests.append(_compile_op(key, parts_of_key, op, arg))
    return _all(tests)


def _all(tests: Sequence[Predicate]) -> Predicate:
    return lambda doc: all(t(doc) for t in tests)


def _any(tests: Sequence[Predicate]) -> Predicate:
    return lambda doc: any(t(doc) for t in tests)


def _compile_op(key: str, parts: tuple[str, ...], op: str, arg: Any) -> Predicate:
    if op not in OPERATORS:
        raise InvalidQuery(f"unknown operator {op!r} on {key!r}")

    def value(doc: Document) -> SqlValue:
        return _sql(_lookup(doc, parts))

    if op in ("$eq", "$ne"):
        p = _param(arg)
        if p is None:  # IS NULL / IS NOT NULL
            return (lambda d: value(d) is None) if op == "$eq" else (lambda d: value(d) is not None)
        if op == "$eq":
            return lambda d: (v := value(d)) is not None and v == p
        return lambda d: (v := value(d)) is None or v != p
    if op in ("$in", "$nin"):
        if not isinstance(arg, list | tuple | set | frozenset):
            raise InvalidQuery(f"{op} on {key!r} takes a list")
        params = [_param(a) for a in arg]
        if not params:
            return (lambda d: False) if op == "$in" else (lambda d: True)
        has_null = any(a is None for a in params)
        known = [a for a in params if a is not None]
        if op == "$in":  # x IN (..., NULL): true on a match, else NULL
            return lambda d: (v := value(d)) is not None and v in known
        # x IS NULL OR x NOT IN (...): a NULL in the list leaves only the NULL side true
        if has_null:
            return lambda d: value(d) is None
        return lambda d: (v := value(d)) is None or v not in known
    if op in ("$gt", "$gte", "$lt", "$lte"):
        p = _param(arg)
        if p is None:  # a comparison with NULL is NULL
            return lambda d: False
        bound = _rank(p)
        compare: Callable[[Any, Any], bool] = {
            "$gt": lambda a, b: a > b,
            "$gte": lambda a, b: a >= b,
            "$lt": lambda a, b: a < b,
            "$lte": lambda a, b: a <= b,
        }[op]
        return lambda d: (v := value(d)) is not None and compare(_rank(v), bound)
    if op == "$exists":  # json_type(...) IS [NOT] NULL: an explicit null is present
        if arg:
            return lambda d: _lookup(d, parts) is not _MISSING
        return lambda d: _lookup(d, parts) is _MISSING
    if op == "$contains":
        p = _param(arg)
        if p is None:
            return lambda d: False
        return lambda d: any(e is not None and e == p for e in _each(_lookup(d, parts)))
    # $icontains
    if not isinstance(arg, str):
        raise InvalidQuery(f"$icontains on {key!r} takes a string")
    needle = arg.lower()
    return lambda d: (t := _text(value(d))) is not None and needle in _ascii_lower(t)


def _each(found: Any) -> Iterable[SqlValue]:
    """SQLite's ``json_each`` of a path: an array's elements, an object's values, a scalar."""
    if found is _MISSING:
        return ()
    if isinstance(found, list):
        return (_sql(e) for e in found)
    if isinstance(found, dict):
        return (_sql(e) for e in found.values())
    return (_sql(found),)


# -- sorting -------------------------------------------------------------------------------


def sort_key(sort: Sequence[tuple[str, int]]) -> Callable[[list[tuple[str, Document]]], None]:
    """A function sorting ``[(id, doc)]`` in place as ``ORDER BY`` the fields, then the id,
    would (NULLs first ascending); a bad sort raises InvalidQuery here."""
    keys: list[tuple[tuple[str, ...], bool]] = []
    for path, direction in sort:
        if direction not in (1, -1):
            raise InvalidQuery(f"sort direction of {path!r} must be 1 or -1")
        keys.append((_path(path), direction == -1))

    def apply(rows: list[tuple[str, Document]]) -> None:
        rows.sort(key=lambda r: r[0])
        for parts, descending in reversed(keys):  # stable sorts, least significant first
            rows.sort(key=lambda r: _rank(_sql(_lookup(r[1], parts))), reverse=descending)

    return apply


# -- the store -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Stored:
    position: int
    doc: Document | None
    """The document as stored (never handed out: reads decode ``text`` afresh)."""
    text: str | None


def _stored(write: Write) -> _Stored:
    if write.doc is None:
        return _Stored(write.position, None, None)
    text = json.dumps(write.doc, separators=(",", ":"), default=str)
    return _Stored(write.position, json.loads(text), text)


def _copy(stored: _Stored) -> Document | None:
    if stored.text is None:
        return None
    doc: Document = json.loads(stored.text)
    return doc


def _check_collection(collection: str) -> str:
    if not collection.replace("_", "").isalnum():
        raise InvalidQuery(f"not a collection name: {collection!r}")
    return collection


@dataclass
class ReadState:
    """The state of one in-memory read store."""

    collections: dict[str, dict[str, _Stored]] = field(default_factory=dict)
    indexes: dict[str, dict[tuple[str, ...], bool]] = field(default_factory=dict)
    """Collection -> the fields of each declared index -> whether it is unique."""
    checkpoints: dict[str, Checkpoint] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    notifier: CommitNotifier = field(default_factory=CommitNotifier)


def _check_unique(
    collection: str, docs: Iterable[_Stored], indexes: Mapping[tuple[str, ...], bool]
) -> None:
    for fields, unique in indexes.items():
        if not unique:
            continue
        paths = [tuple(f.split(".")) for f in fields]
        seen: set[tuple[SqlValue, ...]] = set()
        for stored in docs:
            if stored.doc is None:
                continue
            values = tuple(_sql(_lookup(stored.doc, p)) for p in paths)
            if any(v is None for v in values):
                continue
            if values in seen:
                raise UniqueIndexViolated(
                    f"{collection}: two documents with {dict(zip(fields, values, strict=True))}"
                )
            seen.add(values)


_NAMED: dict[str, ReadState] = {}
_NAMED_LOCK = threading.Lock()


def shared_state(name: str) -> ReadState:
    """The state of ``memory://NAME``: one per name in this process, kept until it exits."""
    with _NAMED_LOCK:
        return _NAMED.setdefault(name, ReadState())


class InMemoryReadStore:
    """See the module docstring. ``state`` is the state to serve (a fresh one by default)."""

    def __init__(self, state: ReadState | None = None) -> None:
        self.state = state if state is not None else ReadState()

    # -- schema ------------------------------------------------------------------------------

    async def ensure(self, collections: Sequence[CollectionSpec]) -> None:
        state = self.state
        with state.lock:
            for spec in collections:
                docs = state.collections.setdefault(_check_collection(spec.name), {})
                declared = state.indexes.setdefault(spec.name, {})
                for index in spec.indexes:
                    for f in index.fields:
                        check_field(f)
                    if index.fields in declared:
                        continue  # CREATE INDEX IF NOT EXISTS: the first definition stays
                    _check_unique(spec.name, docs.values(), {index.fields: index.unique})
                    declared[index.fields] = index.unique

    # -- reading -----------------------------------------------------------------------------

    async def get(self, collection: str, id: str) -> Document | None:
        with self.state.lock:
            stored = self.state.collections.get(_check_collection(collection), {}).get(id)
        return None if stored is None else _copy(stored)

    async def get_versioned(self, collection: str, ids: Sequence[str]) -> dict[str, Versioned]:
        _check_collection(collection)
        with self.state.lock:
            docs = self.state.collections.get(collection, {})
            found = {i: docs[i] for i in dict.fromkeys(ids) if i in docs}
        return {i: Versioned(_copy(s), s.position) for i, s in found.items()}

    async def find(self, collection: str, query: Query) -> Page:
        _check_collection(collection)
        matches = compile_predicate(query.filter)
        order = sort_key(query.sort)
        if query.limit < 0 or query.offset < 0:
            raise InvalidQuery("limit and offset must not be negative")
        with self.state.lock:
            docs = list(self.state.collections.get(collection, {}).items())
        rows = [(i, s.doc) for i, s in docs if s.doc is not None and matches(s.doc)]
        order(rows)
        chosen = rows[query.offset : query.offset + query.limit]
        by_id = dict(docs)
        items = [d for d in (_copy(by_id[i]) for i, _ in chosen) if d is not None]
        return Page(items, len(rows), query.limit, query.offset)

    async def checkpoint(self, projection: str) -> Checkpoint:
        with self.state.lock:
            return self.state.checkpoints.get(projection, Checkpoint())

    async def wait_for_checkpoint(self, projection: str, position: int, timeout: float) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        notifier = self.state.notifier
        while True:
            seen = notifier.generation
            reached = (await self.checkpoint(projection)).position
            remaining = deadline - loop.time()
            if reached >= position or remaining <= 0:
                return reached
            await notifier.wait(seen, min(remaining, IDLE_RECHECK_SECONDS))

    async def dead_letters(self, projection: str | None = None) -> list[DeadLetter]:
        with self.state.lock:
            return [
                d
                for d in self.state.dead_letters
                if projection is None or d.projection == projection
            ]

    # -- writing -----------------------------------------------------------------------------

    async def commit(
        self,
        projection: str,
        writes: Sequence[Write],
        *,
        checkpoint: int,
        expected: Checkpoint,
        dead_letters: Sequence[DeadLetter] = (),
    ) -> Checkpoint:
        prepared = [(_check_collection(w.collection), w.id, _stored(w)) for w in writes]
        state = self.state
        with state.lock:
            current = state.checkpoints.get(projection, Checkpoint())
            if current != expected:
                raise CheckpointMoved(
                    f"{projection} checkpoint is at {current}, this writer expected {expected}"
                )
            changed: dict[str, dict[str, _Stored]] = {}
            for collection, id_, stored in prepared:
                mine = changed.setdefault(collection, {})
                old = mine.get(id_) or state.collections.get(collection, {}).get(id_)
                if old is None or stored.position > old.position:
                    mine[id_] = stored
            for collection, mine in changed.items():
                indexes = state.indexes.get(collection, {})
                if any(indexes.values()):
                    docs = {**state.collections.get(collection, {}), **mine}
                    _check_unique(collection, docs.values(), indexes)
            # checked: from here on nothing can fail, so the commit lands whole
            for collection, mine in changed.items():
                state.collections.setdefault(collection, {}).update(mine)
            recorded = {(d.projection, d.event_id) for d in state.dead_letters}
            for letter in dead_letters:
                if (letter.projection, letter.event_id) not in recorded:
                    recorded.add((letter.projection, letter.event_id))
                    state.dead_letters.append(letter)
            state.checkpoints[projection] = Checkpoint(checkpoint, expected.epoch)
        state.notifier.notify()
        await asyncio.sleep(0)  # as a store with real I/O would, let other tasks run
        return Checkpoint(checkpoint, expected.epoch)

    async def drop(self, collections: Sequence[str], projection: str) -> None:
        state = self.state
        with state.lock:
            for c in collections:
                state.collections.pop(_check_collection(c), None)
                state.indexes.pop(c, None)
            state.checkpoints.pop(projection, None)

    async def swap(
        self, projection: str, collections: Mapping[str, str], *, staged_projection: str
    ) -> int:
        state = self.state
        with state.lock:
            position = state.checkpoints.get(staged_projection, Checkpoint()).position
            epoch = state.checkpoints.get(projection, Checkpoint()).epoch + 1
            replaced: dict[str, dict[str, _Stored]] = {}
            for live, staged in collections.items():
                docs = state.collections.get(_check_collection(staged), {})
                # the live collection keeps its own indexes, the staged one's are dropped
                _check_unique(live, docs.values(), state.indexes.get(_check_collection(live), {}))
                replaced[live] = docs
            for live, staged in collections.items():
                state.collections.pop(staged, None)
                state.indexes.pop(staged, None)
                state.collections[live] = replaced[live]
            state.checkpoints.pop(staged_projection, None)
            state.checkpoints[projection] = Checkpoint(position, epoch)
        state.notifier.notify()
        return position

    async def close(self) -> None:
        """Nothing to release; the state is kept for others sharing it."""
