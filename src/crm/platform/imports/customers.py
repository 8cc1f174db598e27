"""A file's row of customers as the command that registers it, or the reason it cannot be.

A row is accepted exactly when ``POST /customers`` would accept its fields: the cells are
normalised (:mod:`.values`), then checked by the customer service's own request model
(lengths, the phone's shape, control characters), then by the domain in a throwaway
aggregate, so a dry run says what the run will meet. Each refusal names the file's column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from crm.customer.api.schemas import NewCustomer
from crm.customer.domain.customer import Customer, Profile
from crm.events.custom_fields import FieldEntity
from crm.events.customer import CustomerKind
from crm.kernel.custom_fields import CustomFieldsState, check_values
from crm.kernel.errors import CrmError, InvalidCommand
from crm.platform.imports import values
from crm.platform.imports.mapping import ANY_CUSTOM, CUSTOM, cells_by_field

FIELDS = (
    "name",
    "kind",
    "email",
    "phone",
    "company",
    "title",
    "region",
    "source",
    "tags",
    "owner",
    "customer_id",
    "merge_into",
    ANY_CUSTOM,
)
"""What a customers file may fill (``name`` is required); ``custom.<key>`` columns fill the
tenant's custom fields; ``owner`` is the user id of an active rep or manager of the tenant
who owns the customer (else the import's owner); ``customer_id`` (an id of this CRM's
customers) and ``merge_into`` name customers already there (:mod:`.matching`)."""

KINDS: Mapping[str, CustomerKind] = {
    "person": CustomerKind.PERSON,
    "individual": CustomerKind.PERSON,
    "个人": CustomerKind.PERSON,
    "company": CustomerKind.COMPANY,
    "organisation": CustomerKind.COMPANY,
    "organization": CustomerKind.COMPANY,
    "business": CustomerKind.COMPANY,
    "公司": CustomerKind.COMPANY,
    "企业": CustomerKind.COMPANY,
}

_TAG_SEPARATORS = re.compile("[,;|\uff0c\uff1b\u3001]")
"""Between tags: a comma, a semicolon, a bar, or their full-width Chinese forms."""


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a row cannot be imported: the file's ``column`` (None: the row as a whole), the
    cell's ``value`` and the ``reason`` in English and Chinese."""

    column: str | None
    value: str | None
    reason: str

    @property
    def message(self) -> str:
        where = f"{self.column}: " if self.column else ""
        shown = f" ({self.value!r})" if self.value else ""
        return f"{where}{self.reason}{shown}"


@dataclass(frozen=True, slots=True)
class CustomerRow:
    profile: Profile
    tags: tuple[str, ...]
    custom: Mapping[str, str] = field(default_factory=dict)
    """The row's custom fields by key, as the file has them (checked, not yet canonical)."""
    customer_id: str | None = None
    """The customer of this CRM the row is (its key before its e-mail and phone)."""
    merge_into: str | None = None
    """The customer (an id, or an e-mail address) the row's customer is to be merged into."""
    filled: frozenset[str] = frozenset()
    """The profile fields the row has a value for (what an update changes)."""
    owner_id: str | None = None
    """The row's ``owner`` cell: who owns the customer (checked by the import: an active rep
    or manager of the tenant)."""


