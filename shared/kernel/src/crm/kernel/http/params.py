"""Request parameters and answers every list and edit route shares: a page of documents, the
``sort`` parameter checked against what a read model can sort by, and ``If-Match``."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, StringConstraints

from crm.kernel.errors import InvalidCommand
from crm.kernel.read_store import Page

T = TypeVar("T")

MAX_LIMIT = 500
MAX_OFFSET = 10**9
"""No read model pages past a billion documents; a larger offset is a 422 naming it, never a
number the store cannot hold (SQLite's integers are 64-bit)."""

PHONE = r"\+?[0-9 ()./-]{3,30}"
"""A phone as the routes and the console's forms take one: digits, spaces and ``+ ( ) . / -``."""
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=rf"^{PHONE}$")]

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
"""A list route's ``limit``: 1 to 500 (every list route takes this type)."""
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="documents to skip")]
"""A list route's ``offset``: 0 to 10^9 (every list route takes this type)."""


class PageOf(BaseModel, Generic[T]):
    """The answer of a list route, ``PageOf[SomeDoc]``: the read model's own document type
    (see :mod:`crm.kernel.handlers`) is the item's schema."""

    items: list[T]
    total: int
    limit: int
    offset: int


def paged(result: Page) -> dict[str, Any]:
    """The JSON answer of a list route: the page's items, the total and where it stands."""
    return {
        "items": result.items,
        "total": result.total,
        "limit": result.limit,
        "offset": result.offset,
    }


def checked_sort(sort: str, allowed: Collection[str]) -> str:
    """``sort`` as given (``"field"`` or ``"-field"`` for descending) if ``field`` is one of
    ``allowed``; anything else is a 422 naming the parameter."""
    if sort.lstrip("-") not in allowed:
        raise InvalidCommand("sort", f"must be one of {sorted(allowed)}, optionally with '-'")
    return sort


def if_match(value: str | None, what: str) -> int | None:
    """``"3"``, ``W/"3"`` or ``3``: the version of ``what`` the client last read (its ETag);
    None without the header."""
    if value is None:
        return None
    try:
        return int(value.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise InvalidCommand("If-Match", f'must be the {what}\'s version, e.g. "3"') from None
