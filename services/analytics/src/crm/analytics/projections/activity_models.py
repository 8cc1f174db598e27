"""``customer_activity``: what happened with each customer, across contexts, newest first.

The seed of the 360° view: profile and owner as the customer context last said, counts per
event type and per interaction channel, the latest events as a timeline, and, per source
context, the store position of the last event applied (``sources``), so that a reader can
wait for a command made in another service to show up here (read-your-writes across a bus).
"""

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

COLLECTION = "customer_activity"
TIMELINE_LENGTH = 25
CONTEXT_OF_CATEGORY = {"customer": "customer"}


def describe(event: DomainEvent) -> str:
    """A line for the timeline, free of personal data (it outlives an erasure unchanged)."""
    match event:
        case CustomerRegistered():
            return f"registered ({event.kind.value})" + (
                f", owner {event.owner_id}" if event.owner_id else ", in the pool"
            )
        case CustomerProfileUpdated():
            return "profile updated: " + ", ".join(event.changed)
        case CustomerOwnerAssigned():
            return f"owner set to {event.owner_id}"
        case CustomerReleasedToPool():
            return "released to the shared pool"
        case CustomerClaimedFromPool():
            return f"claimed from the pool by {event.owner_id}"
        case CustomerTagged():
            return f"tagged {event.tag}"
        case CustomerUntagged():
            return f"untagged {event.tag}"
        case InteractionLogged():
            return f"{event.direction.value} {event.channel.value}"
        case ConsentRecorded():
            return f"consent {'given' if event.granted else 'withdrawn'}: {event.purpose.value}"
        case CustomerErased():
            return "personal data erased"
    return event.event_type


class CustomerActivityProjection:
    name = "customer_activity"
    version = 1
    collections = (
        CollectionSpec(
            COLLECTION,
            (Index(("tenant", "owner_id")), Index(("tenant", "last_activity_at"))),
        ),
    )
    event_types = frozenset(e.event_type for e in CUSTOMER_EVENTS)
    categories = frozenset(CONTEXT_OF_CATEGORY)

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        return ((COLLECTION, envelope.stream_id.partition("-")[2]),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        at = envelope.occurred_at.isoformat()
        new: dict[str, Any] = (
            dict(doc)
            if doc is not None
            else {
                "id": key[1],
                "tenant": envelope.tenant,
                "name": None,
                "email": None,
                "owner_id": None,
                "tags": [],
                "counts": {},
                "interactions": {"count": 0, "by_channel": {}, "last_at": None},
                "first_seen_at": at,
                "last_activity_at": at,
                "timeline": [],
                "sources": {},
                "erased": False,
            }
        )
        match event:
            case CustomerRegistered() | CustomerProfileUpdated():
                new.update(name=event.name, email=event.email)
                if isinstance(event, CustomerRegistered):
                    new.update(owner_id=event.owner_id, tags=sorted(event.tags))
            case CustomerOwnerAssigned() | CustomerClaimedFromPool():
                new["owner_id"] = event.owner_id
            case CustomerReleasedToPool():
                new["owner_id"] = None
            case CustomerTagged():
                new["tags"] = sorted({*new["tags"], event.tag})
            case CustomerUntagged():
                new["tags"] = [t for t in new["tags"] if t != event.tag]
            case InteractionLogged():
                stats = new["interactions"]
                channels = dict(stats["by_channel"])
                channels[event.channel.value] = channels.get(event.channel.value, 0) + 1
                when = event.occurred_at.isoformat()
                last = stats["last_at"]
                new["interactions"] = {
                    "count": stats["count"] + 1,
                    "by_channel": channels,
                    "last_at": when if last is None or when > last else last,
                }
            case CustomerErased():
                new.update(
                    name=ERASED if new["name"] else None, email=ERASED if new["email"] else None
                )
                new["erased"] = True
        counts = dict(new["counts"])
        counts[event.event_type] = counts.get(event.event_type, 0) + 1
        new["counts"] = counts
        new["last_activity_at"] = max(new["last_activity_at"], at)
        entry = {
            "at": at,
            "type": event.event_type,
            "actor": envelope.actor,
            "text": describe(event),
            "position": envelope.position,
        }
        new["timeline"] = [entry, *new["timeline"]][:TIMELINE_LENGTH]
        context = CONTEXT_OF_CATEGORY.get(envelope.category, envelope.category)
        sources = dict(new["sources"])
        sources[context] = max(sources.get(context, 0), envelope.position)
        new["sources"] = sources
        return new
