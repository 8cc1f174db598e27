"""The import page names every kind, field, status, count and tab in both languages (the
template asks for them by prefix, which the catalogue's own test cannot see)."""

from __future__ import annotations

from crm.console.i18n import MESSAGES
from crm.console.imports import ISSUES, RECORDS
from crm.platform.imports.kinds import KINDS
from crm.platform.imports.mapping import ANY_CUSTOM


def test_every_text_of_the_import_page_is_in_both_languages() -> None:
    keys = [f"import.kind.{k}" for k in KINDS]
    keys += [f"import.field.{f}" for kind in KINDS.values() for f in kind.fields if f != ANY_CUSTOM]
    keys += [f"import.show.{s}" for s in (*ISSUES, *RECORDS)]
    keys += [f"import.status.{s}" for s in ("planned", "running", "finished")]
    keys += [f"import.count.{c}" for c in ("create", "update", "merge", "unchanged", "duplicate")]
    keys += ["import.count.error"]
    keys += [f"imports.on_match.{c}" for kind in KINDS.values() for c in kind.on_match_choices]
    for locale in ("en", "zh-CN"):
        missing = [k for k in keys if k not in MESSAGES[locale]]
        assert missing == [], locale
    assert MESSAGES["zh-CN"]["import.kind.customers"] == "客户"
