"""The console's read of one's notifications (the bell's unread count and the list), as the
API's ``/notifications`` reads them: the recipient's own, and only those."""

from __future__ import annotations

from typing import Any

from crm.activities.application.notification_commands import POLICY
from crm.activities.projections.notification_models import NOTIFICATIONS
from crm.kernel.auth import Actor
from crm.kernel.read_store import Page, Query
from crm.kernel.runtime import Runtime


def mine(actor: Actor, **extra: Any) -> dict[str, Any]:
    """The filter of ``actor``'s own notifications (and ``extra``)."""
    return {"$and": [{"tenant": actor.tenant}, POLICY.visibility_filter(actor), extra]}


async def unread_notifications(runtime: Runtime, actor: Actor) -> int:
    page = await runtime.read_store.find(
        NOTIFICATIONS, Query(filter=mine(actor, read=False), limit=1)
    )
    return page.total


async def notifications(
    runtime: Runtime, actor: Actor, *, read: bool | None, limit: int, offset: int
) -> Page:
    """``actor``'s notifications, newest first (``read``: only the read or unread ones)."""
    extra = {} if read is None else {"read": read}
    query = Query(
        filter=mine(actor, **extra),
        sort=(("raised_at", -1), ("id", 1)),
        limit=limit,
        offset=offset,
    )
    return await runtime.read_store.find(NOTIFICATIONS, query)
