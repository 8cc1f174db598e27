"""The ``customers`` read model: one document per customer, for lists, filters and lookups.

:class:`CustomerDoc` is the document's shape: the projection writes it, and the routes
answer it as it is (``GET /customers/{id}``, the items of ``GET /customers``).
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from crm.customer.domain.duplicates import email_key, phone_key, text_key
from crm.events import ERASED, EventEnvelope
from crm.events.customer import (
    Channel,
    ConsentRecorded,
    ContactAdded,
    ContactRemoved,
    ContactUpdated,
    CustomerAbsorbed,
    CustomerClaimedFromPool,
    CustomerDataExported,
    CustomerErased,
    CustomerKind,
    CustomerLeadLinked,
    CustomerMarkedDistinct,
    CustomerMergedInto,
    CustomerOwnerAssigned,
    CustomerProfileUpdated,
    CustomerRegistered,
    CustomerReleasedToPool,
    CustomerTagged,
    CustomerUntagged,
    InteractionLogged,
)
from crm.kernel.custom_fields import doc_fields, without_personal
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.read_store import CollectionSpec, Index

COLLECTION = "customers"
PROFILE = (
    "kind",
    "name",
    "email",
    "phone",
    "company",
    "title",
    "region",
    "source",
    "billing_address",
    "shipping_address",
    "visit_address",
    "birthday",
    "anniversary",
    "preferred_channel",
    "preferred_language",
)
PERSONAL_EXTRAS = (
    "billing_address",
    "shipping_address",
    "visit_address",
    "birthday",
    "anniversary",
)
"""Personal fields beside name, e-mail, phone and title: erased with them."""


class InteractionStats(TypedDict):
    count: int
    last_at: str | None
    by_channel: dict[str, int]


class ContactDoc(TypedDict):
    """A person at a company customer (name, e-mail, phone and note are personal data)."""

    id: str
    name: str
    title: str | None
    email: str | None
    phone: str | None
    primary: bool
    note: str | None
    added_at: str
    updated_at: str


class CustomerDoc(TypedDict):
    id: str
    tenant: Annotated[str, Field(exclude=True)]
    kind: CustomerKind
    name: str
    email: str | None
    phone: str | None
    company: str | None
    title: str | None
    region: str | None
    source: str | None
    billing_address: str | None
    shipping_address: str | None
    visit_address: str | None
    birthday: str | None
    anniversary: str | None
    preferred_channel: Channel | None
    preferred_language: str | None
    custom: dict[str, Any]
    """The tenant's custom fields by key, canonical values (money ``"12.50 EUR"``)."""
    custom_personal_keys: Annotated[list[str], Field(exclude=True)]
    """Which of them are personal data (redacted as contact data, removed on erasure)."""
    custom_sort: Annotated[dict[str, float], Field(exclude=True)]
    """The amount of each money value as a number: what a sort by it orders on."""
    tags: list[str]
    owner_id: str | None
    in_pool: bool
    consents: dict[str, Any]
    interactions: InteractionStats
    erased: bool
    erased_at: NotRequired[str]
    merged_into: str | None
    """The customer this one was merged into: it leaves the lists, and ``GET`` of it points
    there (308)."""
    merged_at: NotRequired[str]
    data_exported_at: NotRequired[str]
    """When the customer's data was last exported for them (a data subject access request)."""
    absorbed: list[str]
    """The customers merged into this one."""
    distinct_from: list[str]
    """Customers an admin decided are not duplicates of this one."""
    contacts: list[ContactDoc]
    """A company's contacts, in the order they were added (a person has none)."""
    email_key: Annotated[str | None, Field(exclude=True)]
    """The keys duplicates are found by (:mod:`crm.customer.domain.duplicates`)."""
    phone_key: Annotated[str | None, Field(exclude=True)]
    company_key: Annotated[str | None, Field(exclude=True)]
    created_at: str
    created_by: str
    updated_at: str
    version: int


on: Handlers[CustomerDoc] = Handlers()


def _keyed(doc: CustomerDoc) -> CustomerDoc:
    doc["email_key"] = email_key(doc["email"]) if not doc["erased"] else None
    doc["phone_key"] = phone_key(doc["phone"]) if not doc["erased"] else None
    doc["company_key"] = text_key(doc["company"])
    return doc


def _touch(doc: CustomerDoc, envelope: EventEnvelope) -> CustomerDoc:
    doc["updated_at"] = envelope.occurred_at.isoformat()
    doc["version"] = envelope.stream_version
    return doc


