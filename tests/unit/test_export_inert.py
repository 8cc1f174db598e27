"""CSV exports never hand a spreadsheet a formula someone typed into a field (CSV injection):
text that starts like one gets an apostrophe; numbers, negative ones included, stay numbers."""

from __future__ import annotations

import pytest

from crm.kernel.http.export import inert, text_cells


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("-2+3", "'-2+3"),
        ("\tleading tab", "'\tleading tab"),
        ("-20.00", "-20.00"),
        ("+8613800138000", "+8613800138000"),
        ("1e-5", "1e-5"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("", ""),
    ],
)
def test_text_that_starts_a_formula_is_made_inert(typed: str, written: str) -> None:
    assert inert(typed) == written


def test_the_cells_of_a_row_are_inert_and_other_values_as_they_were() -> None:
    row = {"name": "=1+1", "amount": "-5.00", "count": 3, "vip": True, "note": None}
    cells = text_cells(row, ["name", "amount", "count", "vip", "note"])
    assert cells == ["'=1+1", "-5.00", "3", "true", ""]
