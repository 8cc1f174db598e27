"""Our filter subset and sort, translated to MongoDB queries on the stored documents.

A stored document is ``{_id, doc, position}``, so every field path is prefixed with ``doc.``.
The filters are written in MongoDB's language, but the embedded default (SQLite, comparing
``json_extract`` values) came first and defines what a filter returns, so the translation
follows it where the two would disagree on scalar fields:

- a missing field and a null one are the same (``{"f": None}``, ``$ne``/``$nin`` match both,
  ``$exists`` is true for an explicit null): MongoDB's own rules, used as they are;
- ``$contains`` is element equality: a member of an array, or equal to a scalar (SQLite's
  ``json_each`` of a scalar is the scalar), never a substring;
- None as an argument follows SQL's NULL logic: it is dropped from ``$in``, ``$nin`` holding
  it matches only null/missing fields, and ``$gt``..``$lte`` or ``$contains`` of None match
  nothing;
- ``$icontains`` is an escaped, case-insensitive regular expression (SQLite: LIKE on lower()).

Known differences, on data our projections do not write: ``$eq``/``$ne``/``$in``/comparisons
on an array field (MongoDB looks at its elements, SQLite at its JSON text), ``True`` equal to
``1`` (SQLite only), comparisons across types (MongoDB brackets by type), ``$icontains`` on
numbers (SQLite only) and on non-ASCII letters (MongoDB folds their case, SQLite does not),
paths through arrays of documents (MongoDB only), and sort order across types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from crm.kernel.read_store import OPERATORS, Filter, InvalidQuery, check_field

DOC = "doc"
"""The sub-document of a stored document that holds the projection's document."""

NOTHING: dict[str, Any] = {"$in": []}
"""A condition no value satisfies."""

Scalar = str | int | float | bool | None


def field(path: str) -> str:
    """The stored path of a document field, refused unless it is a plain dotted path."""
    return f"{DOC}.{check_field(path)}"


def translate_filter(flt: Filter) -> dict[str, Any]:
    """The MongoDB query of a filter (see :mod:`crm.kernel.read_store`) on the stored docs."""
    query: dict[str, Any] = {}
    extra: list[dict[str, Any]] = []
    for key, value in flt.items():
        if key in ("$or", "$and"):
            query[key] = _clauses(key, value)
            continue
        path = field(key)
        ops = value if isinstance(value, Mapping) else {"$eq": value}
        conditions = [_condition(key, op, arg) for op, arg in ops.items()]
        merged: dict[str, Any] = {}
        for condition in conditions:
            if merged.keys() & condition.keys():
                extra.append({path: condition})
            else:
                merged.update(condition)
        if merged:
            query[path] = merged
    if extra:
        query["$and"] = [*query.get("$and", []), *extra]
    return query


def translate_sort(sort: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """The sort spec: the given fields, then the id, so equal keys keep a stable order."""
    spec: list[tuple[str, int]] = []
    for path, direction in sort:
        if direction not in (1, -1):
            raise InvalidQuery(f"sort direction of {path!r} must be 1 or -1")
        spec.append((field(path), 1 if direction == 1 else -1))
    spec.append(("_id", 1))
    return spec


def _clauses(key: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidQuery(f"{key} takes a non-empty list of filters")
    if not all(isinstance(sub, Mapping) for sub in value):
        raise InvalidQuery(f"{key} takes a list of filters")
    return [translate_filter(sub) for sub in value]


def _condition(key: str, op: str, arg: Any) -> dict[str, Any]:
    if op not in OPERATORS:
        raise InvalidQuery(f"unknown operator {op!r} on {key!r}")
    if op in ("$eq", "$ne"):
        return {op: _scalar(key, op, arg)}
    if op in ("$in", "$nin"):
        if not isinstance(arg, list | tuple | set | frozenset):
            raise InvalidQuery(f"{op} on {key!r} takes a list")
        values = [_scalar(key, op, a) for a in arg]
        if op == "$nin" and None in values:
            return {"$eq": None}
        return {op: [v for v in values if v is not None]}
    if op in ("$gt", "$gte", "$lt", "$lte", "$contains"):
        value = _scalar(key, op, arg)
        if value is None:
            return dict(NOTHING)
        return {"$eq" if op == "$contains" else op: value}
    if op == "$exists":
        return {"$exists": bool(arg)}
    # $icontains
    if not isinstance(arg, str):
        raise InvalidQuery(f"$icontains on {key!r} takes a string")
    return {"$regex": re.escape(arg), "$options": "i"}


def _scalar(key: str, op: str, arg: Any) -> Scalar:
    """A value to compare with, as SQLite binds it: datetimes as ISO text, no containers."""
    if isinstance(arg, datetime):
        return arg.isoformat()
    if arg is None or isinstance(arg, str | int | float | bool):
        return arg
    raise InvalidQuery(f"{op} on {key!r} takes a string, number, boolean or null")
