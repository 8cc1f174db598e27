"""The translation of our filter subset and sort to MongoDB queries (pure, no server)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from crm.kernel.adapters.mongodb.filters import field, translate_filter, translate_sort
from crm.kernel.read_store import OPERATORS, InvalidQuery


def test_a_plain_value_is_equality_on_the_stored_document() -> None:
    assert translate_filter({"city": "London"}) == {"doc.city": {"$eq": "London"}}
    assert translate_filter({"address.city": "Oslo"}) == {"doc.address.city": {"$eq": "Oslo"}}
    assert translate_filter({"vip": True, "age": 3.5}) == {
        "doc.vip": {"$eq": True},
        "doc.age": {"$eq": 3.5},
    }


def test_an_empty_filter_matches_everything() -> None:
    assert translate_filter({}) == {}
    assert translate_filter({"city": {}}) == {}  # no operators: no condition, as in SQLite


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"city": None}, {"doc.city": {"$eq": None}}),
        ({"city": {"$eq": "x"}}, {"doc.city": {"$eq": "x"}}),
        ({"city": {"$ne": "x"}}, {"doc.city": {"$ne": "x"}}),
        ({"city": {"$ne": None}}, {"doc.city": {"$ne": None}}),
        ({"age": {"$gt": 1}}, {"doc.age": {"$gt": 1}}),
        ({"age": {"$gte": 1}}, {"doc.age": {"$gte": 1}}),
        ({"age": {"$lt": 1}}, {"doc.age": {"$lt": 1}}),
        ({"age": {"$lte": 1}}, {"doc.age": {"$lte": 1}}),
        ({"age": {"$gte": 41, "$lt": 85}}, {"doc.age": {"$gte": 41, "$lt": 85}}),
        ({"city": {"$in": ["a", "b"]}}, {"doc.city": {"$in": ["a", "b"]}}),
        ({"city": {"$in": ("a",)}}, {"doc.city": {"$in": ["a"]}}),
        ({"city": {"$in": []}}, {"doc.city": {"$in": []}}),
        ({"city": {"$nin": ["a"]}}, {"doc.city": {"$nin": ["a"]}}),
        ({"city": {"$nin": []}}, {"doc.city": {"$nin": []}}),
        ({"city": {"$exists": True}}, {"doc.city": {"$exists": True}}),
        ({"city": {"$exists": 0}}, {"doc.city": {"$exists": False}}),
        ({"tags": {"$contains": "vip"}}, {"doc.tags": {"$eq": "vip"}}),
        ({"n": {"$contains": 3}}, {"doc.n": {"$eq": 3}}),
    ],
)
def test_each_operator(flt: dict[str, Any], expected: dict[str, Any]) -> None:
    assert translate_filter(flt) == expected


def test_every_operator_of_the_port_is_translated() -> None:
    args: dict[str, Any] = {"$in": ["a"], "$nin": ["a"], "$exists": True, "$icontains": "a"}
    for op in OPERATORS:
        translated = translate_filter({"f": {op: args.get(op, "a")}})
        assert list(translated) == ["doc.f"], op


def test_none_arguments_follow_sql_null_logic_like_sqlite() -> None:
    assert translate_filter({"c": {"$in": [None, "x"]}}) == {"doc.c": {"$in": ["x"]}}
    assert translate_filter({"c": {"$in": [None]}}) == {"doc.c": {"$in": []}}
    assert translate_filter({"c": {"$nin": ["x", None]}}) == {"doc.c": {"$eq": None}}
    for op in ("$gt", "$gte", "$lt", "$lte", "$contains"):
        assert translate_filter({"c": {op: None}}) == {"doc.c": {"$in": []}}, op


def test_a_datetime_argument_is_compared_as_iso_text() -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert translate_filter({"at": {"$gte": at}}) == {
        "doc.at": {"$gte": "2026-03-02T09:00:00+00:00"}
    }


def test_icontains_is_an_escaped_case_insensitive_regex() -> None:
    assert translate_filter({"name": {"$icontains": "ALAN"}}) == {
        "doc.name": {"$regex": "ALAN", "$options": "i"}
    }
    nasty = r"a.b*c+d?(e)[f]{g}|h^i$j\k 50% under_score"
    condition = translate_filter({"name": {"$icontains": nasty}})["doc.name"]
    assert condition["$options"] == "i"
    pattern = condition["$regex"]
    for meta in ".*+?()[]{}|^$\\":
        assert f"\\{meta}" in pattern, meta
    assert re.fullmatch(pattern, nasty)  # literal text only: it matches itself and nothing else
    assert not re.search(pattern, nasty.replace(".", "x"))
    assert re.search(pattern, "xx" + nasty.upper() + "yy", re.IGNORECASE)


def test_or_and_and_nest() -> None:
    flt = {
        "tenant": "t1",
        "$or": [
            {"city": "Nuenen"},
            {"$and": [{"age": {"$gte": 30}}, {"tags": {"$contains": "vip"}}]},
        ],
    }
    assert translate_filter(flt) == {
        "doc.tenant": {"$eq": "t1"},
        "$or": [
            {"doc.city": {"$eq": "Nuenen"}},
            {"$and": [{"doc.age": {"$gte": 30}}, {"doc.tags": {"$eq": "vip"}}]},
        ],
    }
    assert translate_filter({"$or": [{}]}) == {"$or": [{}]}


def test_two_conditions_of_one_field_with_the_same_operator_are_both_kept() -> None:
    """Both $gt None and $in [None] become {"$in": []}: one dict cannot hold two of them."""
    flt = {"$and": [{"a": 1}], "c": {"$in": [None], "$gt": None, "$exists": True}}
    assert translate_filter(flt) == {
        "$and": [{"doc.a": {"$eq": 1}}, {"doc.c": {"$in": []}}],
        "doc.c": {"$in": [], "$exists": True},
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"age": {"$where": "1"}},
        {"age": {"$regex": ".*"}},
        {"age": {"gt": 1}},
        {"$nor": [{"a": 1}]},
        {"x'); DROP TABLE rm_people; --": 1},
        {"doc.$where": 1},
        {"a..b": 1},
        {"a.0": 1},
        {"": 1},
        {"$or": []},
        {"$and": {}},
        {"$or": "a"},
        {"$or": ["a"]},
        {"$or": [{"a": {"$bad": 1}}]},
        {"c": {"$in": "abc"}},
        {"c": {"$nin": 3}},
        {"c": {"$icontains": 3}},
        {"c": {"$eq": {"$gt": 1}}},
        {"c": [1, 2]},
        {"c": {"$contains": ["vip"]}},
        {"c": {"$in": [["a"]]}},
        {"c": {"$gt": object()}},
    ],
)
def test_bad_filters_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidQuery):
        translate_filter(bad)


def test_field_paths_are_checked() -> None:
    assert field("a.b_c") == "doc.a.b_c"
    for bad in ("$a", "a b", "a.$", "1a", "a-b"):
        with pytest.raises(InvalidQuery):
            field(bad)


def test_sort_ends_with_the_id_tie_break() -> None:
    assert translate_sort(()) == [("_id", 1)]
    assert translate_sort((("city", 1), ("age", -1))) == [
        ("doc.city", 1),
        ("doc.age", -1),
        ("_id", 1),
    ]
    assert translate_sort((("a.b", True),)) == [("doc.a.b", 1), ("_id", 1)]


@pytest.mark.parametrize("bad", [(("age", 2),), (("age", 0),), (("$age", 1),), (("a b", -1),)])
def test_bad_sorts_are_refused(bad: tuple[tuple[str, int], ...]) -> None:
    with pytest.raises(InvalidQuery):
        translate_sort(bad)