@dataclass(frozen=True, slots=True)
class RowReader:
    """Reads the rows of one file: which column is which field, and the options."""

    headers: Sequence[str]
    mapping: Mapping[str, str]
    region: str
    owner_id: str | None = None

    def __post_init__(self) -> None:
        if "name" not in self.mapping.values():
            from crm.platform.imports.mapping import BadMapping

            raise BadMapping("name", "no column is the name / 没有姓名列")

    def column_of(self, field: str) -> str | None:
        return next((h for h, f in self.mapping.items() if f == field), None)

    def read(
        self, cells: Sequence[str], definitions: CustomFieldsState | None = None
    ) -> CustomerRow | RowError:
        """The row's customer; its custom cells are checked against ``definitions`` (the
        tenant's; None: none defined)."""
        row = cells_by_field(self.headers, self.mapping, cells)
        body: dict[str, Any] = {}
        keys = _keys(row, self.column_of)
        if isinstance(keys, RowError):
            return keys
        owner = row.pop("owner", "") or None
        if owner is not None and len(owner) > 100:
            return RowError(self.column_of("owner"), owner[:100], "too long / 过长")
        owner_id = owner or self.owner_id
        custom = {
            f.removeprefix(CUSTOM): text for f, text in row.items() if f.startswith(CUSTOM) and text
        }
        try:
            for field, text in row.items():
                if not text or field.startswith(CUSTOM):
                    continue
                if field == "email":
                    body[field] = values.email(text)
                elif field == "phone":
                    body[field] = values.phone(text, self.region)
                elif field == "kind":
                    kind = KINDS.get(text.lower())
                    if kind is None:
                        raise values.BadValue("person or company / 个人或公司", text)
                    body[field] = kind.value
                elif field == "tags":
                    body[field] = [t.strip() for t in _TAG_SEPARATORS.split(text) if t.strip()]
                else:
                    body[field] = text
        except values.BadValue as e:
            return RowError(self.column_of(field), e.value, e.reason)
        if "name" not in body:
            return RowError(self.column_of("name"), None, "is required / 必填")
        if owner_id is not None:
            body["owner_id"] = owner_id
        try:
            checked = NewCustomer.model_validate(body)
        except ValidationError as e:
            first = e.errors()[0]
            culprit = str(first["loc"][0]) if first["loc"] else ""
            return RowError(self.column_of(culprit), row.get(culprit), f"{first['msg']} / 值无效")
        profile = Profile(
            kind=checked.kind,
            name=checked.name,
            email=str(checked.email) if checked.email else None,
            phone=checked.phone,
            company=checked.company,
            title=checked.title,
            region=checked.region,
            source=checked.source,
        )
        try:  # the domain's own rules, on an aggregate nobody stores
            values_ = check_values(definitions or CustomFieldsState(), FieldEntity.CUSTOMER, custom)
            Customer.create("dry-run").register(
                profile, tags=checked.tags, owner_id=owner_id, custom=values_
            )
        except InvalidCommand as e:
            column = self.column_of(e.field)
            return RowError(column or e.field, row.get(e.field), f"{e.message} / 值无效")
        except CrmError as e:
            return RowError(None, None, f"{e} / 无法导入")
        filled = frozenset(f for f in body if f not in ("tags", "owner_id"))
        customer_id, merge_into = keys
        return CustomerRow(
            profile,
            tuple(checked.tags),
            custom,
            customer_id=customer_id,
            merge_into=merge_into,
            filled=filled,
            owner_id=owner,
        )


def _keys(
    row: dict[str, str], column_of: Callable[[str], str | None]
) -> tuple[str | None, str | None] | RowError:
    """The row's ``customer_id`` and ``merge_into`` cells (taken out of ``row``), checked:
    an id of this CRM is a UUID; ``merge_into`` is one, or an e-mail address."""
    customer_id = row.pop("customer_id", "") or None
    merge_into = row.pop("merge_into", "") or None
    if customer_id is not None:
        try:
            customer_id = str(UUID(customer_id))
        except ValueError:
            return RowError(
                column_of("customer_id"),
                customer_id[:100],
                "not a customer id of this CRM (another system's id is external_id)"
                " / 不是本系统的客户编号",
            )
    if merge_into is not None:
        try:
            merge_into = str(UUID(merge_into))
        except ValueError:
            try:
                merge_into = values.email(merge_into)
            except values.BadValue:
                return RowError(
                    column_of("merge_into"),
                    merge_into[:100],
                    "a customer id or e-mail address / 须为客户编号或邮箱",
                )
    return customer_id, merge_into
