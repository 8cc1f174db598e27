# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width colons)
"""The custom fields page (admins): the tenant's fields of customers, leads, opportunities and
tickets, defined, edited and retired through the kernel's own commands
(:mod:`crm.kernel.custom_fields`: ``SetCustomField``, ``RetireCustomField``) on the runtime's
bus, as the signed-in admin, so ``PUT /custom-fields/...`` and this page keep the same rules
(a type and whether a field is personal never change; a retired field's values stay). The
definitions are read from their stream, so the page shows a change at once.

A choice field's choices are typed one per line, ``key | English | 中文``: a plain text box
that works without a script and reads the same in both languages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from crm.console.pages import PREFIX, Console, guarded, see
from crm.events.custom_fields import FieldChoice, FieldEntity, FieldType
from crm.kernel.auth import Role
from crm.kernel.custom_fields import (
    DefinitionsOf,
    FieldDefinition,
    RetireCustomField,
    SetCustomField,
)
from crm.kernel.errors import Forbidden, InvalidCommand

PAGE = f"{PREFIX}/admin/fields"
ENTITIES = tuple(FieldEntity)
TYPES = tuple(FieldType)
CHOOSING = (FieldType.CHOICE, FieldType.MULTI_CHOICE)


def parse_choices(text: str) -> tuple[FieldChoice, ...]:
    """The choices typed one per line as ``key | English | 中文`` (blank lines skipped); a
    line without its three parts is a 422 naming ``choices`` and the line."""
    found: list[FieldChoice] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not all(parts):
            raise InvalidCommand(
                "choices",
                f"line {number}: write key | English | 中文 (第 {number} 行：键 | 英文 | 中文)",
            )
        found.append(FieldChoice(key=parts[0], label_en=parts[1], label_zh=parts[2]))
    return tuple(found)


def choices_text(definition: FieldDefinition) -> str:
    """A field's choices as the form shows them (what :func:`parse_choices` reads back)."""
    return "\n".join(f"{c.key} | {c.label_en} | {c.label_zh}" for c in definition.choices)


def fields_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    page = guarded(console)
    definitions = DefinitionsOf(runtime.store, runtime.codec)

    def _admin(role: Role) -> None:
        if role is not Role.ADMIN:
            raise Forbidden("only an admin defines custom fields")

    @api.get(PAGE)
    @page
    async def fields(
        request: Request,
        entity: FieldEntity = FieldEntity.CUSTOMER,
        done: Annotated[str | None, Query(max_length=20)] = None,
        min_position: int | None = None,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        _admin(actor.role)
        known = await definitions(actor.tenant)
        return console.render(
            visit,
            request,
            "admin_fields.html",
            entity=entity,
            entities=ENTITIES,
            types=TYPES,
            defined=known.of(entity, retired=True),
            choices_text=choices_text,
            done=done == "saved",
        )

    async def run(
        request: Request, command: Callable[[str], object], entity: FieldEntity
    ) -> Response:
        """``command`` for the admin's tenant, once the form's CSRF token is checked."""
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        _admin(actor.role)
        try:
            result = await runtime.commands.execute(command(actor.tenant), console.context(visit))
        except InvalidCommand as e:
            if e.field != "key":
                raise
            raise InvalidCommand("field_key", e.message) from None  # the form's name for it
        return see(f"{PAGE}?entity={entity.value}&min_position={result.position}&done=saved")

    @api.post(PAGE)
    @page
    async def define(
        request: Request,
        entity: FieldEntity = Form(),
        field_key: str = Form(min_length=1, max_length=40),
        label_en: str = Form(min_length=1, max_length=100),
        label_zh: str = Form(min_length=1, max_length=100),
        type: FieldType = Form(),
        choices: str = Form(default="", max_length=20_000),
        required: bool = Form(default=False),
        personal: bool = Form(default=False),
    ) -> Response:
        """Defines a field, or edits one (its labels, choices and whether it is required:
        the form of a field already there carries its type and personal flag unchanged)."""

        def command(tenant: str) -> SetCustomField:
            definition = FieldDefinition(
                entity=entity,
                key=field_key.strip(),
                label_en=label_en,
                label_zh=label_zh,
                type=type,
                choices=parse_choices(choices) if type in CHOOSING else (),
                required=required,
                personal=personal,
            )
            return SetCustomField(tenant, definition)

        return await run(request, command, entity)

    @api.post(f"{PAGE}/{{entity}}/{{key}}/retire")
    @page
    async def retire(
        request: Request,
        entity: FieldEntity,
        key: str,
        confirm: bool = Form(default=False),
    ) -> Response:

        def command(tenant: str) -> RetireCustomField:
            if not confirm:
                raise InvalidCommand("confirm", "tick the box to retire it / 请勾选以确认停用")
            return RetireCustomField(tenant, entity, key)

        return await run(request, command, entity)

    return api


__all__ = ["choices_text", "fields_router", "parse_choices"]
