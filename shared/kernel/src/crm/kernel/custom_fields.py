"""A tenant's custom fields: the definitions its admins keep, and the check of the values a
command brings against them.

Like tenants, custom fields are no bounded context: every context whose records carry them
(customers, leads, opportunities, tickets) checks a command's ``custom: {key: value}`` at
its command handler against the tenant's definitions, read from one small stream per
tenant, ``customfields-<tenant>`` (the source of truth: a field defined a moment ago is
known at once, with no read model to wait for). An unknown key, a retired one, a value of
the wrong type or a missing required field is a 422 naming ``custom.<key>``.

Values are kept in a canonical form, the same in the events and the read models: a text
stripped, a number as a JSON number, money as ``"12.50 EUR"``, a date as ``YYYY-MM-DD``, a
choice as its key, a multi-choice as its keys in the definition's order, a boolean as
``true``/``false``. A form or a CSV file sends text; :func:`check_values` reads text too
(``"12,5"`` is not a number, ``"yes"`` is true).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Self, TypedDict

from crm.events import ERASED, DomainEvent
from crm.events.custom_fields import (
    CustomFieldRetired,
    CustomFieldSet,
    FieldChoice,
    FieldEntity,
    FieldType,
)
from crm.kernel.access import Principal
from crm.kernel.aggregate import Aggregate
from crm.kernel.auth import Role
from crm.kernel.codec import EventCodec
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound
from crm.kernel.event_store import EventStore
from crm.kernel.repository import CommandContext, Repository

KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
"""A field's key: what its values are filed under (``custom.<key>``) and filtered by."""
MAX_FIELDS = 100
"""Per entity and tenant, retired ones included."""
MAX_TEXT = 1000
CURRENCY = re.compile(r"^[A-Z]{3}$")
TRUE = frozenset({"true", "yes", "1", "on", "是"})
FALSE = frozenset({"false", "no", "0", "off", "否"})

Value = bool | int | float | str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FieldDefinition:
    entity: FieldEntity
    key: str
    label_en: str
    label_zh: str
    type: FieldType
    choices: tuple[FieldChoice, ...] = ()
    required: bool = False
    personal: bool = False
    retired: bool = False

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en

    def choice_label(self, key: str, locale: str) -> str:
        for c in self.choices:
            if c.key == key:
                return c.label_zh if locale.startswith("zh") else c.label_en
        return key

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity.value,
            "key": self.key,
            "label_en": self.label_en,
            "label_zh": self.label_zh,
            "type": self.type.value,
            "choices": [c.model_dump() for c in self.choices],
            "required": self.required,
            "personal": self.personal,
            "retired": self.retired,
        }


@dataclass(frozen=True, slots=True)
class CustomFieldsState:
    fields: Mapping[tuple[FieldEntity, str], FieldDefinition] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def of(self, entity: FieldEntity, *, retired: bool = False) -> tuple[FieldDefinition, ...]:
        """The entity's fields in the order they were defined (the retired ones too, if asked)."""
        return tuple(
            f for (e, _), f in self.fields.items() if e is entity and (retired or not f.retired)
        )

    def get(self, entity: FieldEntity, key: str) -> FieldDefinition | None:
        return self.fields.get((entity, key))

    def evolve(self, event: DomainEvent) -> Self:
        fields = dict(self.fields)
        match event:
            case CustomFieldSet():
                fields[(event.entity, event.key)] = FieldDefinition(
                    event.entity,
                    event.key,
                    event.label_en,
                    event.label_zh,
                    event.type,
                    event.choices,
                    event.required,
                    event.personal,
                )
            case CustomFieldRetired():
                found = fields.get((event.entity, event.key))
                if found is not None:
                    fields[(event.entity, event.key)] = replace(found, retired=True)
            case _:
                return self
        return replace(self, fields=MappingProxyType(fields))


