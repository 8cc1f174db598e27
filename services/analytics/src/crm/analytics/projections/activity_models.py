"""``customer_activity``: what happened with each customer, across contexts, newest first.

The seed of the 360° view: profile and owner as the customer context last said, counts per
event type and per interaction channel, the latest events as a timeline, and, per source
context, the store position of the last event applied (``sources``), so that a reader can
wait for a command made in another service to show up here (read-your-writes across a bus).

:class:`ActivityDoc` is the document's shape: the projection writes it and
``GET /analytics/customers/{id}/activity`` answers it as it is.
"""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from crm.events import ERASED, DomainEvent, EventEnvelope
from crm.events.customer import (
    ConsentRecorded,
    CustomerAbsorbed,
    CustomerClaimedFromPool,
    CustomerErased,
    CustomerLeadLinked,
    CustomerMergedInto,
    CustomerOwnerAssigned,
    CustomerProfileUpdated,
    CustomerRegistered,
    CustomerReleasedToPool,
    CustomerTagged,
    CustomerUntagged,
    InteractionLogged,
)
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.read_store import CollectionSpec, Index

COLLECTION = "customer_activity"
TIMELINE_LENGTH = 25
CONTEXT_OF_CATEGORY = {"customer": "customer"}


class ActivityInteractions(TypedDict):
    count: int
    by_channel: dict[str, int]
    last_at: str | None


class ActivityEntry(TypedDict):
    at: str
    type: str
    actor: str
    text: str
    position: int


class ActivityDoc(TypedDict):
    id: str
    tenant: str
    name: str | None
    email: str | None
    owner_id: str | None
    tags: list[str]
    counts: dict[str, int]
    """Events applied, per event type."""
    interactions: ActivityInteractions
    first_seen_at: str
    last_activity_at: str
    timeline: list[ActivityEntry]
    """The latest :data:`TIMELINE_LENGTH` events, newest first."""
    sources: dict[str, int]
    """Per source context, the store position of the last event applied."""
    erased: bool
    merged_into: NotRequired[str | None]
    """The customer this one was merged into (its activity answers with a pointer there)."""
    absorbed: NotRequired[list[str]]
    """The customers merged into this one: its activity, when read, adds theirs."""


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
        case CustomerMergedInto():
            return f"merged into customer {event.survivor_id}"
        case CustomerAbsorbed():
            return f"customer {event.merged_id} merged into this one"
    return event.event_type


on: Handlers[ActivityDoc] = Handlers()


def _seen(doc: ActivityDoc | None, key: DocKey, envelope: EventEnvelope) -> ActivityDoc:
    """A copy of the document to change (a new one for the customer's first event)."""
    if doc is not None:
        return doc.copy()
    at = envelope.occurred_at.isoformat()
    return ActivityDoc(
        id=key[1],
        tenant=envelope.tenant,
        name=None,
        email=None,
        owner_id=None,
        tags=[],
        counts={},
        interactions=ActivityInteractions(count=0, by_channel={}, last_at=None),
        first_seen_at=at,
        last_activity_at=at,
        timeline=[],
        sources={},
        erased=False,
    )


def _logged(new: ActivityDoc, event: DomainEvent, envelope: EventEnvelope) -> ActivityDoc:
    """What every event adds: its count, the time of the latest activity, its timeline line
    and the position its source context reached."""
    at = envelope.occurred_at.isoformat()
    new["counts"] = {**new["counts"], event.event_type: new["counts"].get(event.event_type, 0) + 1}
    new["last_activity_at"] = max(new["last_activity_at"], at)
    entry = ActivityEntry(
        at=at,
        type=event.event_type,
        actor=envelope.actor,
        text=describe(event),
        position=envelope.position,
    )
    new["timeline"] = [entry, *new["timeline"]][:TIMELINE_LENGTH]
    context = CONTEXT_OF_CATEGORY.get(envelope.category, envelope.category)
    new["sources"] = {
        **new["sources"],
        context: max(new["sources"].get(context, 0), envelope.position),
    }
    return new


@on(CustomerRegistered)
def registered(
    key: DocKey, doc: ActivityDoc | None, event: CustomerRegistered, envelope: EventEnvelope
) -> ActivityDoc:
    new = _seen(doc, key, envelope)
    new.update({"name": event.name, "email": event.email, "owner_id": event.owner_id})
    new["tags"] = sorted(event.tags)
    return _logged(new, event, envelope)


@on(CustomerProfileUpdated)
def profile_updated(
    key: DocKey, doc: ActivityDoc | None, event: CustomerProfileUpdated, envelope: EventEnvelope
) -> ActivityDoc:
    new = _seen(doc, key, envelope)
    new.update({"name": event.name, "email": event.email})
    return _logged(new, event, envelope)


@on(CustomerOwnerAssigned, CustomerClaimedFromPool)
def owned(
    key: DocKey,
    doc: ActivityDoc | None,
    event: CustomerOwnerAssigned | CustomerClaimedFromPool,
    envelope: EventEnvelope,
) -> ActivityDoc:
    new = _seen(doc, key, envelope)
    new["owner_id"] = event.owner_id
    return _logged(new, event, envelope)


