"""Routes of one's notifications and notification preferences: /notifications,
/notifications/unread, /notifications/{id}/read, /notifications/preferences."""

from datetime import time
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, EmailStr, Field

from crm.activities.application.notification_commands import (
    POLICY,
    MarkNotificationRead,
    PreferencesOf,
    SetNotificationPreferences,
)
from crm.activities.projections.notification_models import (
    NOTIFICATIONS,
    NOTIFICATIONS_PROJECTION,
    NotificationDoc,
)
from crm.events.activities import NotificationKind
from crm.kernel.access import Principal
from crm.kernel.auth import Actor
from crm.kernel.errors import NotFound
from crm.kernel.http import (
    Authenticator,
    CommandAccepted,
    Commands,
    PageOf,
    ReadConsistency,
    accepted,
)
from crm.kernel.http.body import Body
from crm.kernel.http.params import Limit, Offset, paged
from crm.kernel.http.routers import api_router
from crm.kernel.read_store import Query
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime


class PreferencesBody(Body):
    email: EmailStr | None = None
    email_enabled: bool = False
    quiet_start: time | None = Field(default=None, description="Local time, e.g. 22:00")
    quiet_end: time | None = Field(default=None, description="Local time, e.g. 07:00")
    time_zone: Annotated[str, Field(max_length=64)] = "UTC"
    muted: Annotated[list[NotificationKind], Field(max_length=20)] = Field(default_factory=list)


class PreferencesView(BaseModel):
    email: str | None
    email_enabled: bool
    quiet_start: time | None
    quiet_end: time | None
    time_zone: str
    muted: list[NotificationKind]


class Unread(BaseModel):
    unread: int


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(prefix="/notifications", tags=["activities: notifications"])
    bus = runtime.commands
    store = runtime.read_store
    preferences = PreferencesOf(runtime)
    Ctx = Annotated[CommandContext, Depends(Commands(runtime, authenticate).context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, NOTIFICATIONS_PROJECTION))

    def mine(actor: Actor, **extra: Any) -> dict[str, Any]:
        return {"$and": [{"tenant": actor.tenant}, POLICY.visibility_filter(actor), extra]}

    @api.get("", response_model=PageOf[NotificationDoc])
    async def list_notifications(
        actor: Who,
        _: int = consistent,
        read: bool | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        extra = {} if read is None else {"read": read}
        query = Query(
            filter=mine(actor, **extra),
            sort=(("raised_at", -1), ("id", 1)),
            limit=limit,
            offset=offset,
        )
        return paged(await store.find(NOTIFICATIONS, query))

    @api.get("/unread", response_model=Unread)
    async def unread(actor: Who, _: int = consistent) -> dict[str, int]:
        page = await store.find(NOTIFICATIONS, Query(filter=mine(actor, read=False), limit=1))
        return {"unread": page.total}

    @api.get("/preferences", response_model=PreferencesView)
    async def get_preferences(actor: Who) -> dict[str, Any]:
        p = await preferences(actor.tenant, actor.id)
        return {
            "email": p.email,
            "email_enabled": p.email_enabled,
            "quiet_start": p.quiet_start,
            "quiet_end": p.quiet_end,
            "time_zone": p.time_zone,
            "muted": sorted(p.muted),
        }

    @api.put("/preferences", response_model=CommandAccepted)
    async def set_preferences(
        body: PreferencesBody, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = SetNotificationPreferences(
            user_id=Principal.of(ctx).id,
            email=body.email,
            email_enabled=body.email_enabled,
            quiet_start=body.quiet_start,
            quiet_end=body.quiet_end,
            time_zone=body.time_zone,
            muted=frozenset(body.muted),
        )
        return accepted(await bus.execute(command, ctx), response)

    @api.get("/{notification_id}", response_model=NotificationDoc)
    async def get_notification(
        notification_id: UUID, actor: Who, _: int = consistent
    ) -> dict[str, Any]:
        doc = await store.get(NOTIFICATIONS, str(notification_id))
        who = Principal.of(actor)
        if doc is None or doc["tenant"] != actor.tenant or doc["recipient_id"] != who.id:
            raise NotFound(f"notification {notification_id} does not exist")
        return doc

    @api.post("/{notification_id}/read", response_model=CommandAccepted)
    async def mark_read(notification_id: UUID, ctx: Ctx, response: Response) -> CommandAccepted:
        return accepted(
            await bus.execute(MarkNotificationRead(str(notification_id)), ctx), response
        )

    return api
