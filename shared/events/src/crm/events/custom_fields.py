"""Events of a tenant's custom fields: the fields its admins add to customers, leads,
opportunities and tickets. Stream ``customfields-<tenant>``, one per tenant.

A field's values travel in the events of the record they belong to (``custom`` of
``customer.registered`` v3, for instance); these events only say which fields exist, of
which type, and how they are labelled.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from crm.events.base import DomainEvent
from crm.events.registry import event


class FieldEntity(StrEnum):
    """The kinds of records a custom field can be defined on."""

    CUSTOMER = "customer"
    LEAD = "lead"
    OPPORTUNITY = "opportunity"
    TICKET = "ticket"


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    """A decimal amount and its currency: ``"12.50 EUR"``."""
    DATE = "date"
    """``YYYY-MM-DD``."""
    CHOICE = "choice"
    """One of the field's choices, by key."""
    MULTI_CHOICE = "multi_choice"
    """Any of the field's choices, by key."""
    BOOLEAN = "boolean"


class FieldChoice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    label_en: str
    label_zh: str


@event("custom_fields.field_set")
class CustomFieldSet(DomainEvent):
    """A custom field defined, or its definition changed (labels, choices, required): the
    whole definition as it now is. Its type and whether it is personal data never change
    once defined (values already recorded would no longer fit)."""

    entity: FieldEntity
    key: str
    label_en: str
    label_zh: str
    type: FieldType
    choices: tuple[FieldChoice, ...] = ()
    required: bool = False
    """A new record must give it; an edit may not clear it."""
    personal: bool = False
    """Personal data of the record's subject: sealed with their key, erased with them."""
    set_by: str = Field(description="The admin who defined or changed it")


@event("custom_fields.field_retired")
class CustomFieldRetired(DomainEvent):
    """The field is no longer offered or accepted; values already recorded stay in the log
    and in the read models."""

    entity: FieldEntity
    key: str
    retired_by: str
