"""Reads of the customer context, filtered by what the actor may see: which customers
(:data:`~crm.customer.application.policy.POLICY`), and which of their personal data (the
kernel's rule, :mod:`crm.kernel.redaction`: an analyst reads names, e-mail addresses, phone
numbers, titles and interaction summaries redacted, and may not search or sort by name or
e-mail)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crm.customer.application.policy import (
    CUSTOMER_PERSONAL,
    INTERACTION_PERSONAL,
    POLICY,
    scope_of,
)
from crm.customer.domain.customer import Customer
from crm.customer.projections.customers import COLLECTION
from crm.events.custom_fields import FieldEntity
from crm.events.customer import InteractionLogged
from crm.kernel.access import Principal
from crm.kernel.auth import Actor
from crm.kernel.codec import EventCodec
from crm.kernel.custom_fields import DefinitionsOf, FieldDefinition, filter_value, sort_path
from crm.kernel.directory import refuse_if_merged
from crm.kernel.errors import InvalidCommand, NotFound
from crm.kernel.event_store import EventStore
from crm.kernel.read_store import Document, Page, Query, ReadStore, sort_order
from crm.kernel.redaction import REDACTED, PersonalKind, refuse_unless_sees, sees

SORTABLE = {"name", "created_at", "updated_at", "region", "owner_id"}


SEARCHED = ("name", "company", "email", "phone")
"""What ``q`` matches (case-insensitive substring): a person by name, a company by its name,
or either by e-mail address or phone number."""


@dataclass(frozen=True)
class CustomerFilter:
    owner_id: str | None = None
    tag: str | None = None
    region: str | None = None
    in_pool: bool | None = None
    q: str | None = None
    custom: Mapping[str, str] = field(default_factory=dict)
    """``custom.<key>=value`` of the list route, by key: the value in the field's terms."""


def shown_custom(who: Actor, doc: Document) -> Document:
    """``doc`` with its personal custom values redacted for a role that may not see contact
    data (they are a person's, as their name is)."""
    personal = doc.get("custom_personal_keys") or ()
    if not personal or sees(who, PersonalKind.CONTACT):
        return doc
    custom = {k: (REDACTED if k in personal else v) for k, v in doc.get("custom", {}).items()}
    return {**doc, "custom": custom}


