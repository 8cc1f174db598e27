"""Routes of the calendar: /calendar (JSON, for the console and other clients), /calendar/feed
(one's own feed URL) and /calendar/feeds/{tenant}/{user}.ics (the iCalendar feed, keyed)."""

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime, BaseModel

from crm.activities.application.calendar import CalendarQueries, check_window, ics
from crm.activities.projections.task_models import TASKS_PROJECTION
from crm.activities.projections.visit_models import VISITS_PROJECTION
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import NotFound
from crm.kernel.http import Authenticator, ReadConsistency
from crm.kernel.http.routers import api_router
from crm.kernel.runtime import Runtime
from crm.kernel.tenants import TenantStatus

FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=90)
FEEDS = "/calendar/feeds"
"""Under this prefix the rate limiter counts requests as the address's reads: a calendar app
polls the feed without a bearer token, which is not a failed sign-in."""


class CalendarEntry(BaseModel):
    kind: str
    id: str
    title: str
    start: datetime
    end: datetime
    status: str
    customer_id: str | None
    subject_kind: str | None
    subject_id: str | None


class CalendarView(BaseModel):
    user_id: str
    items: list[CalendarEntry]


class FeedLink(BaseModel):
    url: str


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(tags=["activities: calendar"])
    queries = CalendarQueries(runtime.read_store)
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, TASKS_PROJECTION, VISITS_PROJECTION))
    UserParam = Annotated[str | None, Query(min_length=1, max_length=100)]  # noqa: N806

    @api.get("/calendar", response_model=CalendarView)
    async def calendar(
        actor: Who,
        start: Annotated[AwareDatetime, Query(alias="from")],
        end: Annotated[AwareDatetime, Query(alias="to")],
        _: int = consistent,
        user_id: UserParam = None,
        cancelled: bool = False,
    ) -> dict[str, Any]:
        """One person's tasks and field visits from ``from`` to ``to`` (at most 92 days)."""
        check_window(start, end)
        whose = queries.whose(actor, user_id)
        entries = await queries.entries(actor, whose, start, end, cancelled=cancelled)
        return {"user_id": whose, "items": [e.as_dict() for e in entries]}

    @api.get("/calendar/feed", response_model=FeedLink)
    async def feed(actor: Who) -> dict[str, str]:
        """The URL of one's own iCalendar feed (subscribe to it in a calendar app; it holds
        your tasks' titles, so keep it as private as a password)."""
        key = runtime.tokens.feed_key(actor.tenant, actor.id)
        tenant, user = quote(actor.tenant, safe=""), quote(actor.id, safe="")
        return {"url": f"{FEEDS}/{tenant}/{user}.ics?key={key}"}

    @api.get(f"{FEEDS}/{{tenant}}/{{user_id}}.ics", response_class=Response)
    async def feed_ics(
        tenant: str, user_id: str, key: Annotated[str, Query(min_length=16, max_length=128)]
    ) -> Response:
        """The iCalendar feed of ``user_id`` (30 days back, 90 ahead), for the key of their
        feed URL; any other key is a 404, like a feed that does not exist."""
        if not runtime.tokens.check_feed_key(tenant, user_id, key):
            raise NotFound("no such calendar feed")
        if await runtime.tenants.status(tenant) is not TenantStatus.ACTIVE:
            raise NotFound("no such calendar feed")
        owner = Actor(user_id, Role.SALES_REP, tenant)  # their own tasks, whatever their role
        now = runtime.clock.now()
        entries = await queries.entries(
            owner, user_id, now - FEED_PAST, now + FEED_AHEAD, cancelled=True
        )
        body = ics(entries, f"CRM: {user_id}")
        return Response(body, media_type="text/calendar; charset=utf-8")

    return api
