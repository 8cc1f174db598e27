"""The sales pages: leads (list with filters, capture, the lead page with qualify,
disqualify and convert), opportunities (list with filters, the opportunity page with its
stage history, next step, stage change, win and loss), a customer's quotes, orders and
invoices, a manager's team pipeline summary, and the commission statements (approved by a
manager or an admin).

Every read is the sales context's own query (:class:`PipelineQueries`,
:class:`OrderQueries`) and every form one of its commands on the runtime's bus, as the
signed-in user, so the rules hold as over the API: a rep sees their own leads and
opportunities (another rep's is the 404 page), a manager their team's, an admin all; an
agent or analyst reads without forms (a form they post anyway is refused: 403).

A stage change, a win or a loss carries the version of the opportunity the page showed (the
API's ``If-Match``): if the opportunity changed meanwhile, the page says so plainly, with the
version and stage it is at now, and changes nothing.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from crm.analytics.application.lead_score_queries import LeadScoreQueries
from crm.console.pages import (
    PAGE_SIZE,
    PREFIX,
    Console,
    Visit,
    custom_of,
    fillable,
    guarded,
    see,
)
from crm.console.teams import Teams
from crm.customer.application.queries import CustomerFilter
from crm.events.custom_fields import FieldEntity
from crm.events.money import Money, MoneyIn
from crm.kernel.access import Principal
from crm.kernel.auth import Actor, Role
from crm.kernel.custom_fields import DefinitionsOf
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound
from crm.kernel.http import ReadConsistency
from crm.kernel.read_store import Document
from crm.sales.application.commission_commands import ApproveStatement
from crm.sales.application.commission_queries import CommissionQueries, StatementFilter
from crm.sales.application.lead_commands import (
    CaptureLead,
    ConvertLead,
    DisqualifyLead,
    QualifyLead,
)
from crm.sales.application.opportunity_commands import (
    ChangeOpportunity,
    LoseOpportunity,
    MoveOpportunity,
    ReopenOpportunity,
    WinOpportunity,
)
from crm.sales.application.order_queries import (
    InvoiceFilter,
    OrderFilter,
    OrderQueries,
    QuoteFilter,
)
from crm.sales.application.pipeline_queries import LeadFilter, OpportunityFilter, Paging
from crm.sales.application.policy import POLICY, SalesAction
from crm.sales.domain.opportunities import Opportunity
from crm.sales.projections.commission_models import PROJECTION as COMMISSIONS_PROJECTION
from crm.sales.projections.order_models import PROJECTION as ORDERS_PROJECTION
from crm.sales.projections.pipeline_models import LeadsProjection, OpportunitiesProjection

LEAD_STATUSES = ("open", "qualified", "disqualified", "converting", "converted")
LEAD_LIST_SORTS = ("-created_at", "created_at", "-updated_at", "name")
OPPORTUNITY_STATUSES = ("open", "won", "lost")
OPPORTUNITY_LIST_SORTS = ("expected_close_date", "-amount", "-updated_at", "-created_at")
QUOTE_STATUSES = ("draft", "sent", "accepted", "rejected", "expired")
ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled", "returned")
INVOICE_STATUSES = ("issued", "paid", "void")
CURRENCIES = ("EUR", "USD", "GBP", "CNY", "JPY")
"""Offered first in the conversion form; any ISO 4217 code is accepted."""
SUMMARY_PAGE = 500
STATEMENTS_PAGE = 200
"""Commission statements the page lists, newest month first."""
"""Opportunities read per query while the team summary adds them up."""

LeadStatus = Literal["all", "open", "qualified", "disqualified", "converting", "converted"]
LeadSort = Literal["-created_at", "created_at", "-updated_at", "name"]
OpportunityStatus = Literal["all", "open", "won", "lost"]
OpportunitySort = Literal["expected_close_date", "-amount", "-updated_at", "-created_at"]
Whose = Literal["any", "mine"]


def works_sales(actor: Actor) -> bool:
    """Whether the sales forms are shown: the roles that may work leads and opportunities."""
    return POLICY.may(Principal.of(actor), SalesAction.WORK)


# -- the team summary (pure) ---------------------------------------------------------------


@dataclass
class Tally:
    """Money added up per currency (opportunities of one team may be in several)."""

    sums: dict[str, Decimal] = field(default_factory=dict)

    def add(self, money: dict[str, Any]) -> None:
        currency = str(money["currency"])
        self.sums[currency] = self.sums.get(currency, Decimal(0)) + Decimal(str(money["amount"]))

    def items(self) -> list[tuple[str, str]]:
        """(amount, currency), by currency."""
        return [(str(self.sums[c]), c) for c in sorted(self.sums)]


@dataclass
class RepLine:
    owner_id: str
    open: int = 0
    won: int = 0
    lost: int = 0
    open_amount: Tally = field(default_factory=Tally)
    weighted: Tally = field(default_factory=Tally)
    won_amount: Tally = field(default_factory=Tally)


@dataclass
class StageLine:
    stage: str
    count: int = 0
    amount: Tally = field(default_factory=Tally)


@dataclass
class TeamSummary:
    reps: list[RepLine]
    stages: list[StageLine]
    total: RepLine


def team_summary(opportunities: list[Document], open_stages: list[str]) -> TeamSummary:
    """Each rep's open, won and lost opportunities with their amounts, the team's total, and
    the open ones by stage (in the pipeline's order; a stage no longer configured after)."""
    reps: dict[str, RepLine] = {}
    total = RepLine("")
    by_stage = {s: StageLine(s) for s in open_stages}
    for o in opportunities:
        line = reps.setdefault(o["owner_id"], RepLine(o["owner_id"]))
        for each in (line, total):
            if o["status"] == "open":
                each.open += 1
                each.open_amount.add(o["amount"])
                each.weighted.add(o["weighted_amount"])
            elif o["status"] == "won":
                each.won += 1
                each.won_amount.add(o["amount"])
            else:
                each.lost += 1
        if o["status"] == "open":
            stage = by_stage.setdefault(o["stage"], StageLine(o["stage"]))
            stage.count += 1
            stage.amount.add(o["amount"])
    ordered = sorted(reps.values(), key=lambda r: (-r.open, r.owner_id))
    return TeamSummary(ordered, list(by_stage.values()), total)


def _money(amount: str, currency: str, field_name: str = "amount") -> Money:
    """A form's amount and currency, checked as the API checks them (a plain decimal within
    the currency's minor unit); a wrong one is a 422 naming ``field_name``."""
    try:
        checked = MoneyIn(amount=amount.strip(), currency=currency.strip().upper())
    except ValueError as e:
        raise InvalidCommand(field_name, "a plain amount in a known currency, e.g. 1250.00") from e
    return Money.of(checked.amount, checked.currency)


def sales_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    bus = runtime.commands
    page = guarded(console)
    sales = console.sales
    orders = OrderQueries(runtime.read_store, console.sales_customers)
    lead_scores = LeadScoreQueries(runtime)
    opportunities_repo = bus.repository(Opportunity)
    definitions = DefinitionsOf(runtime.store, runtime.codec)
    leads_read = Depends(ReadConsistency(runtime, LeadsProjection()))
    opportunities_read = Depends(ReadConsistency(runtime, OpportunitiesProjection()))
    orders_read = Depends(ReadConsistency(runtime, ORDERS_PROJECTION))
    commission_queries = CommissionQueries(runtime.read_store)
    commissions_read = Depends(ReadConsistency(runtime, COMMISSIONS_PROJECTION))
    teams = Teams(runtime.read_store, console.directory, bus)

    async def team_choice(
        actor: Actor, team: str | None
    ) -> tuple[str | None, list[tuple[str, str]]]:
        """The team a sales page is narrowed to (None: every team the reader sees), and the
        teams the reader chooses from (id, name: an admin's or analyst's, the tenant's
        teams, recorded or in use; none for the others). A rep or manager names only their
        own (another is a 403); an unknown team is the 404 page. The teams read once."""
        chosen = (team or "").strip() or None
        own_only = actor.role in (Role.SALES_REP, Role.MANAGER)
        if chosen is not None and own_only and chosen != actor.team:
            raise Forbidden("only your own team's opportunities can be chosen")
        chooses = actor.role in (Role.ADMIN, Role.ANALYST)
        if chosen is None and not chooses:
            return None, []
        views = (await teams.all(actor.tenant))[0]
        if chosen is not None and all(v.id != chosen for v in views):
            raise NotFound(f"team {chosen} does not exist")
        return chosen, [(v.id, v.name) for v in views] if chooses else []

    # -- leads -------------------------------------------------------------------------------

    @api.get(f"{PREFIX}/leads")
    @page
    async def leads(
        request: Request,
        status: LeadStatus = "all",
        owner: Whose = "any",
        source: str | None = None,
        sort: LeadSort = "-created_at",
        page: int = 1,
        min_position: int | None = None,
        done: str | None = None,
        _: int = leads_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        page = max(1, min(page, 10_000))
        source = (source or "").strip()[:200] or None
        flt = LeadFilter(
            owner_id=actor.id if owner == "mine" else None,
            status=None if status == "all" else status,
            source=source,
        )
        found = await sales.leads(
            actor, flt, Paging(sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        )
        scores = await lead_scores.of(actor.tenant, [item["id"] for item in found.items])
        query = {
            k: v
            for k, v in (("status", status), ("owner", owner), ("source", source), ("sort", sort))
            if v
        }
        return console.render(
            visit,
            request,
            "leads.html",
            items=found.items,
            scores=scores,
            total=found.total,
            page=page,
            pages=max(1, math.ceil(found.total / PAGE_SIZE)),
            query=query,
            link=lambda p: f"{PREFIX}/leads?{urlencode({**query, 'page': p})}",
            statuses=LEAD_STATUSES,
            sorts=LEAD_LIST_SORTS,
            names=await console.directory.names(actor.tenant),
            works=works_sales(actor),
        )

    @api.post(f"{PREFIX}/leads")
    @page
    async def capture_lead(
        request: Request,
        name: str = Form(min_length=1, max_length=200),
        email: str = Form(default="", max_length=320),
        phone: str = Form(default="", max_length=50),
        company: str = Form(default="", max_length=200),
        title: str = Form(default="", max_length=200),
        source: str = Form(default="", max_length=200),
    ) -> Response:
        visit = await console.check_csrf(request)
        await console.signed_in(request)
        if not name.strip():
            raise InvalidCommand("name", "must not be blank")
        command = CaptureLead(
            name=name.strip(),
            email=email.strip() or None,
            phone=phone.strip() or None,
            company=company.strip() or None,
            title=title.strip() or None,
            source=source.strip() or None,
        )
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/leads/{command.lead_id}?min_position={result.position}&done=captured")

    @api.get(f"{PREFIX}/leads/{{lead_id}}")
    @page
    async def lead(
        request: Request,
        lead_id: UUID,
        min_position: int | None = None,
        done: str | None = None,
        _: int = leads_read,
        _opportunities: int = opportunities_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        doc = await sales.lead(actor, str(lead_id))
        works = works_sales(actor)
        customers: list[Any] = []
        if works and doc["status"] in ("open", "qualified"):
            with contextlib.suppress(Forbidden):
                mine = actor.id if actor.role is Role.SALES_REP else None
                found = await console.customers.search(
                    actor, CustomerFilter(owner_id=mine), sort="name", limit=100, offset=0
                )
                customers = list(found.items)
        customer = None
        if doc["customer_id"] and doc["status"] == "converted":
            with contextlib.suppress(NotFound, Forbidden):
                customer = await console.customers.get(actor, doc["customer_id"])
        return console.render(
            visit,
            request,
            "lead.html",
            lead=doc,
            works=works,
            customers=customers,
            customer=customer,
            currencies=CURRENCIES,
            names=await console.directory.names(actor.tenant),
            done=done if done in ("captured", "saved") else None,
            today=runtime.clock.now().date().isoformat(),
        )

    async def lead_command(request: Request, lead_id: UUID, command: object) -> Response:
        visit = await console.check_csrf(request)
        await console.signed_in(request)
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/leads/{lead_id}?min_position={result.position}&done=saved")

    @api.post(f"{PREFIX}/leads/{{lead_id}}/qualify")
    @page
    async def qualify_lead(
        request: Request, lead_id: UUID, note: str = Form(default="", max_length=2000)
    ) -> Response:
        command = QualifyLead(str(lead_id), note.strip() or None)
        return await lead_command(request, lead_id, command)

    @api.post(f"{PREFIX}/leads/{{lead_id}}/disqualify")
    @page
    async def disqualify_lead(
        request: Request, lead_id: UUID, reason: str = Form(min_length=1, max_length=2000)
    ) -> Response:
        if not reason.strip():
            raise InvalidCommand("reason", "must not be blank")
        return await lead_command(request, lead_id, DisqualifyLead(str(lead_id), reason.strip()))

    @api.post(f"{PREFIX}/leads/{{lead_id}}/convert")
    @page
    async def convert_lead(
        request: Request,
        lead_id: UUID,
        opportunity_name: str = Form(min_length=1, max_length=200),
        amount: str = Form(min_length=1, max_length=40),
        currency: str = Form(min_length=3, max_length=3),
        expected_close_date: date = Form(),
        existing_customer_id: str = Form(default="", max_length=64),
    ) -> Response:
        if not opportunity_name.strip():
            raise InvalidCommand("opportunity_name", "must not be blank")
        command = ConvertLead(
            str(lead_id),
            opportunity_name=opportunity_name.strip(),
            amount=_money(amount, currency),
            expected_close_date=expected_close_date,
            existing_customer_id=existing_customer_id.strip() or None,
        )
        return await lead_command(request, lead_id, command)

    # -- opportunities -----------------------------------------------------------------------

    async def open_stages(actor: Actor) -> list[str]:
        return [s.name for s in (await sales.pipeline(actor)).stages if s.outcome == "open"]

    @api.get(f"{PREFIX}/opportunities")
    @page
    async def opportunities(
        request: Request,
        status: OpportunityStatus = "open",
        stage: str | None = None,
        owner: Whose = "any",
        rep: str | None = None,
        customer: UUID | None = None,
        team: str | None = Query(default=None, max_length=100),
        sort: OpportunitySort = "expected_close_date",
        page: int = 1,
        min_position: int | None = None,
        _: int = opportunities_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        page = max(1, min(page, 10_000))
        team, offered = await team_choice(actor, team)
        stages = await open_stages(actor)
        stage = (stage or "").strip() or None
        if stage is not None and stage not in stages:
            raise InvalidCommand("stage", f"not a stage of the pipeline: {', '.join(stages)}")
        if customer is not None:
            await console.customers.get(actor, str(customer))  # 404 for one not seen
        flt = OpportunityFilter(
            owner_id=actor.id if owner == "mine" else ((rep or "").strip()[:64] or None),
            stage=stage,
            status=None if status == "all" else status,
            customer_id=str(customer) if customer else None,
            team_id=team,
        )
        found = await sales.opportunities(
            actor, flt, Paging(sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        )
        scores = await lead_scores.of(actor.tenant, [item["id"] for item in found.items])
        query = {
            k: v
            for k, v in (
                ("status", status),
                ("stage", stage),
                ("owner", owner),
                ("rep", (rep or "").strip()[:64] or None),
                ("customer", str(customer) if customer else None),
                ("team", team),
                ("sort", sort),
            )
            if v
        }
        return console.render(
            visit,
            request,
            "opportunities.html",
            items=found.items,
            scores=scores,
            total=found.total,
            page=page,
            pages=max(1, math.ceil(found.total / PAGE_SIZE)),
            query=query,
            link=lambda p: f"{PREFIX}/opportunities?{urlencode({**query, 'page': p})}",
            statuses=OPPORTUNITY_STATUSES,
            stages=stages,
            sorts=OPPORTUNITY_LIST_SORTS,
            teams=offered,
            names=await console.directory.names(actor.tenant),
        )

    @api.get(f"{PREFIX}/opportunities/{{opportunity_id}}")
    @page
    async def opportunity(
        request: Request,
        opportunity_id: UUID,
        min_position: int | None = None,
        done: str | None = None,
        _: int = opportunities_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        doc = await sales.opportunity(actor, str(opportunity_id))
        stages = await open_stages(actor)
        customer = None
        with contextlib.suppress(NotFound, Forbidden):
            customer = await console.customers.get(actor, doc["customer_id"])
        following = None
        if doc["status"] == "open" and doc["stage"] in stages:
            i = stages.index(doc["stage"])
            following = stages[i + 1] if i + 1 < len(stages) else None
        known = await definitions(actor.tenant)
        return console.render(
            visit,
            request,
            "opportunity.html",
            o=doc,
            customer=customer,
            stages=stages,
            following=following,
            fields=fillable(known, FieldEntity.OPPORTUNITY, actor),
            custom_shown=known.of(FieldEntity.OPPORTUNITY, retired=True),
            currencies=CURRENCIES,
            works=works_sales(actor),
            names=await console.directory.names(actor.tenant),
            done=done == "saved",
        )

    async def stale(
        visit: Visit, request: Request, actor: Actor, id_: str, seen: int
    ) -> Response | None:
        """The conflict page if the opportunity is no longer at the version the page showed
        (read from its stream, not the read model, which may lag); None if it still is."""
        await sales.opportunity(actor, id_)  # another rep's is the 404 page, not a conflict
        current = await opportunities_repo.load(id_, tenant=actor.tenant)
        if current.version == seen:
            return None
        message = visit.t(
            "error.stale",
            seen=seen,
            now=current.version,
            stage=visit.t.stage(current.state.stage),
        )
        return console.error(request, visit, 409, message)

    async def opportunity_command(
        request: Request, opportunity_id: UUID, version: int, command: object
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        conflict = await stale(visit, request, actor, str(opportunity_id), version)
        if conflict is not None:
            return conflict
        result = await bus.execute(command, console.context(visit))
        return see(
            f"{PREFIX}/opportunities/{opportunity_id}?min_position={result.position}&done=saved"
        )

    @api.post(f"{PREFIX}/opportunities/{{opportunity_id}}/move")
    @page
    async def move(
        request: Request,
        opportunity_id: UUID,
        stage: str = Form(min_length=1, max_length=100),
        version: int = Form(ge=0),
    ) -> Response:
        command = MoveOpportunity(str(opportunity_id), stage.strip(), expected_version=version)
        return await opportunity_command(request, opportunity_id, version, command)

    @api.post(f"{PREFIX}/opportunities/{{opportunity_id}}/win")
    @page
    async def win(request: Request, opportunity_id: UUID, version: int = Form(ge=0)) -> Response:
        command = WinOpportunity(str(opportunity_id), expected_version=version)
        return await opportunity_command(request, opportunity_id, version, command)

    @api.post(f"{PREFIX}/opportunities/{{opportunity_id}}/lose")
    @page
    async def lose(
        request: Request,
        opportunity_id: UUID,
        version: int = Form(ge=0),
        reason: str = Form(min_length=1, max_length=500),
    ) -> Response:
        if not reason.strip():
            raise InvalidCommand("reason", "must not be blank")
        command = LoseOpportunity(str(opportunity_id), reason.strip(), expected_version=version)
        return await opportunity_command(request, opportunity_id, version, command)

    @api.post(f"{PREFIX}/opportunities/{{opportunity_id}}/edit")
    @page
    async def edit(
        request: Request,
        opportunity_id: UUID,
        version: int = Form(ge=0),
        amount: str = Form(min_length=1, max_length=30),
        currency: str = Form(min_length=3, max_length=3),
        expected_close_date: date = Form(),
    ) -> Response:
        """The amount, the close date and the custom fields in one command (what did not
        change records nothing); the currency stays the opportunity's (the API's
        ``change_currency`` is not offered: a mistyped currency would skew every forecast)."""
        form = await request.form()
        _visit, actor = await console.signed_in(request)
        fields = fillable(await definitions(actor.tenant), FieldEntity.OPPORTUNITY, actor)
        command = ChangeOpportunity(
            str(opportunity_id),
            amount=_money(amount, currency),
            expected_close_date=expected_close_date,
            expected_version=version,
            custom=custom_of(form, fields) or None,
        )
        return await opportunity_command(request, opportunity_id, version, command)

    @api.post(f"{PREFIX}/opportunities/{{opportunity_id}}/reopen")
    @page
    async def reopen(
        request: Request,
        opportunity_id: UUID,
        version: int = Form(ge=0),
        stage: str = Form(min_length=1, max_length=100),
        reason: str = Form(default="", max_length=500),
    ) -> Response:
        command = ReopenOpportunity(
            str(opportunity_id), stage.strip(), reason.strip() or None, expected_version=version
        )
        return await opportunity_command(request, opportunity_id, version, command)

    # -- a customer's quotes, orders and invoices --------------------------------------------

    @api.get(f"{PREFIX}/customers/{{customer_id}}/sales")
    @page
    async def customer_sales(
        request: Request,
        customer_id: UUID,
        min_position: int | None = None,
        _: int = orders_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        customer = await console.customers.get(actor, str(customer_id))
        id_ = str(customer_id)
        quotes = await orders.quotes(
            actor, QuoteFilter(customer_id=id_), sort="-created_at", limit=100, offset=0
        )
        placed = await orders.orders(
            actor, OrderFilter(customer_id=id_), sort="-placed_at", limit=100, offset=0
        )
        invoices = await orders.invoices(
            actor, InvoiceFilter(customer_id=id_), sort="-issue_date", limit=100, offset=0
        )
        return console.render(
            visit,
            request,
            "customer_sales.html",
            c=customer,
            quotes=quotes.items,
            orders=placed.items,
            invoices=invoices.items,
            names=await console.directory.names(actor.tenant),
            works=works_sales(actor),
        )

    # -- the team's pipeline -----------------------------------------------------------------

    @api.get(f"{PREFIX}/team")
    @page
    async def team(
        request: Request,
        team: str | None = Query(default=None, max_length=100),
        min_position: int | None = None,
        _: int = opportunities_read,
    ) -> Response:
        """A manager's team (their own only: the visibility filter keeps them to it); an
        admin every team or the one chosen."""
        visit, actor = await console.signed_in(request)
        if actor.role not in (Role.MANAGER, Role.ADMIN):
            raise Forbidden("only managers and admins read the team's pipeline")
        chosen, offered = await team_choice(actor, team)
        stages = await open_stages(actor)
        docs: list[Document] = []
        while True:
            found = await sales.opportunities(
                actor,
                OpportunityFilter(team_id=chosen if actor.role is Role.ADMIN else None),
                Paging(sort="created_at", limit=SUMMARY_PAGE, offset=len(docs)),
            )
            docs.extend(found.items)
            if not found.items or len(docs) >= found.total:
                break
        return console.render(
            visit,
            request,
            "team.html",
            summary=team_summary(docs, stages),
            team=actor.team if actor.role is Role.MANAGER else chosen,
            chosen=chosen,
            teams=offered,
            names=await console.directory.names(actor.tenant),
        )

    # -- commission statements ---------------------------------------------------------------

    @api.get(f"{PREFIX}/commissions")
    @page
    async def commissions(
        request: Request,
        min_position: int | None = None,
        done: str | None = None,
        _: int = commissions_read,
    ) -> Response:
        """The statements the user may see (a rep their own, a manager their team's), newest
        month first; managers and admins approve the open ones of others."""
        visit, actor = await console.signed_in(request)
        found = await commission_queries.statements(
            actor, StatementFilter(), sort="-period", limit=STATEMENTS_PAGE, offset=0
        )
        return console.render(
            visit,
            request,
            "commissions.html",
            items=found.items,
            approves=actor.role in (Role.MANAGER, Role.ADMIN),
            names=await console.directory.names(actor.tenant),
            done=done == "approved",
        )

    from crm.console.quotes import quotes_router  # it builds on this module

    api.include_router(quotes_router(console))

    @api.post(f"{PREFIX}/commissions/{{statement_id}}/approve")
    @page
    async def approve_statement(request: Request, statement_id: str) -> Response:
        visit = await console.check_csrf(request)
        await console.signed_in(request)
        result = await bus.execute(ApproveStatement(statement_id[:200]), console.context(visit))
        return see(f"{PREFIX}/commissions?min_position={result.position}&done=approved")

    return api


__all__ = ["TeamSummary", "sales_router", "team_summary", "works_sales"]
