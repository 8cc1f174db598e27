"""The tenant's custom fields: admins define, change and retire them; everyone signed in
reads them (the forms and the list filters are built from them)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field, StringConstraints

from crm.events.custom_fields import FieldChoice, FieldEntity, FieldType
from crm.kernel.auth import Actor
from crm.kernel.custom_fields import (
    DefinitionsOf,
    FieldDefinition,
    RetireCustomField,
    SetCustomField,
)
from crm.kernel.http import Authenticator, CommandAccepted, Commands, accepted
from crm.kernel.http.body import Body
from crm.kernel.http.routers import api_router
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Choice(Body):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    label_en: Label
    label_zh: Label


class FieldBody(Body):
    label_en: Label
    label_zh: Label
    type: FieldType
    choices: list[Choice] = Field(default_factory=list, max_length=100)
    required: bool = False
    personal: bool = Field(
        default=False,
        description="Personal data: sealed with the subject's key, erased with them; never "
        "changes once the field is defined",
    )


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(prefix="/custom-fields", tags=["custom fields"])
    bus = runtime.commands
    commands = Commands(runtime, authenticate)
    definitions = DefinitionsOf(runtime.store, runtime.codec)
    Ctx = Annotated[CommandContext, Depends(commands.context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806

    @api.get("")
    async def list_fields(
        actor: Who,
        entity: FieldEntity | None = None,
        retired: Annotated[bool, Query(description="Include retired fields")] = False,
    ) -> list[dict[str, Any]]:
        state = await definitions(actor.tenant)
        kinds = [entity] if entity else list(FieldEntity)
        return [f.as_dict() for e in kinds for f in state.of(e, retired=retired)]

    @api.put("/{entity}/{key}", response_model=CommandAccepted)
    async def set_field(
        entity: FieldEntity, key: str, body: FieldBody, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        definition = FieldDefinition(
            entity=entity,
            key=key,
            label_en=body.label_en,
            label_zh=body.label_zh,
            type=body.type,
            choices=tuple(FieldChoice(**c.model_dump()) for c in body.choices),
            required=body.required,
            personal=body.personal,
        )
        result = await bus.execute(SetCustomField(ctx.tenant, definition), ctx)
        return accepted(result, response)

    @api.delete("/{entity}/{key}", response_model=CommandAccepted)
    async def retire_field(
        entity: FieldEntity, key: str, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await bus.execute(RetireCustomField(ctx.tenant, entity, key), ctx)
        return accepted(result, response)

    return api