def _existing(doc: CustomerDoc | None, key: DocKey, envelope: EventEnvelope) -> CustomerDoc:
    if doc is None:
        raise LookupError(f"{envelope.event_type} for customer {key[1]} that was never registered")
    return doc.copy()


def _with_custom(
    doc: CustomerDoc, event: CustomerRegistered | CustomerProfileUpdated
) -> CustomerDoc:
    doc.update(doc_fields(event.custom, event.custom_personal))  # type: ignore[typeddict-item]
    return doc


def _erased(value: str | None) -> str | None:
    return None if value is None else ERASED


def _erased_contact(contact: ContactDoc) -> ContactDoc:
    erased = contact.copy()
    erased["name"] = ERASED
    erased["title"] = _erased(contact["title"])
    erased["email"] = _erased(contact["email"])
    erased["phone"] = _erased(contact["phone"])
    erased["note"] = _erased(contact["note"])
    return erased


@on(CustomerRegistered)
def registered(
    key: DocKey, doc: CustomerDoc | None, event: CustomerRegistered, envelope: EventEnvelope
) -> CustomerDoc:
    return _touch(
        _with_custom(
            _keyed(
                CustomerDoc(
                    id=key[1],
                    tenant=envelope.tenant,
                    kind=event.kind,
                    name=event.name,
                    email=event.email,
                    phone=event.phone,
                    company=event.company,
                    title=event.title,
                    region=event.region,
                    source=event.source,
                    billing_address=event.billing_address,
                    shipping_address=event.shipping_address,
                    visit_address=event.visit_address,
                    birthday=event.birthday,
                    anniversary=event.anniversary,
                    preferred_channel=event.preferred_channel,
                    preferred_language=event.preferred_language,
                    custom={},
                    custom_personal_keys=[],
                    custom_sort={},
                    tags=sorted(event.tags),
                    owner_id=event.owner_id,
                    in_pool=event.owner_id is None,
                    consents={},
                    interactions=InteractionStats(count=0, last_at=None, by_channel={}),
                    erased=False,
                    merged_into=None,
                    absorbed=[],
                    distinct_from=[],
                    contacts=[],
                    email_key=None,
                    phone_key=None,
                    company_key=None,
                    created_at=envelope.occurred_at.isoformat(),
                    created_by=envelope.actor,
                    updated_at="",
                    version=0,
                )
            ),
            event,
        ),
        envelope,
    )


