"""The service desk's pages: the ticket queue with its SLA countdowns, the ticket page and its
forms (comment, assign, escalate, resolve with a knowledge-base article, satisfaction,
reopen, close, schedule a visit), the visits of a technician's day (complete, reschedule,
cancel) and the knowledge base (search, articles, drafting, editing, publishing, retiring).

An article's edit form carries the version it was filled from: if another version replaced it
meanwhile, the domain refuses the edit (``article_version_mismatch``, checked again on each
fresh load, so no race slips through) and the page is shown again with a 409, the article as
it is now and the editor's text still in the form.

Visit slots are entered and shown in the user's time zone (:meth:`Console.zone_of`: their
notification preferences', else UTC) and stored in UTC; a technician's day is the zone's day.

Every read is the desk's own query and every form one of its commands on the runtime's bus,
as the signed-in user, so the desk's rules hold as they do over the API: an agent of a
support group sees the group's tickets, their own and the unassigned queue (another one is
the 404 page); a rep or analyst reads tickets with the customer's words redacted and has no
forms (the command would refuse them: 403).
"""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

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
from crm.console.sla import by_due, countdowns, next_due
from crm.events.custom_fields import FieldEntity
from crm.events.service_desk import TicketChannel, TicketKind, TicketPriority
from crm.events.visits import TimeSlot
from crm.kernel.access import Principal
from crm.kernel.auth import Actor, Role
from crm.kernel.custom_fields import DefinitionsOf
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound, RuleViolated
from crm.kernel.event_store import AppendResult
from crm.kernel.http import ReadConsistency
from crm.kernel.projection import wait_until
from crm.service_desk.application.article_commands import (
    DraftArticle,
    PublishArticle,
    RetireArticle,
    UpdateArticle,
)
from crm.service_desk.application.kb_queries import ArticleFilter, KnowledgeBaseQueries
from crm.service_desk.application.policy import POLICY, DeskAction
from crm.service_desk.application.ticket_commands import (
    AssignTicket,
    ChangeTicketFields,
    CloseTicket,
    CommentOnTicket,
    EscalateTicket,
    OpenTicket,
    RecordSatisfaction,
    ReopenTicket,
    ResolveTicket,
)
from crm.service_desk.application.ticket_queries import TicketFilter, TicketQueries
from crm.service_desk.application.visit_commands import (
    CancelVisit,
    CompleteVisit,
    RescheduleVisit,
    ScheduleVisit,
)
from crm.service_desk.application.visit_queries import VisitFilter, VisitQueries
from crm.service_desk.domain.tickets import WORKING
from crm.service_desk.projections.kb_models import KB_PROJECTION
from crm.service_desk.projections.ticket_models import PROJECTION as TICKETS_PROJECTION
from crm.service_desk.projections.visit_models import VISITS_PROJECTION

QUEUE_STATUSES = ("working", "new", "assigned", "in_progress", "resolved", "closed", "all")
"""The queue's status filter: ``working`` (the default) is every status still being worked."""
QUEUE_SORTS = ("due", "-priority_rank", "-opened_at", "opened_at")
"""``due``: the next SLA target falling due first (the scheduler's ``sla_breach_check_at``)."""
ASSIGNEES = ("any", "mine", "unassigned")


def works_tickets(actor: Actor) -> bool:
    """Whether the desk's forms are shown: the roles that may work tickets."""
    return POLICY.may(Principal.of(actor), DeskAction.WORK)


def _agents(users: list[Any]) -> list[Any]:
    """Whom a ticket can be given to or a visit booked for: active agents and managers."""
    return [u for u in users if u["active"] and u["role"] in ("agent", "manager")]


