"""Custom field definitions and the check of values against them: given the definitions
(events), when a command brings values, then they are canonical or refused naming
``custom.<key>``."""

from __future__ import annotations

from typing import Any

import pytest

from crm.events import ERASED
from crm.events.custom_fields import CustomFieldSet, FieldChoice, FieldEntity, FieldType
from crm.kernel.custom_fields import (
    CustomFields,
    CustomFieldsState,
    FieldDefinition,
    check_values,
    filter_value,
    personal_values,
    sort_path,
)
from crm.kernel.errors import InvalidCommand, NotFound

C = FieldEntity.CUSTOMER
SIZES = (
    FieldChoice(key="s", label_en="Small", label_zh="小"),
    FieldChoice(key="m", label_en="Medium", label_zh="中"),
    FieldChoice(key="l", label_en="Large", label_zh="大"),
)


def field(key: str, type_: FieldType, **kw: Any) -> FieldDefinition:
    return FieldDefinition(C, key, key.title(), key, type_, **kw)


def defined(*fields: FieldDefinition) -> CustomFields:
    agg = CustomFields.create("t1")
    for f in fields:
        agg.set_field(f, "admin")
    return agg


STATE = defined(
    field("contract", FieldType.TEXT, required=True),
    field("employees", FieldType.NUMBER),
    field("budget", FieldType.MONEY),
    field("signed_on", FieldType.DATE),
    field("size", FieldType.CHOICE, choices=SIZES),
    field("interests", FieldType.MULTI_CHOICE, choices=SIZES),
    field("vip", FieldType.BOOLEAN),
    field("id_number", FieldType.TEXT, personal=True),
).state


@pytest.mark.parametrize(
    ("key", "given", "canonical"),
    [
        ("contract", "  C-17 ", "C-17"),
        ("employees", "120", 120),
        ("employees", 12.5, 12.5),
        ("budget", "1200.5 eur", "1200.5 EUR"),
        ("budget", {"amount": "99.90", "currency": "CNY"}, "99.90 CNY"),
        ("signed_on", "2026-03-01", "2026-03-01"),
        ("size", "m", "m"),
        ("interests", ["l", "s"], ("s", "l")),
        ("interests", "l;s", ("s", "l")),
        ("vip", "yes", True),
        ("vip", False, False),
    ],
)
def test_values_are_made_canonical(key: str, given: Any, canonical: Any) -> None:
    checked = check_values(STATE, C, {"contract": "C-1", key: given})
    assert checked.public[key] == canonical


@pytest.mark.parametrize(
    ("key", "given"),
    [
        ("employees", "many"),
        ("employees", True),
        ("budget", "12"),
        ("budget", "12 EURO"),
        ("signed_on", "01.03.2026"),
        ("signed_on", "2026-02-30"),
        ("size", "xl"),
        ("interests", ["s", "xl"]),
        ("vip", "maybe"),
        ("contract", 7),
        ("nope", "x"),
    ],
)
def test_a_wrong_value_or_an_unknown_key_names_the_field(key: str, given: Any) -> None:
    with pytest.raises(InvalidCommand) as e:
        check_values(STATE, C, {"contract": "C-1", key: given})
    assert e.value.field == f"custom.{key}"


def test_required_on_a_new_record_and_never_cleared() -> None:
    with pytest.raises(InvalidCommand, match=r"custom\.contract"):
        check_values(STATE, C, {"vip": True})
    with pytest.raises(InvalidCommand, match=r"custom\.contract"):
        check_values(STATE, C, {"contract": None}, current={"contract": "C-1"})
    # an edit of another field keeps what is there; a blank clears an optional one
    after = check_values(STATE, C, {"vip": None}, current={"contract": "C-1", "vip": True})
    assert after.public == {"contract": "C-1"}


def test_personal_values_travel_apart_sealed_as_one_text() -> None:
    checked = check_values(STATE, C, {"contract": "C-1", "id_number": "X123"})
    assert checked.public == {"contract": "C-1"}
    assert checked.personal_json == '{"id_number": "X123"}'
    assert personal_values(checked.personal_json) == {"id_number": "X123"}
    assert personal_values(ERASED) == {}


def test_a_field_of_another_kind_of_record_is_unknown() -> None:
    with pytest.raises(InvalidCommand, match=r"custom\.contract"):
        check_values(STATE, FieldEntity.LEAD, {"contract": "C-1"})


def test_a_retired_field_is_refused_and_required_no_more() -> None:
    agg = defined(field("contract", FieldType.TEXT, required=True))
    agg.retire(C, "contract", "admin")
    assert check_values(agg.state, C, {}).public == {}
    with pytest.raises(InvalidCommand, match=r"custom\.contract"):
        check_values(agg.state, C, {"contract": "x"})
    with pytest.raises(NotFound):
        agg.retire(C, "other", "admin")


def test_definitions_are_checked() -> None:
    with pytest.raises(InvalidCommand, match="key"):
        defined(field("Bad Key", FieldType.TEXT))
    with pytest.raises(InvalidCommand, match="choices"):
        defined(field("size", FieldType.CHOICE))
    with pytest.raises(InvalidCommand, match="choices"):
        defined(field("note", FieldType.TEXT, choices=SIZES))
    twice = (*SIZES, FieldChoice(key="s", label_en="S", label_zh="小"))
    with pytest.raises(InvalidCommand, match=r"choices\.3\.key"):
        defined(field("size", FieldType.CHOICE, choices=twice))


def test_type_and_personal_never_change_labels_and_choices_do() -> None:
    agg = defined(field("size", FieldType.CHOICE, choices=SIZES[:2]))
    with pytest.raises(InvalidCommand, match="type"):
        agg.set_field(field("size", FieldType.TEXT), "admin")
    with pytest.raises(InvalidCommand, match="personal"):
        agg.set_field(field("size", FieldType.CHOICE, choices=SIZES, personal=True), "admin")
    agg.set_field(field("size", FieldType.CHOICE, choices=SIZES), "admin")
    assert [type(e) for e in agg.changes] == [CustomFieldSet, CustomFieldSet]
    assert agg.state.get(C, "size") is not None
    assert len(agg.state.get(C, "size").choices) == 3  # type: ignore[union-attr]
    agg.set_field(field("size", FieldType.CHOICE, choices=SIZES), "admin")  # the same: nothing
    assert len(agg.changes) == 2


def test_filters_and_sorts_by_the_canonical_value() -> None:
    interests = STATE.get(C, "interests")
    budget = STATE.get(C, "budget")
    vip = STATE.get(C, "vip")
    assert interests is not None
    assert budget is not None
    assert vip is not None
    assert filter_value(interests, "s") == {"$and": [{"custom.interests": {"$contains": "s"}}]}
    assert filter_value(vip, "true") == {"custom.vip": True}
    assert sort_path(budget) == "custom_sort.budget"
    with pytest.raises(InvalidCommand, match=r"custom\.vip"):
        filter_value(vip, "perhaps")


def test_an_empty_state_knows_nothing() -> None:
    with pytest.raises(InvalidCommand, match=r"custom\.x"):
        check_values(CustomFieldsState(), C, {"x": 1})
