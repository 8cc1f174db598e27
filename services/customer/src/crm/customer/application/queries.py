"""Reads of the customer context, filtered by what the actor may see: which customers
(:data:`~crm.customer.application.policy.POLICY`), and which of their personal data (the
kernel's rule, :mod:`crm.kernel.redaction`: an analyst reads names, e-mail addresses, phone
numbers, titles and interaction summaries redacted, and may not search or sort by name or
e-mail)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.customer.application.policy import (
    CUSTOMER_PERSONAL,
    INTERACTION_PERSONAL,
    POLICY,
    scope_of,
)
from crm.customer.domain.customer import Customer
from crm.customer.projections.customers import COLLECTION
from crm.events.customer import InteractionLogged
from crm.kernel.access import Principal
from crm.kernel.auth import Actor
from crm.kernel.codec import EventCodec
from crm.kernel.errors import NotFound
from crm.kernel.event_store import EventStore
from crm.kernel.read_store import Document, Page, Query, ReadStore, sort_order
from crm.kernel.redaction import PersonalKind, refuse_unless_sees

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


class CustomerQueries:
    def __init__(self, read_store: ReadStore, store: EventStore, codec: EventCodec) -> None:
        self.read_store = read_store
        self.store = store
        self.codec = codec

    async def get(self, actor: Actor, customer_id: str) -> Document:
        return CUSTOMER_PERSONAL.shown_to(actor, await self._visible(actor, customer_id))

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
        conditions: list[dict[str, Any]] = [{"tenant": actor.tenant}]
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
        visible = POLICY.visibility_filter(actor)
        if visible:
            conditions.append(visible)
        page = await self.read_store.find(
            COLLECTION, Query.all_of(conditions, sort=sort, limit=limit, offset=offset)
        )
        items = CUSTOMER_PERSONAL.all_shown_to(actor, page.items)
        return Page(items, page.total, page.limit, page.offset)

    async def interactions(self, actor: Actor, customer_id: str) -> list[dict[str, Any]]:
        """A customer's interactions, newest first, read from their stream: the history as
        recorded, with personal data shown as erased once their key is gone."""
        await self._visible(actor, customer_id)
        envelopes = await self.store.read_stream(Customer.stream_id_for(customer_id))
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
