"""The customer service's routes. Each command is a few lines: parse, run, answer."""

from typing import Annotated, Any
from uuid import UUID, uuid4, uuid5

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from crm.customer.api.schemas import (
    ContactChanges,
    Erasure,
    InteractionView,
    NewConsent,
    NewContact,
    NewCustomer,
    NewInteraction,
    NewTag,
    OwnerAssignment,
    ProfileChanges,
    Release,
)
from crm.customer.application.customer_commands import (
    AddContact,
    AssignOwner,
    ClaimFromPool,
    EraseCustomer,
    LogInteraction,
    RecordConsent,
    RegisterCustomer,
    ReleaseToPool,
    RemoveContact,
    TagCustomer,
    UntagCustomer,
    UpdateContact,
    UpdateProfile,
)
from crm.customer.application.queries import SORTABLE, CustomerFilter, CustomerQueries
from crm.customer.domain.customer import DATES, Contact, Profile
from crm.customer.projections.customers import ContactDoc, CustomerDoc, CustomersProjection
from crm.events.custom_fields import FieldEntity
from crm.kernel.auth import Actor
from crm.kernel.errors import InvalidCommand
from crm.kernel.http import (
    Authenticator,
    CommandAccepted,
    Commands,
    PageOf,
    ReadConsistency,
    accepted,
    checked_sort,
    if_match,
)
from crm.kernel.http.export import (
    EXPORT_RESPONSES,
    ListFormat,
    PageLimit,
    columns_of,
    export_response,
    listed,
)
from crm.kernel.http.params import Offset
from crm.kernel.http.query import query_prefixes
from crm.kernel.http.routers import api_router
from crm.kernel.read_store import Page
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime

CUSTOM = "custom."
CONTACTS = UUID("5b0e7c1e-2d43-4c8e-9a57-0c6f3f1d2a71")
"""The namespace of contact ids derived from a request's ``Idempotency-Key``."""


