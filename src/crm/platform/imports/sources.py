# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width commas, brackets)
"""A file of records as a stream of rows: never the whole file in memory.

CSV's encoding is found, not guessed from the first line only: a UTF-8 BOM says UTF-8; else
the file is decoded as strict UTF-8 chunk by chunk, and the first byte sequence UTF-8 cannot
hold means GB18030 (what Excel and WPS on a Chinese Windows write). Either can be chosen
instead. xlsx is read with openpyxl in read-only mode (rows streamed from the sheet's XML)."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Format = Literal["csv", "xlsx"]
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GB18030"}
CHUNK = 1 << 16


class UnreadableFile(ValueError):
    """The file is not a CSV or xlsx this reader can decode (the message says why)."""


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` (a BOM), ``utf-8`` (every byte decodes), else ``gb18030``."""
    with path.open("rb") as f:
        head = f.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        chunk = head
        try:
            while chunk:
                decoder.decode(chunk)
                chunk = f.read(CHUNK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def format_of(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    raise UnreadableFile(f"{path.name}: not a .csv or .xlsx file")


@dataclass(frozen=True, slots=True)
class Row:
    number: int
    """The row's line in the file as a spreadsheet numbers it (the header is row 1)."""
    values: tuple[str, ...]


class RowSource:
    """The header and then the rows of a file, read lazily; iterate as often as needed (each
    iteration reads the file again, so a dry run and the run see the same rows)."""

    def __init__(self, path: Path, *, format: Format | None = None, encoding: str | None = None):
        self.path = path
        self.format: Format = format or format_of(path)
        if encoding is not None and encoding.lower() not in ENCODINGS:
            raise UnreadableFile(f"encoding must be one of {', '.join(ENCODINGS)}")
        self.encoding = (
            (encoding or detect_encoding(path)).lower() if self.format == "csv" else None
        )
        rows = self._rows()
        try:
            first = next(rows)
        except StopIteration:
            raise UnreadableFile(f"{path.name}: the file is empty") from None
        self.headers = tuple(h.strip() for h in first.values)

    def __iter__(self) -> Iterator[Row]:
        rows = self._rows()
        next(rows, None)
        for row in rows:
            if any(v.strip() for v in row.values):
                yield row

    def _rows(self) -> Iterator[Row]:
        if self.format == "csv":
            yield from self._csv()
        else:
            yield from self._xlsx()

    def _csv(self) -> Iterator[Row]:
        assert self.encoding is not None
        with self.path.open(encoding=self.encoding, newline="") as f:
            reader = csv.reader(f)
            try:
                for values in reader:
                    yield Row(reader.line_num, tuple(values))
            except UnicodeDecodeError as e:
                encoding = ENCODING_NAMES[self.encoding]
                raise UnreadableFile(
                    f"{self.path.name}: is not {encoding} text (after line {reader.line_num});"
                    " choose the file's encoding (Chinese Excel saves CSV as GB18030)"
                    f" / 文件第 {reader.line_num} 行之后的内容无法按 {encoding} 读取，"
                    "请选择文件的编码（中文版 Excel 保存的 CSV 为 GB18030）"
                ) from e
            except csv.Error as e:
                raise UnreadableFile(f"{self.path.name}: {e}") from e

    def _xlsx(self) -> Iterator[Row]:
        from openpyxl import load_workbook

        try:
            book = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many kinds for a file that is not xlsx
            raise UnreadableFile(f"{self.path.name}: not a readable xlsx file ({e})") from e
        try:
            sheet = book.worksheets[0]
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield Row(number, tuple(_cell(c) for c in cells))
        finally:
            book.close()


def _cell(value: object) -> str:
    """A cell as text: a date as ISO (``2019-06-03`` or with its time), a whole float
    without ``.0``, empty as ``""``."""
    from datetime import date, datetime

    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