def _label(value: str, field: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned or len(cleaned) > 100:
        raise InvalidCommand(field, "a label has 1 to 100 characters")
    return cleaned


class CustomFields(Aggregate[CustomFieldsState]):
    """One tenant's custom field definitions: stream ``customfields-<tenant>``."""

    category = "customfields"

    @classmethod
    def initial_state(cls) -> CustomFieldsState:
        return CustomFieldsState()

    def set_field(self, definition: FieldDefinition, by: str) -> None:
        if not KEY.match(definition.key):
            raise InvalidCommand(
                "key", "1 to 40 lower-case letters, digits and _, starting with a letter"
            )
        label_en = _label(definition.label_en, "label_en")
        label_zh = _label(definition.label_zh, "label_zh")
        choosing = definition.type in (FieldType.CHOICE, FieldType.MULTI_CHOICE)
        if choosing and not definition.choices:
            raise InvalidCommand("choices", f"a {definition.type.value} field needs choices")
        if not choosing and definition.choices:
            raise InvalidCommand("choices", f"a {definition.type.value} field has no choices")
        keys = [c.key for c in definition.choices]
        for i, c in enumerate(definition.choices):
            if not KEY.match(c.key):
                raise InvalidCommand(f"choices.{i}.key", "lower-case letters, digits and _")
            if c.key in keys[:i]:
                raise InvalidCommand(f"choices.{i}.key", f"{c.key} is named twice")
            _label(c.label_en, f"choices.{i}.label_en")
            _label(c.label_zh, f"choices.{i}.label_zh")
        existing = self.state.get(definition.entity, definition.key)
        if existing is not None:
            if existing.type is not definition.type:
                raise InvalidCommand("type", f"is {existing.type.value}: a type never changes")
            if existing.personal != definition.personal:
                raise InvalidCommand("personal", "whether a field is personal data never changes")
        elif len(self.state.of(definition.entity, retired=True)) >= MAX_FIELDS:
            raise InvalidCommand("key", f"at most {MAX_FIELDS} fields per kind of record")
        wanted = replace(definition, label_en=label_en, label_zh=label_zh, retired=False)
        if existing == wanted:
            return
        self.trigger(
            CustomFieldSet(
                entity=wanted.entity,
                key=wanted.key,
                label_en=wanted.label_en,
                label_zh=wanted.label_zh,
                type=wanted.type,
                choices=wanted.choices,
                required=wanted.required,
                personal=wanted.personal,
                set_by=by,
            )
        )

    def retire(self, entity: FieldEntity, key: str, by: str) -> None:
        existing = self.state.get(entity, key)
        if existing is None:
            raise NotFound(f"no custom field {key} on {entity.value}s")
        if existing.retired:
            return
        self.trigger(CustomFieldRetired(entity=entity, key=key, retired_by=by))


# -- values ------------------------------------------------------------------------------------


def _number(value: Any, where: str) -> int | float:
    if isinstance(value, bool):
        raise InvalidCommand(where, "must be a number")
    if isinstance(value, int | float):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidCommand(where, "must be a number") from None
    else:
        raise InvalidCommand(where, "must be a number")
    if not number.is_finite():
        raise InvalidCommand(where, "must be a finite number")
    return int(number) if number == number.to_integral_value() else float(number)


def _money(value: Any, where: str) -> str:
    if isinstance(value, Mapping):
        amount, currency = value.get("amount"), value.get("currency")
    elif isinstance(value, str) and len(value.split()) == 2:
        amount, currency = value.split()
    else:
        raise InvalidCommand(where, 'must be an amount and a currency, e.g. "12.50 EUR"')
    if not isinstance(currency, str) or not CURRENCY.match(currency.upper()):
        raise InvalidCommand(where, "needs a currency code of 3 letters (EUR, CNY)")
    try:
        decimal = Decimal(str(amount))
    except InvalidOperation:
        raise InvalidCommand(where, "the amount must be a decimal number") from None
    if not decimal.is_finite() or isinstance(amount, bool):
        raise InvalidCommand(where, "the amount must be a decimal number")
    return f"{decimal:f} {currency.upper()}"


def _date(value: Any, where: str) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise InvalidCommand(where, "must be a date, YYYY-MM-DD")


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    raise InvalidCommand(where, "must be true or false")


def _choices(definition: FieldDefinition, value: Any, where: str) -> tuple[str, ...]:
    """A list of keys, or a text of keys separated by ``,`` or ``;`` (as a CSV export
    writes a list)."""
    if isinstance(value, str):
        given = [v.strip() for v in re.split(r"[,;]", value) if v.strip()]
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        given = list(value)
    else:
        raise InvalidCommand(where, "must be a list of choices")
    known = [c.key for c in definition.choices]
    for v in given:
        if v not in known:
            raise InvalidCommand(where, f"{v!r} is not one of {known}")
    return tuple(k for k in known if k in given)


def canonical(definition: FieldDefinition, value: Any) -> Value:
    """``value`` in the field's canonical form, or an InvalidCommand naming ``custom.<key>``."""
    where = f"custom.{definition.key}"
    match definition.type:
        case FieldType.TEXT:
            if not isinstance(value, str) or not value.strip():
                raise InvalidCommand(where, "must be a text")
            if len(value) > MAX_TEXT:
                raise InvalidCommand(where, f"at most {MAX_TEXT} characters")
            return value.strip()
        case FieldType.NUMBER:
            return _number(value, where)
        case FieldType.MONEY:
            return _money(value, where)
        case FieldType.DATE:
            return _date(value, where)
        case FieldType.BOOLEAN:
            return _boolean(value, where)
        case FieldType.CHOICE:
            if not isinstance(value, str) or value.strip() not in {
                c.key for c in definition.choices
            }:
                raise InvalidCommand(where, f"must be one of {[c.key for c in definition.choices]}")
            return value.strip()
        case FieldType.MULTI_CHOICE:
            return _choices(definition, value, where)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple) and len(value) == 0)


