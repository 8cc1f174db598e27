"""CSV answers of the analyst API (``format=csv``): a header row of the table's columns, one
row per item; a nested object is flattened to ``field.sub`` columns (``revenue.amount``), a
list is joined with ``;``, a boolean reads ``true`` or ``false`` and null an empty cell. The
complete, streamed exports of the lists are the kernel's (:mod:`crm.kernel.http.export`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Response

from crm.kernel.errors import InvalidCommand
from crm.kernel.http.export import inert


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
        writer.writerow([inert(flat.get(c, "")) for c in columns])
    return Response(
        buffer.getvalue(),
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
