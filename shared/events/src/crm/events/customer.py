"""Events of the customer context. Streams: ``customer-<uuid>``; topic ``crm.customer.events``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from crm.events.base import DomainEvent, OptionalPersonal, Personal
from crm.events.registry import event, upcaster


class CustomerKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"


class Channel(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    VISIT = "visit"
    CHAT = "chat"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ConsentPurpose(StrEnum):
    """What a customer agrees (or not) that their data is used for."""

    MARKETING_EMAIL = "marketing_email"
    MARKETING_PHONE = "marketing_phone"
    MARKETING_SMS = "marketing_sms"
    PROFILING = "profiling"
    THIRD_PARTY_SHARING = "third_party_sharing"


@event("customer.registered", version=1)
class CustomerRegisteredV1(DomainEvent):
    """First schema: one ``full_name``, people only, no title, region or tags.
    Kept so stored v1 payloads stay documented; read as v2 through the upcaster below."""

    full_name: Personal
    email: OptionalPersonal = None
    phone: OptionalPersonal = None
    company: str | None = None
    source: str | None = None
    owner_id: str | None = None


CustomValue = bool | int | float | str | tuple[str, ...]
"""A custom field's value in an event: a boolean, a number, a text (also a date as
``YYYY-MM-DD``, a choice's key and money as ``"12.50 EUR"``) or the keys of a multi-choice.
Which it is comes from the tenant's definition of the field (:mod:`crm.events.custom_fields`)."""


@event("customer.registered", version=2)
class CustomerRegisteredV2(DomainEvent):
    """The profile without addresses, dates, preferences or custom fields; read as v3
    through the upcaster below (they read as not given)."""

    kind: CustomerKind
    name: Personal
    email: OptionalPersonal = None
    phone: OptionalPersonal = None
    company: str | None = None
    title: str | None = None
    region: str | None = None
    source: str | None = None
    tags: tuple[str, ...] = ()
    owner_id: str | None = None
    """None: registered into the shared pool."""
    lead_id: str | None = None
    """The sales lead this customer was converted from, if any: the conversion process
    recognises its customer by it and links the new opportunity to the customer."""


@upcaster("customer.registered", from_version=1)
def _registered_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    payload["name"] = payload.pop("full_name")
    payload.setdefault("kind", CustomerKind.PERSON.value)
    return payload


@event("customer.registered", version=3)
class CustomerRegistered(DomainEvent):
    kind: CustomerKind
    name: Personal
    email: OptionalPersonal = None
    phone: OptionalPersonal = None
    company: str | None = None
    title: str | None = None
    region: str | None = None
    source: str | None = None
    billing_address: OptionalPersonal = None
    """Free text, one line per line of the address (street, postcode and city, country)."""
    shipping_address: OptionalPersonal = None
    visit_address: OptionalPersonal = None
    birthday: OptionalPersonal = None
    """``YYYY-MM-DD``; a person's date of birth is personal data (sealed with their key)."""
    anniversary: OptionalPersonal = None
    """``YYYY-MM-DD``: a date the customer celebrates (a wedding, a company's founding)."""
    preferred_channel: Channel | None = None
    preferred_language: str | None = None
    """A language tag: ``en``, ``zh-CN``..."""
    custom: dict[str, CustomValue] = Field(default_factory=dict)
    """The tenant's custom fields that are not personal data, by key."""
    custom_personal: OptionalPersonal = None
    """The custom fields defined as personal data: one JSON object by key, sealed with the
    customer's key (so erasing the customer erases them too); None when there are none."""
    tags: tuple[str, ...] = ()
    owner_id: str | None = None
    """None: registered into the shared pool."""
    lead_id: str | None = None
    """The sales lead this customer was converted from, if any: the conversion process
    recognises its customer by it and links the new opportunity to the customer."""


@upcaster("customer.registered", from_version=2)
def _registered_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # the new fields' defaults: not given


@event("customer.profile_updated", version=1)
class CustomerProfileUpdatedV1(DomainEvent):
    """The profile without addresses, dates, preferences or custom fields; read as v2."""

    kind: CustomerKind
    name: Personal
    email: OptionalPersonal = None
    phone: OptionalPersonal = None
    company: str | None = None
    title: str | None = None
    region: str | None = None
    source: str | None = None
    changed: tuple[str, ...]


@event("customer.profile_updated", version=2)
class CustomerProfileUpdated(DomainEvent):
    """The whole profile after the change, and which fields changed: a consumer needs no
    earlier event to know the profile, and can still tell what was edited (a custom field
    as ``custom.<key>``)."""

    kind: CustomerKind
    name: Personal
    email: OptionalPersonal = None
    phone: OptionalPersonal = None
    company: str | None = None
    title: str | None = None
    region: str | None = None
    source: str | None = None
    billing_address: OptionalPersonal = None
    """Free text, one line per line of the address (street, postcode and city, country)."""
    shipping_address: OptionalPersonal = None
    visit_address: OptionalPersonal = None
    birthday: OptionalPersonal = None
    """``YYYY-MM-DD``; a person's date of birth is personal data (sealed with their key)."""
    anniversary: OptionalPersonal = None
    """``YYYY-MM-DD``: a date the customer celebrates (a wedding, a company's founding)."""
    preferred_channel: Channel | None = None
    preferred_language: str | None = None
    """A language tag: ``en``, ``zh-CN``..."""
    custom: dict[str, CustomValue] = Field(default_factory=dict)
    """The tenant's custom fields that are not personal data, by key."""
    custom_personal: OptionalPersonal = None
    """The custom fields defined as personal data: one JSON object by key, sealed with the
    customer's key (so erasing the customer erases them too); None when there are none."""
    changed: tuple[str, ...]