@dataclass(frozen=True, slots=True)
class CheckedValues:
    """A command's custom values split as the events carry them: the personal ones are
    sealed with the subject's key (``custom_personal``, one JSON text)."""

    public: dict[str, Value]
    personal: dict[str, Value]

    @property
    def personal_json(self) -> str | None:
        return json.dumps(self.personal, sort_keys=True) if self.personal else None

    def changed_from(self, before: Mapping[str, Any]) -> tuple[str, ...]:
        """The keys whose value differs from ``before`` (set, changed or cleared), sorted:
        none means the edit records nothing."""
        after = {**self.public, **self.personal}
        return tuple(sorted(k for k in {*before, *after} if before.get(k) != after.get(k)))


class HeldValues(TypedDict):
    custom: Mapping[str, Any]
    custom_personal: Mapping[str, Any]


def held_values(public: Mapping[str, Any], sealed: str | None) -> HeldValues:
    """What an aggregate's state keeps of an event's ``custom`` and ``custom_personal``
    (its fields ``custom`` and ``custom_personal``, read-only), for ``replace(state, **...)``."""
    return HeldValues(
        custom=MappingProxyType(dict(public)),
        custom_personal=MappingProxyType(personal_values(sealed)),
    )


def check_values(
    state: CustomFieldsState,
    entity: FieldEntity,
    values: Mapping[str, Any],
    *,
    current: Mapping[str, Any] | None = None,
) -> CheckedValues:
    """The record's custom values after the command: ``values`` checked against the
    entity's live fields and laid over ``current`` (None: a new record, whose required
    fields must be given). A blank value (None, "", []) clears a field; a required one
    cannot be cleared."""
    merged: dict[str, Any] = dict(current or {})
    for key, value in values.items():
        definition = state.get(entity, key)
        if definition is None or definition.retired:
            raise InvalidCommand(f"custom.{key}", f"is not a custom field of {entity.value}s")
        if _blank(value):
            if definition.required:
                raise InvalidCommand(f"custom.{key}", "is required")
            merged.pop(key, None)
        else:
            merged[key] = canonical(definition, value)
    if current is None:
        for definition in state.of(entity):
            if definition.required and definition.key not in merged:
                raise InvalidCommand(f"custom.{definition.key}", "is required")
    public: dict[str, Value] = {}
    personal: dict[str, Value] = {}
    for key, value in merged.items():
        definition = state.get(entity, key)
        (personal if definition is not None and definition.personal else public)[key] = value
    return CheckedValues(public, personal)


