"""Live pages: the pipeline board, the ticket queue and a customer's page update when events
arrive, over server-sent events fed by the event log.

``GET /console/live/{page}`` (``pipeline``, ``tickets``, or ``customer`` with ``?id=``) is an
``text/event-stream`` that follows the store from its head (``EventStore.subscribe``: the
in-process commit feed, and other processes' commits through the store's watcher) with the
categories of the read models the page is built from, and sends ``changed`` with the position
of each event of the user's tenant that concerns the page (for a customer's page: the
customer's own stream, or an event naming the customer). It says only that and where: never
what changed, so it carries nothing the user's role may not read. The page's script then
fetches the page again with ``min_position`` (the page's own read-your-writes wait, then its
own queries and access rules) and swaps the new content in, unless the user is in the middle
of something on the page (a focused or edited field): then it says that the page changed and
offers to show it.

The stream re-reads the session's user at every event and every :data:`HEARTBEAT_SECONDS`
(a comment line, which also lets a proxy keep the connection and the server notice a client
that went away): a user signed out or deactivated meanwhile has the stream ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from crm.analytics.projections.customer_360_models import Customer360Projection
from crm.console.pages import PREFIX, Console
from crm.customer.projections.customers import CustomersProjection
from crm.events import EventEnvelope
from crm.kernel.auth import Actor
from crm.kernel.errors import Forbidden, NotFound
from crm.kernel.projection import Projection
from crm.sales.projections.pipeline_models import OpportunitiesProjection
from crm.service_desk.application.ticket_queries import TicketFilter
from crm.service_desk.projections.ticket_models import PROJECTION as TICKETS_PROJECTION

HEARTBEAT_SECONDS = 15.0
RETRY_MS = 3000
"""How long a browser waits before reconnecting a stream that broke (the SSE ``retry``)."""


@dataclass(frozen=True)
class LivePage:
    categories: frozenset[str] | None
    """What the page's read models read (None: every category)."""
    concerns: Callable[[EventEnvelope, str | None], bool]
    """Whether an event (of the user's tenant) concerns the page showing the record ``id``."""


def _any(_envelope: EventEnvelope, _id: str | None) -> bool:
    return True


def _customer(envelope: EventEnvelope, id_: str | None) -> bool:
    return envelope.stream_id == f"customer-{id_}" or envelope.payload.get("customer_id") == id_


def _read_by(*projections: Projection) -> frozenset[str] | None:
    found = [p.categories for p in projections]
    return None if any(c is None for c in found) else frozenset().union(*(c or () for c in found))


PAGES: dict[str, LivePage] = {
    "pipeline": LivePage(_read_by(OpportunitiesProjection()), _any),
    "tickets": LivePage(_read_by(TICKETS_PROJECTION), _any),
    "customer": LivePage(_read_by(CustomersProjection(), Customer360Projection()), _customer),
}


def sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def live_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime

    async def may_read(actor: Actor, page: str, id_: str | None) -> None:
        """What the page itself reads first, so that a user who may not open the page
        cannot follow it either (NotFound, Forbidden)."""
        if page == "pipeline":
            await console.sales.pipeline(actor)
        elif page == "tickets":
            await console.tickets.tickets(
                actor, TicketFilter(), sort="opened_at", limit=1, offset=0
            )
        else:
            assert id_ is not None
            await console.customers.get(actor, id_)

    @api.get(f"{PREFIX}/live/{{page}}")
    async def live(request: Request, page: str, id: UUID | None = None) -> Response:
        """The page's changes as server-sent events (see the module's documentation)."""
        if page not in PAGES:
            return PlainTextResponse(f"no live page {page!r}", status_code=404)
        if page == "customer" and id is None:
            return PlainTextResponse("the customer's page needs ?id=", status_code=422)
        if page != "customer" and id is not None:
            return PlainTextResponse(f"the {page} page takes no id", status_code=422)
        visit = await console.visit(request)
        if visit.actor is None:
            return PlainTextResponse("sign in first", status_code=401)
        actor = visit.actor
        id_ = str(id) if id is not None else None
        try:
            await may_read(actor, page, id_)
        except (NotFound, Forbidden):
            return PlainTextResponse("not found", status_code=404)
        spec = PAGES[page]
        after = await runtime.store.head_position()

        async def still_signed_in() -> bool:
            again = await console.visit(request)
            return again.actor is not None and again.actor.id == actor.id

        async def stream() -> AsyncIterator[bytes]:
            yield f"retry: {RETRY_MS}\n\n".encode()
            changes = _Follow(runtime.store.subscribe, after, spec.categories)
            try:
                while True:
                    try:
                        page_ = await asyncio.wait_for(changes.get(), HEARTBEAT_SECONDS)
                    except TimeoutError:
                        if not await still_signed_in():
                            return
                        yield b": still here\n\n"
                        continue
                    relevant = [
                        e.position
                        for e in page_
                        if e.tenant == actor.tenant and spec.concerns(e, id_)
                    ]
                    if not relevant:
                        continue
                    if not await still_signed_in():
                        return
                    yield sse("changed", str(relevant[-1]))
            finally:
                changes.stop()

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return api


class _Follow:
    """The store's catch-up subscription pumped into a queue by a task of its own, so that
    waiting for the next page can time out (a heartbeat) without cancelling the
    subscription's generator."""

    def __init__(
        self,
        subscribe: Callable[..., AsyncIterator[list[EventEnvelope]]],
        after: int,
        categories: Collection[str] | None,
    ) -> None:
        self._queue: asyncio.Queue[list[EventEnvelope]] = asyncio.Queue(maxsize=64)
        self._task = asyncio.create_task(self._pump(subscribe(after, categories=categories)))

    async def _pump(self, pages: AsyncIterator[list[EventEnvelope]]) -> None:
        async for page in pages:
            if self._queue.full():  # a slow reader: its oldest news is superseded anyway
                self._queue.get_nowait()
            self._queue.put_nowait(page)

    async def get(self) -> list[EventEnvelope]:
        """The next page committed; the subscription's error if it failed."""
        getter = asyncio.ensure_future(self._queue.get())
        try:
            await asyncio.wait({getter, self._task}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                return getter.result()
            self._task.result()
            raise RuntimeError("the subscription ended")
        finally:
            getter.cancel()

    def stop(self) -> None:
        self._task.cancel()
