"""Routes of the tenant's webhook subscriptions (admins only): /webhooks, one subscription,
its deliveries' dead letters, replay from a position and the redelivery of a dead letter."""

from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, Field

from crm.activities.application.webhook_commands import (
    POLICY,
    ChangeWebhook,
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
    DeadLetterDoc,
    WebhookDoc,
)
from crm.kernel.auth import Actor
from crm.kernel.errors import NotFound
from crm.kernel.http import (
    Authenticator,
    CommandAccepted,
    Commands,
    PageOf,
    ReadConsistency,
    accepted,
    if_match,
    paged,
)
from crm.kernel.http.body import Body
from crm.kernel.http.params import Limit, Offset
from crm.kernel.http.routers import api_router
from crm.kernel.read_store import Query as ReadQuery
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime

EventTypes = Annotated[
    list[Annotated[str, Field(max_length=200)]], Field(min_length=1, max_length=200)
]


class WebhookBody(Body):
    url: Annotated[str, Field(max_length=2000, description="http(s) URL of an allowed host")]
    event_types: EventTypes = Field(
        description="Event types (e.g. customer.registered) or prefixes (customer.*)"
    )
    description: Annotated[str | None, Field(max_length=500)] = None


class WebhookCreated(CommandAccepted):
    secret: str | None = Field(
        description="The whsec_ signing secret, shown this once (None when an idempotent "
        "retry replayed the creation: rotate the secret to see a new one)"
    )


class SecretRotated(CommandAccepted):
    secret: str | None