def contact_id_for(ctx: CommandContext) -> str:
    """Derived from the request's Idempotency-Key (a retried addition answers the same
    contact), else new."""
    if ctx.idempotency is not None:
        return str(uuid5(CONTACTS, f"contact\x00{ctx.tenant}\x00{ctx.idempotency.key}"))
    return str(uuid4())


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(prefix="/customers", tags=["customers"])
    bus = runtime.commands
    queries = CustomerQueries(runtime.read_store, runtime.store, runtime.codec)
    commands = Commands(runtime, authenticate)
    Ctx = Annotated[CommandContext, Depends(commands.context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, CustomersProjection()))

    @api.post("", status_code=201, response_model=CommandAccepted)
    async def register(body: NewCustomer, ctx: Ctx, response: Response) -> CommandAccepted:
        profile = Profile(
            kind=body.kind,
            name=body.name,
            email=str(body.email) if body.email else None,
            phone=body.phone,
            company=body.company,
            title=body.title,
            region=body.region,
            source=body.source,
            billing_address=body.billing_address,
            shipping_address=body.shipping_address,
            visit_address=body.visit_address,
            birthday=body.birthday.isoformat() if body.birthday else None,
            anniversary=body.anniversary.isoformat() if body.anniversary else None,
            preferred_channel=body.preferred_channel,
            preferred_language=body.preferred_language,
        )
        command = RegisterCustomer(
            profile,
            tags=tuple(body.tags),
            owner_id=body.owner_id,
            confirm_distinct=body.confirm_distinct,
            custom=body.custom,
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response, created_under="/customers")

    @api.get(
        "",
        response_model=PageOf[CustomerDoc],
        responses=EXPORT_RESPONSES,
        openapi_extra=query_prefixes(CUSTOM),
        description="Filter by a custom field with `custom.<key>=<value>` (a multi-choice "
        "field: the customers having that choice); sort by one with `sort=custom.<key>`.",
    )
    async def list_customers(
        request: Request,
        actor: Who,
        _: int = consistent,
        owner_id: str | None = None,
        tag: str | None = None,
        region: str | None = None,
        in_pool: bool | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        sort: Annotated[
            str, Query(description=f"one of {sorted(SORTABLE)}, '-' for descending")
        ] = "-created_at",
        limit: PageLimit = None,
        offset: Offset = 0,
        format: ListFormat = "json",
    ) -> dict[str, Any] | Response:
        custom = {
            name.removeprefix(CUSTOM): value
            for name, value in request.query_params.items()
            if name.startswith(CUSTOM)
        }
        wanted = CustomerFilter(
            owner_id=owner_id, tag=tag, region=region, in_pool=in_pool, q=q, custom=custom
        )
        order = sort if sort.lstrip("-").startswith(CUSTOM) else checked_sort(sort, SORTABLE)

        async def search(at: int, size: int) -> Page:
            return await queries.search(actor, wanted, sort=order, limit=size, offset=at)

        if format == "json":
            return await listed(
                format, search, CustomerDoc, "customers", offset=offset, limit=limit
            )
        # a column per custom field the tenant's customers have, in place of the one object
        fields = (await queries.definitions(actor.tenant)).of(FieldEntity.CUSTOMER, retired=True)
        columns = [c for c in columns_of(CustomerDoc) if c != "custom"]
        columns += [f"{CUSTOM}{f.key}" for f in fields]

        async def rows(at: int, size: int) -> list[Any]:
            return (await search(at, size)).items

        return await export_response(format, columns, rows, "customers", offset=offset, limit=limit)

    @api.get("/{customer_id}", response_model=CustomerDoc)
    async def get_customer(
        customer_id: UUID, actor: Who, response: Response, _: int = consistent
    ) -> dict[str, Any]:
        doc = await queries.get(actor, str(customer_id))
        response.headers["ETag"] = f'"{doc["version"]}"'
        return doc

    @api.get("/{customer_id}/interactions", response_model=list[InteractionView])
    async def list_interactions(customer_id: UUID, actor: Who) -> list[dict[str, Any]]:
        return await queries.interactions(actor, str(customer_id))

    @api.patch("/{customer_id}", response_model=CommandAccepted)
    async def update_profile(
        customer_id: UUID,
        body: ProfileChanges,
        ctx: Ctx,
        response: Response,
        if_match_header: Annotated[
            str | None,
            Header(alias="If-Match", description="Only if the customer is at this version"),
        ] = None,
    ) -> CommandAccepted:
        changes = body.model_dump(exclude_unset=True)
        confirm_distinct = bool(changes.pop("confirm_distinct", False))
        custom = changes.pop("custom", None) or {}
        if "email" in changes and changes["email"] is not None:
            changes["email"] = str(changes["email"])
        for day in DATES:
            if changes.get(day) is not None:
                changes[day] = changes[day].isoformat()
        if not changes and not custom:
            raise InvalidCommand("body", "names no field to change")
        expected = if_match(if_match_header, "customer")
        command = UpdateProfile(str(customer_id), changes, expected, confirm_distinct, custom)
        result = await bus.execute(command, ctx)
        return accepted(result, response)

    @api.post("/{customer_id}/owner", response_model=CommandAccepted)
    async def assign_owner(
        customer_id: UUID, body: OwnerAssignment, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await bus.execute(AssignOwner(str(customer_id), body.owner_id), ctx)
        return accepted(result, response)

    @api.post("/{customer_id}/release", response_model=CommandAccepted)
    async def release(
        customer_id: UUID, ctx: Ctx, response: Response, body: Release | None = None
    ) -> CommandAccepted:
        reason = body.reason if body else None
        result = await bus.execute(ReleaseToPool(str(customer_id), reason), ctx)
        return accepted(result, response)

    @api.post("/{customer_id}/claim", response_model=CommandAccepted)
    async def claim(customer_id: UUID, ctx: Ctx, response: Response) -> CommandAccepted:
        result = await bus.execute(ClaimFromPool(str(customer_id)), ctx)
        return accepted(result, response)

    @api.post("/{customer_id}/tags", response_model=CommandAccepted)
    async def tag(customer_id: UUID, body: NewTag, ctx: Ctx, response: Response) -> CommandAccepted:
        result = await bus.execute(TagCustomer(str(customer_id), body.tag), ctx)
        return accepted(result, response)

    @api.delete("/{customer_id}/tags/{tag}", response_model=CommandAccepted)
    async def untag(customer_id: UUID, tag: str, ctx: Ctx, response: Response) -> CommandAccepted:
        result = await bus.execute(UntagCustomer(str(customer_id), tag), ctx)
        return accepted(result, response)

    @api.post("/{customer_id}/interactions", status_code=201, response_model=CommandAccepted)
    async def log_interaction(
        customer_id: UUID, body: NewInteraction, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = LogInteraction(
            str(customer_id),
            channel=body.channel,
            direction=body.direction,
            summary=body.summary,
            occurred_at=body.occurred_at,
            duration_minutes=body.duration_minutes,
        )
        result = await bus.execute(command, ctx)
        return accepted(result, response)

    @api.get("/{customer_id}/contacts", response_model=list[ContactDoc])
    async def list_contacts(
        customer_id: UUID, actor: Who, _: int = consistent
    ) -> list[dict[str, Any]]:
        """A company's contacts (also in ``GET /customers/{id}`` as ``contacts``)."""
        return await queries.contacts(actor, str(customer_id))

    @api.post("/{customer_id}/contacts", status_code=201, response_model=CommandAccepted)
    async def add_contact(
        customer_id: UUID, body: NewContact, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        contact = Contact(
            name=body.name,
            title=body.title,
            email=str(body.email) if body.email else None,
            phone=body.phone,
            primary=body.primary,
            note=body.note,
        )
        command = AddContact(str(customer_id), contact, contact_id_for(ctx))
        result = await bus.execute(command, ctx)
        response.headers["Location"] = f"/customers/{customer_id}/contacts/{command.contact_id}"
        # the id answered is the contact's; position and version are the company's stream's
        return accepted(result, response).model_copy(update={"id": command.contact_id})

    @api.patch("/{customer_id}/contacts/{contact_id}", response_model=CommandAccepted)
    async def update_contact(
        customer_id: UUID, contact_id: UUID, body: ContactChanges, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        changes = body.model_dump(exclude_unset=True)
        if "email" in changes and changes["email"] is not None:
            changes["email"] = str(changes["email"])
        if changes.get("primary", False) is None:
            raise InvalidCommand("primary", "is true or false")
        if not changes:
            raise InvalidCommand("body", "names no field to change")
        command = UpdateContact(str(customer_id), str(contact_id), changes)
        result = await bus.execute(command, ctx)
        return accepted(result, response)

    @api.delete("/{customer_id}/contacts/{contact_id}", response_model=CommandAccepted)
    async def remove_contact(
        customer_id: UUID, contact_id: UUID, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        result = await bus.execute(RemoveContact(str(customer_id), str(contact_id)), ctx)
        return accepted(result, response)

    @api.post("/{customer_id}/consent", status_code=201, response_model=CommandAccepted)
    async def record_consent(
        customer_id: UUID, body: NewConsent, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = RecordConsent(str(customer_id), body.purpose, body.granted, body.method)
        result = await bus.execute(command, ctx)
        return accepted(result, response)

    @api.post("/{customer_id}/erase", response_model=CommandAccepted)
    async def erase(
        customer_id: UUID, ctx: Ctx, response: Response, body: Erasure | None = None
    ) -> CommandAccepted:
        reason = body.reason if body else None
        result = await bus.execute(EraseCustomer(str(customer_id), reason), ctx)
        return accepted(result, response)

    return api
