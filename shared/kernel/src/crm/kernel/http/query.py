"""The parameters a route takes, read from FastAPI's own description of it (its ``dependant``,
nested dependencies included: the ``min_position`` of :class:`ReadConsistency`, a page's
``limit`` and ``offset``), and the rule built on them: a query parameter no route declares is a
422 naming it, never silently ignored (``/customers?format=csv`` would otherwise answer JSON as
if the client had asked for nothing).

A route that takes free-form parameters declares them like any other; there is no allow-list
per route to keep in step. A family of parameters named by data (a list's ``custom.<key>``
filters, one per custom field a tenant defines) is declared by its prefix:
``openapi_extra=query_prefixes("custom.")``; the route checks those names itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import AliasChoices, BaseModel

UNKNOWN_QUERY_PARAMETER = "unknown query parameter"
QUERY_PREFIXES = "x-crm-query-prefixes"


def query_prefixes(*prefixes: str) -> dict[str, Any]:
    """A route's ``openapi_extra`` declaring that it takes every query parameter whose name
    starts with one of ``prefixes`` (and checks them itself)."""
    return {QUERY_PREFIXES: list(prefixes)}


MAX_INTEGER = 2**63 - 1
"""No store takes a larger integer (SQLite, PostgreSQL and MongoDB integers are 64-bit)."""


@dataclass(frozen=True, slots=True)
class RouteParameters:
    """Names as the client sends them (aliases); header names in lower case."""

    query: frozenset[str]
    header: frozenset[str]
    path: frozenset[str]
    integers: frozenset[str] = frozenset()
    """Query parameters that take an integer."""

    def location_of(self, name: str) -> str | None:
        """Where a route takes parameter ``name``: ``"query"``, ``"header"``, ``"path"``."""
        if name in self.query:
            return "query"
        if name.lower() in self.header or name.lower().replace("_", "-") in self.header:
            return "header"
        if name in self.path:
            return "path"
        return None


def _names(field: Any) -> set[str]:
    """The names a parameter is sent under; a parameter model (``Annotated[Model, Query()]``)
    stands for each of its fields."""
    annotation = getattr(field.field_info, "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        names: set[str] = set()
        for name, info in annotation.model_fields.items():
            names.add(info.alias or name)
            if isinstance(info.validation_alias, AliasChoices):
                names.update(c for c in info.validation_alias.choices if isinstance(c, str))
            elif isinstance(info.validation_alias, str):
                names.add(info.validation_alias)
        return names
    names = {str(field.alias)}
    validation_alias = getattr(field.field_info, "validation_alias", None)
    if isinstance(validation_alias, AliasChoices):
        names.update(c for c in validation_alias.choices if isinstance(c, str))
    elif isinstance(validation_alias, str):
        names.add(validation_alias)
    return names


def _takes_int(field: Any) -> bool:
    annotation = getattr(field.field_info, "annotation", None)
    options = get_args(annotation) or (annotation,)
    return any(o is int for o in options)


def _collect(dependant: Dependant) -> RouteParameters:
    integers: set[str] = set()
    query: set[str] = set()
    header: set[str] = set()
    path: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            query |= _names(field)
            if _takes_int(field):
                integers |= _names(field)
        for field in current.header_params:
            for name in _names(field):
                header.add(name.lower())
                header.add(name.lower().replace("_", "-"))
        for field in current.path_params:
            path |= _names(field)
        pending.extend(current.dependencies)
    return RouteParameters(
        frozenset(query), frozenset(header), frozenset(path), frozenset(integers)
    )


_cache: dict[int, tuple[APIRoute, RouteParameters]] = {}


def route_parameters(route: object) -> RouteParameters | None:
    """The parameters of a matched FastAPI route (``request.scope["route"]``); None for a
    route that is not one (the docs pages, a mounted app)."""
    if not isinstance(route, APIRoute):
        return None
    cached = _cache.get(id(route))
    if cached is not None and cached[0] is route:
        return cached[1]
    parameters = _collect(route.dependant)
    _cache[id(route)] = (route, parameters)
    return parameters


def _too_large(value: str) -> bool:
    try:
        return abs(int(value.strip())) > MAX_INTEGER
    except ValueError:
        return False  # not an integer at all: the route's own validation says so


async def reject_unknown_query_parameters(request: Request) -> None:
    """An app-wide dependency: every query parameter the route does not declare is a 422
    ``loc: ["query", name]``, all of them in one answer; so is an integer parameter beyond 64
    bits (an ``offset`` of 10^24), which no store could take."""
    route = request.scope.get("route")
    parameters = route_parameters(route)
    if parameters is None:
        return
    prefixes = tuple((getattr(route, "openapi_extra", None) or {}).get(QUERY_PREFIXES, ()))
    seen: set[str] = set()
    errors = []
    for name, value in request.query_params.multi_items():
        if name in seen:
            continue
        if name not in parameters.query and not (prefixes and name.startswith(prefixes)):
            seen.add(name)
            errors.append(
                {
                    "loc": ("query", name),
                    "msg": UNKNOWN_QUERY_PARAMETER,
                    "type": "extra_forbidden",
                    "input": value,
                }
            )
        elif name in parameters.integers and _too_large(value):
            seen.add(name)
            errors.append(
                {
                    "loc": ("query", name),
                    "msg": f"Input should be between -{MAX_INTEGER} and {MAX_INTEGER}",
                    "type": "less_than_equal",
                    "input": value,
                }
            )
    if errors:
        raise RequestValidationError(errors)
