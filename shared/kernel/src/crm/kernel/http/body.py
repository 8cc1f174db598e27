"""The base of every request body, and the id types a body takes.

:class:`Body` refuses, once for every context, what no request may carry:

- a field the schema does not know (``extra="forbid"``: a typo is a 422 naming it);
- a C0 control character (NUL, ESC, backspace, ...) or DEL in any string of the body, at
  any depth (lists, mappings, nested models): a 422 naming the field. Tab, line feed and
  carriage return are the only control characters free text may hold.

Every context's schemas derive from it rather than from :class:`pydantic.BaseModel`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""C0 control characters and DEL, except tab, line feed and carriage return."""


def control_free(value: str) -> str:
    """``value`` unchanged, or a ValueError if it holds a control character."""
    found = CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"control character U+{ord(found.group()):04X} at index {found.start()} is not"
            " allowed (only tab and line breaks are)"
        )
    return value


def _check(value: Any) -> None:
    if isinstance(value, str):
        control_free(value)
    elif isinstance(value, Body):
        return  # validated its own fields, with their own names
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _check(getattr(value, name))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check(key)
            _check(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check(item)


class Body(BaseModel):
    """A request body: unknown fields and control characters are a 422 naming the field."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        _check(value)
        return value


def _canonical_uuid(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise ValueError("must be a UUID, e.g. 3f0c9a4e-5b7d-4e21-9c3a-8d2f1e6b7a90") from None


UuidText = Annotated[
    str,
    Field(min_length=32, max_length=45, json_schema_extra={"format": "uuid"}),
    AfterValidator(_canonical_uuid),
]
"""An id that is a UUID, kept as its canonical string (lower case, hyphens)."""

CustomerId = UuidText
"""A customer's id: customers are registered under UUIDs (``POST /customers``, a lead's
conversion), so anything else names no customer and is refused where it enters."""