@on(CustomerReleasedToPool)
def released(
    key: DocKey, doc: ActivityDoc | None, event: CustomerReleasedToPool, envelope: EventEnvelope
) -> ActivityDoc:
    new = _seen(doc, key, envelope)
    new["owner_id"] = None
    return _logged(new, event, envelope)


@on(CustomerTagged)
def tagged(
    key: DocKey, doc: ActivityDoc | None, event: CustomerTagged, envelope: EventEnvelope
) -> ActivityDoc:
    new = _seen(doc, key, envelope)
    new["tags"] = sorted({*new["tags"], event.tag})
    return _logged(new, event, envelope)


@on(CustomerUntagged)
def untagged(
    key: DocKey, doc: ActivityDoc | None, event: CustomerUntagged, envelope: EventEnvelope
) -> ActivityDoc:
    new = _seen(doc, key, envelope)
    new["tags"] = [t for t in new["tags"] if t != event.tag]
    return _logged(new, event, envelope)


@on(InteractionLogged)
def interaction_logged(
    key: DocKey, doc: ActivityDoc | None, event: InteractionLogged, envelope: EventEnvelope
) -> ActivityDoc:
    new = _seen(doc, key, envelope)
    stats = new["interactions"]
    channel = event.channel.value
    when = event.occurred_at.isoformat()
    last = stats["last_at"]
    new["interactions"] = ActivityInteractions(
        count=stats["count"] + 1,
        by_channel={**stats["by_channel"], channel: stats["by_channel"].get(channel, 0) + 1},
        last_at=when if last is None or when > last else last,
    )
    return _logged(new, event, envelope)


@on(ConsentRecorded, CustomerLeadLinked)
def noted(
    key: DocKey,
    doc: ActivityDoc | None,
    event: ConsentRecorded | CustomerLeadLinked,
    envelope: EventEnvelope,
) -> ActivityDoc:
    """Changes nothing of the profile: counted and on the timeline only."""
    return _logged(_seen(doc, key, envelope), event, envelope)


@on(CustomerErased)
def erased(
    key: DocKey, doc: ActivityDoc | None, event: CustomerErased, envelope: EventEnvelope
) -> ActivityDoc:
    new = _seen(doc, key, envelope)
    new.update(
        {
            "name": ERASED if new["name"] else None,
            "email": ERASED if new["email"] else None,
            "erased": True,
        }
    )
    return _logged(new, event, envelope)


@on(CustomerMergedInto)
def merged_into(
    key: DocKey, doc: ActivityDoc | None, event: CustomerMergedInto, envelope: EventEnvelope
) -> ActivityDoc:
    new = _seen(doc, key, envelope)
    new["merged_into"] = event.survivor_id
    return _logged(new, event, envelope)


@on(CustomerAbsorbed)
def absorbed(
    key: DocKey, doc: ActivityDoc | None, event: CustomerAbsorbed, envelope: EventEnvelope
) -> ActivityDoc:
    new = _seen(doc, key, envelope)
    new["absorbed"] = sorted({*new.get("absorbed", ()), event.merged_id})
    return _logged(new, event, envelope)


def combined(doc: ActivityDoc, merged: list[ActivityDoc]) -> ActivityDoc:
    """A survivor's activity with that of the customers merged into it added (counts,
    interactions, the timeline, first and last activity); its profile stays its own."""
    new = doc.copy()
    for other in merged:
        counts = dict(new["counts"])
        for kind, n in other["counts"].items():
            counts[kind] = counts.get(kind, 0) + n
        mine, theirs = new["interactions"], other["interactions"]
        channels = dict(mine["by_channel"])
        for channel, n in theirs["by_channel"].items():
            channels[channel] = channels.get(channel, 0) + n
        lasts = [t for t in (mine["last_at"], theirs["last_at"]) if t is not None]
        new.update(
            {
                "counts": counts,
                "interactions": ActivityInteractions(
                    count=mine["count"] + theirs["count"],
                    by_channel=channels,
                    last_at=max(lasts) if lasts else None,
                ),
                "first_seen_at": min(new["first_seen_at"], other["first_seen_at"]),
                "last_activity_at": max(new["last_activity_at"], other["last_activity_at"]),
                "timeline": sorted(
                    [*new["timeline"], *other["timeline"]],
                    key=lambda e: e["position"],
                    reverse=True,
                )[:TIMELINE_LENGTH],
            }
        )
    return new


class CustomerActivityProjection:
    name = "customer_activity"
    version = 2
    collections = (
        CollectionSpec(
            COLLECTION,
            (Index(("tenant", "owner_id")), Index(("tenant", "last_activity_at"))),
        ),
    )
    event_types = on.event_types
    categories = frozenset(CONTEXT_OF_CATEGORY)
    evolve = staticmethod(on.evolve)

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(COLLECTION, envelope),)
