"""Files as users bring them: CSV in UTF-8 with and without a BOM and in GB18030 (written by
the csv module), xlsx (written by openpyxl), dirty cells; and values normalised."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from crm.platform.imports import mapping, values
from crm.platform.imports.sources import RowSource, UnreadableFile, detect_encoding

ROWS = [["姓名", "手机", "邮箱", "公司"], ["王芳", "138 0013 8000", "Wang@Example.com", "华为"]]


def write_csv(path: Path, encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows([*ROWS, ["", "", "", ""], ["李雷", "x", "", "腾讯"]])
    return path


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")],
)
def test_csv_encodings_are_found(tmp_path: Path, encoding: str, detected: str) -> None:
    path = write_csv(tmp_path / "c.csv", encoding)
    assert detect_encoding(path) == detected
    source = RowSource(path)
    assert source.headers == ("姓名", "手机", "邮箱", "公司")  # no BOM left in the first header
    rows = list(source)
    assert [(r.number, r.values[0]) for r in rows] == [(2, "王芳"), (4, "李雷")]  # blank skipped


def test_a_chosen_encoding_wins_and_a_wrong_one_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", "gb18030")
    with pytest.raises(UnreadableFile):
        list(RowSource(path, encoding="utf-8"))
    with pytest.raises(UnreadableFile, match="encoding"):
        RowSource(path, encoding="latin-9")


def test_xlsx_is_streamed_with_dates_and_numbers_as_text(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["客户名称", "金额", "日期"])
    sheet.append(["王芳", 1234.0, datetime(2019, 6, 3)])
    sheet.append(["李雷", 99.5, datetime(2019, 6, 3, 14, 30)])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    source = RowSource(path)
    assert source.headers == ("客户名称", "金额", "日期")
    assert [r.values for r in source] == [
        ("王芳", "1234", "2019-06-03"),
        ("李雷", "99.5", "2019-06-03T14:30:00"),
    ]


def test_a_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    with pytest.raises(UnreadableFile, match="xlsx"):
        RowSource(tmp_path / "bad.xlsx")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(UnreadableFile, match="empty"):
        RowSource(tmp_path / "empty.csv")
    with pytest.raises(UnreadableFile, match="csv"):
        RowSource(tmp_path / "notes.pdf")


def test_values_are_normalised_or_refused_with_the_reason() -> None:
    assert values.phone("138 0013 8000", "CN") == "+8613800138000"
    assert values.phone("+44 20 7946 0000", "CN") == "+442079460000"
    with pytest.raises(values.BadValue, match="phone"):
        values.phone("12", "CN")
    assert values.email(" Wang@Example.COM ") == "wang@example.com"
    with pytest.raises(values.BadValue, match="e-mail"):
        values.email("wang@")
    assert values.money("¥1,234.50", None).amount == Decimal("1234.50")
    assert values.money("¥1,234.50", None).currency == "CNY"
    assert values.money("99 EUR", "CNY").currency == "EUR"
    with pytest.raises(values.BadValue, match="currency"):
        values.money("12", None)
    with pytest.raises(values.BadValue, match="amount"):
        values.money("twelve", "EUR")


def test_dates_follow_the_chosen_order_and_year_first_is_never_ambiguous() -> None:
    assert values.day("03/04/2019", day_first=True) == date(2019, 4, 3)
    assert values.day("03/04/2019", day_first=False) == date(2019, 3, 4)
    assert values.day("2019年6月3日", day_first=False) == date(2019, 6, 3)
    assert values.day("2019/6/3", day_first=True) == date(2019, 6, 3)
    with pytest.raises(values.BadValue, match="date"):
        values.day("31/02/2019", day_first=True)
    assert values.instant("2019-06-03", day_first=True) == datetime(2019, 6, 3, tzinfo=UTC)


def test_columns_are_matched_by_english_and_chinese_headers_and_editable() -> None:
    fields = ("name", "email", "phone", "company", "external_id")
    headers = ("客户名称", "手机", "E-Mail ", "公司*", "备注", "Name")
    got = mapping.suggest(headers, fields)
    assert got == {"客户名称": "name", "手机": "phone", "E-Mail ": "email", "公司*": "company"}
    assert mapping.unmapped(headers, got) == ["备注", "Name"]
    changed = mapping.edited(got, {"客户名称": None, "Name": "name"}, headers, fields)
    assert changed["Name"] == "name"
    assert "客户名称" not in changed
    with pytest.raises(mapping.BadMapping, match="Name"):
        mapping.edited(got, {"Name": "name"}, headers, fields)  # name twice
    with pytest.raises(mapping.BadMapping, match="备注"):
        mapping.edited(got, {"备注": "birthday"}, headers, fields)
    with pytest.raises(mapping.BadMapping, match="Fax"):
        mapping.edited(got, {"Fax": "phone"}, headers, fields)
