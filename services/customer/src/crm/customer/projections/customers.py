"""The ``customers`` read model: one document per customer, for lists, filters and lookups."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm.events import ERASED, DomainEvent, EventEnvelope
from crm.events.customer import (
    CUSTOMER_EVENTS,
    ConsentRecorded,
    CustomerClaimedFromPool,
    CustomerErased,
    CustomerOwnerAssigned,
    CustomerProfileUpdated,
    CustomerRegistered,
    CustomerReleasedToPool,
    CustomerTagged,
    CustomerUntagged,
    InteractionLogged,
)
from crm.kernel.projection import DocKey
from crm.kernel.read_store import CollectionSpec, Document, Index

COLLECTION = "customers"
PROFILE = ("kind", "name", "email", "phone", "company", "title", "region", "source")
PERSONAL = ("name", "email", "phone", "title")


class CustomersProjection:
    name = "customers"
    collections = (
        CollectionSpec(
            COLLECTION,
            (
                Index(("tenant", "owner_id")),
                Index(("tenant", "in_pool")),
                Index(("tenant", "region")),
                Index(("tenant", "created_at")),
            ),
        ),
    )
    event_types = frozenset(e.event_type for e in CUSTOMER_EVENTS)
    categories = frozenset({"customer"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        return ((COLLECTION, envelope.stream_id.partition("-")[2]),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        at = envelope.occurred_at.isoformat()
        if isinstance(event, CustomerRegistered):
            new: dict[str, Any] = {
                "id": key[1],
                "tenant": envelope.tenant,
                **{f: getattr(event, f) for f in PROFILE},
                "tags": sorted(event.tags),
                "owner_id": event.owner_id,
                "in_pool": event.owner_id is None,
                "consents": {},
                "interactions": {"count": 0, "last_at": None, "by_channel": {}},
                "erased": False,
                "created_at": at,
                "created_by": envelope.actor,
            }
            return self._touch(new, envelope)
        if doc is None:
            raise LookupError(f"{event.event_type} for customer {key[1]} that was never registered")
        new = dict(doc)
        match event:
            case CustomerProfileUpdated():
                new.update({f: getattr(event, f) for f in PROFILE})
            case CustomerOwnerAssigned() | CustomerClaimedFromPool():
                new.update(owner_id=event.owner_id, in_pool=False)
            case CustomerReleasedToPool():
                new.update(owner_id=None, in_pool=True)
            case CustomerTagged():
                new["tags"] = sorted({*doc["tags"], event.tag})
            case CustomerUntagged():
                new["tags"] = [t for t in doc["tags"] if t != event.tag]
            case InteractionLogged():
                stats = doc["interactions"]
                by_channel = dict(stats["by_channel"])
                by_channel[event.channel.value] = by_channel.get(event.channel.value, 0) + 1
                when = event.occurred_at.isoformat()
                last = stats["last_at"]
                new["interactions"] = {
                    "count": stats["count"] + 1,
                    "last_at": when if last is None or when > last else last,
                    "by_channel": by_channel,
                }
            case ConsentRecorded():
                new["consents"] = {
                    **doc["consents"],
                    event.purpose.value: {
                        "granted": event.granted,
                        "method": event.method,
                        "at": at,
                    },
                }
            case CustomerErased():
                new.update({f: (ERASED if doc.get(f) is not None else None) for f in PERSONAL})
                new.update(erased=True, erased_at=at)
        return self._touch(new, envelope)

    @staticmethod
    def _touch(doc: Document, envelope: EventEnvelope) -> Document:
        doc["updated_at"] = envelope.occurred_at.isoformat()
        doc["version"] = envelope.stream_version
        return doc
