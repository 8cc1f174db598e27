"""CSV answers of the analyst API (``format=csv``): a header row of the table's columns, one
row per item; a nested object is flattened to ``field.sub`` columns (``revenue.amount``), a
list is joined with ``;``, a boolean reads ``true`` or ``false`` and null an empty cell."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from fastapi import Response
from fastapi.responses import StreamingResponse

from crm.kernel.errors import InvalidCommand


def cells(row: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A row as CSV cells by column name, nested objects flattened."""
    out: dict[str, str] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(cells(value, name + "."))
        elif value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[name] = ";".join(map(str, value))
        else:
            out[name] = str(value)
    return out


def csv_response(
    columns: Sequence[str], rows: Iterable[Mapping[str, Any]], filename: str
) -> Response:
    """``rows`` as a ``text/csv`` attachment ``<filename>.csv`` with the header ``columns``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        flat = cells(row)
        writer.writerow([flat.get(c, "") for c in columns])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


EXPORT_PAGE = 500
"""Rows read from the read model per step of a streamed export: memory stays bounded by one
page whatever the number of rows."""

Page = Callable[[int, int], Awaitable[Sequence[Mapping[str, Any]]]]
"""Reads ``limit`` rows from ``offset`` (the list's own query: same filters, same access
rules, same redaction as the JSON page)."""


async def streamed_csv_response(
    columns: Sequence[str], page: Page, filename: str, *, offset: int, limit: int | None
) -> Response:
    """Every row ``page`` finds from ``offset`` (at most ``limit``, None: all of them), as a
    ``text/csv`` attachment streamed page by page, not cut to one page of the list. The first
    page is read before the answer starts, so a bad filter is still a 422."""

    def encode(rows: Iterable[Mapping[str, Any]], header: bool) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if header:
            writer.writerow(columns)
        for row in rows:
            flat = cells(row)
            writer.writerow([flat.get(c, "") for c in columns])
        return buffer.getvalue().encode()

    def size(at: int) -> int:
        return EXPORT_PAGE if limit is None else min(EXPORT_PAGE, offset + limit - at)

    first = await page(offset, size(offset)) if size(offset) > 0 else []

    async def body() -> AsyncIterator[bytes]:
        rows, at = first, offset
        yield encode(rows, header=True)
        while len(rows) == EXPORT_PAGE and size(at + len(rows)) > 0:
            at += len(rows)
            rows = await page(at, size(at))
            if rows:
                yield encode(rows, header=False)

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def report_response(
    report: dict[str, Any], columns: Mapping[str, Sequence[str]], name: str, fmt: str, table: str
) -> dict[str, Any] | Response:
    """A report as JSON, or one of its tables (``table``) as CSV."""
    if fmt == "json":
        return report
    if table not in columns:
        raise InvalidCommand("table", f"must be one of {', '.join(columns)}")
    return csv_response(columns[table], report[table], f"{name}-{table}")
