"""What a task may be about: a customer, lead, opportunity or ticket that exists in the
actor's tenant and that the actor may act on.

Customers follow the kernel's one rule (:class:`~crm.kernel.directory.Customers`); a lead or
an opportunity is a sales rep's own (a rep naming another rep's is told it does not exist,
the same answer as for one that never was); tickets and everything else may be named by any
role that may plan tasks. Each is a 422 naming ``subject_id``; an erased customer takes no
new task (409 ``customer_erased``). A record created a moment ago is found: the read models
are waited for (up to the runtime's ``read_wait_seconds``), as the customer directory is.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.activities.projections.reference_models import (
    CUSTOMER_DIRECTORY,
    REFERENCES,
    ReferencesProjection,
)
from crm.events.activities import SubjectKind
from crm.kernel.access import Principal
from crm.kernel.auth import Role
from crm.kernel.directory import Customers
from crm.kernel.errors import InvalidCommand
from crm.kernel.projection import wait_until
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    id: str
    customer_id: str | None
    owner_id: str | None


class References:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.customers = Customers(runtime, CUSTOMER_DIRECTORY)

    async def require(self, ctx: CommandContext, kind: SubjectKind, subject_id: str) -> Subject:
        if kind is SubjectKind.CUSTOMER:
            entry = await self.customers.require(ctx, subject_id, field="subject_id")
            return Subject(kind, entry["id"], entry["id"], entry["owner_id"])
        runtime = self.runtime
        await wait_until(
            runtime.read_store,
            REFERENCES,
            await runtime.store.head_position(),
            runtime.read_wait_seconds,
            store=runtime.store,
            categories=ReferencesProjection.categories,
        )
        wanted = subject_id.strip()
        doc = await runtime.read_store.get(REFERENCES, f"{kind.value}:{wanted}")
        p = Principal.of(ctx)
        mine = p.role is not Role.SALES_REP or kind is SubjectKind.TICKET
        if doc is None or doc.get("tenant") != ctx.tenant or not (mine or doc["owner_id"] == p.id):
            raise InvalidCommand("subject_id", f"{kind.value} {wanted[:100]!r} does not exist")
        customer_id = doc.get("customer_id")
        if customer_id is not None:
            # a task about a deal or a ticket is also about its customer: not once erased
            await self.customers.require(Principal(p.id, None, p.tenant), customer_id)
        return Subject(kind, wanted, customer_id, doc.get("owner_id"))