def personal_values(sealed: str | None) -> dict[str, Any]:
    """The personal custom values of an event's ``custom_personal``: none when there are
    none, or when they were erased (they read as erased then)."""
    if sealed is None or sealed == ERASED:
        return {}
    found = json.loads(sealed)
    if not isinstance(found, dict):
        return {}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in found.items()}


_MONEY = re.compile(r"^-?[0-9]+(\.[0-9]+)? [A-Z]{3}$")


def doc_fields(public: Mapping[str, Any], sealed: str | None) -> dict[str, Any]:
    """What a read model keeps of a record's custom values (from its event's ``custom`` and
    ``custom_personal``): ``custom`` (all of them), ``custom_personal_keys`` (which are
    personal: redacted and erased with the subject) and ``custom_sort`` (money amounts as
    numbers, what a sort by them orders on)."""
    personal = personal_values(sealed)
    custom = {**public, **personal}
    return {
        "custom": custom,
        "custom_personal_keys": sorted(personal),
        "custom_sort": {
            k: float(v.split()[0])
            for k, v in custom.items()
            if isinstance(v, str) and _MONEY.match(v)
        },
    }


def personal_custom(docs: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The paths of the personal custom values in ``docs`` (``custom.<key>``): what a query
    redacts for a role that may not see them, and reads as erased with the subject."""
    return tuple(sorted({f"custom.{k}" for d in docs for k in d.get("custom_personal_keys") or ()}))


def without_personal(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``doc`` without its personal custom values (its subject was erased)."""
    personal = set(doc.get("custom_personal_keys") or ())
    custom = {k: v for k, v in (doc.get("custom") or {}).items() if k not in personal}
    return {**doc, "custom": custom, "custom_personal_keys": []}


def filter_value(definition: FieldDefinition, raw: str) -> dict[str, Any]:
    """A list route's ``custom.<key>=raw`` as a read-model condition on ``custom.<key>``: a
    multi-choice field holds the choice, any other equals the value (in canonical form)."""
    path = f"custom.{definition.key}"
    value = canonical(definition, raw)
    if definition.type is FieldType.MULTI_CHOICE:
        return {"$and": [{path: {"$contains": v}} for v in value]}  # type: ignore[union-attr]
    return {path: value}


def custom_filters(
    state: CustomFieldsState, entity: FieldEntity, sees_personal: bool, wanted: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The read-model conditions of a list route's ``custom.<key>=value`` parameters: a key
    no live field of ``entity`` has is a 422 naming it, a personal one is refused (403) to
    whoever may not see it."""
    conditions = []
    for key, raw in wanted.items():
        found = state.get(entity, key)
        if found is None or found.retired:
            raise InvalidCommand(
                f"custom.{key}", f"is not a custom field of {entity.value}s", location="query"
            )
        if found.personal and not sees_personal:
            raise Forbidden(f"your role may not filter by {key}")
        conditions.append(filter_value(found, raw))
    return conditions


def custom_sorts(
    state: CustomFieldsState, entity: FieldEntity, sees_personal: bool, sort: str
) -> dict[str, str]:
    """A list route's ``sort=custom.<key>`` (or ``-custom.<key>``) as one more allowed sort,
    API name to read-model path ({} for any other sort); a key no live field of ``entity``
    has is a 422 naming ``sort``, a personal one is refused (403) to whoever may not see it."""
    name = sort.removeprefix("-")
    if not name.startswith("custom."):
        return {}
    found = state.get(entity, name.removeprefix("custom."))
    if found is None or found.retired:
        raise InvalidCommand("sort", f"{name} is not a custom field of {entity.value}s")
    if found.personal and not sees_personal:
        raise Forbidden(f"your role may not sort by {found.key}")
    return {name: sort_path(found)}


@dataclass(frozen=True, slots=True)
class CustomListQuery:
    """A list route's custom fields: the tenant's definitions (for the export's columns), the
    read-model conditions of its ``custom.<key>=`` parameters and the sorts by them it allows
    beside its own."""

    fields: CustomFieldsState
    filters: tuple[dict[str, Any], ...]
    sorts: tuple[tuple[str, str], ...]


def custom_list_query(
    fields: CustomFieldsState,
    entity: FieldEntity,
    sees_personal: bool,
    params: Mapping[str, str],
    sort: str,
) -> CustomListQuery:
    """The :class:`CustomListQuery` of a list of ``entity`` asked with the query ``params``
    (its ``custom.<key>`` ones are read) and ``sort``; a personal field only for a role that
    sees personal contact data (see :func:`custom_filters`)."""
    wanted = {k.removeprefix("custom."): v for k, v in params.items() if k.startswith("custom.")}
    return CustomListQuery(
        fields,
        tuple(custom_filters(fields, entity, sees_personal, wanted)),
        tuple(custom_sorts(fields, entity, sees_personal, sort).items()),
    )


def export_columns(
    columns: Sequence[str], state: CustomFieldsState, entity: FieldEntity
) -> list[str]:
    """A list's export columns with one ``custom.<key>`` per custom field of ``entity`` (the
    retired ones too: their values stay) in place of the one ``custom`` object."""
    fields = state.of(entity, retired=True)
    return [c for c in columns if c != "custom"] + [f"custom.{f.key}" for f in fields]


def sort_path(definition: FieldDefinition) -> str:
    """The read-model path a sort by the field orders on (money by its amount)."""
    if definition.type is FieldType.MONEY:
        return f"custom_sort.{definition.key}"
    return f"custom.{definition.key}"


def sort_keys(
    state: CustomFieldsState, entity: FieldEntity, values: Mapping[str, Any]
) -> dict[str, float]:
    """The amounts of the record's money fields, as numbers: what a sort by them orders on."""
    keys: dict[str, float] = {}
    for key, value in values.items():
        definition = state.get(entity, key)
        if definition is not None and definition.type is FieldType.MONEY and isinstance(value, str):
            keys[key] = float(value.split()[0])
    return keys


# -- commands ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetCustomField:
    tenant: str
    definition: FieldDefinition


@dataclass(frozen=True, slots=True)
class RetireCustomField:
    tenant: str
    entity: FieldEntity
    key: str


def _admin(ctx: CommandContext) -> None:
    who = Principal.of(ctx)
    if not who.is_system and who.role is not Role.ADMIN:
        raise Forbidden(f"role {who.role_name} may not define custom fields")


def _set(fields: CustomFields, cmd: SetCustomField, ctx: CommandContext) -> None:
    _admin(ctx)
    fields.set_field(cmd.definition, ctx.actor)


def _retire(fields: CustomFields, cmd: RetireCustomField, ctx: CommandContext) -> None:
    _admin(ctx)
    fields.retire(cmd.entity, cmd.key, ctx.actor)


def custom_field_commands() -> CommandTable[CustomFields]:
    table = CommandTable(CustomFields, id_field="tenant")
    table.on(SetCustomField, Expect.ANY, None, _set)
    table.on(RetireCustomField, Expect.EXISTING, None, _retire)
    return table


class DefinitionsOf:
    """A tenant's definitions, read from their stream on every call (the command checks
    values against what is defined now)."""

    def __init__(self, store: EventStore, codec: EventCodec) -> None:
        self.repository = Repository(store, codec, CustomFields)

    async def __call__(self, tenant: str) -> CustomFieldsState:
        try:
            return (await self.repository.load(tenant, tenant=tenant)).state
        except NotFound:
            return CustomFields.initial_state()
