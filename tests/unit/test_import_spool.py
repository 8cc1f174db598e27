"""The import's scratch on disk answers as the lists and dicts it replaced: the report's rows
in the file's order, paged and filtered by outcome; the first row of each match key, the
company's rows up to the scan's limit; a key's first row."""

from __future__ import annotations

from crm.customer.domain.duplicates import MatchKeys
from crm.platform.imports.customers import RowError
from crm.platform.imports.run import RowOutcome
from crm.platform.imports.spool import BUFFERED, Issues, KeyIndex, RowsByKey


def test_the_reports_rows_come_back_in_order_a_page_at_a_time() -> None:
    issues = Issues()
    for row in range(1, BUFFERED * 2 + 11):
        outcome = "error" if row % 2 else "duplicate"
        error = RowError("邮箱", "x", "bad / 无效") if outcome == "error" else None
        issues.append(RowOutcome(row, outcome, error=error, duplicate_of="c", score=90, item=row))
    assert len(issues) == BUFFERED * 2 + 10
    assert [o.row for o in issues] == list(range(1, BUFFERED * 2 + 11))
    errors = issues.page(2, 3, ("error",))
    assert [o.row for o in errors] == [5, 7, 9]
    assert errors[0].error == RowError("邮箱", "x", "bad / 无效")
    assert errors[0].item is None  # what it read is not kept
    assert issues.count(("error",)) == BUFFERED + 5
    assert issues.count(("update", "updated")) == 0
    assert issues.page(0, 2)[1].as_dict()["outcome"] == "duplicate"


def test_the_first_row_of_each_key_and_the_companys_first_rows() -> None:
    index = KeyIndex(per_company=2)
    index.add(MatchKeys("a", "a@x.cn", None, "acme"), 1, "id1")
    index.add(MatchKeys("b", "a@x.cn", "139", "acme"), 2, "id2")
    index.add(MatchKeys("c", None, None, "acme"), 3, "id3")
    found = index.found(MatchKeys("d", "a@x.cn", "139", "acme"))
    assert [(row, id_) for row, id_, _ in found] == [(1, "id1"), (2, "id2"), (1, "id1"), (2, "id2")]
    assert found[1][2] == {
        "email_key": "a@x.cn",
        "phone_key": "139",
        "company_key": "acme",
        "name": "b",
    }
    assert index.found(MatchKeys("e", "none@x.cn", None, None)) == []


def test_rows_by_key_is_the_dict_it_replaced() -> None:
    rows = RowsByKey()
    assert rows.get("A-1") is None
    assert "A-1" not in rows
    assert rows.setdefault("A-1", 3) == 3
    assert rows.setdefault("A-1", 9) == 3
    rows["B-2"] = 4
    assert rows["B-2"] == 4
    assert "B-2" in rows