def desk_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    bus = runtime.commands
    page = guarded(console)
    tickets = TicketQueries(runtime.read_store, runtime.codec.keys)
    knowledge = KnowledgeBaseQueries(runtime.read_store)
    visits_q = VisitQueries(runtime.read_store, runtime.codec.keys)
    definitions = DefinitionsOf(runtime.store, runtime.codec)
    tickets_read = Depends(ReadConsistency(runtime, TICKETS_PROJECTION))
    kb_read = Depends(ReadConsistency(runtime, KB_PROJECTION))
    visits_read = Depends(ReadConsistency(runtime, VISITS_PROJECTION))

    # -- the queue ---------------------------------------------------------------------------

    @api.get(f"{PREFIX}/tickets")
    @page
    async def queue(
        request: Request,
        status: str = "working",
        priority: str | None = None,
        assignee: str = "any",
        breached: str | None = None,
        sort: str = "due",
        page: int = 1,
        min_position: int | None = None,
        _: int = tickets_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        status = status if status in QUEUE_STATUSES else "working"
        sort = sort if sort in QUEUE_SORTS else "due"
        assignee = assignee if assignee in ASSIGNEES else "any"
        priority = priority if priority in {p.value for p in TicketPriority} else None
        page = max(1, min(page, 10_000))
        flt = TicketFilter(
            status=None if status in ("working", "all") else status,
            statuses=tuple(s.value for s in WORKING) if status == "working" else None,
            priority=priority,
            agent_id=actor.id if assignee == "mine" else None,
            unassigned=assignee == "unassigned",
            breached=True if breached == "yes" else None,
        )
        order = "sla_breach_check_at" if sort == "due" else sort
        found = await tickets.tickets(
            actor, flt, sort=order, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        now = runtime.clock.now()
        rows = by_due(found.items, now) if sort == "due" else by_due_kept(found.items, now)
        query = {
            k: v
            for k, v in (
                ("status", status),
                ("priority", priority),
                ("assignee", assignee),
                ("breached", breached if breached == "yes" else None),
                ("sort", sort),
            )
            if v
        }
        return console.render(
            visit,
            request,
            "tickets.html",
            rows=rows,
            total=found.total,
            page=page,
            pages=max(1, math.ceil(found.total / PAGE_SIZE)),
            query=query,
            link=lambda p: f"{PREFIX}/tickets?{urlencode({**query, 'page': p})}",
            statuses=QUEUE_STATUSES,
            priorities=[p.value for p in TicketPriority],
            sorts=QUEUE_SORTS,
            names=await console.directory.names(actor.tenant),
            works=works_tickets(actor),
        )

    # -- one ticket --------------------------------------------------------------------------

    @api.get(f"{PREFIX}/tickets/{{ticket_id}}")
    @page
    async def ticket(
        request: Request,
        ticket_id: UUID,
        kb: str | None = None,
        min_position: int | None = None,
        done: str | None = None,
        _: int = tickets_read,
        _kb: int = kb_read,
        _visits: int = visits_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        doc = await tickets.ticket(actor, str(ticket_id))
        customer = None
        with contextlib.suppress(NotFound, Forbidden):
            customer = await console.customers.get(actor, doc["customer_id"])
        query = (kb or "").strip()[:500]
        articles: list[Any] = []
        works = works_tickets(actor)
        if works and doc["status"] in WORKING:
            if query:
                articles = await knowledge.search(actor, query, limit=10)
            else:
                found = await knowledge.articles(
                    actor,
                    ArticleFilter(status="published"),
                    sort="-resolved_tickets",
                    limit=20,
                    offset=0,
                )
                articles = list(found.items)
        linked = []
        for article_id in doc["kb_article_ids"]:
            with contextlib.suppress(NotFound, Forbidden):
                linked.append(await knowledge.article(actor, article_id))
        booked = await visits_q.visits(
            actor, VisitFilter(ticket_id=str(ticket_id)), sort="start", limit=50, offset=0
        )
        zone = await console.zone_of(actor)
        users = await console.directory.users(actor.tenant)
        known = await definitions(actor.tenant)
        return console.render(
            visit,
            request,
            "ticket.html",
            k=doc,
            fields=fillable(known, FieldEntity.TICKET, actor),
            custom_shown=known.of(FieldEntity.TICKET, retired=True),
            customer=customer,
            targets=countdowns(doc, runtime.clock.now()),
            articles=articles,
            kb_query=query,
            linked=linked,
            visits=[{**v, "local_day": local_day(v["start"], zone)} for v in booked.items],
            zone=zone,
            local=lambda moment: in_zone(moment, zone),
            agents=_agents(users),
            names={u["id"]: u["display_name"] for u in users},
            works=works,
            working=doc["status"] in WORKING,
            done=done == "saved",
            today=runtime.clock.now().astimezone(zone).date().isoformat(),
        )

    async def ticket_command(request: Request, ticket_id: UUID, command: object) -> Response:
        visit = await console.check_csrf(request)
        await console.signed_in(request)
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/tickets/{ticket_id}?min_position={result.position}&done=saved")

    @api.post(f"{PREFIX}/tickets")
    @page
    async def open_ticket(
        request: Request,
        customer_id: UUID = Form(),
        subject: str = Form(min_length=1, max_length=200),
        description: str = Form(min_length=1, max_length=10_000),
        kind: TicketKind = Form(),
        channel: TicketChannel = Form(),
        priority: TicketPriority = Form(),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        fields = fillable(await definitions(actor.tenant), FieldEntity.TICKET, actor)
        command = OpenTicket(
            str(customer_id),
            kind,
            channel,
            priority,
            subject.strip(),
            description.strip(),
            custom={k: v for k, v in custom_of(await request.form(), fields).items() if v},
        )
        result = await bus.execute(command, console.context(visit))
        return see(
            f"{PREFIX}/tickets/{command.ticket_id}?min_position={result.position}&done=saved"
        )

    @api.post(f"{PREFIX}/tickets/{{ticket_id}}/fields")
    @page
    async def ticket_fields(request: Request, ticket_id: UUID) -> Response:
        """The ticket's custom fields as the form has them (a blank one is cleared)."""
        await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        fields = fillable(await definitions(actor.tenant), FieldEntity.TICKET, actor)
        if not fields:
            raise InvalidCommand("custom", "the tenant has no custom field of tickets")
        custom = custom_of(await request.form(), fields)
        return await ticket_command(request, ticket_id, ChangeTicketFields(str(ticket_id), custom))

    @api.post(f"{PREFIX}/tickets/{{ticket_id}}/comment")
    @page
    async def comment(
        request: Request,
        ticket_id: UUID,
        body: str = Form(min_length=1, max_length=10_000),
        public: bool = Form(default=False),
    ) -> Response:
        command = CommentOnTicket(str(ticket_id), body.strip(), public)
        return await ticket_command(request, ticket_id, command)

    @api.post(f"{PREFIX}/tickets/{{ticket_id}}/assign")
    @page
    async def assign(
        request: Request,
        ticket_id: UUID,
        agent_id: str = Form(default="", max_length=64),
        group_id: str = Form(default="", max_length=64),
        reason: str = Form(default="", max_length=500),
    ) -> Response:
        if not agent_id.strip() and not group_id.strip():
            raise InvalidCommand("agent_id", "choose an agent or a support group")
        command = AssignTicket(
            str(ticket_id),
            agent_id.strip() or None,
            group_id.strip() or None,
            reason.strip() or None,
        )
        return await ticket_command(request, ticket_id, command)

    @api.post(f"{PREFIX}/tickets/{{ticket_id}}/escalate")
    @page
    async def escalate(
        request: Request,
        ticket_id: UUID,
        reason: str = Form(min_length=1, max_length=500),
        to_manager: bool = Form(default=False),
    ) -> Response:
        command = EscalateTicket(str(ticket_id), reason.strip(), to_manager)
        return await ticket_command(request, ticket_id, command)

    @api.post(f"{PREFIX}/tickets/{{ticket_id}}/resolve")
    @page
    async def resolve(
        request: Request,
        ticket_id: UUID,
        resolution: str = Form(min_length=1, max_length=10_000),
        kb_article_id: str = Form(default="", max_length=64),
    ) -> Response:
        command = ResolveTicket(str(ticket_id), resolution.strip(), kb_article_id.strip() or None)
        return await ticket_command(request, ticket_id, command)

    @api.post(f"{PREFIX}/tickets/{{ticket_id}}/satisfaction")
    @page
    async def satisfaction(
        request: Request,
        ticket_id: UUID,
        score: int = Form(ge=1, le=5),
        comment: str = Form(default="", max_length=10_000),
    ) -> Response:
        command = RecordSatisfaction(str(ticket_id), score, comment.strip() or None)
        return await ticket_command(request, ticket_id, command)

    @api.post(f"{PREFIX}/tickets/{{ticket_id}}/reopen")
    @page
    async def reopen(
        request: Request, ticket_id: UUID, reason: str = Form(min_length=1, max_length=500)
    ) -> Response:
        return await ticket_command(request, ticket_id, ReopenTicket(str(ticket_id), reason))

    @api.post(f"{PREFIX}/tickets/{{ticket_id}}/close")
    @page
    async def close(request: Request, ticket_id: UUID) -> Response:
        return await ticket_command(request, ticket_id, CloseTicket(str(ticket_id)))

    @api.post(f"{PREFIX}/tickets/{{ticket_id}}/visits")
    @page
    async def schedule_visit(
        request: Request,
        ticket_id: UUID,
        technician_id: str = Form(min_length=1, max_length=64),
        day: date = Form(),
        start: time = Form(),
        minutes: int = Form(default=60, ge=15, le=12 * 60),
        address: str = Form(min_length=1, max_length=500),
        notes: str = Form(default="", max_length=2000),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        doc = await tickets.ticket(actor, str(ticket_id))
        command = ScheduleVisit(
            ticket_id=str(ticket_id),
            customer_id=doc["customer_id"],
            technician_id=technician_id.strip(),
            slot=slot_of(day, start, minutes, await console.zone_of(actor)),
            address=address.strip(),
            notes=notes.strip() or None,
        )
        result = await booked(request, visit, actor, command)
        if isinstance(result, Response):
            return result
        return see(f"{PREFIX}/tickets/{ticket_id}?min_position={result.position}&done=saved")

    async def booked(
        request: Request, visit: Visit, actor: Actor, command: ScheduleVisit | RescheduleVisit
    ) -> AppendResult | Response:
        """Run a booking; the technician's other visit in the slot, or a slot already begun,
        is the 409 page in the reader's words (nothing is booked or moved)."""
        try:
            return await bus.execute(command, console.context(visit))
        except RuleViolated as e:
            if e.code == "technician_double_booked":
                who = str(e.details.get("technician_id", ""))
                names = await console.directory.names(actor.tenant)
                zone = await console.zone_of(actor)
                starts = in_zone(str(e.details.get("start", "")), zone)
                ends = in_zone(str(e.details.get("end", "")), zone)
                message = visit.t(
                    "visit.double_booked",
                    technician=names.get(who, who),
                    day=visit.t.day(starts),
                    start=visit.t.time(starts),
                    end=visit.t.time(ends),
                    zone=zone.key,
                )
            elif e.code == "slot_in_past":
                message = visit.t("visit.slot_in_past")
            else:
                raise
            return console.error(request, visit, 409, message)

    # -- a technician's day ------------------------------------------------------------------

    @api.get(f"{PREFIX}/visits")
    @page
    async def visits(
        request: Request,
        technician: str | None = None,
        day: date | None = None,
        min_position: int | None = None,
        done: str | None = None,
        _: int = visits_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        users = await console.directory.users(actor.tenant)
        if technician is None:
            technician = actor.id if actor.role is Role.AGENT else ""
        technician = technician[:64]
        zone = await console.zone_of(actor)
        day = day or runtime.clock.now().astimezone(zone).date()
        begins, ends = day_window(day, zone)
        found: dict[str, Any] = {}
        for utc_day in utc_days(begins, ends):  # the day in the zone: one or two UTC days
            page_ = await visits_q.visits(
                actor,
                VisitFilter(technician_id=technician or None, day=utc_day),
                sort="start",
                limit=200,
                offset=0,
            )
            found |= {v["id"]: v for v in page_.items if overlaps(v, begins, ends)}
        ordered = sorted(found.values(), key=lambda v: (v["start"], v["id"]))
        items = [{**v, **_slot_fields(v, zone)} for v in ordered]

        def link(d: date) -> str:
            return f"{PREFIX}/visits?{urlencode({'technician': technician, 'day': d})}"

        return console.render(
            visit,
            request,
            "visits.html",
            items=items,
            technician=technician,
            day=day,
            previous=link(day - timedelta(days=1)),
            next=link(day + timedelta(days=1)),
            agents=_agents(users),
            names={u["id"]: u["display_name"] for u in users},
            works=works_tickets(actor),
            done=done == "saved",
            zone=zone,
            local=lambda moment: in_zone(moment, zone),
        )

    async def visit_command(request: Request, command: object, back: str) -> Response:
        visit = await console.check_csrf(request)
        await console.signed_in(request)
        result = await bus.execute(command, console.context(visit))
        sep = "&" if "?" in back else "?"
        return see(f"{back}{sep}min_position={result.position}&done=saved")

    def _back(value: str) -> str:
        return value if value.startswith(f"{PREFIX}/visits") else f"{PREFIX}/visits"

    @api.post(f"{PREFIX}/visits/{{visit_id}}/complete")
    @page
    async def complete_visit(
        request: Request,
        visit_id: UUID,
        report: str = Form(min_length=1, max_length=10_000),
        back: str = Form(default=f"{PREFIX}/visits", max_length=2000),
    ) -> Response:
        command = CompleteVisit(str(visit_id), report.strip())
        return await visit_command(request, command, _back(back))

    @api.post(f"{PREFIX}/visits/{{visit_id}}/reschedule")
    @page
    async def reschedule_visit(
        request: Request,
        visit_id: UUID,
        technician_id: str = Form(min_length=1, max_length=64),
        day: date = Form(),
        start: time = Form(),
        minutes: int = Form(ge=15, le=12 * 60),
        reason: str = Form(default="", max_length=500),
    ) -> Response:
        """To another day, time, length or technician (in the user's zone, as shown); the new
        slot is held before the old one is freed, so the technician's other visits still
        never overlap. Then the day the visit is on now, of its technician."""
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        tech = technician_id.strip()
        command = RescheduleVisit(
            str(visit_id),
            slot_of(day, start, minutes, await console.zone_of(actor)),
            tech,
            reason.strip() or None,
        )
        result = await booked(request, visit, actor, command)
        if isinstance(result, Response):
            return result
        where = urlencode({"technician": tech, "day": day.isoformat()})
        return see(f"{PREFIX}/visits?{where}&min_position={result.position}&done=saved")

    @api.post(f"{PREFIX}/visits/{{visit_id}}/cancel")
    @page
    async def cancel_visit(
        request: Request,
        visit_id: UUID,
        reason: str = Form(min_length=1, max_length=500),
        back: str = Form(default=f"{PREFIX}/visits", max_length=2000),
    ) -> Response:
        command = CancelVisit(str(visit_id), reason.strip())
        return await visit_command(request, command, _back(back))

    # -- the knowledge base ------------------------------------------------------------------

    @api.get(f"{PREFIX}/kb")
    @page
    async def knowledge_base(
        request: Request,
        q: str | None = None,
        tag: str | None = None,
        min_position: int | None = None,
        _: int = kb_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        query = (q or "").strip()[:500]
        hits = await knowledge.search(actor, query, limit=20) if query else None
        listed = await knowledge.articles(
            actor,
            ArticleFilter(tag=(tag or "").strip()[:50] or None),
            sort="-updated_at",
            limit=50,
            offset=0,
        )
        return console.render(
            visit,
            request,
            "kb.html",
            q=query,
            tag=tag or "",
            hits=hits,
            articles=listed.items,
            total=listed.total,
            works=works_tickets(actor),
        )

    @api.get(f"{PREFIX}/kb/{{article_id}}")
    @page
    async def article(
        request: Request,
        article_id: UUID,
        min_position: int | None = None,
        done: str | None = None,
        _: int = kb_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        doc = await knowledge.article(actor, str(article_id))
        return console.render(
            visit,
            request,
            "article.html",
            a=doc,
            works=works_tickets(actor),
            names=await console.directory.names(actor.tenant),
            done=done == "saved",
            conflict=None,
            typed=None,
        )

    @api.post(f"{PREFIX}/kb")
    @page
    async def draft_article(
        request: Request,
        title: str = Form(min_length=1, max_length=200),
        problem: str = Form(min_length=1, max_length=20_000),
        solution: str = Form(min_length=1, max_length=20_000),
        tags: str = Form(default="", max_length=500),
        product: str = Form(default="", max_length=200),
    ) -> Response:
        visit = await console.check_csrf(request)
        await console.signed_in(request)
        command = DraftArticle(
            title=title.strip(),
            problem=problem.strip(),
            solution=solution.strip(),
            tags=_tags(tags),
            product=product.strip() or None,
        )
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/kb/{command.article_id}?min_position={result.position}&done=saved")

    async def article_now(article_id: UUID, actor: Actor) -> dict[str, Any]:
        """The article as its stream has it now: the read model, once it has applied every
        article event recorded so far (another editor's version, which the page has not
        seen, included)."""
        head = await runtime.store.head_position()
        await wait_until(
            runtime.read_store,
            KB_PROJECTION.name,
            head,
            runtime.read_wait_seconds,
            store=runtime.store,
            categories=KB_PROJECTION.categories,
        )
        return dict(await knowledge.article(actor, str(article_id)))

    @api.post(f"{PREFIX}/kb/{{article_id}}/edit")
    @page
    async def edit_article(
        request: Request,
        article_id: UUID,
        version: int = Form(ge=1),
        title: str = Form(min_length=1, max_length=200),
        problem: str = Form(min_length=1, max_length=20_000),
        solution: str = Form(min_length=1, max_length=50_000),
        tags: str = Form(default="", max_length=500),
        product: str = Form(default="", max_length=200),
    ) -> Response:
        """The whole content as the form has it, a new version made from ``version`` (the
        one the page showed); nothing changed records nothing; a blank product clears it."""
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        command = UpdateArticle(
            str(article_id),
            title=title.strip(),
            problem=problem.strip(),
            solution=solution.strip(),
            tags=_tags(tags),
            product=product.strip(),
            version=version,
        )
        try:
            result = await bus.execute(command, console.context(visit))
        except RuleViolated as e:
            if e.code != "article_version_mismatch":
                raise
            now = await article_now(article_id, actor)
            typed = {
                "title": title,
                "problem": problem,
                "solution": solution,
                "tags": tags,
                "product": product,
            }
            return console.render(
                visit,
                request,
                "article.html",
                status=409,
                a=now,
                works=works_tickets(actor),
                names=await console.directory.names(actor.tenant),
                done=False,
                conflict={"seen": version, "now": now["version"]},
                typed=typed,
            )
        return see(f"{PREFIX}/kb/{article_id}?min_position={result.position}&done=saved")

    @api.post(f"{PREFIX}/kb/{{article_id}}/retire")
    @page
    async def retire_article(
        request: Request,
        article_id: UUID,
        reason: str = Form(default="", max_length=500),
        confirm: bool = Form(default=False),
    ) -> Response:
        """Searches no longer find it; the page (for those who write articles) says it is
        retired, when and why. Retiring it again records nothing."""
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        if not confirm and works_tickets(actor):  # the others: the command's 403
            raise InvalidCommand("confirm", visit.t("kb.retire_unconfirmed"))
        command = RetireArticle(str(article_id), reason.strip() or None)
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/kb/{article_id}?min_position={result.position}&done=saved")

    @api.post(f"{PREFIX}/kb/{{article_id}}/publish")
    @page
    async def publish_article(
        request: Request, article_id: UUID, version: int = Form(ge=1)
    ) -> Response:
        visit = await console.check_csrf(request)
        await console.signed_in(request)
        result = await bus.execute(PublishArticle(str(article_id), version), console.context(visit))
        return see(f"{PREFIX}/kb/{article_id}?min_position={result.position}&done=saved")

    return api


# -- visit slots in the user's zone (pure) ---------------------------------------------------


def in_zone(moment: str | datetime, zone: ZoneInfo) -> datetime:
    """A stored moment (ISO text in UTC, or an aware datetime) as ``zone``'s wall clock."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(zone)


def local_day(moment: str, zone: ZoneInfo) -> str:
    return in_zone(moment, zone).date().isoformat()


def slot_of(day: date, start: time, minutes: int, zone: ZoneInfo) -> TimeSlot:
    """The slot a form entered as ``zone``'s day and wall-clock start, in UTC; its length is
    elapsed minutes (across a change of the clocks too). A start the clocks skip (a spring
    gap) is read with the offset before the change, as :mod:`zoneinfo` does."""
    begins = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
    return TimeSlot(start=begins, end=begins + timedelta(minutes=minutes))


def day_window(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``day`` as ``zone`` has it, from its midnight to the next one, in UTC."""
    begins = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    ends = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return begins, ends


def utc_days(begins: datetime, ends: datetime) -> list[date]:
    """The UTC days a window touches (the visits read model is kept by UTC day)."""
    first, last = begins.date(), (ends - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def overlaps(v: dict[str, Any], begins: datetime, ends: datetime) -> bool:
    if not v.get("start") or not v.get("end"):
        return False
    return datetime.fromisoformat(v["start"]) < ends and datetime.fromisoformat(v["end"]) > begins


def _slot_fields(v: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """What the reschedule form starts from: the visit's day, start time (both in ``zone``)
    and length."""
    if not v.get("start") or not v.get("end"):
        return {}
    begins, ends = in_zone(v["start"], zone), in_zone(v["end"], zone)
    return {
        "slot_day": begins.date().isoformat(),
        "slot_start": begins.strftime("%H:%M"),
        "slot_minutes": int((ends - begins).total_seconds() // 60),
    }


def _tags(typed: str) -> tuple[str, ...]:
    """The tags typed in one field, comma-separated (the domain normalises each)."""
    return tuple(t.strip() for t in typed.split(",") if t.strip())


def by_due_kept(items: list[Any], now: datetime) -> list[dict[str, Any]]:
    """The tickets in the order asked for, each with its next SLA target (``due``)."""
    return [{**t, "due": next_due(t, now)} for t in items]
