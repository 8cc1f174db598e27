"""The kernel's one rule for personal data by role: which kinds each role sees, and a
document's fields redacted for a principal (nested paths, None kept, erasure winning)."""

from __future__ import annotations

from typing import Any

import pytest

from crm.events import ERASED
from crm.kernel.access import Principal
from crm.kernel.auth import Role
from crm.kernel.errors import Forbidden
from crm.kernel.redaction import (
    REDACTED,
    SEES,
    PersonalFields,
    PersonalKind,
    refuse_unless_sees,
    sees,
)

FIELDS = PersonalFields(
    contact=("name", "email"), service=("comments.body", "satisfaction.comment")
)
DOC: dict[str, Any] = {
    "name": "Ada",
    "email": None,
    "subject": "Lamp",
    "comments": [{"body": "hello", "author": "ann"}, {"body": ERASED, "author": "bob"}],
    "satisfaction": {"score": 4, "comment": "fine"},
}


def who(role: Role | None) -> Principal:
    return Principal("u", role, "t1")


def test_every_role_has_a_rule_and_analysts_see_nothing_personal() -> None:
    assert set(SEES) == set(Role)
    assert not any(sees(who(Role.ANALYST), kind) for kind in PersonalKind)
    assert all(sees(who(role), kind) for role in (None, Role.ADMIN) for kind in PersonalKind)
    rep = who(Role.SALES_REP)
    assert [k for k in PersonalKind if sees(rep, k)] == [PersonalKind.CONTACT, PersonalKind.NOTES]


def test_a_document_as_each_role_sees_it() -> None:
    assert FIELDS.shown_to(who(Role.AGENT), DOC) is DOC
    rep = FIELDS.shown_to(who(Role.SALES_REP), DOC)
    assert (rep["name"], rep["subject"]) == ("Ada", "Lamp")
    assert [c["body"] for c in rep["comments"]] == [REDACTED, ERASED]  # erasure wins
    assert rep["satisfaction"] == {"score": 4, "comment": REDACTED}
    analyst = FIELDS.shown_to(who(Role.ANALYST), DOC)
    assert (analyst["name"], analyst["email"]) == (REDACTED, None)  # nothing stays nothing
    assert DOC["name"] == "Ada"  # a copy
    assert DOC["comments"][0]["body"] == "hello"
    assert FIELDS.paths == ("name", "email", "comments.body", "satisfaction.comment")


def test_a_hidden_field_is_no_search_key() -> None:
    refuse_unless_sees(who(Role.SALES_REP), PersonalKind.CONTACT, "search by name")
    with pytest.raises(Forbidden, match="role analyst may not search by name"):
        refuse_unless_sees(who(Role.ANALYST), PersonalKind.CONTACT, "search by name")
