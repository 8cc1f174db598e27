"""The console's pages: server-rendered from the contexts' queries, acting through their
commands on the runtime's bus as the signed-in user (the same :class:`Actor` an API token
gives), so every access rule holds unchanged.

Each page is a route of its own under ``/console`` (the API owns ``/customers``,
``/pipeline``...); ``/`` leads to My day. A POST checks the session's CSRF token first, then
runs one command and redirects (303) to the page showing it with ``min_position`` set to the
command's position, so the page waits for its read model to have it (read-your-writes).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.datastructures import FormData

from crm.activities.application.notification_commands import PreferencesOf
from crm.analytics.application.customer_queries import CustomerQueries as AnalyticsQueries
from crm.analytics.application.lead_score_queries import LeadScoreQueries
from crm.analytics.projections.customer_360_models import Customer360Projection
from crm.console.directory import UserDirectory, UserDirectoryProjection
from crm.console.i18n import LOCALES, NAMES, Translator, chosen, from_accept_language
from crm.console.nav import Navigation
from crm.console.notices import unread_notifications
from crm.console.session import Session, Sessions
from crm.console.session_check import SessionCheck, holds
from crm.console.users import ChooseLocale, EndSession, sign_in
from crm.customer.application.customer_commands import (
    AddContact,
    ClaimFromPool,
    EraseCustomer,
    LogInteraction,
    RecordConsent,
    RegisterCustomer,
    ReleaseToPool,
    RemoveContact,
    TagCustomer,
    UpdateContact,
    UpdateProfile,
)
from crm.customer.application.queries import CustomerFilter, CustomerQueries
from crm.customer.domain.customer import Contact, Profile
from crm.customer.projections.customers import CustomersProjection
from crm.events.custom_fields import FieldEntity, FieldType
from crm.events.customer import Channel, ConsentPurpose, CustomerKind
from crm.events.service_desk import TicketChannel, TicketKind, TicketPriority
from crm.kernel.access import Principal
from crm.kernel.auth import Actor, Role
from crm.kernel.custom_fields import CustomFieldsState, DefinitionsOf, FieldDefinition
from crm.kernel.directory import Customers
from crm.kernel.errors import (
    Forbidden,
    InvalidCommand,
    Moved,
    NotFound,
    RuleViolated,
    WrongExpectedVersion,
)
from crm.kernel.http import ReadConsistency
from crm.kernel.http.params import PHONE
from crm.kernel.projection import Projection, wait_until
from crm.kernel.redaction import REDACTED, PersonalKind, sees
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.sales.application.opportunity_commands import MoveOpportunity
from crm.sales.application.pipeline_queries import OpportunityFilter, Paging, PipelineQueries
from crm.sales.domain.opportunities import Opportunity
from crm.sales.domain.pipeline import Pipeline
from crm.sales.projections.pipeline_models import OpportunitiesProjection
from crm.service_desk.application.policy import POLICY as DESK_POLICY
from crm.service_desk.application.policy import DeskAction
from crm.service_desk.application.ticket_queries import TicketFilter, TicketQueries
from crm.service_desk.domain.tickets import WORKING

HERE = Path(__file__).parent
PREFIX = "/console"
PAGE_SIZE = 20
PASSWORD_PAGE = f"{PREFIX}/password"
"""Where a user chooses their own password (the only page open after an admin's reset)."""
CUSTOMER_SORTS = ("-created_at", "created_at", "name", "-name", "-updated_at")

CONSOLE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
"""The API's policy forbids every form (``form-action 'none'``); the console's pages post
forms to the platform itself, and nothing else changes: no inline script or style, nothing
from another host."""

_LIVE_CUSTOMER = re.compile(
    rf"{PREFIX}/customers/([0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}})"
)


def live_url(path: str) -> str | None:
    """The stream of the page's changes (:mod:`crm.console.live`), for the pages that
    follow them: the pipeline board, the ticket queue and a customer's page."""
    if path in (f"{PREFIX}/pipeline", f"{PREFIX}/tickets"):
        return f"{PREFIX}/live/{path.rsplit('/', 1)[1]}"
    found = _LIVE_CUSTOMER.fullmatch(path)
    return f"{PREFIX}/live/customer?id={found[1]}" if found else None


ADDRESSES = ("billing_address", "shipping_address", "visit_address")
_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")


def fillable(
    known: CustomFieldsState, entity: FieldEntity, actor: Actor
) -> tuple[FieldDefinition, ...]:
    """The tenant's live fields of ``entity`` the actor may fill in on a form (a personal one
    only for a role that sees contact data: it is the customer's)."""
    fields = known.of(entity)
    return tuple(f for f in fields if not f.personal or sees(actor, PersonalKind.CONTACT))


def custom_of(form: FormData, fields: Sequence[FieldDefinition]) -> dict[str, Any]:
    """The form's custom fields, those of ``fields`` only (what the form showed): text as
    sent (the command checks it against the definitions), a multi-choice as its boxes
    ticked, a blank one as None (cleared)."""
    values: dict[str, Any] = {}
    for f in fields:
        name = f"custom.{f.key}"
        if f.type is FieldType.MULTI_CHOICE:
            values[f.key] = [str(v) for v in form.getlist(name)] or None
        elif name in form:
            values[f.key] = str(form[name]).strip() or None
    return values


def profile_extras(form: dict[str, str]) -> dict[str, Any]:
    """The form's addresses, dates and preferences as profile values: blank is none (the
    domain checks the dates; the channel and language are checked here, as the API does)."""
    values: dict[str, Any] = {f: (v.strip() or None) for f, v in form.items()}
    channel = values.get("preferred_channel")
    if channel is not None:
        try:
            values["preferred_channel"] = Channel(channel)
        except ValueError:
            raise InvalidCommand("preferred_channel", "is not a channel") from None
    language = values.get("preferred_language")
    if language is not None and not _LANGUAGE.match(language):
        raise InvalidCommand("preferred_language", "is not a language tag (en, zh-CN)")
    return values


P = ParamSpec("P")


PHONE_OR_BLANK = rf"^\s*({PHONE})?\s*$"
"""A phone as the API takes one (:data:`crm.kernel.http.params.PHONE`), or a field left
blank."""


def contact_form(
    name: str = Form(max_length=200),
    title: str = Form(default="", max_length=100),
    email: str = Form(default="", max_length=320),
    phone: str = Form(default="", max_length=50, pattern=PHONE_OR_BLANK),
    primary: bool = Form(default=False),
    note: str = Form(default="", max_length=2000),
) -> Contact:
    """The contact form of a company's page (to add or edit), trimmed: a blank field is
    none."""
    return Contact(
        name.strip(),
        title.strip() or None,
        email.strip() or None,
        phone.strip() or None,
        primary,
        note.strip() or None,
    )


class Redirect(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


class CsrfRefused(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Visit:
    """Who asks: their session, and the actor it signs them in as (None: signed out)."""

    session: Session
    actor: Actor | None
    display_name: str
    fresh: bool
    """The session is new: its cookie must be sent."""
    unread: int | None = None
    """Their unread notifications (the bell in the navigation); None: not counted (signed
    out, or the platform runs no activities context)."""
    must_change_password: bool = False
    """An admin reset their password: no page but the password page opens until they
    choose their own."""

    @property
    def t(self) -> Translator:
        return Translator(self.session.locale)


class Console:
    def __init__(self, runtime: Runtime, sessions: Sessions, default_tenant: str) -> None:
        self.runtime = runtime
        self.sessions = sessions
        self.default_tenant = default_tenant
        self.directory = UserDirectory(runtime.read_store)
        self.session_check = SessionCheck(runtime)
        self.customers = CustomerQueries(runtime.read_store, runtime.store, runtime.codec)
        self.analytics = AnalyticsQueries(runtime.read_store)
        self.tickets = TicketQueries(runtime.read_store, runtime.codec.keys)
        self.sales = PipelineQueries(
            runtime.read_store, runtime.codec.keys, runtime.commands.repository(Pipeline)
        )
        self.sales_customers: Customers | None = None
        """The sales context's customer directory, where it runs in this process: a
        customer's sales lists then hold the records of the customers merged into them."""
        self.desk_customers: Customers | None = None
        """The service desk's, likewise for a customer's tickets."""
        self.activities = False
        """Whether the platform runs the activities context (tasks, notifications, the
        calendar): their pages and the bell are shown only then."""
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(("html",)),
            trim_blocks=True,
            lstrip_blocks=True,
            # the templates ship with the package: compiled once, never checked on disk again
            # (the default stats every template a page extends or imports, at every render)
            auto_reload=False,
            cache_size=-1,
        )
        self.navigation = Navigation(self.templates, PREFIX)

    def know_customers(self, sales: Customers | None, desk: Customers | None) -> None:
        """The contexts' customer directories that run in this process: the lists filtered
        by a customer (their opportunities, quotes, orders, invoices, tickets; the customer
        page and its timeline) then hold the records of the customers merged into them, as
        the API's lists do (:meth:`Customers.records_of`)."""
        runtime = self.runtime
        self.sales_customers, self.desk_customers = sales, desk
        self.tickets = TicketQueries(runtime.read_store, runtime.codec.keys, desk)
        self.sales = PipelineQueries(
            runtime.read_store, runtime.codec.keys, runtime.commands.repository(Pipeline), sales
        )

    async def visit(self, request: Request) -> Visit:
        session = self.sessions.read(request)
        if session is None:
            locale = from_accept_language(request.headers.get("accept-language"))
            return Visit(self.sessions.new(locale), None, "", True)
        if not session.signed_in:
            return Visit(session, None, "", False)
        assert session.tenant is not None
        assert session.user is not None
        doc = await self.session_check.user(session.tenant, session.user)
        if doc is None or not holds(session, doc):
            return Visit(self.sessions.new(session.locale), None, "", True)
        actor = Actor(session.user, Role(doc["role"]), session.tenant, doc["team"])
        unread = await self._unread(actor)
        change = bool(doc.get("must_change_password"))
        return Visit(session, actor, doc["display_name"], False, unread, change)

    async def zone_of(self, actor: Actor) -> ZoneInfo:
        """The time zone the user's times are shown and read in: their notification
        preferences' (where the activities context runs), else UTC."""
        if not self.activities:
            return ZoneInfo("UTC")
        return (await PreferencesOf(self.runtime)(actor.tenant, actor.id)).zone()

    async def _unread(self, actor: Actor) -> int | None:
        """The bell's count (None when the platform runs no activities context)."""
        return await unread_notifications(self.runtime, actor) if self.activities else None

    async def signed_in(self, request: Request) -> tuple[Visit, Actor]:
        visit = await self.visit(request)
        if visit.actor is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise Redirect(f"{PREFIX}/sign-in?{urlencode({'next': target})}")
        if visit.must_change_password and request.url.path != PASSWORD_PAGE:
            raise Redirect(PASSWORD_PAGE)
        return visit, visit.actor

    def context(self, visit: Visit) -> CommandContext:
        assert visit.actor is not None
        a = visit.actor
        return CommandContext(
            actor=a.id,
            role=a.role.value,
            tenant=a.tenant,
            now=self.runtime.clock.now(),
            team=a.team,
        )

    def render(
        self, visit: Visit, request: Request, template: str, *, status: int = 200, **values: Any
    ) -> HTMLResponse:
        actor = visit.actor
        path = request.url.path
        nav = ""
        if actor is not None:  # the bell is there where the activities context runs
            nav = self.navigation.html(
                visit.t, visit.session.locale, actor.role.value, visit.unread is not None, path
            )
        html = self.templates.get_template(template).render(
            t=visit.t,
            nav=nav,
            locale=visit.session.locale,
            locales=[(code, NAMES[code]) for code in LOCALES],
            actor=actor,
            display_name=visit.display_name,
            csrf=self.sessions.csrf_token(visit.session),
            path=path,
            prefix=PREFIX,
            bell=visit.unread,
            live=live_url(path) if status == 200 and actor else None,
            **values,
        )
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Security-Policy"] = CONSOLE_POLICY
        if visit.fresh:
            self.sessions.write(request, response, visit.session)
        return response

    async def check_csrf(self, request: Request) -> Visit:
        visit = await self.visit(request)
        form = await request.form()
        token = form.get("csrf")
        sent = token if isinstance(token, str) else None
        if visit.fresh or not self.sessions.csrf_ok(visit.session, sent):
            raise CsrfRefused
        return visit

    async def invalid_form(self, request: Request, errors: Sequence[Any]) -> HTMLResponse:
        """A field the form parser refused, as a page naming it (422)."""
        visit = await self.visit(request)
        first = errors[0] if errors else {}
        field = str(first.get("loc", ("", "?"))[-1])
        detail = str(first.get("msg", ""))
        named = visit.t(field)  # in the reader's words, and as the URL or form names it
        shown = named if named == field else f"{named} ({field})"
        message = visit.t("error.invalid", field=shown, detail=detail)
        return self.error(request, visit, 422, message)

    def error(self, request: Request, visit: Visit, status: int, message: str) -> HTMLResponse:
        return self.render(visit, request, "error.html", status=status, message=message)


def _safe_next(target: str | None) -> str:
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/"


safe_next = _safe_next
"""Where a sign-in may lead: a console page, else My day (never another host)."""


class PageConsistency:
    """:class:`ReadConsistency` for a page: it waits for ``min_position`` when the URL has
    one (after the user's own write, or a live page's refresh) and reads nothing otherwise
    (the API's answer says how far its models are, which a page has no use for)."""

    def __init__(self, runtime: Runtime, *projections: Projection) -> None:
        self.consistency = ReadConsistency(runtime, *projections)

    async def __call__(
        self, response: Response, min_position: int | None = Query(None, ge=0)
    ) -> int:
        if min_position is None:
            return 0
        return await self.consistency(response, min_position)


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def guarded(
    console: Console,
) -> Callable[[Callable[P, Awaitable[Response]]], Callable[P, Awaitable[Response]]]:
    """The decorator of every page handler (this module's and the other page modules'):
    domain errors as pages, a redirect raised as one."""

    def page(
        handler: Callable[P, Awaitable[Response]],
    ) -> Callable[P, Awaitable[Response]]:
        """Domain errors as pages: 404, 403, 409, 422; a refused CSRF token as a 403."""

        @functools.wraps(handler)
        async def wrapped(*args: P.args, **kwargs: P.kwargs) -> Response:
            request = kwargs["request"]
            assert isinstance(request, Request)
            try:
                return await handler(*args, **kwargs)
            except Redirect as r:
                return see(r.url)
            except Moved as m:  # a customer merged into another: the survivor's page
                return see(f"{PREFIX}{m.location}")
            except CsrfRefused:
                visit = await console.visit(request)
                return console.error(request, visit, 403, visit.t("error.csrf"))
            except NotFound:
                visit = await console.visit(request)
                return console.error(request, visit, 404, visit.t("error.not_found"))
            except Forbidden:
                visit = await console.visit(request)
                return console.error(request, visit, 403, visit.t("error.forbidden"))
            except InvalidCommand as e:
                visit = await console.visit(request)
                field = visit.t(e.field) if hasattr(e, "field") else ""
                return console.error(
                    request, visit, 422, visit.t("error.invalid", field=field, detail=e.message)
                )
            except ValidationError as e:
                return await console.invalid_form(request, e.errors())
            except WrongExpectedVersion:
                visit = await console.visit(request)
                return console.error(request, visit, 409, visit.t("error.changed"))
            except RuleViolated as e:
                visit = await console.visit(request)
                t = visit.t
                reason = t.refusal(e)
                message = t("error.refused", reason=reason)
                if reason != str(e):  # the rule's own words too: which record, which value
                    message = f"{message} {t('error.engine', detail=str(e))}"
                return console.error(request, visit, 409, message)

        return wrapped

    return page


def router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    bus = runtime.commands
    customers_read = Depends(
        PageConsistency(runtime, CustomersProjection(), Customer360Projection())
    )
    pipeline_read = Depends(PageConsistency(runtime, OpportunitiesProjection()))
    definitions = DefinitionsOf(runtime.store, runtime.codec)

    async def customer_fields(
        actor: Actor, known: CustomFieldsState | None = None
    ) -> tuple[FieldDefinition, ...]:
        """The tenant's customer fields the actor may fill in (a personal one only for a role
        that sees contact data); ``known``: the definitions the page read already."""
        return fillable(known or await definitions(actor.tenant), FieldEntity.CUSTOMER, actor)

    page = guarded(console)

    @api.get("/")
    async def root() -> RedirectResponse:
        return see(f"{PREFIX}/")

    # -- sign-in, sign-out, language ----------------------------------------------------------

    @api.get(f"{PREFIX}/sign-in")
    @page
    async def sign_in_page(
        request: Request, next: str | None = None, failed: int | None = None
    ) -> Response:
        visit = await console.visit(request)
        return console.render(
            visit,
            request,
            "sign_in.html",
            tenant=console.default_tenant,
            next=_safe_next(next),
            failed=failed,
        )

    @api.post(f"{PREFIX}/sign-in")
    @page
    async def sign_in_post(
        request: Request,
        tenant: str = Form(max_length=63),
        user_id: str = Form(max_length=64),
        password: str = Form(max_length=1000),
        next: str = Form(default=f"{PREFIX}/", max_length=2000),
    ) -> Response:
        visit = await console.check_csrf(request)
        tenant = tenant.strip() or console.default_tenant
        outcome = None
        if await runtime.tenants.status(tenant) == "active":
            outcome = await sign_in(bus, tenant, user_id, password, runtime.clock.now())
        if outcome is None or outcome.actor is None:
            locked = outcome is not None and outcome.locked
            return console.render(
                visit,
                request,
                "sign_in.html",
                status=401,
                tenant=tenant,
                user_id=user_id,
                next=_safe_next(next),
                failed=2 if locked else 1,
            )
        session = console.sessions.signed_in(
            visit.session, tenant, outcome.actor.id, outcome.locale, outcome.generation
        )
        target = _safe_next(next)
        if target == f"{PREFIX}/":
            target += f"?min_position={outcome.position}"
        response = see(target)
        console.sessions.write(request, response, session)
        return response

    @api.post(f"{PREFIX}/sign-out")
    @page
    async def sign_out(request: Request) -> Response:
        visit = await console.check_csrf(request)
        response = see(f"{PREFIX}/sign-in")
        console.sessions.end(request, response, visit.session)
        if visit.actor is not None:  # every other process refuses the session from now on
            expires = dt.datetime.fromtimestamp(console.sessions.expires_at(visit.session), dt.UTC)
            ended = EndSession(visit.actor.id, visit.session.hash, expires)
            await bus.execute(ended, console.context(visit))
            console.session_check.forget(visit.actor.tenant, visit.actor.id)
        return response

    @api.post(f"{PREFIX}/language")
    @page
    async def language(
        request: Request,
        locale: str = Form(max_length=10),
        back: str = Form(default=f"{PREFIX}/", max_length=2000),
    ) -> Response:
        visit = await console.check_csrf(request)
        locale = chosen(locale)
        if visit.actor is not None:
            await bus.execute(ChooseLocale(visit.actor.id, locale), console.context(visit))
        response = see(_safe_next(back))
        switched = console.sessions.with_locale(visit.session, locale)
        console.sessions.write(request, response, switched)
        return response

    # -- My day -------------------------------------------------------------------------------

    day_read = Depends(
        ReadConsistency(
            runtime, UserDirectoryProjection(), CustomersProjection(), OpportunitiesProjection()
        )
    )

    @api.get(f"{PREFIX}/")
    @page
    async def my_day(
        request: Request, min_position: int | None = None, _: int = day_read
    ) -> Response:
        visit, actor = await console.signed_in(request)
        me = await console.directory.get(actor.tenant, actor.id)
        since = None if me is None else me.get("previous_sign_in_at")
        mine = actor.id if actor.role is Role.SALES_REP else None
        opportunities: list[dict[str, Any]] | None = None
        warnings: list[Any] | None = None
        customers: list[dict[str, Any]] | None = None
        stages = None
        reports = None
        if actor.role is Role.ANALYST:  # the tenant's figures, not a book of their own
            from crm.console.analytics import reports_of  # the analytics pages import this one

            reports = reports_of(actor)
        else:
            with contextlib.suppress(Forbidden):
                found = await console.sales.opportunities(
                    actor,
                    OpportunityFilter(owner_id=mine, status="open"),
                    Paging(sort="expected_close_date", limit=20),
                )
                opportunities = list(found.items)
                stages = [s.name for s in (await console.sales.pipeline(actor)).stages]
        try:
            rows = await console.analytics.churn_warnings(actor, None, mine, limit=10, offset=0)
            warnings = list(rows.items)
        except Forbidden:
            pass
        try:
            page_ = await console.customers.search(
                actor, CustomerFilter(owner_id=mine), sort="-updated_at", limit=10, offset=0
            )
            customers = list(page_.items)
        except Forbidden:
            pass
        tickets = None
        if actor.role is Role.AGENT:
            found_tickets = await console.tickets.tickets(
                actor,
                TicketFilter(agent_id=actor.id),
                sort="sla_breach_check_at",
                limit=100,
                offset=0,
            )
            tickets = [
                {**t, "due_at": _next_due(t)} for t in found_tickets.items if t["status"] in WORKING
            ]
            tickets.sort(key=lambda t: t["due_at"] or "9999")
            opportunities = warnings = customers = None  # an agent's day is their queue
        own_day = actor.role in (Role.SALES_REP, Role.AGENT)
        changed = None
        if since is not None:
            changed = await _changed_since(console, actor, since, mine, customers)
        names = await console.directory.names(actor.tenant)
        return console.render(
            visit,
            request,
            "my_day.html",
            tickets=tickets,
            since=since,
            changed=changed,
            opportunities=opportunities,
            warnings=warnings,
            customers=customers,
            next_stage=_next_stages(stages),
            names=names,
            own_day=own_day,
            reports=reports,
        )

    # -- customers ----------------------------------------------------------------------------

    @api.get(f"{PREFIX}/customers")
    @page
    async def customers(
        request: Request,
        q: str | None = None,
        owner: str | None = None,
        tag: str | None = None,
        region: str | None = None,
        sort: str = "-created_at",
        page: int = 1,
        min_position: int | None = None,
        _: int = customers_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        sort = sort if sort in CUSTOMER_SORTS else "-created_at"
        page = max(1, min(page, 10_000))
        flt = CustomerFilter(
            owner_id=actor.id if owner == "mine" else None,
            in_pool=True if owner == "pool" else None,
            tag=tag or None,
            region=region or None,
            q=(q or "").strip()[:200] or None,
        )
        found = await console.customers.search(
            actor, flt, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        pages = max(1, math.ceil(found.total / PAGE_SIZE))
        query = {
            k: v
            for k, v in (
                ("q", q),
                ("owner", owner),
                ("tag", tag),
                ("region", region),
                ("sort", sort),
            )
            if v
        }
        return console.render(
            visit,
            request,
            "customers.html",
            items=found.items,
            total=found.total,
            page=page,
            pages=pages,
            query=query,
            link=lambda p: f"{PREFIX}/customers?{urlencode({**query, 'page': p})}",
            sorts=CUSTOMER_SORTS,
            names=await console.directory.names_of(
                actor.tenant, (c.get("owner_id") for c in found.items)
            ),
        )

    @api.get(f"{PREFIX}/customers/new")
    @page
    async def new_customer(request: Request) -> Response:
        visit, _actor = await console.signed_in(request)
        return console.render(
            visit,
            request,
            "customer_new.html",
            kinds=list(CustomerKind),
            addresses=ADDRESSES,
            channels=list(Channel),
            languages=NAMES,
            fields=await customer_fields(_actor),
        )

    @api.post(f"{PREFIX}/customers")
    @page
    async def register_customer(
        request: Request,
        name: str = Form(max_length=200),
        kind: CustomerKind = Form(default=CustomerKind.PERSON),
        email: str = Form(default="", max_length=320),
        phone: str = Form(default="", max_length=50, pattern=PHONE_OR_BLANK),
        company: str = Form(default="", max_length=200),
        region: str = Form(default="", max_length=100),
        tags: str = Form(default="", max_length=500),
        billing_address: str = Form(default="", max_length=500),
        shipping_address: str = Form(default="", max_length=500),
        visit_address: str = Form(default="", max_length=500),
        birthday: str = Form(default="", max_length=10),
        anniversary: str = Form(default="", max_length=10),
        preferred_channel: str = Form(default="", max_length=20),
        preferred_language: str = Form(default="", max_length=20),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        extras = profile_extras(
            {
                "billing_address": billing_address,
                "shipping_address": shipping_address,
                "visit_address": visit_address,
                "birthday": birthday,
                "anniversary": anniversary,
                "preferred_channel": preferred_channel,
                "preferred_language": preferred_language,
            }
        )
        profile = Profile(
            kind=kind,
            name=name.strip(),
            email=email.strip() or None,
            phone=phone.strip() or None,
            company=company.strip() or None,
            region=region.strip() or None,
            source="console",
            **extras,
        )
        owner = actor.id if actor.role is Role.SALES_REP else None
        tag_list = tuple(t.strip() for t in tags.split(",") if t.strip())
        custom = {
            k: v
            for k, v in custom_of(await request.form(), await customer_fields(actor)).items()
            if v
        }
        result = await bus.execute(
            RegisterCustomer(profile, tags=tag_list, owner_id=owner, custom=custom),
            console.context(visit),
        )
        id_ = result.stream_id.partition("-")[2]
        return see(f"{PREFIX}/customers/{id_}?min_position={result.position}&done=registered")

    @api.get(f"{PREFIX}/customers/{{customer_id}}")
    @page
    async def customer(
        request: Request,
        customer_id: UUID,
        min_position: int | None = None,
        done: str | None = None,
        _: int = customers_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        doc = await console.customers.get(actor, str(customer_id))
        interactions = await console.customers.interactions(actor, str(customer_id))
        view = None
        with contextlib.suppress(NotFound, Forbidden):
            view = await console.analytics.customer_360(
                actor, str(customer_id), runtime.clock.now()
            )
        from crm.console.timeline import (  # its sources import pages
            customer_timeline,
            lines,
            users_named,
        )

        story = await customer_timeline(console, actor, doc, interactions)
        interactions = interactions[:20]
        # the names of the users the page names, each read by its key (not the directory)
        names = await console.directory.names_of(
            actor.tenant,
            [
                doc.get("owner_id"),
                *(i.get("logged_by") for i in interactions),
                *sorted(users_named(story.happened)),
            ],
        )
        known = await definitions(actor.tenant)
        return console.render(
            visit,
            request,
            "customer.html",
            timeline=lines(story.happened, visit.t, names),
            tickets=story.tickets[:10],
            c=doc,
            view=view,
            interactions=interactions,
            channels=list(Channel),
            addresses=ADDRESSES,
            languages=NAMES,
            redacted=REDACTED,
            fields=await customer_fields(actor, known),
            custom_shown=known.of(FieldEntity.CUSTOMER, retired=True),
            opens_tickets=DESK_POLICY.may(Principal.of(actor), DeskAction.WORK),
            ticket_kinds=list(TicketKind),
            ticket_channels=list(TicketChannel),
            ticket_priorities=list(TicketPriority),
            ticket_fields=fillable(known, FieldEntity.TICKET, actor),
            purposes=list(ConsentPurpose),
            done=done if done in ("registered", "saved", "merged") else None,
            names=names,
        )

    async def customer_command(request: Request, customer_id: UUID, command: object) -> Response:
        visit = await console.check_csrf(request)
        await console.signed_in(request)
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/customers/{customer_id}?min_position={result.position}&done=saved")

    @api.post(f"{PREFIX}/customers/{{customer_id}}/edit")
    @page
    async def edit_customer(
        request: Request,
        customer_id: UUID,
        name: str = Form(max_length=200),
        email: str = Form(default="", max_length=320),
        phone: str = Form(default="", max_length=50, pattern=PHONE_OR_BLANK),
        company: str = Form(default="", max_length=200),
        region: str = Form(default="", max_length=100),
        billing_address: str | None = Form(default=None, max_length=500),
        shipping_address: str | None = Form(default=None, max_length=500),
        visit_address: str | None = Form(default=None, max_length=500),
        birthday: str | None = Form(default=None, max_length=10),
        anniversary: str | None = Form(default=None, max_length=10),
        preferred_channel: str = Form(default="", max_length=20),
        preferred_language: str = Form(default="", max_length=20),
    ) -> Response:
        # a field the form left out (one the user may not see) is not changed; one sent
        # blank is cleared (FastAPI reads a blank field as its default, so ask the form)
        form = await request.form()
        sent = {
            f: str(form[f])
            for f in (*ADDRESSES, "birthday", "anniversary")
            if isinstance(form.get(f), str)
        }
        sent["preferred_channel"] = preferred_channel
        sent["preferred_language"] = preferred_language
        changes = {
            "name": name.strip(),
            "email": email.strip() or None,
            "phone": phone.strip() or None,
            "company": company.strip() or None,
            "region": region.strip() or None,
            **profile_extras(sent),
        }
        _visit, actor = await console.signed_in(request)
        custom = custom_of(form, await customer_fields(actor))
        return await customer_command(
            request, customer_id, UpdateProfile(str(customer_id), changes, custom=custom)
        )

    @api.post(f"{PREFIX}/customers/{{customer_id}}/contacts")
    @page
    async def add_contact(
        request: Request, customer_id: UUID, contact: Contact = Depends(contact_form)
    ) -> Response:
        return await customer_command(request, customer_id, AddContact(str(customer_id), contact))

    @api.post(f"{PREFIX}/customers/{{customer_id}}/contacts/{{contact_id}}/edit")
    @page
    async def edit_contact(
        request: Request,
        customer_id: UUID,
        contact_id: UUID,
        contact: Contact = Depends(contact_form),
    ) -> Response:
        command = UpdateContact(str(customer_id), str(contact_id), contact.as_dict())
        return await customer_command(request, customer_id, command)

    @api.post(f"{PREFIX}/customers/{{customer_id}}/contacts/{{contact_id}}/remove")
    @page
    async def remove_contact(
        request: Request,
        customer_id: UUID,
        contact_id: UUID,
        confirm: bool = Form(default=False),
    ) -> Response:
        if not confirm:
            raise InvalidCommand("confirm", "tick the box to confirm the removal")
        command = RemoveContact(str(customer_id), str(contact_id))
        return await customer_command(request, customer_id, command)

    @api.post(f"{PREFIX}/customers/{{customer_id}}/tag")
    @page
    async def tag_customer(
        request: Request, customer_id: UUID, tag: str = Form(max_length=50)
    ) -> Response:
        return await customer_command(request, customer_id, TagCustomer(str(customer_id), tag))

    @api.post(f"{PREFIX}/customers/{{customer_id}}/claim")
    @page
    async def claim_customer(request: Request, customer_id: UUID) -> Response:
        return await customer_command(request, customer_id, ClaimFromPool(str(customer_id)))

    @api.post(f"{PREFIX}/customers/{{customer_id}}/release")
    @page
    async def release_customer(request: Request, customer_id: UUID) -> Response:
        return await customer_command(request, customer_id, ReleaseToPool(str(customer_id)))

    @api.post(f"{PREFIX}/customers/{{customer_id}}/interactions")
    @page
    async def log_interaction(
        request: Request,
        customer_id: UUID,
        channel: Channel = Form(),
        summary: str = Form(max_length=2000),
    ) -> Response:
        command = LogInteraction(str(customer_id), channel, summary.strip())
        return await customer_command(request, customer_id, command)

    @api.post(f"{PREFIX}/customers/{{customer_id}}/consent")
    @page
    async def record_consent(
        request: Request,
        customer_id: UUID,
        purpose: ConsentPurpose = Form(),
        granted: bool = Form(),
    ) -> Response:
        command = RecordConsent(str(customer_id), purpose, granted, method="console")
        return await customer_command(request, customer_id, command)

    @api.post(f"{PREFIX}/customers/{{customer_id}}/erase")
    @page
    async def erase_customer(
        request: Request, customer_id: UUID, confirm: bool = Form(default=False)
    ) -> Response:
        if not confirm:
            raise InvalidCommand("confirm", "tick the box to confirm the erasure")
        return await customer_command(request, customer_id, EraseCustomer(str(customer_id)))

    # -- pipeline -----------------------------------------------------------------------------

    async def board(
        visit: Visit, request: Request, actor: Actor, *, done: bool, conflict: str | None = None
    ) -> Response:
        """The board; ``conflict`` (a stale move's message) shows it with a 409."""
        stages = [s for s in (await console.sales.pipeline(actor)).stages]
        open_stages = [s.name for s in stages if s.outcome == "open"]
        found = await console.sales.opportunities(
            actor, OpportunityFilter(status="open"), Paging(sort="expected_close_date", limit=200)
        )
        by_stage: dict[str, list[Any]] = {s: [] for s in open_stages}
        for o in found.items:
            by_stage.setdefault(o["stage"], []).append(o)
        board = [o["id"] for o in found.items]
        scores = await LeadScoreQueries(console.runtime).of(actor.tenant, board)
        return console.render(
            visit,
            request,
            "pipeline.html",
            status=409 if conflict else 200,
            scores=scores,
            by_stage=by_stage,
            stages=open_stages,
            done=done,
            conflict=conflict,
            names=await console.directory.names(actor.tenant),
        )

    @api.get(f"{PREFIX}/pipeline")
    @page
    async def pipeline(
        request: Request,
        min_position: int | None = None,
        done: str | None = None,
        _: int = pipeline_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        return await board(visit, request, actor, done=done == "moved")

    opportunities = bus.repository(Opportunity)

    @api.post(f"{PREFIX}/opportunities/{{opportunity_id}}/stage")
    @page
    async def move_opportunity(
        request: Request,
        opportunity_id: UUID,
        stage: str = Form(max_length=100),
        version: int = Form(ge=0),
    ) -> Response:
        """The stage command at the version the card showed: if someone else moved or
        changed the opportunity since, the store refuses the append (nothing moves) and the
        board says so, drawn from the stream (the read model may lag behind it)."""
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        id_ = str(opportunity_id)
        try:
            result = await bus.execute(
                MoveOpportunity(id_, stage, expected_version=version), console.context(visit)
            )
        except WrongExpectedVersion:
            now = await opportunities.load(id_, tenant=actor.tenant)
            # the board as it is after the other's move (the read model may not have it yet)
            projection = OpportunitiesProjection()
            await wait_until(
                runtime.read_store,
                projection.name,
                await runtime.store.head_position(),
                runtime.read_wait_seconds,
                store=runtime.store,
                categories=projection.categories,
            )
            message = visit.t(
                "pipeline.moved_meanwhile",
                name=now.state.name,
                stage=visit.t.stage(now.state.stage),
            )
            return await board(visit, request, actor, done=False, conflict=message)
        return see(f"{PREFIX}/pipeline?min_position={result.position}&done=moved")

    return api


CHANGED_SHOWN = 15
"""At most this many records in My day's "changed since you last signed in"."""


async def _changed_since(
    console: Console,
    actor: Actor,
    since: str,
    mine: str | None,
    customers: list[dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """The records of the user's day changed since ``since``, newest first: the latest
    customers of the list, the opportunities (a rep's own, a manager's team's) and the
    tickets (an agent's own, a manager's groups') the user may read, each a ``kind``,
    ``path`` (its pages), ``id``, ``title`` and ``at``. A context the role may not read adds
    nothing. Times are compared as instants (the read models write them each their way)."""
    after = dt.datetime.fromisoformat(since)

    def newer(value: str) -> bool:
        return dt.datetime.fromisoformat(value) > after

    found: list[dict[str, Any]] = [
        {
            "kind": "customer",
            "path": "customers",
            "id": c["id"],
            "title": c["name"],
            "at": c["updated_at"],
        }
        for c in customers or ()
        if newer(c["updated_at"])
    ]
    if actor.role is not Role.AGENT:  # an agent's day is their queue
        with contextlib.suppress(Forbidden):
            page_ = await console.sales.opportunities(
                actor,
                OpportunityFilter(owner_id=mine),
                Paging(sort="-updated_at", limit=CHANGED_SHOWN),
            )
            found += [
                {
                    "kind": "opportunity",
                    "path": "opportunities",
                    "id": o["id"],
                    "title": o["name"],
                    "at": o["updated_at"],
                    "stage": o["stage"],
                }
                for o in page_.items
                if newer(o["updated_at"])
            ]
    if actor.role in (Role.AGENT, Role.MANAGER, Role.ADMIN):
        with contextlib.suppress(Forbidden):
            tickets = await console.tickets.tickets(
                actor,
                TicketFilter(agent_id=actor.id if actor.role is Role.AGENT else None),
                sort="-updated_at",
                limit=CHANGED_SHOWN,
                offset=0,
            )
            found += [
                {
                    "kind": "ticket",
                    "path": "tickets",
                    "id": k["id"],
                    "title": k["subject"],
                    "at": k["updated_at"],
                    "status": k["status"],
                }
                for k in tickets.items
                if newer(k["updated_at"])
            ]
    found.sort(key=lambda r: dt.datetime.fromisoformat(r["at"]), reverse=True)
    return found[:CHANGED_SHOWN]


def _next_due(ticket: dict[str, Any]) -> str | None:
    """When the ticket's next SLA target falls due (the earliest one not met yet)."""
    due = [t["due_at"] for t in ticket.get("sla_targets", []) if t.get("met_at") is None]
    return min(due) if due else None


def _next_stages(stages: list[str] | None) -> dict[str, str]:
    """Each open stage's next one (the card's next step)."""
    if not stages:
        return {}
    return dict(itertools.pairwise(stages))
