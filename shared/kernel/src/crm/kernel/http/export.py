"""Every list route as a file: ``?format=csv`` or ``?format=xlsx`` answers the rows the same
filters select, complete (every page, not the first), with the redaction the actor's role gets
on screen, because each page is read through the list's own query.

The columns are the list document's fields (:func:`columns_of`): a nested document is
flattened to ``field.sub`` columns (``revenue.amount``), a list of plain values is joined with
``;``, a list or map of objects is one cell of JSON, a boolean reads ``true``/``false`` and
null an empty cell. Fields a route never answers (``Field(exclude=True)``) are no column.

CSV is streamed page by page. An xlsx file is a zip whose directory comes last, so it cannot
go out before its last row is known: openpyxl's write-only mode writes each page's rows to a
temporary file as they are read, the workbook is assembled on disk and then streamed from it;
memory holds one page, never the whole list.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import tempfile
import types
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, NotRequired, Required, Union

from fastapi import Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from typing_extensions import is_typeddict

from crm.kernel.http.params import MAX_LIMIT, paged
from crm.kernel.read_store import Page

ListFormat = Literal["json", "csv", "xlsx"]
"""``format`` of a list route: a JSON page, or every row as CSV or Excel."""

PageLimit = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_LIMIT,
        description="page size; JSON: 50 if not given; csv/xlsx: every row if not given",
    ),
]
"""``limit`` of a list route that exports: a JSON page is 50 unless given, a file all rows."""

EXPORT_PAGE = 500
"""Rows read from the read model per step of an export: memory stays bounded by one page."""

Rows = Callable[[int, int], Awaitable[Sequence[Mapping[str, Any]]]]
"""Reads ``limit`` rows from ``offset`` (the list's own query: same filters, same access
rules, same redaction as the JSON page)."""

Search = Callable[[int, int], Awaitable[Page]]
"""The list's own query as ``(offset, limit) -> Page``."""

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK = 64 * 1024

EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The JSON page, or (``format=csv``/``xlsx``) every row as a file",
        "content": {
            MEDIA["csv"]: {"schema": {"type": "string"}},
            MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
"""The ``responses`` of a list route that exports: its OpenAPI description declares the CSV
and xlsx answers beside the JSON page."""


def _unwrapped(hint: Any) -> tuple[Any, bool]:
    """The type under ``Annotated``/``NotRequired``/``Optional``, and whether a field of it
    is excluded from the answer."""
    excluded = False
    while True:
        origin = typing.get_origin(hint)
        if origin is Annotated:
            excluded = excluded or any(
                isinstance(m, FieldInfo) and m.exclude is True for m in hint.__metadata__
            )
            hint = typing.get_args(hint)[0]
        elif origin in (NotRequired, Required):
            hint = typing.get_args(hint)[0]
        elif origin is Union or origin is types.UnionType:
            others = [a for a in typing.get_args(hint) if a is not type(None)]
            if len(others) != 1:
                return hint, excluded
            hint = others[0]
        else:
            return hint, excluded


def columns_of(doc_type: type, prefix: str = "") -> list[str]:
    """The export columns of a list document (a ``TypedDict`` or a pydantic model), in the
    order its fields are declared; a nested document's fields become ``field.sub``."""
    if isinstance(doc_type, type) and issubclass(doc_type, BaseModel):
        fields: dict[str, Any] = {
            name: Annotated[info.annotation, info] for name, info in doc_type.model_fields.items()
        }
    else:
        fields = typing.get_type_hints(doc_type, include_extras=True)
    out: list[str] = []
    for name, hint in fields.items():
        inner, excluded = _unwrapped(hint)
        if excluded:
            continue
        nested = isinstance(inner, type) and (is_typeddict(inner) or issubclass(inner, BaseModel))
        if nested:
            out.extend(columns_of(inner, f"{prefix}{name}."))
        else:
            out.append(f"{prefix}{name}")
    return out


def _value(row: Mapping[str, Any], column: str) -> Any:
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _scalar(value: Any) -> str | int | float | bool | None:
    """One cell: plain values as they are, a list of plain values joined with ``;``, any
    other structure as JSON."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        return ";".join(map(str, value))
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return str(value)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


def inert(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (CSV injection): a value a
    customer typed that starts like one (``=HYPERLINK(...)``, ``+1+1``, ``@SUM``) is prefixed
    with an apostrophe, as OWASP advises; a number (``-20.00``, a refund) stays a number."""
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def text_cells(row: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """A row's CSV cells, one per column (text that would start a formula made inert)."""
    out: list[str] = []
    for column in columns:
        value = _scalar(_value(row, column))
        if value is None:
            out.append("")
        elif isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, str):
            out.append(inert(value))
        else:
            out.append(str(value))
    return out


Pages = Callable[[], AsyncIterator[Sequence[Mapping[str, Any]]]]


def _csv_body(columns: Sequence[str], pages: Pages) -> AsyncIterator[bytes]:
    async def body() -> AsyncIterator[bytes]:
        header = True
        async for page in pages():
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\r\n")
            if header:
                writer.writerow(columns)
                header = False
            for row in page:
                writer.writerow(text_cells(row, columns))
            yield buffer.getvalue().encode()

    return body()


def _xlsx_body(
    columns: Sequence[str],
    pages: Pages,
    sheet: str,
) -> AsyncIterator[bytes]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    async def body() -> AsyncIterator[bytes]:
        book = Workbook(write_only=True)
        ws = book.create_sheet(sheet[:31] or "export")
        ws.append(list(columns))

        def cell(value: Any) -> Any:
            value = _scalar(value)
            if isinstance(value, str) and value.startswith(_FORMULA_START):
                text = WriteOnlyCell(ws, value=value)
                text.data_type = "s"  # text that looks like a formula stays text
                return text
            return value

        async for page in pages():
            for row in page:
                ws.append([cell(_value(row, c)) for c in columns])
        with tempfile.TemporaryFile() as spool:
            await asyncio.to_thread(book.save, spool)
            spool.seek(0)
            while chunk := await asyncio.to_thread(spool.read, CHUNK):
                yield chunk

    return body()


async def export_response(
    fmt: Literal["csv", "xlsx"],
    columns: Sequence[str],
    rows: Rows,
    filename: str,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> Response:
    """Every row ``rows`` finds from ``offset`` (at most ``limit``; None: all), as a CSV or
    xlsx attachment ``<filename>.<fmt>``, read page by page. The first page is read before the
    answer starts, so a refused filter or an unknown record is still a 4xx."""

    def size(at: int) -> int:
        return EXPORT_PAGE if limit is None else min(EXPORT_PAGE, offset + limit - at)

    first = await rows(offset, size(offset)) if size(offset) > 0 else []

    async def pages() -> AsyncIterator[Sequence[Mapping[str, Any]]]:
        page, at = first, offset
        yield page
        while len(page) == EXPORT_PAGE and size(at + len(page)) > 0:
            at += len(page)
            page = await rows(at, size(at))
            if page:
                yield page

    body = _csv_body(columns, pages) if fmt == "csv" else _xlsx_body(columns, pages, filename)
    return StreamingResponse(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'},
    )


async def listed(
    fmt: ListFormat,
    search: Search,
    doc_type: type,
    filename: str,
    *,
    offset: int,
    limit: int | None,
    page_size: int = 50,
    columns: Sequence[str] | None = None,
) -> dict[str, Any] | Response:
    """A list route's answer: the JSON page (``limit`` or ``page_size`` rows), or every row
    the same search finds as ``<filename>.csv``/``.xlsx`` (the file's ``columns``; None: the
    fields of ``doc_type``)."""
    if fmt == "json":
        return paged(await search(offset, page_size if limit is None else limit))

    async def rows(at: int, size: int) -> list[Any]:
        return (await search(at, size)).items

    columns = columns_of(doc_type) if columns is None else columns
    return await export_response(fmt, columns, rows, filename, offset=offset, limit=limit)


def rows_of(items: Iterable[Mapping[str, Any]]) -> Rows:
    """Rows already at hand (a short table) as the ``rows`` of :func:`export_response`."""
    held = list(items)

    async def rows(at: int, size: int) -> Sequence[Mapping[str, Any]]:
        return held[at : at + size]

    return rows


__all__ = [
    "EXPORT_PAGE",
    "EXPORT_RESPONSES",
    "ListFormat",
    "PageLimit",
    "columns_of",
    "export_response",
    "listed",
    "rows_of",
    "text_cells",
]
