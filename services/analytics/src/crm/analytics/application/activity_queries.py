"""The customer activity read: wait (briefly) until a command made in another context shows
up in the customer's ``customer_activity`` document, then answer it if the actor may see it,
with the personal fields they may not see redacted (:mod:`crm.kernel.redaction`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import cast

from crm.analytics.application.policy import CUSTOMER_PERSONAL, activity_visible
from crm.analytics.projections.activity_models import COLLECTION, ActivityDoc, combined
from crm.kernel.auth import Actor
from crm.kernel.directory import refuse_if_merged
from crm.kernel.errors import InvalidCommand, NotFound
from crm.kernel.read_store import ReadStore

SOURCES = ("customer", "sales", "service-desk")
"""The contexts whose positions the activity document records."""


@dataclass(frozen=True)
class Activity:
    reached: int
    """The position of ``source`` the document has applied (0: none)."""
    stale: bool
    """It fell short of the position waited for."""
    document: ActivityDoc


class ActivityQueries:
    def __init__(self, read_store: ReadStore, wait_seconds: float) -> None:
        self.read_store = read_store
        self.wait_seconds = wait_seconds

    async def get(
        self, actor: Actor, customer_id: str, min_position: int | None, source: str
    ) -> Activity:
        """The customer's activity once it includes ``min_position`` of ``source`` (or the
        wait ran out); 404 if there is none the actor may see."""
        if source not in SOURCES:
            raise InvalidCommand("source", f"must be one of {SOURCES}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        delay = 0.01
        while True:
            doc = await self.read_store.get(COLLECTION, customer_id)
            reached = 0 if doc is None else int(doc["sources"].get(source, 0))
            if min_position is None or reached >= min_position or loop.time() >= deadline:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)
        stale = min_position is not None and reached < min_position
        if doc is None or not activity_visible(actor, cast(ActivityDoc, doc)):
            raise NotFound(f"no activity for customer {customer_id}")
        refuse_if_merged(customer_id, doc, "/analytics/customers/{}/activity")
        merged = []
        for merged_id in doc.get("absorbed") or ():
            found = await self.read_store.get(COLLECTION, merged_id)
            if found is not None and found["tenant"] == doc["tenant"]:
                merged.append(cast(ActivityDoc, found))
        whole = combined(cast(ActivityDoc, doc), merged)
        return Activity(reached, stale, CUSTOMER_PERSONAL.shown_to(actor, whole))