class DeliveryProgress(BaseModel):
    delivered_to: int = Field(
        description="The log position delivery has passed: every subscribed event up to it "
        "was acknowledged (or dead-lettered)"
    )
    head: int = Field(description="The log's last position")
    behind: int = Field(description="Positions between the two (not all are subscribed)")
    dead_letters: int


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(prefix="/webhooks", tags=["activities: webhooks"])
    bus = runtime.commands
    store = runtime.read_store
    Ctx = Annotated[CommandContext, Depends(Commands(runtime, authenticate).context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, WEBHOOKS_PROJECTION))

    def theirs(actor: Actor, **extra: Any) -> dict[str, Any]:
        POLICY.visibility_filter(actor)
        return {"$and": [{"tenant": actor.tenant}, extra]}

    async def one(actor: Actor, webhook_id: UUID) -> dict[str, Any]:
        POLICY.visibility_filter(actor)
        doc = await store.get(WEBHOOKS, str(webhook_id))
        if doc is None or doc.get("tenant") != actor.tenant:
            raise NotFound(f"webhook {webhook_id} does not exist")
        return doc

    @api.post("", response_model=WebhookCreated, status_code=201)
    async def create_webhook(body: WebhookBody, ctx: Ctx, response: Response) -> WebhookCreated:
        """Subscribe a URL to event types; the answer shows the signing secret once."""
        secret = new_secret()
        command = CreateWebhook(
            str(uuid4()), body.url, tuple(body.event_types), secret, body.description
        )
        result = await bus.execute(command, ctx)
        done = accepted(result, response, created_under="/webhooks")
        return WebhookCreated(**done.model_dump(), secret=None if result.replayed else secret)

    @api.get("", response_model=PageOf[WebhookDoc])
    async def list_webhooks(
        actor: Who,
        _: int = consistent,
        enabled: bool | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        extra = {} if enabled is None else {"enabled": enabled}
        query = ReadQuery(
            filter=theirs(actor, **extra),
            sort=(("created_at", 1), ("id", 1)),
            limit=limit,
            offset=offset,
        )
        return paged(await store.find(WEBHOOKS, query))

    @api.get("/{webhook_id}", response_model=WebhookDoc)
    async def get_webhook(
        webhook_id: UUID, actor: Who, response: Response, _: int = consistent
    ) -> dict[str, Any]:
        doc = await one(actor, webhook_id)
        response.headers["ETag"] = f'"{doc["version"]}"'
        return doc

    @api.put("/{webhook_id}", response_model=CommandAccepted)
    async def change_webhook(
        webhook_id: UUID,
        body: WebhookBody,
        ctx: Ctx,
        response: Response,
        if_match_header: Annotated[str | None, Header(alias="If-Match")] = None,
    ) -> CommandAccepted:
        """Change the URL, the event types or the description (``If-Match``: the version
        last read)."""
        command = ChangeWebhook(
            str(webhook_id),
            body.url,
            tuple(body.event_types),
            body.description,
            expected_version=if_match(if_match_header, "webhook"),
        )
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/{webhook_id}/disable", response_model=CommandAccepted)
    async def disable_webhook(webhook_id: UUID, ctx: Ctx, response: Response) -> CommandAccepted:
        """Deliver nothing more until enabled again (then from where it stopped)."""
        return accepted(await bus.execute(DisableWebhook(str(webhook_id)), ctx), response)

    @api.post("/{webhook_id}/enable", response_model=CommandAccepted)
    async def enable_webhook(webhook_id: UUID, ctx: Ctx, response: Response) -> CommandAccepted:
        return accepted(await bus.execute(EnableWebhook(str(webhook_id)), ctx), response)

    @api.post("/{webhook_id}/rotate-secret", response_model=SecretRotated)
    async def rotate_secret(webhook_id: UUID, ctx: Ctx, response: Response) -> SecretRotated:
        """A new signing secret, shown this once; deliveries are signed with it from now on."""
        secret = new_secret()
        result = await bus.execute(RotateWebhookSecret(str(webhook_id), secret), ctx)
        done = accepted(result, response)
        return SecretRotated(**done.model_dump(), secret=None if result.replayed else secret)

    @api.post("/{webhook_id}/replay", response_model=CommandAccepted)
    async def replay(
        webhook_id: UUID,
        ctx: Ctx,
        response: Response,
        from_position: Annotated[int, Query(ge=1, description="The log position to start at")],
    ) -> CommandAccepted:
        """Deliver again every subscribed event from ``from_position`` of the log on."""
        head = await runtime.store.head_position()
        command = ReplayWebhook(str(webhook_id), from_position, head)
        return accepted(await bus.execute(command, ctx), response)

    @api.get("/{webhook_id}/dead-letters", response_model=PageOf[DeadLetterDoc])
    async def dead_letters(
        webhook_id: UUID,
        actor: Who,
        _: int = consistent,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """The events delivery gave up on, by position."""
        await one(actor, webhook_id)
        query = ReadQuery(
            filter=theirs(actor, webhook_id=str(webhook_id)),
            sort=(("position", 1), ("id", 1)),
            limit=limit,
            offset=offset,
        )
        return paged(await store.find(DEAD_LETTERS, query))

    @api.get("/{webhook_id}/deliveries", response_model=DeliveryProgress)
    async def deliveries(webhook_id: UUID, actor: Who, _: int = consistent) -> DeliveryProgress:
        """How far delivery got: the position it passed, against the log's head."""
        await one(actor, webhook_id)
        passed = (await store.checkpoint(f"webhook:{webhook_id}")).position
        head = await runtime.store.head_position()
        dead = await store.find(
            DEAD_LETTERS,
            ReadQuery(filter=theirs(actor, webhook_id=str(webhook_id), status="dead"), limit=1),
        )
        return DeliveryProgress(
            delivered_to=passed, head=head, behind=max(head - passed, 0), dead_letters=dead.total
        )

    @api.post("/{webhook_id}/dead-letters/{position}/redeliver", response_model=CommandAccepted)
    async def redeliver(
        webhook_id: UUID, position: int, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        """Try the dead letter's event once more (dead-lettered again if it fails)."""
        command = RedeliverDeadLetter(str(webhook_id), position)
        return accepted(await bus.execute(command, ctx), response)

    return api