@on(CustomerProfileUpdated)
def profile_updated(
    key: DocKey, doc: CustomerDoc | None, event: CustomerProfileUpdated, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    new.update({f: getattr(event, f) for f in PROFILE})  # type: ignore[typeddict-item]
    return _touch(_with_custom(_keyed(new), event), envelope)


@on(CustomerOwnerAssigned, CustomerClaimedFromPool)
def owned(
    key: DocKey,
    doc: CustomerDoc | None,
    event: CustomerOwnerAssigned | CustomerClaimedFromPool,
    envelope: EventEnvelope,
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    new.update({"owner_id": event.owner_id, "in_pool": False})
    return _touch(new, envelope)


@on(CustomerReleasedToPool)
def released(
    key: DocKey, doc: CustomerDoc | None, event: CustomerReleasedToPool, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    new.update({"owner_id": None, "in_pool": True})
    return _touch(new, envelope)


@on(CustomerTagged)
def tagged(
    key: DocKey, doc: CustomerDoc | None, event: CustomerTagged, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    new["tags"] = sorted({*new["tags"], event.tag})
    return _touch(new, envelope)


@on(CustomerUntagged)
def untagged(
    key: DocKey, doc: CustomerDoc | None, event: CustomerUntagged, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    new["tags"] = [t for t in new["tags"] if t != event.tag]
    return _touch(new, envelope)


@on(InteractionLogged)
def interaction_logged(
    key: DocKey, doc: CustomerDoc | None, event: InteractionLogged, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    stats = new["interactions"]
    by_channel = dict(stats["by_channel"])
    by_channel[event.channel.value] = by_channel.get(event.channel.value, 0) + 1
    when = event.occurred_at.isoformat()
    last = stats["last_at"]
    new["interactions"] = InteractionStats(
        count=stats["count"] + 1,
        last_at=when if last is None or when > last else last,
        by_channel=by_channel,
    )
    return _touch(new, envelope)


@on(ConsentRecorded)
def consent_recorded(
    key: DocKey, doc: CustomerDoc | None, event: ConsentRecorded, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    new["consents"] = {
        **new["consents"],
        event.purpose.value: {
            "granted": event.granted,
            "method": event.method,
            "at": envelope.occurred_at.isoformat(),
        },
    }
    return _touch(new, envelope)


@on(CustomerLeadLinked)
def lead_linked(
    key: DocKey, doc: CustomerDoc | None, event: CustomerLeadLinked, envelope: EventEnvelope
) -> CustomerDoc:
    return _touch(_existing(doc, key, envelope), envelope)


@on(CustomerErased)
def erased(
    key: DocKey, doc: CustomerDoc | None, event: CustomerErased, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    new.update(
        {
            "name": ERASED,
            "email": _erased(new["email"]),
            "phone": _erased(new["phone"]),
            "title": _erased(new["title"]),
        }
    )
    for f in PERSONAL_EXTRAS:
        new[f] = _erased(new[f])  # type: ignore[literal-required]
    new["contacts"] = [_erased_contact(c) for c in new.get("contacts", [])]
    # the personal custom values go (a rebuild reads them erased, and so finds none)
    new.update(without_personal(new))  # type: ignore[typeddict-item]
    new.update({"erased": True, "erased_at": envelope.occurred_at.isoformat()})
    return _touch(_keyed(new), envelope)


@on(CustomerMarkedDistinct)
def marked_distinct(
    key: DocKey, doc: CustomerDoc | None, event: CustomerMarkedDistinct, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    new["distinct_from"] = sorted({*new.get("distinct_from", ()), event.other_id})
    return _touch(new, envelope)


@on(CustomerMergedInto)
def merged_into(
    key: DocKey, doc: CustomerDoc | None, event: CustomerMergedInto, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    new.update({"merged_into": event.survivor_id, "merged_at": envelope.occurred_at.isoformat()})
    return _touch(new, envelope)


@on(CustomerDataExported)
def data_exported(
    key: DocKey, doc: CustomerDoc | None, event: CustomerDataExported, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    new["data_exported_at"] = envelope.occurred_at.isoformat()
    return _touch(new, envelope)


@on(CustomerAbsorbed)
def absorbed(
    key: DocKey, doc: CustomerDoc | None, event: CustomerAbsorbed, envelope: EventEnvelope
) -> CustomerDoc:
    """What the survivor gained comes as its own events (tags, profile, consent) after this."""
    new = _existing(doc, key, envelope)
    new["absorbed"] = sorted({*new.get("absorbed", ()), event.merged_id})
    return _touch(new, envelope)


def _contact(event: ContactAdded | ContactUpdated, added_at: str, when: str) -> ContactDoc:
    return ContactDoc(
        id=event.contact_id,
        name=event.name,
        title=event.title,
        email=event.email,
        phone=event.phone,
        primary=event.primary,
        note=event.note,
        added_at=added_at,
        updated_at=when,
    )


@on(ContactAdded)
def contact_added(
    key: DocKey, doc: CustomerDoc | None, event: ContactAdded, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    when = envelope.occurred_at.isoformat()
    others = [c for c in new.get("contacts", []) if c["id"] != event.contact_id]
    new["contacts"] = [*others, _contact(event, when, when)]
    return _touch(new, envelope)


@on(ContactUpdated)
def contact_updated(
    key: DocKey, doc: CustomerDoc | None, event: ContactUpdated, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    when = envelope.occurred_at.isoformat()
    new["contacts"] = [
        _contact(event, c["added_at"], when) if c["id"] == event.contact_id else c
        for c in new.get("contacts", [])
    ]
    return _touch(new, envelope)


@on(ContactRemoved)
def contact_removed(
    key: DocKey, doc: CustomerDoc | None, event: ContactRemoved, envelope: EventEnvelope
) -> CustomerDoc:
    new = _existing(doc, key, envelope)
    new["contacts"] = [c for c in new.get("contacts", []) if c["id"] != event.contact_id]
    return _touch(new, envelope)


class CustomersProjection:
    name = "customers"
    version = 7
    collections = (
        CollectionSpec(
            COLLECTION,
            (
                Index(("tenant", "owner_id")),
                Index(("tenant", "in_pool")),
                Index(("tenant", "region")),
                Index(("tenant", "created_at")),
                Index(("tenant", "email_key")),
                Index(("tenant", "phone_key")),
                Index(("tenant", "company_key")),
            ),
        ),
    )
    event_types = on.event_types
    categories = frozenset({"customer"})
    evolve = staticmethod(on.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(COLLECTION, envelope),)