class CustomerQueries:
    def __init__(self, read_store: ReadStore, store: EventStore, codec: EventCodec) -> None:
        self.read_store = read_store
        self.store = store
        self.codec = codec
        self.definitions = DefinitionsOf(store, codec)

    async def custom_conditions(
        self, actor: Actor, flt: CustomerFilter, sort: str
    ) -> tuple[list[dict[str, Any]], str]:
        """The read-model conditions of the filter's custom fields, and the sort as the read
        model orders it; a key no live field of the tenant's customers has is a 422 naming
        ``custom.<key>``, and a personal one is refused to a role that may not see it."""
        if not flt.custom and not sort.lstrip("-").startswith("custom."):
            return [], sort
        fields = await self.definitions(actor.tenant)

        def definition(key: str, where: str) -> FieldDefinition:
            found = fields.get(FieldEntity.CUSTOMER, key)
            if found is None or found.retired:
                raise InvalidCommand(where, "is not a custom field of customers", location="query")
            if found.personal:
                refuse_unless_sees(actor, PersonalKind.CONTACT, f"filter or sort by {key}")
            return found

        conditions = [
            filter_value(definition(key, f"custom.{key}"), raw) for key, raw in flt.custom.items()
        ]
        field_name = sort.lstrip("-")
        if field_name.startswith("custom."):
            path = sort_path(definition(field_name.removeprefix("custom."), "sort"))
            sort = ("-" if sort.startswith("-") else "") + path
        return conditions, sort

    async def get(self, actor: Actor, customer_id: str) -> Document:
        """The customer; one merged into another is a 308 to the survivor (``Location``,
        and ``merged_into`` in the body). The survivor's interaction figures count those of
        the customers merged into it."""
        doc = await self._visible(actor, customer_id)
        refuse_if_merged(customer_id, doc, "/customers/{}")
        if doc.get("absorbed"):
            doc = {**doc, "interactions": await self._interaction_stats(doc)}
        return shown_custom(actor, CUSTOMER_PERSONAL.shown_to(actor, doc))

    async def contacts(
        self, actor: Actor, customer_id: str, *, of_merged: bool = False
    ) -> list[dict[str, Any]]:
        """A company's contacts as the actor may see them. Of a merged customer, a 308 to the
        survivor's (which it gained); with ``of_merged``, the ones it had (a data subject
        export holds them)."""
        doc = await self._visible(actor, customer_id)
        if not of_merged:
            refuse_if_merged(customer_id, doc, "/customers/{}/contacts")
        shown = CUSTOMER_PERSONAL.shown_to(actor, {"contacts": doc.get("contacts") or []})
        return list(shown["contacts"])

    async def _interaction_stats(self, doc: Document) -> dict[str, Any]:
        stats = dict(doc["interactions"])
        by_channel = dict(stats["by_channel"])
        for merged_id in doc["absorbed"]:
            merged = await self.read_store.get(COLLECTION, merged_id)
            if merged is None:
                continue
            theirs = merged["interactions"]
            stats["count"] += theirs["count"]
            for channel, n in theirs["by_channel"].items():
                by_channel[channel] = by_channel.get(channel, 0) + n
            if theirs["last_at"] and (
                stats["last_at"] is None or theirs["last_at"] > stats["last_at"]
            ):
                stats["last_at"] = theirs["last_at"]
        stats["by_channel"] = by_channel
        return stats

    async def _visible(self, actor: Actor, customer_id: str) -> Document:
        doc = await self.read_store.get(COLLECTION, customer_id)
        if (
            doc is None
            or doc["tenant"] != actor.tenant
            or not POLICY.sees(Principal.of(actor), scope_of(doc["owner_id"]))
        ):
            raise NotFound(f"customer {customer_id} does not exist")
        return doc

    async def search(
        self, actor: Actor, flt: CustomerFilter, *, sort: str, limit: int, offset: int
    ) -> Page:
        conditions: list[dict[str, Any]] = [{"tenant": actor.tenant}, {"merged_into": None}]
        if flt.owner_id is not None:
            conditions.append({"owner_id": flt.owner_id})
        if flt.tag is not None:
            conditions.append({"tags": {"$contains": flt.tag.strip().lower()}})
        if flt.region is not None:
            conditions.append({"region": flt.region})
        if flt.in_pool is not None:
            conditions.append({"in_pool": flt.in_pool})
        if flt.q:
            refuse_unless_sees(actor, PersonalKind.CONTACT, "search customers by name or e-mail")
            conditions.append({"$or": [{f: {"$icontains": flt.q}} for f in SEARCHED]})
        if sort_order(sort)[0] == "name":
            refuse_unless_sees(actor, PersonalKind.CONTACT, "sort customers by name")
        custom, sort = await self.custom_conditions(actor, flt, sort)
        conditions.extend(custom)
        visible = POLICY.visibility_filter(actor)
        if visible:
            conditions.append(visible)
        page = await self.read_store.find(
            COLLECTION, Query.all_of(conditions, sort=sort, limit=limit, offset=offset)
        )
        items = [shown_custom(actor, d) for d in CUSTOMER_PERSONAL.all_shown_to(actor, page.items)]
        return Page(items, page.total, page.limit, page.offset)

    async def interactions(self, actor: Actor, customer_id: str) -> list[dict[str, Any]]:
        """A customer's interactions, newest first, read from their stream: the history as
        recorded, with personal data shown as erased once their key is gone. Those of the
        customers merged into them are theirs too."""
        doc = await self._visible(actor, customer_id)
        envelopes = []
        for id_ in (customer_id, *(doc.get("absorbed") or ())):
            envelopes += await self.store.read_stream(Customer.stream_id_for(id_))
        logged = [e for e in envelopes if e.event_type == InteractionLogged.event_type]
        events = await self.codec.decode(logged)
        items = []
        for envelope, event in zip(logged, events, strict=True):
            assert isinstance(event, InteractionLogged)
            items.append(
                {
                    **event.model_dump(mode="json"),
                    "logged_by": envelope.actor,
                    "logged_at": envelope.recorded_at.isoformat(),
                    "position": envelope.position,
                }
            )
        items.sort(key=lambda i: i["occurred_at"], reverse=True)
        return INTERACTION_PERSONAL.all_shown_to(actor, items)
