"""``GET /customers/{customer_id}/export``: everything held about one customer, from every
context this process runs, as one JSON document (a data subject access request, GDPR art. 15).

Each section is read through its context's own queries (the same access rules, the personal
data as the read models and the log hold it, decrypted; an erased customer's data reads
erased), every page of it: the profile with its consents, the interactions and a company's
contacts (customer), the leads converted into or for them, opportunities, quotes, orders,
invoices and payments (sales), tickets, visits and service contracts (service desk), tasks
(activities) and the 360° view with the churn assessment (analytics). Admins only: the export
is first recorded as ``customer.data_exported`` on the customer's stream through the
customer's command table (its access rule: 403 for any other role, 404 for a customer that
does not exist), so who exported whom and when is in the log, with the sections it held and
never their content.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from crm.activities.application.task_queries import TaskFilter, TaskQueries
from crm.activities.projections.reference_models import (
    CUSTOMER_DIRECTORY as ACTIVITIES_CUSTOMERS,
)
from crm.analytics.application.customer_queries import CustomerQueries as AnalyticsQueries
from crm.customer.application.customer_commands import RecordDataExport
from crm.customer.application.queries import CustomerQueries
from crm.kernel.auth import Actor
from crm.kernel.context import BoundedContext
from crm.kernel.directory import Customers
from crm.kernel.errors import Moved
from crm.kernel.http import Authenticator, Commands, ReadConsistency
from crm.kernel.http.routers import api_router
from crm.kernel.read_store import Page
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.sales.application.order_queries import (
    InvoiceFilter,
    OrderFilter,
    OrderQueries,
    QuoteFilter,
)
from crm.sales.application.pipeline_queries import (
    LeadFilter,
    OpportunityFilter,
    Paging,
    PipelineQueries,
)
from crm.sales.domain.pipeline import Pipeline
from crm.sales.projections.customer_directory import CUSTOMER_DIRECTORY as SALES_CUSTOMERS
from crm.service_desk.application.ticket_queries import (
    ContractFilter,
    TicketFilter,
    TicketQueries,
)
from crm.service_desk.application.visit_queries import VisitFilter, VisitQueries
from crm.service_desk.projections.customer_directory import (
    CUSTOMER_DIRECTORY as DESK_CUSTOMERS,
)

PAGE = 500

Search = Callable[[int, int], Awaitable[Page]]
Section = Callable[[Actor, str], Awaitable[Any]]


async def every(search: Search) -> list[Any]:
    """Every item of a list query, page by page."""
    found: list[Any] = []
    while True:
        page = await search(len(found), PAGE)
        found.extend(page.items)
        if len(page.items) < PAGE:
            return found


def sections(runtime: Runtime, contexts: Sequence[str]) -> dict[str, Section]:
    """The export's sections by name, for the contexts this process runs."""
    out: dict[str, Section] = {}
    rs = runtime.read_store
    if "customer" in contexts:
        customers = CustomerQueries(rs, runtime.store, runtime.codec)

        async def profile(actor: Actor, cid: str) -> Any:
            try:
                return await customers.get(actor, cid)
            except Moved as merged:  # its records are the survivor's: that export holds them
                return {"id": cid, "merged_into": merged.details["merged_into"]}

        async def interactions(actor: Actor, cid: str) -> Any:
            return await customers.interactions(actor, cid)

        async def contacts(actor: Actor, cid: str) -> Any:
            return await customers.contacts(actor, cid, of_merged=True)

        out |= {"profile": profile, "interactions": interactions, "contacts": contacts}
    if "sales" in contexts:
        sales_customers = Customers(runtime, SALES_CUSTOMERS)
        pipeline = PipelineQueries(
            rs, runtime.codec.keys, runtime.commands.repository(Pipeline), sales_customers
        )
        orders = OrderQueries(rs, sales_customers)

        async def leads(a: Actor, cid: str) -> Any:
            flt = LeadFilter(customer_id=cid)
            return await every(lambda at, n: pipeline.leads(a, flt, Paging("created_at", n, at)))

        async def opportunities(a: Actor, cid: str) -> Any:
            flt = OpportunityFilter(customer_id=cid)
            return await every(
                lambda at, n: pipeline.opportunities(a, flt, Paging("created_at", n, at))
            )

        async def quotes(a: Actor, cid: str) -> Any:
            flt = QuoteFilter(customer_id=cid)
            return await every(
                lambda at, n: orders.quotes(a, flt, sort="created_at", limit=n, offset=at)
            )

        async def placed(a: Actor, cid: str) -> Any:
            flt = OrderFilter(customer_id=cid)
            return await every(
                lambda at, n: orders.orders(a, flt, sort="placed_at", limit=n, offset=at)
            )

        async def invoices(a: Actor, cid: str) -> Any:
            flt = InvoiceFilter(customer_id=cid)
            return await every(
                lambda at, n: orders.invoices(a, flt, sort="issue_date", limit=n, offset=at)
            )

        async def payments(a: Actor, cid: str) -> Any:
            return await every(
                lambda at, n: orders.payments(
                    a, invoice_id=None, customer_id=cid, limit=n, offset=at
                )
            )

        out |= {
            "leads": leads,
            "opportunities": opportunities,
            "quotes": quotes,
            "orders": placed,
            "invoices": invoices,
            "payments": payments,
        }
    if "service-desk" in contexts:
        desk_customers = Customers(runtime, DESK_CUSTOMERS)
        tickets = TicketQueries(rs, runtime.codec.keys, desk_customers)
        visits = VisitQueries(rs, runtime.codec.keys, desk_customers)

        async def cases(a: Actor, cid: str) -> Any:
            flt = TicketFilter(customer_id=cid)
            return await every(
                lambda at, n: tickets.tickets(a, flt, sort="opened_at", limit=n, offset=at)
            )

        async def calls(a: Actor, cid: str) -> Any:
            flt = VisitFilter(customer_id=cid)
            return await every(
                lambda at, n: visits.visits(a, flt, sort="start", limit=n, offset=at)
            )

        async def contracts(a: Actor, cid: str) -> Any:
            flt = ContractFilter(customer_id=cid)
            return await every(lambda at, n: tickets.contracts(a, flt, limit=n, offset=at))

        out |= {"tickets": cases, "visits": calls, "contracts": contracts}
    if "activities" in contexts:
        tasks = TaskQueries(rs, Customers(runtime, ACTIVITIES_CUSTOMERS))

        async def planned(a: Actor, cid: str) -> Any:
            flt = TaskFilter(customer_id=cid)
            return await every(
                lambda at, n: tasks.tasks(a, flt, sort="scheduled_at", limit=n, offset=at)
            )

        out["tasks"] = planned
    if "analytics" in contexts:
        analytics = AnalyticsQueries(rs)

        async def view(a: Actor, cid: str) -> Any:
            try:
                return await analytics.customer_360(a, cid, runtime.clock.now())
            except Moved as merged:
                return {"id": cid, "merged_into": merged.details["merged_into"]}

        out["analytics"] = view
    return out


def router(
    runtime: Runtime, authenticate: Authenticator, contexts: Sequence[BoundedContext]
) -> APIRouter:
    api = api_router(prefix="/customers", tags=["customers"])
    commands = Commands(runtime, authenticate)
    Ctx = Annotated[CommandContext, Depends(commands.context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    parts = sections(runtime, [c.name for c in contexts])
    consistent = Depends(ReadConsistency(runtime, *(p for c in contexts for p in c.projections)))

    @api.get("/{customer_id}/export", response_model=None)
    async def export_subject(
        customer_id: UUID, actor: Who, ctx: Ctx, _: int = consistent
    ) -> dict[str, Any]:
        """Everything held about the customer, by section (see the module's description);
        recorded as ``customer.data_exported`` first. Admins only. ``min_position``: every
        read model of the running contexts is waited for first (read-your-writes)."""
        cid = str(customer_id)
        recorded = await runtime.commands.execute(RecordDataExport(cid, tuple(parts)), ctx)
        held = {name: await read(actor, cid) for name, read in parts.items()}
        return {
            "customer_id": cid,
            "exported_at": runtime.clock.now().isoformat(),
            "exported_by": actor.id,
            "position": recorded.position,
            **held,
        }

    return api
