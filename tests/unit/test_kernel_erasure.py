"""The read-time erasure guard (crm.kernel.erasure) against a real key store: a document of an
erased subject reads its personal fields as erased, nested and in lists too; a subject that
has its key, or never had one, is left alone; the stored document is never changed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from crm.events import ERASED
from crm.kernel.adapters.sqlite.key_store import SqliteKeyStore
from crm.kernel.erasure import erased_subjects, redact_erased, replace_fields

FIELDS = ("description", "comments.body", "satisfaction.comment", "follow_up.note")


def ticket(customer: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"t-{customer}",
        "customer": customer,
        "subject": "Boiler",
        "description": "Mrs Doe says the boiler knocks",
        "comments": [
            {"comment_id": "c1", "body": "called Mrs Doe", "public": True},
            {"comment_id": "c2", "body": None, "public": False},
        ],
        "satisfaction": {"score": 2, "comment": "too slow, Mrs Doe"},
        "follow_up": None,
        **fields,
    }


def test_replace_fields_follows_paths_into_documents_and_lists_and_keeps_none() -> None:
    doc = ticket("a")
    before = copy.deepcopy(doc)
    out = replace_fields(doc, (*FIELDS, "no.such.field"), "X")
    assert doc == before
    assert out["description"] == "X"
    assert [c["body"] for c in out["comments"]] == ["X", None]
    assert [c["comment_id"] for c in out["comments"]] == ["c1", "c2"]
    assert out["satisfaction"] == {"score": 2, "comment": "X"}
    assert out["follow_up"] is None
    assert (out["subject"], out["id"]) == ("Boiler", "t-a")


async def test_only_the_erased_subjects_documents_read_as_erased(tmp_path: Path) -> None:
    keys = SqliteKeyStore(tmp_path / "keys.db")
    try:
        await keys.get_or_create(["customer-a", "customer-b"])
        await keys.erase("customer-b")
        assert await erased_subjects(keys, ["customer-a", "customer-b", "customer-c"]) == {
            "customer-b"
        }
        assert await erased_subjects(keys, []) == frozenset()

        docs = [ticket("a"), ticket("b"), ticket("c"), ticket("b", description=None)]
        stored = copy.deepcopy(docs)
        out = await redact_erased(keys, docs, lambda d: f"customer-{d['customer']}", FIELDS)
        assert docs == stored
        assert out[0] == docs[0]  # has its key
        assert out[2] == docs[2]  # never had one: nothing was sealed, nothing erased
        erased = out[1]
        assert erased["description"] == ERASED
        assert [c["body"] for c in erased["comments"]] == [ERASED, None]
        assert erased["satisfaction"] == {"score": 2, "comment": ERASED}
        assert (erased["id"], erased["subject"], erased["follow_up"]) == ("t-b", "Boiler", None)
        assert out[3]["description"] is None
        assert out[3]["satisfaction"]["comment"] == ERASED

        no_subject = await redact_erased(keys, docs[1:2], lambda d: None, FIELDS)
        assert no_subject == docs[1:2]
    finally:
        await keys.close()
