"""Suspected duplicates and merges (admins): the list of pairs, the decision that a pair is
two customers after all, and the merge of one into the other."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from crm.customer.application.customer_commands import MarkDistinct, MergeCustomers
from crm.customer.application.duplicates import pair_view, suspected_pairs
from crm.customer.application.policy import POLICY, Action
from crm.customer.projections.customers import CustomersProjection
from crm.kernel.auth import Actor
from crm.kernel.event_store import AppendResult
from crm.kernel.http import (
    Authenticator,
    CommandAccepted,
    Commands,
    PageOf,
    ReadConsistency,
    accepted,
)
from crm.kernel.http.body import Body
from crm.kernel.http.params import Limit, Offset
from crm.kernel.http.routers import api_router
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime


class Merge(Body):
    merged_id: UUID
    """The duplicate: merged into the customer of the path, which survives."""


class Distinct(Body):
    other_id: UUID
    """The customer that is not a duplicate of the one of the path."""


class PairCustomer(BaseModel):
    id: str
    name: str | None
    email: str | None
    phone: str | None
    company: str | None
    owner_id: str | None
    created_at: str


class SuspectedPair(BaseModel):
    customer_id: str
    other_id: str
    score: int
    reasons: list[str]
    customers: list[PairCustomer]
    """Both, the first registered first."""


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(prefix="/customers", tags=["customers"])
    bus = runtime.commands
    commands = Commands(runtime, authenticate)
    Ctx = Annotated[CommandContext, Depends(commands.context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    consistent = Depends(ReadConsistency(runtime, CustomersProjection()))

    @api.get("/duplicates", response_model=PageOf[SuspectedPair])
    async def duplicates(
        actor: Who, _: int = consistent, limit: Limit = 50, offset: Offset = 0
    ) -> dict[str, Any]:
        """Pairs of customers that likely are one, best first, scored as a registration's
        duplicate check scores them; a pair marked distinct is not listed."""
        POLICY.authorize(actor, Action.MERGE, what="customer duplicates")
        pairs = await suspected_pairs(runtime, actor.tenant)
        items = [pair_view(p) for p in pairs[offset : offset + limit]]
        return {"items": items, "total": len(pairs), "limit": limit, "offset": offset}

    @api.post("/{customer_id}/distinct", status_code=201, response_model=CommandAccepted)
    async def mark_distinct(
        customer_id: UUID, body: Distinct, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        command = MarkDistinct(str(customer_id), str(body.other_id))
        return accepted(await bus.execute(command, ctx), response)

    @api.post("/{survivor_id}/merge", response_model=CommandAccepted)
    async def merge(
        survivor_id: UUID, body: Merge, ctx: Ctx, response: Response
    ) -> CommandAccepted:
        """Merge ``merged_id`` into this customer; the answer's position is the merge's last
        event (the survivor's), to read the read models after it with ``min_position``."""
        await bus.execute(MergeCustomers(str(survivor_id), str(body.merged_id)), ctx)
        stream = f"customer-{survivor_id}"
        last = (await runtime.store.read_stream(stream))[-1]
        return accepted(AppendResult(stream, last.stream_version, last.position), response)

    return api