@upcaster("customer.profile_updated", from_version=1)
def _profile_updated_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return payload  # the new fields' defaults: not given


@event("customer.owner_assigned")
class CustomerOwnerAssigned(DomainEvent):
    owner_id: str
    previous_owner_id: str | None = None


@event("customer.released_to_pool")
class CustomerReleasedToPool(DomainEvent):
    previous_owner_id: str
    reason: str | None = None


@event("customer.claimed_from_pool")
class CustomerClaimedFromPool(DomainEvent):
    owner_id: str


@event("customer.tagged")
class CustomerTagged(DomainEvent):
    tag: str


@event("customer.untagged")
class CustomerUntagged(DomainEvent):
    tag: str


@event("customer.interaction_logged")
class InteractionLogged(DomainEvent):
    interaction_id: str
    channel: Channel
    direction: Direction
    summary: Personal
    occurred_at: datetime
    duration_minutes: int | None = Field(default=None, ge=0)


@event("customer.consent_recorded")
class ConsentRecorded(DomainEvent):
    purpose: ConsentPurpose
    granted: bool
    method: str | None = None
    """How consent was given or withdrawn: web form, signed paper, phone call..."""


@event("customer.erased")
class CustomerErased(DomainEvent):
    """The customer's personal data was erased (right to erasure): their key is deleted,
    every personal field of every event about them now reads as erased."""

    reason: str | None = None


@event("customer.lead_linked")
class CustomerLeadLinked(DomainEvent):
    """A sales lead was converted for this existing customer: the lead's contact is this
    person, so erasing the customer erases the lead's personal data too."""

    lead_id: str


@event("customer.data_exported")
class CustomerDataExported(DomainEvent):
    """Everything held about the customer was exported for them (a data subject access
    request): who exported it and when are the event's actor and time; ``sections`` names
    what the export held, never its content."""

    sections: list[str]
    reason: str | None = None


@event("customer.marked_distinct")
class CustomerMarkedDistinct(DomainEvent):
    """An admin looked at this customer and ``other_id``, suspected duplicates, and decided
    they are different people or companies: the pair leaves the list of suspected
    duplicates."""

    other_id: str


@event("customer.merged_into")
class CustomerMergedInto(DomainEvent):
    """This customer was a duplicate of ``survivor_id`` and was merged into it (who and when
    are the event's actor and time). From now on it accepts no command but an erasure, and
    every read model counts its records as the survivor's."""

    survivor_id: str


@event("customer.absorbed")
class CustomerAbsorbed(DomainEvent):
    """``merged_id`` was merged into this customer (who and when are the event's actor and
    time). What the survivor gained follows as its own events (``customer.tagged``,
    ``customer.profile_updated``, ``customer.consent_recorded``, ``customer.contact_added``
    for a company's contacts); this one says why, and
    names them: ``tags`` gained, profile fields ``filled`` (empty here, given there),
    consent ``purposes`` taken over, and the merged customer's ``leads``, whose personal data
    an erasure of the survivor erases too."""

    merged_id: str
    tags: tuple[str, ...] = ()
    filled: tuple[str, ...] = ()
    purposes: tuple[ConsentPurpose, ...] = ()
    leads: tuple[str, ...] = ()


@event("customer.contact_added")
class ContactAdded(DomainEvent):
    """A person at a company customer was added as one of its contacts. Their name, e-mail,
    phone and note are sealed with the company's key: erasing the customer erases them."""

    contact_id: str
    name: Personal
    title: str | None = None
    """Their role at the company (buyer, CFO)."""
    email: OptionalPersonal = None
    phone: OptionalPersonal = None
    primary: bool = False
    """The company's main contact (at most one is)."""
    note: OptionalPersonal = None


@event("customer.contact_updated")
class ContactUpdated(DomainEvent):
    """A contact as it is after the change, and which of its fields ``changed``."""

    contact_id: str
    name: Personal
    title: str | None = None
    email: OptionalPersonal = None
    phone: OptionalPersonal = None
    primary: bool = False
    note: OptionalPersonal = None
    changed: tuple[str, ...]


@event("customer.contact_removed")
class ContactRemoved(DomainEvent):
    """A contact is no longer one of the company's (what it was stays in the log, sealed)."""

    contact_id: str


CUSTOMER_EVENTS: tuple[type[DomainEvent], ...] = (
    CustomerRegistered,
    CustomerProfileUpdated,
    CustomerOwnerAssigned,
    CustomerReleasedToPool,
    CustomerClaimedFromPool,
    CustomerTagged,
    CustomerUntagged,
    InteractionLogged,
    ConsentRecorded,
    CustomerErased,
    CustomerLeadLinked,
    CustomerDataExported,
    CustomerMarkedDistinct,
    CustomerMergedInto,
    CustomerAbsorbed,
    ContactAdded,
    ContactUpdated,
    ContactRemoved,
)
