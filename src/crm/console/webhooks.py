"""The webhooks pages (admins): the tenant's subscriptions, adding one (its secret shown
once), disabling, enabling, a new secret; a subscription's delivery progress, its dead
letters with a redelivery each, and a replay from a position.

Every read is the activities context's read model and every form one of its commands on the
runtime's bus, as the signed-in admin: the rules (admins only, the tenant's own, allowed
hosts) are the API's.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from crm.activities.application.webhook_commands import (
    POLICY,
    CreateWebhook,
    DisableWebhook,
    EnableWebhook,
    RedeliverDeadLetter,
    ReplayWebhook,
    RotateWebhookSecret,
    new_secret,
)
from crm.activities.projections.webhook_models import (
    DEAD_LETTERS,
    WEBHOOKS,
    WEBHOOKS_PROJECTION,
)
from crm.console.pages import PREFIX, Console, guarded, see
from crm.kernel.errors import NotFound
from crm.kernel.http import ReadConsistency
from crm.kernel.read_store import Document, find_all


def webhooks_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    bus = runtime.commands
    store = runtime.read_store
    page = guarded(console)
    read = Depends(ReadConsistency(runtime, WEBHOOKS_PROJECTION))

    async def hooks(tenant: str) -> list[Document]:
        return await find_all(
            store, WEBHOOKS, {"tenant": tenant}, sort=(("created_at", 1), ("id", 1))
        )

    async def listing(request: Request, **values: Any) -> Response:
        visit, actor = await console.signed_in(request)
        POLICY.visibility_filter(actor)
        return console.render(
            visit, request, "webhooks.html", hooks=await hooks(actor.tenant), **values
        )

    @api.get(f"{PREFIX}/webhooks")
    @page
    async def webhooks(request: Request, done: str | None = None, _: int = read) -> Response:
        return await listing(request, done=done == "saved", secret=None)

    @api.post(f"{PREFIX}/webhooks")
    @page
    async def add_webhook(
        request: Request,
        url: str = Form(max_length=2000),
        event_types: str = Form(max_length=10_000),
        description: str = Form(default="", max_length=500),
    ) -> Response:
        visit = await console.check_csrf(request)
        secret = new_secret()
        types = tuple(t.strip() for t in event_types.split(",") if t.strip())
        command = CreateWebhook(str(uuid4()), url, types, secret, description or None)
        result = await bus.execute(command, console.context(visit))
        await _caught_up(result.position)
        return await listing(request, done=False, secret=secret)

    async def _caught_up(position: int) -> None:
        await ReadConsistency(runtime, WEBHOOKS_PROJECTION)(Response(), position)

    async def command(request: Request, cmd: object, back: str) -> Response:
        visit = await console.check_csrf(request)
        result = await bus.execute(cmd, console.context(visit))
        return see(f"{back}?min_position={result.position}&done=saved")

    @api.post(f"{PREFIX}/webhooks/{{webhook_id}}/disable")
    @page
    async def disable(request: Request, webhook_id: UUID) -> Response:
        return await command(request, DisableWebhook(str(webhook_id)), f"{PREFIX}/webhooks")

    @api.post(f"{PREFIX}/webhooks/{{webhook_id}}/enable")
    @page
    async def enable(request: Request, webhook_id: UUID) -> Response:
        return await command(request, EnableWebhook(str(webhook_id)), f"{PREFIX}/webhooks")

    @api.post(f"{PREFIX}/webhooks/{{webhook_id}}/rotate-secret")
    @page
    async def rotate(request: Request, webhook_id: UUID) -> Response:
        visit = await console.check_csrf(request)
        secret = new_secret()
        await bus.execute(RotateWebhookSecret(str(webhook_id), secret), console.context(visit))
        return await listing(request, done=False, secret=secret)

    @api.get(f"{PREFIX}/webhooks/{{webhook_id}}")
    @page
    async def webhook(
        request: Request, webhook_id: UUID, done: str | None = None, _: int = read
    ) -> Response:
        visit, actor = await console.signed_in(request)
        POLICY.visibility_filter(actor)
        doc = await store.get(WEBHOOKS, str(webhook_id))
        if doc is None or doc.get("tenant") != actor.tenant:
            raise NotFound(f"webhook {webhook_id} does not exist")
        letters = await find_all(
            store,
            DEAD_LETTERS,
            {"tenant": actor.tenant, "webhook_id": str(webhook_id)},
            sort=(("position", 1), ("id", 1)),
        )
        return console.render(
            visit,
            request,
            "webhook.html",
            hook=doc,
            letters=letters,
            delivered=(await store.checkpoint(f"webhook:{webhook_id}")).position,
            head=await runtime.store.head_position(),
            done=done == "saved",
        )

    @api.post(f"{PREFIX}/webhooks/{{webhook_id}}/dead-letters/{{position}}/redeliver")
    @page
    async def redeliver(request: Request, webhook_id: UUID, position: int) -> Response:
        cmd = RedeliverDeadLetter(str(webhook_id), position)
        return await command(request, cmd, f"{PREFIX}/webhooks/{webhook_id}")

    @api.post(f"{PREFIX}/webhooks/{{webhook_id}}/replay")
    @page
    async def replay(
        request: Request, webhook_id: UUID, from_position: int = Form(ge=1)
    ) -> Response:
        head = await runtime.store.head_position()
        cmd = ReplayWebhook(str(webhook_id), from_position, head)
        return await command(request, cmd, f"{PREFIX}/webhooks/{webhook_id}")

    return api
